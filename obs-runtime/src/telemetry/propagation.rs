//! Carrying a trace across process and thread boundaries: W3C `traceparent`/`tracestate`
//! headers for HTTP, and a serialisable [`TraceContext`] for job payloads.

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tracing::Span;

use super::spans;
#[doc(hidden)]
pub use super::spans::ParentGuard;
use super::trace_context;

/// Writes the current span's trace context into outgoing HTTP headers, so the service called
/// continues this trace.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// obs_runtime::propagation::inject(&mut headers);
/// // Outside any span there is nothing to carry.
/// assert!(headers.get("traceparent").is_none());
/// ```
pub fn inject(headers: &mut HeaderMap) {
    inject_span(&Span::current(), headers);
}

/// Writes `span`'s trace context into `headers`: `traceparent` with every flag bit the trace
/// carries, and `tracestate` only when it has members. Replaces what the headers had.
pub fn inject_span(span: &Span, headers: &mut HeaderMap) {
    headers.remove(TRACEPARENT);
    headers.remove(TRACESTATE);
    if let Some((traceparent, tracestate)) = spans::span_context_of(span).as_ref().and_then(trace_context::headers) {
        for (name, value) in [(TRACEPARENT, Some(traceparent)), (TRACESTATE, tracestate)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
    }
}

/// The trace context of incoming HTTP headers, to make a span its child with
/// `span.set_parent(cx)`. Read strictly by W3C Trace Context: missing, repeated or malformed
/// `traceparent` headers give an empty context (a new trace), and `tracestate` is kept only
/// when its combined headers are valid.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f35-00f067aa-01".parse().unwrap());
/// assert!(!obs_runtime::propagation::extract(&headers).has_active_span(), "short ids: a new trace");
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// let cx = obs_runtime::propagation::extract(&headers);
/// assert_eq!(cx.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// ```
pub fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    trace_context::extract(&HeaderExtractor(headers))
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    /// Every line of the header, in order: a value that is not text counts as malformed.
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self.0.get_all(key).iter().map(|v| v.to_str().unwrap_or("\u{0}")).collect();
        (!values.is_empty()).then_some(values)
    }
}

/// The W3C trace context of a span, in a form that fits into a job payload.
///
/// Take it with [`TraceContext::current`] where the job is enqueued, store it with the job, and
/// name it in `#[queue_job(parent = …)]` where the job runs: the job's span continues the
/// producer's trace.
///
/// It serialises with serde as `{"traceparent": "...", "tracestate": "...", "enqueued_at_ms": …}`:
/// taken when the job is enqueued, it also says when, so `#[queue_job]` records how long the job
/// waited (`queue_job_wait_seconds`) and a queue's reader can tell its oldest job's age.
///
/// ```
/// use obs_runtime::propagation::TraceContext;
///
/// let carried = TraceContext::current();
/// // Outside any span there is no trace to continue, but the time of the enqueue is kept.
/// assert!(carried.traceparent.is_empty());
/// assert!(carried.enqueued_at().is_some());
/// let json = serde_json::to_string(&carried).unwrap();
/// assert_eq!(serde_json::from_str::<TraceContext>(&json).unwrap(), carried);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TraceContext {
    /// The `traceparent` header value; empty when there was no active trace.
    pub traceparent: String,
    /// The `tracestate` header value; often empty.
    pub tracestate: String,
    /// When the context was taken, in Unix milliseconds: the job's enqueue time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enqueued_at_ms: Option<u64>,
}

impl TraceContext {
    /// The context of the current span.
    pub fn current() -> Self {
        Self::of(&Span::current())
    }

    /// The context of `span`, stamped with the time now.
    pub fn of(span: &Span) -> Self {
        let (traceparent, tracestate) =
            spans::span_context_of(span).as_ref().and_then(trace_context::headers).unwrap_or_default();
        let enqueued_at_ms = Some(crate::clock::unix_millis());
        Self { traceparent, tracestate: tracestate.unwrap_or_default(), enqueued_at_ms }
    }

    /// When it was taken (the job's enqueue time), if it says.
    pub fn enqueued_at(&self) -> Option<std::time::SystemTime> {
        self.enqueued_at_ms.map(|ms| std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
    }

    /// Makes `span` a child of this context. A context that is empty or malformed (read as
    /// strictly as an incoming header) leaves the span where it is: a lost parent must never
    /// fail the job. An annotated fn's span takes its parent when it opens
    /// (`#[queue_job(parent = …)]`); attached later, an obs span the sampler dropped keeps its
    /// new trace's ids but stays unrecorded.
    pub fn attach(&self, span: &Span) {
        self.attach_to(span);
    }
}

/// What `#[queue_job(parent = …)]` accepts: a [`TraceContext`], a reference to one, or an
/// `Option` of either.
pub trait ParentContext {
    /// The parent this names, if there is a valid one.
    fn parent(&self) -> Option<opentelemetry::Context>;

    /// When the job carrying it was enqueued, in Unix milliseconds, if it says.
    fn enqueued_at_ms(&self) -> Option<u64> {
        None
    }

    /// Makes `span` a child of this context, if there is one.
    fn attach_to(&self, span: &Span) {
        if let Some(cx) = self.parent().filter(|_| !span.is_disabled()) {
            spans::set_parent(span, cx);
        }
    }
}

impl ParentContext for TraceContext {
    fn enqueued_at_ms(&self) -> Option<u64> {
        self.enqueued_at_ms
    }

    fn parent(&self) -> Option<opentelemetry::Context> {
        if self.traceparent.is_empty() {
            return None;
        }
        let mut carrier = HashMap::with_capacity(2);
        carrier.insert("traceparent".to_owned(), self.traceparent.clone());
        carrier.insert("tracestate".to_owned(), self.tracestate.clone());
        let cx = trace_context::extract(&carrier);
        cx.has_active_span().then_some(cx)
    }
}

impl<T: ParentContext + ?Sized> ParentContext for &T {
    fn parent(&self) -> Option<opentelemetry::Context> {
        (**self).parent()
    }

    fn enqueued_at_ms(&self) -> Option<u64> {
        (**self).enqueued_at_ms()
    }
}

impl<T: ParentContext> ParentContext for Option<T> {
    fn parent(&self) -> Option<opentelemetry::Context> {
        self.as_ref().and_then(ParentContext::parent)
    }

    fn enqueued_at_ms(&self) -> Option<u64> {
        self.as_ref().and_then(ParentContext::enqueued_at_ms)
    }
}

/// When the job whose parent is `parent` was enqueued (Unix milliseconds), for the expansion.
#[doc(hidden)]
#[inline]
pub fn enqueued_at(parent: &(impl ParentContext + ?Sized)) -> Option<u64> {
    parent.enqueued_at_ms()
}

/// The parent of the span `#[queue_job(parent = …)]` opens while the guard lives: made
/// current before the span opens, so the sampler decides with it.
#[doc(hidden)]
pub fn enter_parent(parent: &(impl ParentContext + ?Sized)) -> Option<ParentGuard> {
    parent.parent().map(ParentGuard::attach)
}
