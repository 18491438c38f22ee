//! Who makes a new obs span, and with which ids: the sampler's decision, taken before the
//! span exists when obs can know it (the parent decides, or a ratio on a trace id obs draws
//! itself), as the SDK's tracer would take it.

use opentelemetry::trace::{SpanContext, SpanKind, TraceFlags, TraceId};
use opentelemetry_sdk::trace::{Sampler as SdkSampler, SamplingDecision, ShouldSample};

use super::ids::{self, Ids};
use crate::config::Sampler;

/// Whether spans are exported at all: with `Local` (`OTEL_EXPORTER=none`) every obs span is
/// unrecorded; with `Exported` only those the sampler is known to drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Export {
    Local,
    Exported,
}

/// Who makes a new obs span, and its ids when obs does (its trace state is its parent's).
#[derive(Debug)]
pub(crate) enum Decision {
    /// The tracer, through `tracing-opentelemetry`.
    Tracer,
    /// obs, as ids only: the span will record nothing.
    Unrecorded(Ids),
    /// obs, as ids and data to export.
    Recorded(Ids),
}

/// The sampler and whether spans are exported: all a decision needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decider {
    pub(crate) sampler: Sampler,
    pub(crate) export: Export,
}

impl Decider {
    /// Who makes a new span under `parent` (its valid span context, or none for a new trace),
    /// and its ids when obs does. `records`: obs can export a span itself.
    pub(crate) fn decide(&self, parent: Option<&SpanContext>, records: bool) -> Decision {
        let inherited = parent.map(SpanContext::trace_id);
        let trace_id = match (inherited, self.export) {
            (Some(trace_id), _) => trace_id,
            (None, Export::Local) => ids::trace_id(),
            // A root decided before the tracer draws its own id would be sampled twice.
            (None, Export::Exported) if !records && self.sampler != Sampler::AlwaysOff => return Decision::Tracer,
            (None, Export::Exported) => ids::trace_id(),
        };
        let sampled = sampled(self.sampler, parent, trace_id);
        match (sampled, self.export) {
            (true, Export::Exported) if records => Decision::Recorded(self.ids(trace_id, parent, true)),
            (true, Export::Exported) => Decision::Tracer,
            _ => Decision::Unrecorded(self.ids(trace_id, parent, sampled)),
        }
    }

    /// The ids the SDK's tracer would give a span of `trace_id` under `parent`: the parent's
    /// flags with the sampled bit, none when dropped (the span's trace state is the parent's).
    pub(crate) fn ids(&self, trace_id: TraceId, parent: Option<&SpanContext>, sampled: bool) -> Ids {
        let flags = match sampled {
            true => parent.map_or(TraceFlags::default(), SpanContext::trace_flags).with_sampled(true),
            false => TraceFlags::default(),
        };
        Ids { trace_id, span_id: ids::span_id(), flags }
    }
}

/// The sampler's decision for a span of `trace_id` under `parent`, as the SDK's samplers make
/// it: none of obs's samplers looks at a span's name, kind or attributes.
pub(super) fn sampled(sampler: Sampler, parent: Option<&SpanContext>, trace_id: TraceId) -> bool {
    let ratio = |ratio: f64| {
        let decision =
            SdkSampler::TraceIdRatioBased(ratio).should_sample(None, trace_id, "", &SpanKind::Internal, &[], &[]);
        decision.decision == SamplingDecision::RecordAndSample
    };
    match (sampler, parent) {
        (Sampler::AlwaysOn | Sampler::Outcome(_), _) => true,
        (Sampler::AlwaysOff, _) => false,
        (Sampler::TraceIdRatio(r), _) => ratio(r),
        (
            Sampler::ParentBasedAlwaysOn | Sampler::ParentBasedAlwaysOff | Sampler::ParentBasedTraceIdRatio(_),
            Some(p),
        ) => p.is_sampled(),
        (Sampler::ParentBasedAlwaysOn, None) => true,
        (Sampler::ParentBasedAlwaysOff, None) => false,
        (Sampler::ParentBasedTraceIdRatio(r), None) => ratio(r),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use opentelemetry::trace::{SpanId, TraceState};

    use super::*;

    /// A remote parent of trace 7 with a trace state, sampled or not.
    pub(in crate::telemetry::spans) fn parent(sampled: bool) -> SpanContext {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let state = TraceState::from_key_value([("k", "v")]).unwrap();
        SpanContext::new(TraceId::from(7u128), SpanId::from(9u64), flags, true, state)
    }

    /// The ids of an unrecorded span, or `None` when the decision was another.
    fn unrecorded(decision: Decision) -> Option<SpanContext> {
        match decision {
            Decision::Unrecorded(ids) => Some(ids.context(TraceState::NONE)),
            _ => None,
        }
    }

    fn decider(sampler: Sampler, export: Export) -> Decider {
        Decider { sampler, export }
    }

    #[test]
    fn exported_spans_are_unrecorded_only_when_the_sampler_is_known_to_drop_them() {
        let parent_based = decider(Sampler::ParentBasedAlwaysOn, Export::Exported);
        let tracer = |d| matches!(d, Decision::Tracer);
        assert!(tracer(parent_based.decide(Some(&parent(true)), false)), "a sampled parent: the tracer records");
        assert!(tracer(parent_based.decide(None, false)), "a root: the tracer decides");
        let dropped = unrecorded(parent_based.decide(Some(&parent(false)), false)).expect("an unsampled parent drops");
        assert_eq!(dropped.trace_id(), TraceId::from(7u128), "the parent's trace");
        assert!(!dropped.is_sampled() && !dropped.is_remote() && dropped.span_id() != SpanId::from(9u64));

        let off = decider(Sampler::AlwaysOff, Export::Exported);
        let root = unrecorded(off.decide(None, false)).expect("always_off drops every span");
        assert!(root.is_valid() && !root.is_sampled());

        let ratio = decider(Sampler::ParentBasedTraceIdRatio(0.5), Export::Exported);
        assert!(tracer(ratio.decide(None, false)), "a ratio at a root needs the tracer's own trace id");
    }

    #[test]
    fn with_a_shared_processor_obs_records_what_the_sampler_keeps() {
        let parent_based = decider(Sampler::ParentBasedAlwaysOn, Export::Exported);
        let Decision::Recorded(child) = parent_based.decide(Some(&parent(true)), true) else {
            panic!("a sampled parent's child is recorded by obs")
        };
        assert!(child.flags.is_sampled() && child.trace_id == TraceId::from(7u128));
        let Decision::Recorded(root) = parent_based.decide(None, true) else { panic!("a root is obs's to decide") };
        assert!(root.flags.is_sampled() && root.trace_id != TraceId::from(7u128) && root.span_id != SpanId::INVALID);
        assert!(unrecorded(parent_based.decide(Some(&parent(false)), true)).is_some(), "still dropped");

        let ratio = decider(Sampler::TraceIdRatio(0.5), Export::Exported);
        let decisions: Vec<Decision> = (0..200).map(|_| ratio.decide(None, true)).collect();
        let recorded = decisions.iter().filter(|d| matches!(d, Decision::Recorded(_))).count();
        let dropped =
            decisions.iter().filter(|d| matches!(d, Decision::Unrecorded(c) if !c.flags.is_sampled())).count();
        assert_eq!(recorded + dropped, 200, "a root under a ratio is either kept and recorded or dropped");
        assert!(recorded > 40 && dropped > 40, "the ratio decides with obs's own trace ids: {recorded} kept");

        let local = decider(Sampler::ParentBasedAlwaysOn, Export::Local);
        assert!(unrecorded(local.decide(None, true)).is_some(), "nothing is recorded with export off");
    }

    #[test]
    fn a_ratio_on_the_parents_trace_is_the_sdks_decision() {
        let ratio = decider(Sampler::TraceIdRatio(0.5), Export::Exported);
        let sdk = SdkSampler::TraceIdRatioBased(0.5);
        let (mut kept, mut dropped) = (0, 0);
        for n in 1..200u128 {
            let trace = TraceId::from(n.wrapping_mul(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
            let parent = SpanContext::new(trace, SpanId::from(1u64), TraceFlags::SAMPLED, false, TraceState::default());
            let sdk_samples = sdk.should_sample(None, trace, "", &SpanKind::Internal, &[], &[]).decision
                == SamplingDecision::RecordAndSample;
            assert_eq!(matches!(ratio.decide(Some(&parent), false), Decision::Tracer), sdk_samples, "trace {trace}");
            assert_eq!(
                matches!(ratio.decide(Some(&parent), true), Decision::Recorded(_)),
                sdk_samples,
                "trace {trace}"
            );
            if sdk_samples { kept += 1 } else { dropped += 1 }
        }
        assert!(kept > 0 && dropped > 0, "both decisions were exercised: {kept} kept, {dropped} dropped");
    }

    #[test]
    fn local_spans_are_all_unrecorded_and_flagged_as_the_sampler_says() {
        let local = decider(Sampler::ParentBasedAlwaysOn, Export::Local);
        let root = unrecorded(local.decide(None, false)).unwrap();
        assert!(root.is_valid() && root.is_sampled(), "a new trace is sampled");
        let child = unrecorded(local.decide(Some(&parent(true)), false)).unwrap();
        assert!(child.is_sampled() && child.trace_id() == TraceId::from(7u128));
        assert!(!unrecorded(local.decide(Some(&parent(false)), false)).unwrap().is_sampled());
    }
}
