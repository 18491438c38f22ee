//! The recorder generation: bumped whenever what a call site resolved may be stale (obs
//! installed a recorder, or a default label value changed), so every call site's cached handles
//! are resolved again on its next call.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// The current generation. Relaxed: it publishes no data, only "resolve again" (the value a
/// site caches is published by the cache's own Release/Acquire pointer).
#[inline]
pub(crate) fn current() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Starts a new generation.
pub(crate) fn bump() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}
