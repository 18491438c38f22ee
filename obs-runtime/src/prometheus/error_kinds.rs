//! The `error_type` of a call site's error series: a count per error kind, capped.
//!
//! A kind is what the span's `error.type` says: the error's [`crate::BoundedKind`], else its
//! type name (`panic`, `error_if` for those outcomes). A label set keeps at most
//! [`MAX_ERROR_KINDS`] of them, first come first kept; later kinds count under
//! [`OTHER_ERROR_KIND`], the semantic conventions' fallback value of `error.type`, so a wrongly
//! unbounded `kind()` costs a fixed number of series.
//!
//! Only failed calls come here: a slot is claimed once with a `OnceLock` and found again by
//! comparing at most [`MAX_ERROR_KINDS`] strings, without a lock or an allocation.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::exemplar::{Exemplar, Slot as ExemplarSlot};
use crate::catalogue::normalise_label;

/// Distinct `error_type` values per label set before the rest count as [`OTHER_ERROR_KIND`].
pub const MAX_ERROR_KINDS: usize = 8;

/// The `error_type` of errors past [`MAX_ERROR_KINDS`].
pub const OTHER_ERROR_KIND: &str = "_OTHER";

#[derive(Debug, Default)]
struct Slot {
    /// The kind as it was given (compared) and as it is exposed (normalised).
    kind: OnceLock<(&'static str, String)>,
    count: AtomicU64,
    /// The latest sampled call of this kind, for OpenMetrics.
    exemplar: ExemplarSlot,
}

/// The error counts of one label set, by kind.
#[derive(Debug, Default)]
pub(crate) struct ErrorKinds {
    slots: [Slot; MAX_ERROR_KINDS],
    other: Slot,
}

/// One kind's series: its exposed name, its count and its latest exemplar.
pub(crate) type KindCount<'a> = (&'a str, u64, Option<Exemplar>);

impl ErrorKinds {
    /// Counts one error of `kind`.
    pub(crate) fn count(&self, kind: &'static str) {
        self.slot(kind).count.fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps `exemplar` as the latest call of `kind`.
    pub(crate) fn keep(&self, kind: &'static str, exemplar: Exemplar) {
        self.slot(kind).exemplar.store(exemplar);
    }

    fn slot(&self, kind: &'static str) -> &Slot {
        for slot in &self.slots {
            // Claims the first free slot; a slot another thread claims first is compared like
            // any other.
            let (claimed, _) = slot.kind.get_or_init(|| (kind, normalise_label(kind)));
            if *claimed == kind {
                return slot;
            }
        }
        &self.other
    }

    /// Every kind counted so far, [`OTHER_ERROR_KIND`] last when used.
    pub(crate) fn counts(&self) -> Vec<KindCount<'_>> {
        let mut counts: Vec<KindCount<'_>> = self
            .slots
            .iter()
            .map_while(|slot| {
                let (_, exposed) = slot.kind.get()?;
                Some((exposed.as_str(), slot.count.load(Ordering::Relaxed), slot.exemplar.load()))
            })
            .collect();
        let other = self.other.count.load(Ordering::Relaxed);
        if other > 0 {
            counts.push((OTHER_ERROR_KIND, other, self.other.exemplar.load()));
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_past_the_cap_count_as_other() {
        let kinds = ErrorKinds::default();
        let names: Vec<&'static str> =
            (0..MAX_ERROR_KINDS + 3).map(|i| &*Box::leak(format!("kind_{i}").into_boxed_str())).collect();
        for name in &names {
            kinds.count(name);
        }
        kinds.count(names[0]);
        kinds.count("say \"hi\"");
        let counts = kinds.counts();
        assert_eq!(counts.len(), MAX_ERROR_KINDS + 1);
        assert_eq!((counts[0].0, counts[0].1), ("kind_0", 2));
        let other = counts.last().unwrap();
        assert_eq!((other.0, other.1), (OTHER_ERROR_KIND, 4));
        assert_eq!(counts.iter().map(|(_, n, _)| n).sum::<u64>(), names.len() as u64 + 2);
    }

    #[test]
    fn threads_racing_for_slots_lose_no_count() {
        let kinds = ErrorKinds::default();
        std::thread::scope(|s| {
            for t in 0..4 {
                let kinds = &kinds;
                s.spawn(move || {
                    for i in 0..1_000 {
                        kinds.count(["a", "b", "c"][(i + t) % 3]);
                    }
                });
            }
        });
        let counts = kinds.counts();
        assert_eq!(counts.len(), 3);
        assert_eq!(counts.iter().map(|(_, n, _)| n).sum::<u64>(), 4_000);
    }
}
