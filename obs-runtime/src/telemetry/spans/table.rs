//! obs's own spans: the spans of annotated fns that obs keeps out of `tracing-opentelemetry`,
//! by `tracing` span id, each with its ids and flags and, when it is exported, its data.
//!
//! An unrecorded span is one that nothing will export: every span under `OTEL_EXPORTER=none`,
//! and one the sampler drops whatever the span says, which is known before the span exists
//! when the parent decides (`parentbased_*` under an unsampled parent, a ratio on the parent's
//! trace id) or nothing can be sampled (`always_off`). It still needs a trace id, a span id and
//! flags so that log lines name it and propagation carries the trace on; it needs nothing else.
//! A recorded span is one the sampler keeps, when obs can hand it to the provider's processors
//! itself (see `recorded`); without that, its decision is left to the tracer.
//!
//! The table is sharded by span id and keeps its capacity, so a warm call allocates nothing
//! for it: a span's entry is moved in at creation and out at close.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanContext, TraceState};
use tracing::span::Id;

use super::decision::{Decider, Export, sampled};
use super::ids::Ids;
use super::recorded::Recorded;
use super::slots::Slots;
use crate::config::Sampler;

/// A closed obs span taken out of the table.
#[derive(Debug)]
// Returned once per span, at its close: boxing the large variant would allocate per exported
// span, and an unrecorded span's close writes only the tag.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Closed {
    Unrecorded,
    /// Its context and data, to export.
    Recorded(SpanContext, Recorded),
}

type ById<T> = HashMap<u64, T, BuildHasherDefault<IdHasher>>;

/// One shard's spans, the unrecorded apart: their entries stay a span context wide, moved in
/// and out at every call under export off or a dropping sampler.
#[derive(Debug)]
struct Shard {
    unrecorded: ById<SpanContext>,
    recorded: ById<(SpanContext, Recorded)>,
}

const SHARDS: usize = 32;
const SHARD_CAPACITY: usize = 16;

/// The obs spans of one subscriber, by span id.
#[derive(Debug)]
pub(crate) struct SpanTable {
    /// Unrecorded spans, without a lock; those that do not fit go to the shards.
    slots: Slots,
    shards: [Mutex<Shard>; SHARDS],
    /// Whether the table ever held a span: until then (every span the tracer's, as under the
    /// default sampler without unsampled parents and without a shared processor) lookups for
    /// the spans that pass through to the tracer skip the table. A flag set once rather than a
    /// count: a count would cost two atomic read-modify-writes per span, as many as its table
    /// lookups.
    ever: AtomicBool,
    /// Who makes each new span, and with which ids.
    pub(crate) decider: Decider,
}

impl SpanTable {
    pub(crate) fn new(sampler: Sampler, export: Export) -> Self {
        // Room from the start for the spans a busy service has open at once, so the first
        // spans to land in a shard do not allocate its table.
        let recorded = if export == Export::Exported { SHARD_CAPACITY } else { 0 };
        let shards = std::array::from_fn(|_| {
            Mutex::new(Shard {
                unrecorded: HashMap::with_capacity_and_hasher(SHARD_CAPACITY, Default::default()),
                recorded: HashMap::with_capacity_and_hasher(recorded, Default::default()),
            })
        });
        Self { slots: Slots::new(), shards, ever: AtomicBool::new(false), decider: Decider { sampler, export } }
    }

    fn shard(&self, id: &Id) -> std::sync::MutexGuard<'_, Shard> {
        // Registry ids are slab keys: mix them so neighbouring slots spread over the shards.
        let index = (id.into_u64().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 59) as usize % SHARDS;
        self.shards[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn opened(&self) {
        if !self.ever.load(Ordering::Relaxed) {
            self.ever.store(true, Ordering::Relaxed);
        }
    }

    /// Keeps an unrecorded span: its ids, and `state`, its parent's trace state.
    pub(crate) fn insert_unrecorded(&self, id: &Id, ids: Ids, state: &TraceState) {
        self.opened();
        if *state == TraceState::NONE && self.slots.insert(id.into_u64(), ids) {
            return;
        }
        self.shard(id).unrecorded.insert(id.into_u64(), ids.context(state.clone()));
    }

    /// Keeps a recorded span: its context and data, made by `make` once its entry is found, so
    /// that it is written there rather than copied in. `make` runs under the shard's lock: it
    /// must not reach the subscriber.
    #[inline(always)]
    pub(crate) fn insert_recorded(&self, id: &Id, make: impl FnOnce() -> (SpanContext, Recorded)) {
        self.opened();
        // Not `insert_entry`: it takes the span through an out-of-line call, a `memcpy` per span
        // again (callgrind).
        match self.shard(id).recorded.entry(id.into_u64()) {
            Entry::Vacant(entry) => {
                entry.insert(make());
            }
            // A registry id names one open span: only a reparented span is kept again.
            Entry::Occupied(mut entry) => {
                entry.insert(make());
            }
        }
    }

    /// Whether the table may hold spans. Relaxed is enough: a span reaches another thread only
    /// through something that orders its insertion before.
    fn any(&self) -> bool {
        self.ever.load(Ordering::Relaxed)
    }

    /// Whether `id` is one of obs's spans, and then whether it is recorded.
    pub(crate) fn kind(&self, id: &Id) -> Option<bool> {
        if !self.any() {
            return None;
        }
        if self.slots.contains(id.into_u64()) {
            return Some(false);
        }
        let shard = self.shard(id);
        match shard.unrecorded.contains_key(&id.into_u64()) {
            true => Some(false),
            false => shard.recorded.contains_key(&id.into_u64()).then_some(true),
        }
    }

    pub(crate) fn get(&self, id: &Id) -> Option<SpanContext> {
        if !self.any() {
            return None;
        }
        if let Some(ids) = self.slots.get(id.into_u64()) {
            return Some(ids.context(TraceState::NONE));
        }
        let shard = self.shard(id);
        let id = id.into_u64();
        shard.unrecorded.get(&id).or_else(|| shard.recorded.get(&id).map(|(context, _)| context)).cloned()
    }

    /// Runs `f` on the data of span `id`, a recorded span (its callers know it is one);
    /// `None` when it is not. `f` runs under the shard's lock: it must not reach the subscriber.
    pub(crate) fn with_recorded<R>(&self, id: &Id, f: impl FnOnce(&mut Recorded) -> R) -> Option<R> {
        if !self.any() {
            return None;
        }
        self.shard(id).recorded.get_mut(&id.into_u64()).map(|(_, recorded)| f(recorded))
    }

    /// Takes a closed span out; `None` when it was not one of these.
    pub(crate) fn remove(&self, id: &Id) -> Option<Closed> {
        if !self.any() {
            return None;
        }
        if self.slots.remove(id.into_u64()) {
            return Some(Closed::Unrecorded);
        }
        let mut shard = self.shard(id);
        if shard.unrecorded.remove(&id.into_u64()).is_some() {
            return Some(Closed::Unrecorded);
        }
        let (context, recorded) = shard.recorded.remove(&id.into_u64())?;
        Some(Closed::Recorded(context, recorded))
    }

    /// Moves a span under a new parent (`TraceContext::attach` after the span began). Its ids
    /// follow the parent. A recorded span stays recorded while the sampler keeps the parent's
    /// trace; otherwise it is unrecorded, since the attributes it was opened with are gone, and
    /// under an exported sampled parent it is marked unsampled rather than claim a span that
    /// will never arrive. Whether `id` was one of these.
    pub(crate) fn reparent(&self, id: &Id, parent: &SpanContext) -> bool {
        let Some(span) = self.remove(id) else { return false };
        let Decider { sampler, export } = self.decider;
        let sampled = sampled(sampler, Some(parent), parent.trace_id());
        let recorded = match (span, export) {
            (Closed::Recorded(_, mut recorded), Export::Exported) if sampled => {
                recorded.reparent(parent);
                Some(recorded)
            }
            _ => None,
        };
        let keeps = sampled && (export == Export::Local || recorded.is_some());
        let ids = self.decider.ids(parent.trace_id(), Some(parent), keeps);
        match recorded {
            Some(recorded) => self.insert_recorded(id, || (ids.context(parent.trace_state().clone()), recorded)),
            None => self.insert_unrecorded(id, ids, parent.trace_state()),
        }
        true
    }
}

/// Span ids are already unique: one multiply spreads them over the table's buckets.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceId;

    use super::super::decision::Decision;
    use super::super::decision::tests::parent;
    use super::*;

    fn unrecorded_ids(table: &SpanTable) -> Ids {
        match table.decider.decide(None, false) {
            Decision::Unrecorded(ids) => ids,
            other => panic!("not unrecorded: {other:?}"),
        }
    }

    #[test]
    fn the_table_forgets_a_span_at_close_and_moves_it_under_a_new_parent() {
        let local = SpanTable::new(Sampler::ParentBasedAlwaysOn, Export::Local);
        let id = Id::from_u64(42);
        let ids = unrecorded_ids(&local);
        local.insert_unrecorded(&id, ids, &TraceState::NONE);
        assert!(local.kind(&id).is_some() && local.kind(&Id::from_u64(43)).is_none());
        assert_eq!(local.kind(&id), Some(false), "unrecorded");
        assert_eq!(local.get(&id), Some(ids.context(TraceState::NONE)));
        assert!(local.reparent(&id, &parent(false)));
        let moved = local.get(&id).unwrap();
        assert_eq!(moved.trace_id(), TraceId::from(7u128));
        assert!(!moved.is_sampled());
        assert_eq!(moved.trace_state().header(), "k=v", "the new parent's trace state, as the SDK keeps it");
        assert!(matches!(local.remove(&id), Some(Closed::Unrecorded)));
        assert!(local.remove(&id).is_none() && local.get(&id).is_none());
    }

    #[test]
    fn an_unrecorded_span_keeps_its_parents_trace_state() {
        let exported = SpanTable::new(Sampler::ParentBasedAlwaysOn, Export::Exported);
        let parent = parent(false);
        let Decision::Unrecorded(ids) = exported.decider.decide(Some(&parent), false) else { panic!("dropped") };
        let (stated, plain) = (Id::from_u64(7), Id::from_u64(8));
        exported.insert_unrecorded(&stated, ids, parent.trace_state());
        exported.insert_unrecorded(&plain, ids, &TraceState::NONE);
        assert_eq!(exported.get(&stated), Some(ids.context(parent.trace_state().clone())));
        assert_eq!(exported.get(&stated).unwrap().trace_state().header(), "k=v");
        assert_eq!(exported.get(&plain), Some(ids.context(TraceState::NONE)));
        for id in [stated, plain] {
            assert!(matches!(exported.remove(&id), Some(Closed::Unrecorded)));
            assert_eq!(exported.kind(&id), None);
        }
    }
}
