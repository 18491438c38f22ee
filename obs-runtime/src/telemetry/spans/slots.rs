//! The ids of unrecorded spans in fixed slots: a span takes a slot with one compare-and-swap
//! and gives it back with one store, where a locked map took four atomic read-modify-writes
//! and a hash-map insert and removal per call.
//!
//! A slot holds a span's registry id and its trace id, span id and flags, each in an atomic
//! word. A writer claims a free slot (`FREE` to `WRITING`), writes the ids, then publishes the
//! registry id with a release store; a reader matches the id, reads the words, and checks the
//! id again after an acquire fence, so a slot freed and taken by another span while it read
//! is a miss, not a torn read. Registry ids are unique among open spans and not soon taken
//! again (a reused slab slot gets a new generation), and only the span's close frees its slot.
//! A span whose bucket is full, or whose context carries a trace state, is not taken here (the
//! table keeps it under its lock instead: its caller knows the state).

use std::sync::atomic::{AtomicU64, Ordering, fence};

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

use super::ids::Ids;

const FREE: u64 = 0;
const WRITING: u64 = u64::MAX;
const WAYS: usize = 8;
const BUCKETS: usize = 256;

/// One bucket: its slots' ids in one cache line, their contexts beside.
#[derive(Debug, Default)]
struct Bucket {
    ids: [AtomicU64; WAYS],
    contexts: [Words; WAYS],
}

/// A span context without trace state, as atomic words.
#[derive(Debug, Default)]
struct Words {
    trace_high: AtomicU64,
    trace_low: AtomicU64,
    span: AtomicU64,
    flags: AtomicU64,
}

/// Unrecorded spans' contexts by registry id.
#[derive(Debug)]
pub(crate) struct Slots {
    buckets: Box<[Bucket]>,
}

impl Slots {
    pub(crate) fn new() -> Self {
        Self { buckets: (0..BUCKETS).map(|_| Bucket::default()).collect() }
    }

    fn bucket(&self, id: u64) -> &Bucket {
        &self.buckets[(id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % BUCKETS]
    }

    /// Keeps the ids of span `id` (a span without trace state); whether they fit here.
    pub(crate) fn insert(&self, id: u64, ids: Ids) -> bool {
        if id == WRITING {
            return false;
        }
        let bucket = self.bucket(id);
        for (slot, words) in bucket.ids.iter().zip(&bucket.contexts) {
            if slot.load(Ordering::Relaxed) != FREE
                || slot.compare_exchange(FREE, WRITING, Ordering::Acquire, Ordering::Relaxed).is_err()
            {
                continue;
            }
            let trace = u128::from_be_bytes(ids.trace_id.to_bytes());
            words.trace_high.store((trace >> 64) as u64, Ordering::Relaxed);
            words.trace_low.store(trace as u64, Ordering::Relaxed);
            words.span.store(u64::from_be_bytes(ids.span_id.to_bytes()), Ordering::Relaxed);
            words.flags.store(u64::from(ids.flags.to_u8()), Ordering::Relaxed);
            slot.store(id, Ordering::Release);
            return true;
        }
        false
    }

    /// The ids of span `id`, if it is here.
    pub(crate) fn get(&self, id: u64) -> Option<Ids> {
        let bucket = self.bucket(id);
        for (slot, words) in bucket.ids.iter().zip(&bucket.contexts) {
            if slot.load(Ordering::Acquire) != id {
                continue;
            }
            let ids = read(words);
            // The words are the span's only if the slot still holds it after they were read.
            fence(Ordering::Acquire);
            return (slot.load(Ordering::Relaxed) == id).then_some(ids);
        }
        None
    }

    /// Whether span `id` is here.
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.bucket(id).ids.iter().any(|slot| slot.load(Ordering::Acquire) == id)
    }

    /// Takes span `id` out (only its close does, so nothing else frees its slot meanwhile);
    /// whether it was here. Its words are left as they are: nothing reads them once the id is
    /// gone.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let bucket = self.bucket(id);
        match bucket.ids.iter().find(|slot| slot.load(Ordering::Acquire) == id) {
            Some(slot) => {
                slot.store(FREE, Ordering::Release);
                true
            }
            None => false,
        }
    }
}

fn read(words: &Words) -> Ids {
    let trace = u128::from(words.trace_high.load(Ordering::Relaxed)) << 64
        | u128::from(words.trace_low.load(Ordering::Relaxed));
    Ids {
        trace_id: TraceId::from(trace),
        span_id: SpanId::from(words.span.load(Ordering::Relaxed)),
        flags: TraceFlags::new(words.flags.load(Ordering::Relaxed) as u8),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn context(n: u64) -> Ids {
        Ids { trace_id: TraceId::from(u128::from(n) << 64 | 7), span_id: SpanId::from(n), flags: TraceFlags::SAMPLED }
    }

    #[test]
    fn a_span_is_kept_until_its_close_and_a_full_bucket_is_refused() {
        let slots = Slots::new();
        assert!(slots.insert(5, context(5)));
        assert_eq!(slots.get(5), Some(context(5)));
        assert!(slots.contains(5) && !slots.contains(6));
        assert!(slots.remove(5));
        assert_eq!((slots.get(5), slots.remove(5), slots.contains(5)), (None, false, false));

        // Ids of one bucket, found by the bucket function itself.
        let target = slots.bucket(1) as *const Bucket;
        let same: Vec<u64> = (1..).filter(|id| std::ptr::eq(slots.bucket(*id), target)).take(WAYS + 1).collect();
        for id in &same[..WAYS] {
            assert!(slots.insert(*id, context(*id)));
        }
        assert!(!slots.insert(same[WAYS], context(same[WAYS])), "a full bucket refuses");
        assert!(slots.remove(same[3]));
        assert!(slots.insert(same[WAYS], context(same[WAYS])), "a freed slot is taken again");
        assert_eq!(slots.get(same[WAYS]), Some(context(same[WAYS])), "the new span's ids, not the old one's");
        for id in same.iter().filter(|id| **id != same[3]) {
            assert_eq!(slots.get(*id), Some(context(*id)), "id {id}");
        }
    }

    /// Regression: this test once reused four ids, each taken again four rounds later, so a
    /// reader that checked an id, was descheduled, and checked it again after the same id had
    /// come back took a mix of two spans' words for one (it failed with the other core busy).
    /// The registry never does that: a reused slab slot gets a new generation, so each span
    /// here has an id of its own, as there.
    #[test]
    fn readers_on_other_threads_see_a_span_whole_or_not_at_all() {
        let slots = Arc::new(Slots::new());
        // Spans of one bucket, so that each takes the slot the one before it gave back.
        let target = slots.bucket(1) as *const Bucket;
        let next_in_bucket = |after: u64| (after + 1..).find(|id| std::ptr::eq(slots.bucket(*id), target)).unwrap();
        // The span being written now, which the readers ask for.
        let current = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (slots, current, stop) = (slots.clone(), current.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut seen = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let id = current.load(Ordering::Acquire);
                        if id != FREE
                            && let Some(found) = slots.get(id)
                        {
                            assert_eq!(found, context(id), "a torn or foreign read for {id}");
                            seen += 1;
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut id = 0;
        for _ in 0..200_000 {
            id = next_in_bucket(id);
            current.store(id, Ordering::Release);
            assert!(slots.insert(id, context(id)));
            assert!(slots.remove(id));
        }
        stop.store(true, Ordering::Relaxed);
        let seen: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        println!("{seen} reads found a span while slots were taken and given back");
    }
}
