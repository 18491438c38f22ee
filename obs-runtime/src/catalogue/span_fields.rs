//! The attributes obs adds to its own spans, named once: the timer sets them, obs's span layer
//! recognises an annotated fn's span by the last field its expansion declares (`obs.slow`), and
//! tail sampling keeps the traces they mark.

/// The span attribute of a call whose future was dropped before it completed.
pub(crate) const CANCELLED_FIELD: &str = "obs.cancelled";
/// The span attribute of a call slower than its objective's latency threshold; the last field
/// of every annotated fn's span.
pub(crate) const SLOW_FIELD: &str = "obs.slow";
