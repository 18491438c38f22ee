//! Exemplars: the trace and span of the latest sampled call in each bucket, written after that
//! bucket's sample in OpenMetrics text (`# {trace_id="…",span_id="…"} value timestamp`), so a
//! dashboard can go from a latency spike to the trace that made it.
//!
//! Collecting them costs a trace-context lookup per call, so it starts only once a scraper has
//! asked for OpenMetrics (the only format that carries them): until then calls pay one relaxed
//! load. Calls without a span, or whose span is not sampled, store nothing. A slot is written
//! with `try_lock`: a call never waits for another, and when two race one exemplar is kept.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// OpenMetrics' limit on the characters of an exemplar's label set (names and values).
pub(crate) const MAX_EXEMPLAR_LABEL_CHARS: usize = 128;

static WANTED: AtomicBool = AtomicBool::new(false);

/// Whether calls should keep exemplars: a scraper has asked for OpenMetrics.
#[inline]
pub(crate) fn wanted() -> bool {
    WANTED.load(Ordering::Relaxed)
}

/// A scraper negotiated OpenMetrics: calls keep exemplars from now on.
pub(crate) fn want() {
    WANTED.store(true, Ordering::Relaxed);
}

/// One exemplar: the ids of the span a value was recorded in, the value and when.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) value: f64,
    /// Seconds since the Unix epoch.
    pub(crate) timestamp: f64,
}

impl Exemplar {
    /// ` # {trace_id="…",span_id="…"} value timestamp`, to append to a sample line.
    pub(crate) fn suffix(&self, value: f64) -> String {
        let mut suffix = String::new();
        self.write_suffix(&mut suffix, value);
        suffix
    }

    /// Appends the suffix of [`Exemplar::suffix`] to `out`.
    pub(crate) fn write_suffix(&self, out: &mut String, value: f64) {
        out.push_str(" # {trace_id=\"");
        push_hex(out, &self.trace_id);
        out.push_str("\",span_id=\"");
        push_hex(out, &self.span_id);
        let _ = write!(out, "\"}} {value} {:.3}", self.timestamp);
    }
}

// The ids are fixed-size, two hex digits a byte: their label set is always within the limit.
const _: () = assert!("trace_id".len() + 32 + "span_id".len() + 16 <= MAX_EXEMPLAR_LABEL_CHARS);

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// The latest exemplar of one bucket (or counter), or none yet.
#[derive(Debug, Default)]
pub(crate) struct Slot(Mutex<Option<Exemplar>>);

impl Slot {
    /// Keeps `exemplar`, unless another call is writing this slot right now.
    #[inline]
    pub(crate) fn store(&self, exemplar: Exemplar) {
        if let Ok(mut slot) = self.0.try_lock() {
            *slot = Some(exemplar);
        }
    }

    pub(crate) fn load(&self) -> Option<Exemplar> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The exemplar of a value recorded in `span`: its trace and span ids, when it is sampled.
#[cold]
pub(crate) fn of_span(span: &tracing::Span, value: f64) -> Option<Exemplar> {
    if span.is_disabled() {
        return None;
    }
    let ids = crate::telemetry::span_context_of(span)?;
    if !ids.is_sampled() {
        return None;
    }
    let timestamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
    Some(Exemplar { trace_id: ids.trace_id().to_bytes(), span_id: ids.span_id().to_bytes(), value, timestamp })
}

/// The latest of several exemplars.
pub(crate) fn latest(exemplars: impl Iterator<Item = Option<Exemplar>>) -> Option<Exemplar> {
    exemplars.flatten().max_by(|a, b| a.timestamp.total_cmp(&b.timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suffix_carries_both_ids_the_value_and_the_time() {
        let exemplar = Exemplar { trace_id: [0xab; 16], span_id: [0x01; 8], value: 0.25, timestamp: 1_700_000_000.5 };
        assert_eq!(
            exemplar.suffix(0.25),
            format!(" # {{trace_id=\"{}\",span_id=\"{}\"}} 0.25 1700000000.500", "ab".repeat(16), "01".repeat(8))
        );
        let slot = Slot::default();
        assert_eq!(slot.load(), None);
        slot.store(exemplar);
        let later = Exemplar { timestamp: 1_700_000_001.0, ..exemplar };
        assert_eq!(latest([Some(exemplar), None, Some(later)].into_iter()), Some(later));
    }
}
