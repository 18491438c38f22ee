//! The tracer of `OTEL_EXPORTER=none`: spans that are ids and flags only.
//!
//! With nothing exported, a span exists so log lines name their trace and span and so
//! propagation carries the trace on. The SDK's tracer would still build each span's data
//! (attributes, events, timestamps) to hand to no processor: a fifth of such a call's
//! instructions. This tracer decides sampling with the configured sampler and takes ids from
//! the SDK's generator, exactly as the SDK does, and keeps nothing else, so what goes on the
//! wire (trace id, flags, trace state) is what the SDK would send.

use opentelemetry::trace::{SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt as _, TraceFlags};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample};

/// Makes [`LocalSpan`]s: see the module's documentation.
#[derive(Clone, Debug)]
pub(crate) struct LocalTracer {
    sampler: Sampler,
    ids: RandomIdGenerator,
}

impl LocalTracer {
    pub(crate) fn new(sampler: Sampler) -> Self {
        Self { sampler, ids: RandomIdGenerator::default() }
    }
}

impl opentelemetry::trace::Tracer for LocalTracer {
    type Span = LocalSpan;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &Context) -> LocalSpan {
        if parent_cx.is_telemetry_suppressed() {
            return LocalSpan(SpanContext::empty_context());
        }
        // As the SDK's tracer: an invalid parent is no parent.
        let parent = parent_cx.span();
        let parent = Some(parent.span_context()).filter(|sc| sc.is_valid());
        let trace_id = parent.map_or_else(|| self.ids.new_trace_id(), SpanContext::trace_id);
        let span_id = self.ids.new_span_id();
        let result = self.sampler.should_sample(
            Some(parent_cx),
            trace_id,
            &builder.name,
            builder.span_kind.as_ref().unwrap_or(&SpanKind::Internal),
            builder.attributes.as_deref().unwrap_or(&[]),
            builder.links.as_deref().unwrap_or(&[]),
        );
        let inherited = parent.map_or(TraceFlags::default(), SpanContext::trace_flags);
        let flags = match result.decision {
            SamplingDecision::RecordAndSample => inherited.with_sampled(true),
            SamplingDecision::RecordOnly => inherited.with_sampled(false),
            SamplingDecision::Drop => TraceFlags::default(),
        };
        LocalSpan(SpanContext::new(trace_id, span_id, flags, false, result.trace_state))
    }
}

/// A span that is its context: ids, flags and trace state. Records nothing.
#[derive(Debug)]
pub(crate) struct LocalSpan(SpanContext);

impl LocalSpan {
    pub(crate) fn new(span_context: SpanContext) -> Self {
        Self(span_context)
    }
}

impl opentelemetry::trace::Span for LocalSpan {
    fn add_event_with_timestamp<T>(&mut self, _: T, _: std::time::SystemTime, _: Vec<KeyValue>)
    where
        T: Into<std::borrow::Cow<'static, str>>,
    {
    }

    fn span_context(&self) -> &SpanContext {
        &self.0
    }

    fn is_recording(&self) -> bool {
        false
    }

    fn set_attribute(&mut self, _: KeyValue) {}

    fn set_status(&mut self, _: Status) {}

    fn update_name<T>(&mut self, _: T)
    where
        T: Into<std::borrow::Cow<'static, str>>,
    {
    }

    fn add_link(&mut self, _: SpanContext, _: Vec<KeyValue>) {}

    fn end_with_timestamp(&mut self, _: std::time::SystemTime) {}
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{Span as _, SpanId, TraceId, TraceState, Tracer as _};

    use super::*;

    fn remote_parent(sampled: bool) -> Context {
        let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
        let sc = SpanContext::new(TraceId::from(7u128), SpanId::from(9u64), flags, true, TraceState::default());
        Context::new().with_remote_span_context(sc)
    }

    #[test]
    fn flags_and_ids_follow_the_sampler_as_the_sdk_sets_them() {
        let tracer = LocalTracer::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
        let root = tracer.build_with_context(SpanBuilder::from_name("root"), &Context::new());
        let root = root.span_context();
        assert!(root.is_valid() && root.is_sampled(), "a new trace is sampled: {root:?}");
        for sampled in [true, false] {
            let child = tracer.build_with_context(SpanBuilder::from_name("child"), &remote_parent(sampled));
            let child = child.span_context();
            assert_eq!(child.trace_id(), TraceId::from(7u128), "the parent's trace");
            assert!(child.span_id() != SpanId::from(9u64) && child.is_valid(), "an id of its own");
            assert_eq!(child.is_sampled(), sampled, "the parent's decision is kept");
        }
        let never = LocalTracer::new(Sampler::AlwaysOff);
        let dropped = never.build_with_context(SpanBuilder::from_name("x"), &Context::new());
        assert!(dropped.span_context().is_valid() && !dropped.span_context().is_sampled());
    }
}
