//! W3C Trace Context, read strictly: the propagator behind `ObsLayer`, `propagation::extract`,
//! `TraceContext` and the global OpenTelemetry propagator.
//!
//! The SDK's `TraceContextPropagator` reads ids as numbers, so `00-1-1-01` continues trace
//! `000…01`, and it keeps only the sampled flag. Here a `traceparent` is continued only when
//! it is exactly what the specification allows: one header; version `00` exactly 55
//! characters, a higher version (not `ff`) read by its first 55 characters; lowercase hex
//! fields of exact widths; non-zero trace and parent ids. Anything else starts a new trace and
//! drops `tracestate` with it, which is read as `tracestate` says. Flag bits obs does not know
//! (Level 2's random flag) are passed on.

use opentelemetry::Context;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};

use super::tracestate;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The trace id, parent id and flags of a `traceparent` value, or `None` when it must not be
/// continued.
pub(crate) fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let bytes = value.as_bytes();
    let version = hex_field(bytes.get(0..2)?)?;
    if version == 0xff || bytes.get(2) != Some(&b'-') {
        return None;
    }
    // Version 00 is exactly 55 characters; a later version may append `-…` fields.
    let length_ok = match version {
        0 => bytes.len() == 55,
        _ => bytes.len() == 55 || bytes.get(55) == Some(&b'-'),
    };
    if !length_ok || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let trace_id = hex_field(&bytes[3..35])?;
    let parent_id = hex_field(&bytes[36..52])?;
    let flags = hex_field(&bytes[53..55])?;
    if trace_id == 0 || parent_id == 0 {
        return None;
    }
    Some((TraceId::from(trace_id), SpanId::from(parent_id as u64), TraceFlags::new(flags as u8)))
}

/// A field of lowercase hex digits; uppercase, signs and anything else are refused.
fn hex_field(bytes: &[u8]) -> Option<u128> {
    if bytes.is_empty() || !bytes.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
        return None;
    }
    u128::from_str_radix(std::str::from_utf8(bytes).ok()?, 16).ok()
}

/// The remote parent described by these headers, or an empty context (a new trace).
pub(crate) fn extract(extractor: &dyn Extractor) -> Context {
    let parents = extractor.get_all(TRACEPARENT).unwrap_or_default();
    let [parent] = parents.as_slice() else {
        return Context::new();
    };
    let Some((trace_id, span_id, flags)) = parse_traceparent(parent) else {
        return Context::new();
    };
    let state = tracestate::parse(extractor.get_all(TRACESTATE).unwrap_or_default()).unwrap_or_default();
    Context::new().with_remote_span_context(SpanContext::new(trace_id, span_id, flags, true, state))
}

/// `traceparent` (and `tracestate` when it has members) of `span_context`, if it is valid.
pub(crate) fn headers(span_context: &SpanContext) -> Option<(String, Option<String>)> {
    if !span_context.is_valid() {
        return None;
    }
    let traceparent =
        format!("00-{}-{}-{:02x}", span_context.trace_id(), span_context.span_id(), span_context.trace_flags().to_u8());
    let state = tracestate::header(span_context.trace_state());
    Some((traceparent, (!state.is_empty()).then_some(state)))
}

/// The strict propagator, for `opentelemetry::global` and anyone who wants it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StrictTraceContext;

impl TextMapPropagator for StrictTraceContext {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if let Some((traceparent, tracestate)) = headers(cx.span().span_context()) {
            injector.set(TRACEPARENT, traceparent);
            if let Some(tracestate) = tracestate {
                injector.set(TRACESTATE, tracestate);
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let extracted = extract(extractor);
        if extracted.has_active_span() {
            cx.with_remote_span_context(extracted.span().span_context().clone())
        } else {
            cx.clone()
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        static NAMES: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
        FieldIter::new(NAMES.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_read_and_flags_are_kept_whole() {
        let (trace, parent, flags) = parse_traceparent(VALID).unwrap();
        assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(parent.to_string(), "00f067aa0ba902b7");
        assert!(flags.is_sampled());
        let random = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
        assert_eq!(parse_traceparent(random).unwrap().2.to_u8(), 0x03, "the random flag survives");
    }

    #[test]
    fn malformed_traceparents_start_a_new_trace() {
        for bad in [
            "00-4bf92f35-00f067aa-01",                                  // short ids, zero-padded by the SDK
            "00-1-1-01",                                                // the scanner's favourite
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // one-digit version
            "000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // three-digit version
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",   // one-digit flags
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-001", // three-digit flags
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",   // 15-digit parent id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",  // illegal flag characters
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", // version 00 with more
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-+1",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_higher_version_is_read_by_its_first_55_characters() {
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds";
        assert!(parse_traceparent(later).is_some());
        assert!(parse_traceparent(&later[..55]).is_some());
        let glued = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what";
        assert_eq!(parse_traceparent(glued), None, "the 56th character must be a dash");
    }
}
