//! How a capture sees plain `metrics::counter!`/`gauge!`/`histogram!` calls, and work that
//! leaves the capturing thread while carrying one of its spans.
//!
//! - With obs's recorder installed, it hands out handles that also report to the capture
//!   active where they were registered ([`tee_counter`] and friends); the series still reach
//!   the recorder.
//! - With no recorder installed, the capture sets a thread-local `metrics` recorder of its own
//!   for its scope ([`CaptureRecorder`]), so the calls are seen in unit tests that install
//!   nothing. Macro call sites never cache handles from it ([`recording_locally`]).
//! - [`FollowSpans`] makes the capture current on any thread that enters one of its spans, so
//!   a task spawned with `.in_current_span()` reports to the capture that spawned it.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};
use tracing::Subscriber;
use tracing::span::Id;
use tracing_subscriber::layer::{Context, Layer};

use super::sink::{CURRENT, Sink};

/// What a thread that entered one of a capture's spans restores when it leaves it.
struct Followed {
    sink: Option<Arc<Sink>>,
    _local: Option<(LocalMark, metrics::LocalRecorderGuard<'static>)>,
    _dispatch: Option<tracing::dispatcher::DefaultGuard>,
}

thread_local! {
    static LOCAL: Cell<usize> = const { Cell::new(0) };
    static FOLLOWED: RefCell<Vec<Followed>> = const { RefCell::new(Vec::new()) };
}

/// Whether the `metrics` recorder of this thread is a capture's own: handles from it must not
/// be cached past the capture.
#[inline]
pub(crate) fn recording_locally() -> bool {
    LOCAL.with(Cell::get) > 0
}

/// Marks this thread as recording into a capture's own recorder while alive.
pub(super) struct LocalMark;

impl LocalMark {
    pub(super) fn new() -> Self {
        LOCAL.with(|n| n.set(n.get() + 1));
        Self
    }
}

impl Drop for LocalMark {
    fn drop(&mut self) {
        LOCAL.with(|n| n.set(n.get() - 1));
    }
}

/// One series of a capture, as a `metrics` handle.
struct SinkSeries {
    sink: Arc<Sink>,
    name: String,
    labels: Vec<(String, String)>,
}

impl SinkSeries {
    fn new(sink: Arc<Sink>, key: &Key) -> Arc<Self> {
        let labels = key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
        Arc::new(Self { sink, name: key.name().to_owned(), labels })
    }
}

impl CounterFn for SinkSeries {
    fn increment(&self, value: u64) {
        self.sink.counter(&self.name, self.labels.clone(), |n| *n += value);
    }

    fn absolute(&self, value: u64) {
        self.sink.counter(&self.name, self.labels.clone(), |n| *n = (*n).max(value));
    }
}

impl GaugeFn for SinkSeries {
    fn increment(&self, value: f64) {
        self.sink.gauge(&self.name, self.labels.clone(), |v| *v += value);
    }

    fn decrement(&self, value: f64) {
        self.sink.gauge(&self.name, self.labels.clone(), |v| *v -= value);
    }

    fn set(&self, value: f64) {
        self.sink.gauge(&self.name, self.labels.clone(), |v| *v = value);
    }
}

impl HistogramFn for SinkSeries {
    fn record(&self, value: f64) {
        self.sink.observe(&self.name, self.labels.clone(), value);
    }
}

/// The `metrics` recorder of a capture's scope when no recorder is installed. It holds the
/// sink weakly: the copy that follows spawned tasks outlives the capture (it is leaked, being
/// lent to `metrics` for `'static`), and must not keep the capture's data alive.
#[derive(Debug)]
pub(super) struct CaptureRecorder(pub(super) Weak<Sink>);

impl CaptureRecorder {
    fn series(&self, key: &Key) -> Option<Arc<SinkSeries>> {
        Some(SinkSeries::new(self.0.upgrade()?, key))
    }
}

impl metrics::Recorder for CaptureRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.series(key).map_or_else(Counter::noop, Counter::from_arc)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.series(key).map_or_else(Gauge::noop, Gauge::from_arc)
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.series(key).map_or_else(Histogram::noop, Histogram::from_arc)
    }
}

/// A handle of the installed recorder, and the same series of the current capture.
struct Tee<H> {
    installed: H,
    captured: Arc<SinkSeries>,
}

impl CounterFn for Tee<Counter> {
    fn increment(&self, value: u64) {
        self.installed.increment(value);
        CounterFn::increment(&*self.captured, value);
    }

    fn absolute(&self, value: u64) {
        self.installed.absolute(value);
        CounterFn::absolute(&*self.captured, value);
    }
}

impl GaugeFn for Tee<Gauge> {
    fn increment(&self, value: f64) {
        self.installed.increment(value);
        GaugeFn::increment(&*self.captured, value);
    }

    fn decrement(&self, value: f64) {
        self.installed.decrement(value);
        self.captured.decrement(value);
    }

    fn set(&self, value: f64) {
        self.installed.set(value);
        self.captured.set(value);
    }
}

impl HistogramFn for Tee<Histogram> {
    fn record(&self, value: f64) {
        self.installed.record(value);
        self.captured.record(value);
    }
}

/// `counter`, reporting to the current capture too when one is active. obs's own call sites
/// (metadata target `obs`) report to captures themselves and cache their handles, so they
/// are never teed.
pub(crate) fn tee_counter(counter: Counter, key: &Key, metadata: &Metadata<'_>) -> Counter {
    match current_for(metadata) {
        Some(sink) => Counter::from_arc(Arc::new(Tee { installed: counter, captured: SinkSeries::new(sink, key) })),
        None => counter,
    }
}

/// See [`tee_counter`].
pub(crate) fn tee_gauge(gauge: Gauge, key: &Key, metadata: &Metadata<'_>) -> Gauge {
    match current_for(metadata) {
        Some(sink) => Gauge::from_arc(Arc::new(Tee { installed: gauge, captured: SinkSeries::new(sink, key) })),
        None => gauge,
    }
}

/// See [`tee_counter`].
pub(crate) fn tee_histogram(histogram: Histogram, key: &Key, metadata: &Metadata<'_>) -> Histogram {
    match current_for(metadata) {
        Some(sink) => Histogram::from_arc(Arc::new(Tee { installed: histogram, captured: SinkSeries::new(sink, key) })),
        None => histogram,
    }
}

fn current_for(metadata: &Metadata<'_>) -> Option<Arc<Sink>> {
    if metadata.target() == crate::catalogue::METADATA_TARGET {
        return None;
    }
    super::sink::current_sink()
}

/// A layer of the capture's subscriber: while one of its spans is entered on any thread, that
/// thread reports to the capture (and, with no recorder installed, records plain `metrics`
/// calls into it).
pub(super) struct FollowSpans {
    pub(super) sink: Arc<Sink>,
    pub(super) recorder: Option<&'static CaptureRecorder>,
    /// The capture's own subscriber, made the thread's default too, so spans opened there are
    /// captured. Weak: the subscriber owns this layer.
    pub(super) dispatch: Arc<std::sync::OnceLock<tracing::dispatcher::WeakDispatch>>,
}

impl<S: Subscriber> Layer<S> for FollowSpans {
    fn on_enter(&self, _: &Id, _: Context<'_, S>) {
        let sink = CURRENT.with(|current| current.replace(Some(self.sink.clone())));
        let local = self.recorder.map(|recorder| (LocalMark::new(), metrics::set_default_local_recorder(recorder)));
        let dispatch = self.dispatch.get().and_then(|weak| weak.upgrade());
        let _dispatch = dispatch.map(|dispatch| tracing::dispatcher::set_default(&dispatch));
        FOLLOWED.with(|stack| stack.borrow_mut().push(Followed { sink, _local: local, _dispatch }));
    }

    fn on_exit(&self, _: &Id, _: Context<'_, S>) {
        let Some(followed) = FOLLOWED.with(|stack| stack.borrow_mut().pop()) else { return };
        let previous = followed.sink.clone();
        drop(followed);
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}
