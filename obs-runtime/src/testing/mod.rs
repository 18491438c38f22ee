//! Capturing the metrics and spans that instrumented code produces, for tests.
//!
//! [`capture`] runs a closure and [`capture_async`] a future; both return what the code inside
//! recorded: metric series with their values, and the spans it finished, exactly as the
//! OpenTelemetry exporter would see them (same layer, same settings).
//!
//! A capture sees every metric recorded in its scope: the macros' series, and plain
//! `metrics::counter!`/`gauge!`/`histogram!` calls (registered inside the scope; a handle
//! registered before it reports where it was registered). It is scoped to the thread (for a
//! closure) or to the future (for every poll of it), so tests that run in parallel in one
//! process see only their own data. Work handed to another task or thread is part of the
//! capture while it runs inside one of the capture's spans: spawn it with
//! `.in_current_span()` (from `tracing::Instrument`) and it is seen; spawned bare, it is not.
//!
//! A capture observes, it does not divert: everything still reaches obs's recorder when it is
//! installed. With no recorder installed, the capture records plain calls itself; with another
//! `metrics` recorder installed, it sees the macros' series but leaves plain calls to it.
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

mod captured;
pub(crate) mod recorder;
mod sink;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

pub use captured::{
    Captured, CapturedEvent, CapturedMetric, CapturedSpan, HistogramSample, MetricValue, SpanKind, SpanStatus,
};
use recorder::{CaptureRecorder, FollowSpans, LocalMark, recording_locally};
use sink::{ACTIVE, CURRENT};
pub(crate) use sink::{Sink, current_sink};

#[derive(Clone, Debug, Default)]
struct SpanStore(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for SpanStore {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend(batch);
        std::future::ready(Ok(()))
    }
}

/// Whether no `metrics` recorder is installed (a capture's own counts as none). With obs's
/// recorder installed its handles report to the capture; with no recorder at all, the
/// capture's own recorder sees plain `metrics` calls; another recorder is left alone: a capture
/// observes, it does not divert. (`metrics`' no-op recorder is its only zero-sized one.)
fn no_recorder() -> bool {
    recording_locally() || metrics::with_recorder(|r| std::mem::size_of_val(r) == 0)
}

/// The instrumentation scope of captured spans.
const CAPTURE_TRACER: &str = "obs-capture";

/// One capture: its metric sink, its own `metrics` recorder for when none is installed,
/// and a subscriber with its own tracer provider.
struct Scope {
    sink: Arc<Sink>,
    /// Set when no recorder is installed: then the capture records plain `metrics` calls.
    /// Leaked, and weak: threads that enter the capture's spans lend it to `metrics`.
    recorder: Option<&'static CaptureRecorder>,
    dispatch: Dispatch,
    provider: SdkTracerProvider,
    spans: SpanStore,
}

impl Scope {
    fn new() -> Self {
        ACTIVE.fetch_add(1, Ordering::AcqRel);
        let sink = Arc::<Sink>::default();
        let spans = SpanStore::default();
        // What `init()` installs in front of the exporter, with the SDK's default sampler:
        // obs's spans and the app's end in one processor.
        let resource = opentelemetry_sdk::Resource::builder().build();
        let processor = opentelemetry_sdk::trace::SimpleSpanProcessor::new(spans.clone());
        let shared = crate::telemetry::SharedProcessor::new(processor, &resource);
        let provider = SdkTracerProvider::builder().with_span_processor(shared.clone()).with_resource(resource).build();
        let output = crate::telemetry::SpanOutput::new(shared, CAPTURE_TRACER, Default::default());
        let layer = crate::telemetry::SpanLayer::new(
            crate::telemetry::opentelemetry_layer(provider.tracer(CAPTURE_TRACER), false),
            crate::config::Sampler::ParentBasedAlwaysOn,
            crate::telemetry::Export::Exported,
            Some(output),
        );
        let local = no_recorder();
        let recorder: Option<&'static CaptureRecorder> =
            local.then(|| &*Box::leak(Box::new(CaptureRecorder(Arc::downgrade(&sink)))));
        let own_dispatch = Arc::new(std::sync::OnceLock::new());
        let follow = FollowSpans { sink: sink.clone(), recorder, dispatch: own_dispatch.clone() };
        let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer).with(follow));
        let _ = own_dispatch.set(dispatch.downgrade());
        Self { recorder, sink, dispatch, provider, spans }
    }

    fn enter(&self) -> Entered<'_> {
        let previous = CURRENT.with(|current| current.replace(Some(self.sink.clone())));
        let local = self.recorder.map(|r| (LocalMark::new(), metrics::set_default_local_recorder(r)));
        Entered { previous, _local: local, _dispatch: tracing::dispatcher::set_default(&self.dispatch) }
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

struct Entered<'a> {
    previous: Option<Arc<Sink>>,
    _local: Option<(LocalMark, metrics::LocalRecorderGuard<'a>)>,
    _dispatch: tracing::dispatcher::DefaultGuard,
}

impl Drop for Entered<'_> {
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
