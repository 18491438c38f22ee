//! Outcome-aware sampling (`OTEL_TRACES_SAMPLER=obs_outcome`): the spans of a trace's local
//! part are held until its local root ends, then all exported or all dropped.
//!
//! Kept: a local trace with a span that failed (status error), was cancelled (`obs.cancelled`),
//! missed its objective's latency threshold (`obs.slow`) or ran past the configured threshold;
//! a trace whose incoming parent was sampled; otherwise the
//! ratio decides by trace id exactly as the SDK's `traceidratio` does, so every service
//! sampling the same trace at the same ratio decides alike. The SDK's own sampler records every
//! span (always on); this processor is what drops.
//!
//! Memory is bounded per trace (spans and bytes) and in all (held traces and bytes). A trace
//! that hits a bound is decided at once with what is known so far, counted in
//! `obs_traces_decided_early_total{reason}`, and its later spans follow that decision.
//! Nothing waits on anything but this processor's own short lock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status, TraceContextExt, TraceId};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::limits::estimate;
use crate::catalogue::TRACES_DECIDED_EARLY_TOTAL;
use crate::catalogue::{CANCELLED_FIELD, SLOW_FIELD};

/// Bounds on what is held while waiting for local roots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    pub(crate) spans_per_trace: usize,
    pub(crate) bytes_per_trace: usize,
    pub(crate) traces: usize,
    pub(crate) bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self { spans_per_trace: 1_000, bytes_per_trace: 4 << 20, traces: 10_000, bytes: 32 << 20 }
    }
}

/// Decisions remembered after a trace's root ended, for spans that end later (a spawned task
/// outliving its request).
const REMEMBERED: usize = 4_096;

/// The processor in front of obs's span pipeline.
#[derive(Debug)]
pub(crate) struct TailSampling<P> {
    pub(crate) inner: P,
    /// The ratio as `traceidratio` compares it: against the trace id's low 63 bits.
    bound: u64,
    latency: Option<Duration>,
    limits: Bounds,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    held: HashMap<TraceId, Held>,
    bytes: usize,
    decided: VecDeque<(TraceId, bool)>,
}

#[derive(Debug)]
struct Held {
    root: SpanId,
    /// Kept whatever happens: a sampled incoming parent, or a span that matters.
    keep: bool,
    spans: Vec<SpanData>,
    bytes: usize,
    /// Decided early (a bound was hit): later spans follow this.
    early: Option<bool>,
}

impl<P: SpanProcessor> TailSampling<P> {
    pub(crate) fn new(inner: P, ratio: f64, latency: Option<Duration>, limits: Bounds) -> Self {
        let bound = (ratio.clamp(0.0, 1.0) * (1u64 << 63) as f64) as u64;
        Self { inner, bound, latency, limits, state: Mutex::default() }
    }

    /// `traceidratio`'s decision for `trace`.
    fn by_ratio(&self, trace: TraceId) -> bool {
        let low = u64::from_be_bytes(trace.to_bytes()[8..].try_into().expect("8 bytes"));
        (low >> 1) < self.bound
    }

    fn matters(&self, span: &SpanData) -> bool {
        matches!(span.status, Status::Error { .. })
            || span.attributes.iter().any(|kv| {
                (kv.key.as_str() == CANCELLED_FIELD || kv.key.as_str() == SLOW_FIELD) && kv.value == Value::Bool(true)
            })
            || self.latency.is_some_and(|threshold| {
                span.end_time.duration_since(span.start_time).is_ok_and(|took| took > threshold)
            })
    }

    /// Holds `span` under its trace, or decides: the spans to hand on now, and the bound that
    /// forced an early decision.
    fn hold(&self, mut span: SpanData) -> (Vec<SpanData>, Option<&'static str>) {
        let trace = span.span_context.trace_id();
        let matters = self.matters(&span);
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *guard;
        let Some(held) = state.held.get_mut(&trace) else {
            // Not held: decided already (early, or its root ended), or never seen starting.
            let known = state.decided.iter().rev().find(|(t, _)| *t == trace).map(|(_, keep)| *keep);
            let keep = known.unwrap_or_else(|| matters || self.by_ratio(trace));
            return (if keep { vec![span] } else { Vec::new() }, None);
        };
        let is_root = span.span_context.span_id() == held.root;
        if let Some(keep) = held.early {
            if is_root {
                state.held.remove(&trace);
                state.remember(trace, keep);
            }
            return (if keep { vec![span] } else { Vec::new() }, None);
        }
        held.keep |= matters;
        let size = estimate(&mut span);
        held.bytes += size;
        state.bytes += size;
        held.spans.push(span);
        let over = if is_root {
            None
        } else if held.spans.len() > self.limits.spans_per_trace {
            Some("trace_spans")
        } else if held.bytes > self.limits.bytes_per_trace {
            Some("trace_bytes")
        } else if state.bytes > self.limits.bytes {
            Some("bytes")
        } else {
            return (Vec::new(), None);
        };
        let keep = held.keep || self.by_ratio(trace);
        let spans = std::mem::take(&mut held.spans);
        state.bytes -= std::mem::take(&mut held.bytes);
        if is_root {
            state.held.remove(&trace);
            state.remember(trace, keep);
        } else {
            held.early = Some(keep);
        }
        (if keep { spans } else { Vec::new() }, over)
    }

    fn forward(&self, spans: Vec<SpanData>) {
        for span in spans {
            self.inner.on_end(span);
        }
    }
}

impl State {
    fn remember(&mut self, trace: TraceId, keep: bool) {
        if self.decided.len() == REMEMBERED {
            self.decided.pop_front();
        }
        self.decided.push_back((trace, keep));
    }
}

impl<P: SpanProcessor> SpanProcessor for TailSampling<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
        let context = opentelemetry::trace::Span::span_context(span).clone();
        let parent = cx.span().span_context().clone();
        if parent.is_valid() && !parent.is_remote() {
            return; // A local child: held under its root's trace.
        }
        let (trace, sampled_parent) = (context.trace_id(), parent.is_remote() && parent.is_sampled());
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.held.len() >= self.limits.traces {
            state.remember(trace, sampled_parent || self.by_ratio(trace));
            drop(state);
            metrics::counter!(TRACES_DECIDED_EARLY_TOTAL.name, "reason" => "traces").increment(1);
            return;
        }
        let held = Held { root: context.span_id(), keep: sampled_parent, spans: Vec::new(), bytes: 0, early: None };
        state.held.insert(trace, held);
    }

    fn on_end(&self, span: SpanData) {
        let (forward, early) = self.hold(span);
        if let Some(reason) = early {
            metrics::counter!(TRACES_DECIDED_EARLY_TOTAL.name, "reason" => reason).increment(1);
        }
        // Handed on outside the lock.
        self.forward(forward);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        // Traces still waiting for their root at shutdown are decided with what is known.
        let held: Vec<(TraceId, Held)> = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.bytes = 0;
            state.held.drain().collect()
        };
        for (trace, held) in held {
            if held.early.is_none() && (held.keep || self.by_ratio(trace)) {
                self.forward(held.spans);
            }
        }
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the tail sampler hands on.
    #[derive(Debug, Clone, Default)]
    struct Recording(std::sync::Arc<Mutex<Vec<String>>>);
    impl SpanProcessor for Recording {
        fn on_start(&self, _: &mut Span, _: &Context) {}
        fn on_end(&self, span: SpanData) {
            self.0.lock().unwrap().push(span.name.into_owned());
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    /// A provider whose spans go through a tail sampler at `ratio` with `limits` into a recording.
    fn provider(ratio: f64, limits: Bounds) -> (opentelemetry_sdk::trace::SdkTracerProvider, Recording) {
        let recording = Recording::default();
        let tail = TailSampling::new(recording.clone(), ratio, None, limits);
        (opentelemetry_sdk::trace::SdkTracerProvider::builder().with_span_processor(tail).build(), recording)
    }

    /// A root with `children` ended in order, the one at `failing` with an error, then the root.
    fn trace(provider: &opentelemetry_sdk::trace::SdkTracerProvider, children: usize, failing: Option<usize>) {
        use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
        let tracer = provider.tracer("test");
        let root = Context::current_with_span(tracer.start("root"));
        for i in 0..children {
            let mut child = tracer.start_with_context(format!("child {i}"), &root);
            if failing == Some(i) {
                child.set_status(Status::error("failed"));
            }
            child.end();
        }
        root.span().end();
    }

    #[test]
    fn a_trace_is_held_until_its_root_ends_and_kept_whole_when_a_span_failed() {
        let (provider, recording) = provider(0.0, Bounds::default());
        trace(&provider, 3, None);
        assert!(recording.0.lock().unwrap().is_empty(), "ratio 0, nothing failed: dropped whole");
        trace(&provider, 3, Some(1));
        assert_eq!(*recording.0.lock().unwrap(), ["child 0", "child 1", "child 2", "root"]);
    }

    #[test]
    fn a_trace_past_its_span_bound_is_decided_early_and_holds_nothing_more() {
        let limits = Bounds { spans_per_trace: 2, ..Bounds::default() };
        let (provider, recording) = provider(0.0, limits);
        // The third child passes the bound: decided then (dropped, nothing had failed), and
        // the failure after it follows that decision instead of being held.
        trace(&provider, 6, Some(4));
        assert!(recording.0.lock().unwrap().is_empty(), "{:?}", recording.0.lock().unwrap());
        // Kept early: a failure before the bound keeps what was held and what follows.
        trace(&provider, 6, Some(0));
        assert_eq!(recording.0.lock().unwrap().len(), 7, "every span of the kept trace");
    }

    #[test]
    fn past_the_bound_on_held_traces_a_new_trace_is_decided_by_ratio_at_once() {
        use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
        let limits = Bounds { traces: 1, ..Bounds::default() };
        let (provider, recording) = provider(1.0, limits);
        let tracer = provider.tracer("test");
        let first = Context::current_with_span(tracer.start("first"));
        let second = Context::current_with_span(tracer.start("second"));
        tracer.start_with_context("child of second", &second).end();
        assert_eq!(*recording.0.lock().unwrap(), ["child of second"], "not held: handed on as it ends");
        second.span().end();
        first.span().end();
        assert_eq!(*recording.0.lock().unwrap(), ["child of second", "second", "first"]);
    }

    #[test]
    fn the_ratio_decides_by_trace_id_as_traceidratio_does() {
        let tail = TailSampling::new(Recording::default(), 0.25, None, Bounds::default());
        let sdk = opentelemetry_sdk::trace::Sampler::TraceIdRatioBased(0.25);
        use opentelemetry_sdk::trace::ShouldSample;
        let mut kept = 0;
        for i in 0..2_000u128 {
            let trace = TraceId::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835));
            let sdk_keeps =
                sdk.should_sample(None, trace, "x", &opentelemetry::trace::SpanKind::Internal, &[], &[]).decision
                    == opentelemetry_sdk::trace::SamplingDecision::RecordAndSample;
            assert_eq!(tail.by_ratio(trace), sdk_keeps, "{trace}");
            kept += usize::from(sdk_keeps);
        }
        assert!((350..650).contains(&kept), "{kept} of 2000 at 0.25");
    }
}
