//! Carrying a trace across process and thread boundaries.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C trace context of a span, in a form that fits into a job payload.
///
/// Take it with [`TraceContext::current`] where the job is enqueued, store it with the job, and
/// name it in `#[queue_job(parent = …)]` where the job runs: the job's span continues the
/// producer's trace.
///
/// ```
/// use obs_runtime::propagation::TraceContext;
///
/// let carried = TraceContext::current();
/// // Outside any span there is no trace to continue.
/// assert!(carried.traceparent.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceContext {
    /// The `traceparent` header value; empty when there was no active trace.
    pub traceparent: String,
    /// The `tracestate` header value; often empty.
    pub tracestate: String,
}

impl TraceContext {
    /// The context of the current span.
    pub fn current() -> Self {
        Self::of(&Span::current())
    }

    /// The context of `span`.
    pub fn of(span: &Span) -> Self {
        let mut carrier: HashMap<String, String> = HashMap::new();
        TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
        Self {
            traceparent: carrier.remove("traceparent").unwrap_or_default(),
            tracestate: carrier.remove("tracestate").unwrap_or_default(),
        }
    }

    /// Makes `span` a child of this context. A context that is empty or malformed leaves the
    /// span where it is: a lost parent must never fail the job.
    pub fn attach(&self, span: &Span) {
        if self.traceparent.is_empty() || span.is_disabled() {
            return;
        }
        let mut carrier = HashMap::with_capacity(2);
        carrier.insert("traceparent".to_owned(), self.traceparent.clone());
        if !self.tracestate.is_empty() {
            carrier.insert("tracestate".to_owned(), self.tracestate.clone());
        }
        let cx = TraceContextPropagator::new().extract(&carrier);
        let _ = span.set_parent(cx);
    }
}

/// What `#[queue_job(parent = …)]` accepts: a [`TraceContext`], a reference to one, or an
/// `Option` of either.
pub trait ParentContext {
    /// Makes `span` a child of this context, if there is one.
    fn attach_to(&self, span: &Span);
}

impl ParentContext for TraceContext {
    fn attach_to(&self, span: &Span) {
        self.attach(span);
    }
}

impl<T: ParentContext + ?Sized> ParentContext for &T {
    fn attach_to(&self, span: &Span) {
        (**self).attach_to(span);
    }
}

impl<T: ParentContext> ParentContext for Option<T> {
    fn attach_to(&self, span: &Span) {
        if let Some(parent) = self {
            parent.attach_to(span);
        }
    }
}
