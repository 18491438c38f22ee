//! A cap on the distinct label sets of each metric, so a dynamic label (a path, an error type, a
//! message type) can never grow the exposition, and the memory behind it, without bound.
//!
//! Past the cap, a new label set's samples go to one series of the same metric labelled
//! `overflow="true"`, and `obs_series_overflow_total{metric}` counts the label sets turned
//! away: nothing is dropped silently.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use metrics::{Counter, Key, Label};

/// Default of `OBS_MAX_SERIES_PER_METRIC`.
pub(crate) const DEFAULT_MAX_SERIES: usize = 2_000;

/// Turned-away label sets remembered per metric, so each is counted once; past this many, every
/// registration of one counts (the memory stays bounded either way).
const REMEMBERED_REJECTIONS: usize = 65_536;

/// The name of the counter of turned-away label sets (without prefix).
pub(crate) const OVERFLOW_TOTAL: &str = "obs_series_overflow_total";

#[derive(Debug, Default)]
struct Seen {
    admitted: HashSet<u64>,
    rejected: HashSet<u64>,
}

#[derive(Debug)]
pub(crate) struct CardinalityGuard {
    cap: usize,
    metrics: RwLock<HashMap<String, Seen>>,
}

impl CardinalityGuard {
    pub(crate) fn new(cap: usize) -> Self {
        Self { cap, metrics: RwLock::default() }
    }

    /// The key to register for `key`: itself while the metric is under its cap, else the
    /// metric's overflow series. `overflowed` is called once per label set turned away.
    pub(crate) fn admit(&self, key: Key, overflowed: impl FnOnce() -> Counter) -> Key {
        if key.labels().len() == 0 {
            return key;
        }
        let hash = key.get_hash();
        {
            let metrics = self.metrics.read().unwrap_or_else(|e| e.into_inner());
            if metrics.get(key.name()).is_some_and(|seen| seen.admitted.contains(&hash)) {
                return key;
            }
        }
        let mut metrics = self.metrics.write().unwrap_or_else(|e| e.into_inner());
        let seen = metrics.entry(key.name().to_owned()).or_default();
        if seen.admitted.contains(&hash) || seen.admitted.len() < self.cap {
            seen.admitted.insert(hash);
            return key;
        }
        let first_time = if seen.rejected.len() < REMEMBERED_REJECTIONS { seen.rejected.insert(hash) } else { true };
        drop(metrics);
        if first_time {
            overflowed().increment(1);
        }
        Key::from_parts(key.name().to_owned(), vec![Label::new("overflow", "true")])
    }
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
            guard.admit(key(i), || {
                overflows.set(overflows.get() + 1);
                Counter::noop()
            })
        };
        assert_eq!(admit(1), key(1));
        assert_eq!(admit(2), key(2));
        assert_eq!(admit(1), key(1), "an admitted label set stays admitted");
        let overflow = Key::from_parts("requests_total", vec![Label::new("overflow", "true")]);
        assert_eq!(admit(3), overflow);
        assert_eq!(admit(3), overflow);
        assert_eq!(admit(4), overflow);
        assert_eq!(overflows.get(), 2, "label sets 3 and 4, each once");
        assert_eq!(guard.admit(Key::from_name("up"), Counter::noop), Key::from_name("up"), "no labels, no cap");
    }
}
