//! Attribute lists handed back by the thread that exports spans to the threads that make them.
//!
//! An exported obs span allocates one thing on the calling thread: its attribute list, which
//! the batch processor's thread frees after export. With glibc's allocator a block goes back
//! to the arena it came from, under that arena's lock: a batch's frees, in a burst, hold the
//! lock the calling thread's next allocation needs. `perf` put a tenth of an exported call's
//! time in `malloc`, most of it in the futex wake and wait of that lock.
//!
//! So before a batch is exported, the exporting thread moves each list's contents into a list
//! of its own (allocated and later freed on that thread, in its own arena) and keeps the
//! emptied list here; a thread that makes spans takes them a handful at a time into a cache of
//! its own. The lists kept are bounded in number and in capacity, here and in each thread's
//! cache (which takes only what is kept here, and at most `TAKEN_AT_ONCE` at a time): past
//! the bound a list is simply freed, as before.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;

/// The most lists kept for the making threads.
const MAX_KEPT: usize = 1024;
/// The largest list kept: obs's spans have a dozen attributes; a list grown past this by an
/// app's span is freed rather than kept.
const MAX_CAPACITY: usize = 32;
/// How many lists a making thread takes at once, for one lock per so many spans; also the most
/// an idle thread holds on to.
const TAKEN_AT_ONCE: usize = 16;

/// The lists kept for the making threads.
static KEPT: Kept = Kept::new();

thread_local! {
    static CACHED: RefCell<Vec<Vec<KeyValue>>> = const { RefCell::new(Vec::new()) };
}

/// An empty attribute list with room for `capacity`: one handed back when there is one.
pub(crate) fn list(capacity: usize) -> Vec<KeyValue> {
    let cached = CACHED.try_with(|cached| {
        let mut cached = cached.try_borrow_mut().ok()?;
        if cached.is_empty() {
            KEPT.take_into(&mut cached);
        }
        cached.pop()
    });
    match cached.ok().flatten() {
        Some(mut list) => {
            list.reserve_exact(capacity);
            list
        }
        None => Vec::with_capacity(capacity),
    }
}

/// Gives each span of `batch` a copy of its attribute list made on this thread, and keeps the
/// emptied originals for [`list`]. Called by the exporting thread, before export.
pub(crate) fn hand_back(batch: &mut [SpanData]) {
    KEPT.hand_back(batch);
}

struct Kept {
    lists: Mutex<Vec<Vec<KeyValue>>>,
    /// How many lists `lists` holds, read without its lock: with none (no batch exported yet,
    /// or an exporter obs does not wrap), a making thread does not take the lock per span.
    available: AtomicUsize,
}

impl Kept {
    const fn new() -> Self {
        Self { lists: Mutex::new(Vec::new()), available: AtomicUsize::new(0) }
    }

    fn take_into(&self, cached: &mut Vec<Vec<KeyValue>>) {
        if self.available.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut lists = self.lists.lock().unwrap_or_else(PoisonError::into_inner);
        let from = lists.len().saturating_sub(TAKEN_AT_ONCE);
        cached.extend(lists.drain(from..));
        self.available.store(lists.len(), Ordering::Relaxed);
    }

    fn hand_back(&self, batch: &mut [SpanData]) {
        let room = MAX_KEPT.saturating_sub(self.available.load(Ordering::Relaxed));
        let mut emptied = Vec::new();
        for span in batch.iter_mut().filter(|span| (1..=MAX_CAPACITY).contains(&span.attributes.capacity())) {
            if emptied.len() == room {
                break;
            }
            // A new list made here, the elements moved into it; the original keeps its block.
            let mut copy = Vec::with_capacity(span.attributes.len());
            copy.append(&mut span.attributes);
            emptied.push(std::mem::replace(&mut span.attributes, copy));
        }
        if emptied.is_empty() {
            return;
        }
        let mut lists = self.lists.lock().unwrap_or_else(PoisonError::into_inner);
        emptied.truncate(MAX_KEPT.saturating_sub(lists.len()));
        lists.append(&mut emptied);
        self.available.store(lists.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::super::limits::tests::span_data as span;
    use super::*;

    #[test]
    fn an_exported_list_comes_back_empty_and_the_span_keeps_its_attributes() {
        let kept = Kept::new();
        let mut original = Vec::with_capacity(8);
        original.extend([KeyValue::new("db.collection.name", "users"), KeyValue::new("n", 7_i64)]);
        let address = original.as_ptr();
        let mut batch = vec![span(original), span(Vec::with_capacity(MAX_CAPACITY + 1)), span(Vec::new())];
        kept.hand_back(&mut batch);
        assert_eq!(batch[0].attributes, [KeyValue::new("db.collection.name", "users"), KeyValue::new("n", 7_i64)]);
        assert_ne!(batch[0].attributes.as_ptr(), address, "the span's list is the exporting thread's copy");
        let mut cached = Vec::new();
        kept.take_into(&mut cached);
        assert_eq!(cached.len(), 1, "only the list within the bound is kept");
        assert_eq!(cached[0].as_ptr(), address, "the emptied list came back");
        assert!(cached[0].is_empty() && cached[0].capacity() == 8);
        assert_eq!(kept.available.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_lists_kept_are_bounded() {
        let kept = Kept::new();
        let mut batch: Vec<SpanData> =
            (0..MAX_KEPT + 10).map(|_| span(vec![KeyValue::new("db.collection.name", "users")])).collect();
        kept.hand_back(&mut batch);
        assert_eq!(kept.lists.lock().unwrap().len(), MAX_KEPT);
        assert!(batch.iter().all(|span| span.attributes.len() == 1), "every span keeps its attributes");
        let mut cached = Vec::new();
        kept.take_into(&mut cached);
        assert_eq!(cached.len(), TAKEN_AT_ONCE, "a handful at a time");
        assert_eq!(kept.available.load(Ordering::Relaxed), MAX_KEPT - TAKEN_AT_ONCE);
    }
}
