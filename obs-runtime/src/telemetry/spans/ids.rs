//! Trace and span ids for obs's own spans: a per-thread wyrand generator, seeded from the
//! SDK's generator, instead of the SDK's generator at each span.
//!
//! The SDK's `RandomIdGenerator` takes `rand`'s thread-local cryptographic generator for each
//! id: under export off, two ids were a tenth of an annotated call's instructions. Ids need to
//! be unique and evenly spread (ratio samplers read a trace id's low bits), not secret; wyrand
//! passes the usual statistical suites, and each thread starts from the SDK's own randomness.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

/// A span's ids and flags without its trace state: what an unrecorded span keeps, copied from
/// the sampling decision to the table where a span context (whose trace state is a deque to
/// check and drop) was moved four times per span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ids {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) flags: TraceFlags,
}

impl Ids {
    /// The local span context of these ids with `state`.
    pub(crate) fn context(self, state: TraceState) -> SpanContext {
        SpanContext::new(self.trace_id, self.span_id, self.flags, false, state)
    }
}

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

/// For threads whose locals are gone (a span opened in a thread-local destructor).
static SHARED: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

fn seed() -> u64 {
    u64::from_be_bytes(RandomIdGenerator::default().new_span_id().to_bytes())
}

fn next() -> u64 {
    let state = STATE
        .try_with(|state| {
            let next = state.get().wrapping_add(0xa076_1d64_78bd_642f);
            state.set(next);
            next
        })
        .unwrap_or_else(|_| SHARED.fetch_add(0xa076_1d64_78bd_642f, Ordering::Relaxed));
    let product = u128::from(state) * u128::from(state ^ 0xe703_7ed1_a0b4_28db);
    (product >> 64) as u64 ^ product as u64
}

/// A new span id, never the invalid (zero) one.
pub(crate) fn span_id() -> SpanId {
    loop {
        let id = next();
        if id != 0 {
            return SpanId::from(id);
        }
    }
}

/// A new trace id, never the invalid (zero) one.
pub(crate) fn trace_id() -> TraceId {
    loop {
        let id = u128::from(next()) << 64 | u128::from(next());
        if id != 0 {
            return TraceId::from(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_their_bits_evenly_spread() {
        let spans: HashSet<SpanId> = (0..100_000).map(|_| span_id()).collect();
        assert_eq!(spans.len(), 100_000, "no span id twice");
        let traces: Vec<u128> = (0..100_000).map(|_| u128::from_be_bytes(trace_id().to_bytes())).collect();
        // A ratio sampler compares a trace id's low 64 bits with a threshold: each bit is set
        // about half the time.
        for bit in 0..128 {
            let set = traces.iter().filter(|id| *id >> bit & 1 == 1).count();
            assert!((48_000..52_000).contains(&set), "bit {bit} set {set} times in 100 000");
        }
        let other = std::thread::spawn(span_id).join().unwrap();
        assert!(!spans.contains(&other), "each thread starts from its own seed");
    }
}
