//! A cap on the distinct label sets of each metric, so a dynamic label (a path, an error type, a
//! message type) can never grow the exposition, and the memory behind it, without bound.
//!
//! Past the cap, a new label set's samples go to one series of the same metric labelled
//! `overflow="true"`, and `obs_series_overflow_total{metric}` counts the label sets turned
//! away: nothing is dropped silently.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::RwLock;

use metrics::{Counter, Key, Label};

/// Default of `OBS_MAX_SERIES_PER_METRIC`.
pub(crate) const DEFAULT_MAX_SERIES: usize = 2_000;

/// Turned-away label sets remembered per metric, so each is counted once; past this many, every
/// registration of one counts (the memory stays bounded either way).
const REMEMBERED_REJECTIONS: usize = 65_536;

/// `Key::get_hash()` is already a good hash: hash it again and the fast path pays twice.
#[derive(Default)]
struct Identity(u64);

impl std::hash::Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type KeyHashes = HashSet<u64, BuildHasherDefault<Identity>>;

#[derive(Debug, Default)]
struct PerMetric {
    admitted: usize,
    rejected: KeyHashes,
}

#[derive(Debug, Default)]
struct State {
    /// Every admitted label set of every metric: the one lookup of the common case.
    admitted: KeyHashes,
    per_metric: HashMap<String, PerMetric>,
}

#[derive(Debug)]
pub(crate) struct CardinalityGuard {
    cap: usize,
    state: RwLock<State>,
}

impl CardinalityGuard {
    pub(crate) fn new(cap: usize) -> Self {
        Self { cap, state: RwLock::default() }
    }

    /// Whether `key` may have a series of its own: yes while its metric is under its cap. A
    /// label set turned away calls `overflowed` once (while it is remembered).
    pub(crate) fn admit(&self, key: &Key, overflowed: impl FnOnce() -> Counter) -> bool {
        if key.labels().len() == 0 {
            return true;
        }
        let hash = key.get_hash();
        if self.state.read().unwrap_or_else(|e| e.into_inner()).admitted.contains(&hash) {
            return true;
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if state.admitted.contains(&hash) {
            return true;
        }
        let metric = state.per_metric.entry(key.name().to_owned()).or_default();
        if metric.admitted < self.cap {
            metric.admitted += 1;
            state.admitted.insert(hash);
            return true;
        }
        let first_time =
            if metric.rejected.len() < REMEMBERED_REJECTIONS { metric.rejected.insert(hash) } else { true };
        drop(state);
        if first_time {
            overflowed().increment(1);
        }
        false
    }
}

/// The series a turned-away label set of `name` is counted in.
pub(crate) fn overflow_key(name: &str) -> Key {
    Key::from_parts(name.to_owned(), vec![Label::new("overflow", "true")])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_cap_then_overflows_once_per_label_set() {
        let guard = CardinalityGuard::new(2);
        let overflows = std::cell::Cell::new(0);
        let key = |i: u32| Key::from_parts("requests_total", vec![Label::new("path", format!("/{i}"))]);
        let admit = |i| {
            guard.admit(&key(i), || {
                overflows.set(overflows.get() + 1);
                Counter::noop()
            })
        };
        assert!(admit(1));
        assert!(admit(2));
        assert!(admit(1), "an admitted label set stays admitted");
        assert!(!admit(3));
        assert!(!admit(3));
        assert!(!admit(4));
        assert_eq!(overflows.get(), 2, "label sets 3 and 4, each once");
        assert!(guard.admit(&Key::from_name("up"), Counter::noop), "no labels, no cap");
        let other = Key::from_parts("other_total", vec![Label::new("path", "/1")]);
        assert!(guard.admit(&other, Counter::noop), "the cap is per metric");
    }
}
