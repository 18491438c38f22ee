//! Carrying a trace across process and thread boundaries: W3C `traceparent`/`tracestate`
//! headers for HTTP, and a serialisable [`TraceContext`] for job payloads.

use std::collections::HashMap;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

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

/// Writes `span`'s trace context into `headers`.
pub fn inject_span(span: &Span, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

/// The trace context of incoming HTTP headers, to make a span its child with
/// `span.set_parent(cx)`. Missing or malformed headers give an empty context: a new trace.
pub fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// The W3C trace context of a span, in a form that fits into a job payload.
///
/// Take it with [`TraceContext::current`] where the job is enqueued, store it with the job, and
/// name it in `#[queue_job(parent = …)]` where the job runs: the job's span continues the
/// producer's trace.
///
/// It serialises with serde as `{"traceparent": "...", "tracestate": "..."}`.
///
/// ```
/// use obs_runtime::propagation::TraceContext;
///
/// let carried = TraceContext::current();
/// // Outside any span there is no trace to continue.
/// assert!(carried.traceparent.is_empty());
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
