//! Capturing the metrics and spans that instrumented code produces, for tests.
//!
//! [`capture`] runs a closure and [`capture_async`] a future; both return what the code inside
//! recorded: metric series with their values, and the spans it finished, exactly as the
//! OpenTelemetry exporter would see them (same layer, same settings).
//!
//! A capture is scoped to the thread (for a closure) or to the future (for every poll of it), so
//! tests that run in parallel in one process see only their own data. It works alongside the
//! per-call-site handle cache: instrumented calls report to the capture that was active when
//! they started, whatever the cache holds, and still report to the installed recorder too.
//! Work handed to other tasks or threads (`tokio::spawn`) is not part of the capture.
//!
//! ```
//! use obs_runtime::testing::{capture, SpanStatus};
//!
//! #[obs_runtime::instrument_db(table = "users")]
//! fn find_user(id: u64) -> Result<String, std::fmt::Error> {
//!     if id == 0 { Err(std::fmt::Error) } else { Ok(format!("user {id}")) }
//! }
//!
//! let (_, captured) = capture(|| {
//!     let _ = find_user(1);
//!     let _ = find_user(0);
//! });
//! assert_eq!(captured.counter("db_queries_total", &[("table", "users"), ("status", "success")]), 1);
//! assert_eq!(captured.counter("db_queries_total", &[("status", "error")]), 1);
//! assert_eq!(captured.histogram("db_query_duration_seconds", &[("operation", "SELECT")]).unwrap().count, 2);
//! let failed = captured.spans_named("SELECT users").find(|s| s.status != SpanStatus::Unset).unwrap();
//! assert_eq!(failed.attr("db.collection.name"), Some("users"));
//! assert_eq!(failed.events[0].name, "exception");
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use opentelemetry::trace::{SpanKind as OtelKind, Status as OtelStatus, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

use crate::site::SiteSpec;
use crate::status::Status;

/// How many captures exist right now, in any thread. While zero, instrumented calls skip the
/// thread-local lookup entirely.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static CURRENT: RefCell<Option<Arc<Sink>>> = const { RefCell::new(None) };
}

/// The capture active on this thread, if any.
#[inline]
pub(crate) fn current_sink() -> Option<Arc<Sink>> {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    CURRENT.with(|current| current.borrow().clone())
}

type SeriesKey = (String, Vec<(String, String)>);

/// Where instrumented calls report while a capture is active.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    series: Mutex<BTreeMap<SeriesKey, MetricValue>>,
}

impl Sink {
    fn series(&self) -> MutexGuard<'_, BTreeMap<SeriesKey, MetricValue>> {
        self.series.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record_call(&self, spec: &SiteSpec, status: Status, seconds: f64) {
        let family = spec.family();
        let labels: Vec<(String, String)> =
            spec.labels().into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        let mut with_status = labels.clone();
        with_status.push(("status".to_owned(), family.statuses[status.index()].to_owned()));
        let duration_labels = if family.status_on_duration { with_status.clone() } else { labels };
        let mut series = self.series();
        match series.entry((family.total.to_owned(), with_status)).or_insert(MetricValue::Counter(0)) {
            MetricValue::Counter(n) => *n += 1,
            other => debug_assert!(false, "{other:?} is not a counter"),
        }
        match series
            .entry((family.duration.to_owned(), duration_labels))
            .or_insert(MetricValue::Histogram { count: 0, sum: 0.0 })
        {
            MetricValue::Histogram { count, sum } => {
                *count += 1;
                *sum += seconds;
            }
            other => debug_assert!(false, "{other:?} is not a histogram"),
        }
    }

    pub(crate) fn add_gauge(&self, name: &str, delta: f64) {
        let mut series = self.series();
        if let MetricValue::Gauge(value) =
            series.entry((name.to_owned(), Vec::new())).or_insert(MetricValue::Gauge(0.0))
        {
            *value += delta;
        }
    }
}

/// The value of one captured series.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    /// A counter's total.
    Counter(u64),
    /// A histogram's number of observations and their sum.
    Histogram {
        /// Observations.
        count: u64,
        /// Sum of the observed values.
        sum: f64,
    },
    /// A gauge's value, relative to where it stood when the capture began.
    Gauge(f64),
}

/// One captured series.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedMetric {
    /// The metric name, without any `METRICS_PREFIX`.
    pub name: String,
    /// Label pairs in the order they were registered.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: MetricValue,
}

impl CapturedMetric {
    fn matches(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name == name && labels.iter().all(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }
}

/// A histogram summed over the series that matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramSample {
    /// Observations.
    pub count: u64,
    /// Sum of the observed values, in the metric's unit.
    pub sum: f64,
}

/// The OpenTelemetry span kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// `internal`
    Internal,
    /// `server`
    Server,
    /// `client`
    Client,
    /// `producer`
    Producer,
    /// `consumer`
    Consumer,
}

/// The OpenTelemetry span status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpanStatus {
    /// Not set: the default, and what a successful call leaves.
    Unset,
    /// Explicitly OK.
    Ok,
    /// Error, with its description.
    Error(String),
}

/// An event recorded on a span, such as `exception`.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedEvent {
    /// The event name.
    pub name: String,
    /// Its attributes, as text.
    pub attributes: BTreeMap<String, String>,
}

/// A finished span, as the OpenTelemetry exporter would receive it.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedSpan {
    /// The span name.
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// Its attributes, as text.
    pub attributes: BTreeMap<String, String>,
    /// Its status.
    pub status: SpanStatus,
    /// Its events, in order.
    pub events: Vec<CapturedEvent>,
    /// The trace id, as 32 hex digits.
    pub trace_id: String,
    /// The span id, as 16 hex digits.
    pub span_id: String,
    /// The parent's span id, if the span has a parent.
    pub parent_span_id: Option<String>,
}

impl CapturedSpan {
    /// The attribute `key`, as text.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    fn from_otel(span: SpanData) -> Self {
        let text = |kvs: &[opentelemetry::KeyValue]| -> BTreeMap<String, String> {
            kvs.iter().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect()
        };
        let parent = span.parent_span_id;
        Self {
            name: span.name.into_owned(),
            kind: match span.span_kind {
                OtelKind::Server => SpanKind::Server,
                OtelKind::Client => SpanKind::Client,
                OtelKind::Producer => SpanKind::Producer,
                OtelKind::Consumer => SpanKind::Consumer,
                OtelKind::Internal => SpanKind::Internal,
            },
            attributes: text(&span.attributes),
            status: match span.status {
                OtelStatus::Unset => SpanStatus::Unset,
                OtelStatus::Ok => SpanStatus::Ok,
                OtelStatus::Error { description } => SpanStatus::Error(description.into_owned()),
            },
            events: span
                .events
                .events
                .iter()
                .map(|e| CapturedEvent { name: e.name.to_string(), attributes: text(&e.attributes) })
                .collect(),
            trace_id: span.span_context.trace_id().to_string(),
            span_id: span.span_context.span_id().to_string(),
            parent_span_id: (parent != opentelemetry::trace::SpanId::INVALID).then(|| parent.to_string()),
        }
    }
}

/// Everything a capture saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Captured {
    /// Every series recorded, sorted by name and labels.
    pub metrics: Vec<CapturedMetric>,
    /// Every span that finished inside the capture, in the order they finished.
    pub spans: Vec<CapturedSpan>,
}

impl Captured {
    /// The sum of the counters named `name` whose labels include all of `labels`; 0 when none.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.metrics
            .iter()
            .filter(|m| m.matches(name, labels))
            .filter_map(|m| match m.value {
                MetricValue::Counter(n) => Some(n),
                _ => None,
            })
            .sum()
    }

    /// The histograms named `name` whose labels include all of `labels`, summed; `None` when none.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<HistogramSample> {
        self.metrics
            .iter()
            .filter(|m| m.matches(name, labels))
            .filter_map(|m| match m.value {
                MetricValue::Histogram { count, sum } => Some(HistogramSample { count, sum }),
                _ => None,
            })
            .reduce(|a, b| HistogramSample { count: a.count + b.count, sum: a.sum + b.sum })
    }

    /// The gauge named `name` with exactly these labels, relative to the start of the capture.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.metrics.iter().find(|m| m.matches(name, labels) && m.labels.len() == labels.len()).and_then(|m| {
            match m.value {
                MetricValue::Gauge(v) => Some(v),
                _ => None,
            }
        })
    }

    /// The series named `name`.
    pub fn series(&self, name: &str) -> impl Iterator<Item = &CapturedMetric> + use<'_> {
        let name = name.to_owned();
        self.metrics.iter().filter(move |m| m.name == name)
    }

    /// The first finished span named `name`.
    pub fn span(&self, name: &str) -> Option<&CapturedSpan> {
        self.spans.iter().find(|s| s.name == name)
    }

    /// Every finished span named `name`.
    pub fn spans_named(&self, name: &str) -> impl Iterator<Item = &CapturedSpan> + use<'_> {
        let name = name.to_owned();
        self.spans.iter().filter(move |s| s.name == name)
    }
}

#[derive(Clone, Debug, Default)]
struct SpanStore(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for SpanStore {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend(batch);
        std::future::ready(Ok(()))
    }
}

/// One capture: its metric sink, and a subscriber with its own tracer provider.
struct Scope {
    sink: Arc<Sink>,
    dispatch: Dispatch,
    provider: SdkTracerProvider,
    spans: SpanStore,
}

impl Scope {
    fn new() -> Self {
        ACTIVE.fetch_add(1, Ordering::AcqRel);
        let spans = SpanStore::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
        let layer = crate::otel_layer::opentelemetry_layer(provider.tracer("obs-capture"), false);
        let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
        Self { sink: Arc::default(), dispatch, provider, spans }
    }

    fn enter(&self) -> Entered {
        let previous = CURRENT.with(|current| current.replace(Some(self.sink.clone())));
        Entered { previous, _dispatch: tracing::dispatcher::set_default(&self.dispatch) }
    }

    fn finish(self) -> Captured {
        let _ = self.provider.force_flush();
        let metrics = self
            .sink
            .series()
            .iter()
            .map(|((name, labels), value)| CapturedMetric {
                name: name.clone(),
                labels: labels.clone(),
                value: value.clone(),
            })
            .collect();
        let spans = std::mem::take(&mut *self.spans.0.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .map(CapturedSpan::from_otel)
            .collect();
        Captured { metrics, spans }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Entered {
    previous: Option<Arc<Sink>>,
    _dispatch: tracing::dispatcher::DefaultGuard,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

/// Runs `f` and returns its result with the metrics and spans it produced on this thread.
///
/// A panic in `f` propagates; catch it inside `f` to inspect what was recorded.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Captured) {
    let scope = Scope::new();
    let output = {
        let _entered = scope.enter();
        f()
    };
    (output, scope.finish())
}

/// Runs `future` to completion and returns its output with the metrics and spans it produced.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use obs_runtime::testing::capture_async;
///
/// #[obs_runtime::instrument_redis(command = "get")]
/// async fn cached(key: &str) -> Option<String> {
///     Some(key.to_uppercase())
/// }
///
/// let (value, captured) = capture_async(cached("a")).await;
/// assert_eq!(value.as_deref(), Some("A"));
/// assert_eq!(captured.counter("redis_calls_total", &[("command", "get"), ("status", "success")]), 1);
/// assert_eq!(captured.span("get").unwrap().attr("db.system.name"), Some("redis"));
/// # }
/// ```
pub fn capture_async<F: IntoFuture>(future: F) -> Capturing<F::IntoFuture> {
    Capturing { inner: Some(Box::pin(future.into_future())), scope: Some(Scope::new()) }
}

/// The future returned by [`capture_async`].
///
/// When the inner future completes it is dropped before the capture ends, so what its drop
/// records (a call cancelled by `tokio::time::timeout`, a guard going out of scope) is
/// captured too.
#[must_use = "futures do nothing unless polled"]
pub struct Capturing<F> {
    inner: Option<Pin<Box<F>>>,
    scope: Option<Scope>,
}

impl<F> std::fmt::Debug for Capturing<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capturing").finish_non_exhaustive()
    }
}

impl<F: Future> Future for Capturing<F> {
    type Output = (F::Output, Captured);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (Some(scope), Some(inner)) = (this.scope.as_ref(), this.inner.as_mut()) else {
            return Poll::Pending;
        };
        let output = {
            let _entered = scope.enter();
            match inner.as_mut().poll(cx) {
                Poll::Ready(output) => {
                    this.inner = None;
                    output
                }
                Poll::Pending => return Poll::Pending,
            }
        };
        let captured = this.scope.take().map(Scope::finish).unwrap_or_default();
        Poll::Ready((output, captured))
    }
}
