//! obs's tracing as a layer of a subscriber the app composes (`Config::install_layer`): the
//! same log lines, request ids and span pipeline `init()` installs, without obs's filter
//! deciding for the other layers.

use std::any::TypeId;
use std::sync::Mutex;

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::Layers;

/// A line install logs once the subscriber exists: where the scrape is, what is exported, and
/// the configuration's warnings.
#[derive(Clone, Debug)]
pub(crate) enum Startup {
    Info(String),
    Warn(String),
}

impl Startup {
    /// Logs the line to the current subscriber.
    pub(crate) fn log(&self) {
        match self {
            Startup::Info(line) => tracing::info!(target: "obs_runtime::install", "{line}"),
            Startup::Warn(line) => tracing::warn!(target: "obs_runtime::install", "{line}"),
        }
    }
}

/// obs's tracing for a `tracing_subscriber` stack of your own, from
/// [`Config::install_layer`](crate::Config::install_layer): obs's spans, made and exported as
/// `init()` makes them, the spans of your own code beside them in the same traces and
/// processors, the request ids, and obs's JSON log lines with their trace ids unless
/// [`without_log_lines`](TracingLayer::without_log_lines).
///
/// Unlike the subscriber `init()` installs, this layer filters nothing for the others: which
/// spans and events exist is your filters' choice (an `EnvFilter`, a per-layer filter), and a
/// span they turn off is neither logged nor exported. obs's start-up lines (the scrape target,
/// the exporter, the configuration's warnings) are logged to your subscriber once it is built.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt as _;
/// use tracing_subscriber::util::SubscriberInitExt as _;
///
/// # fn main() -> Result<(), obs_runtime::InitError> {
/// # let config = obs_runtime::Config::from_vars([("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none")])?;
/// let (obs, _guard) = config.install_layer()?;
/// tracing_subscriber::registry()
///     .with(tracing_subscriber::EnvFilter::new("info,noisy_dependency=warn"))
///     .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
///     .with(obs.without_log_lines())
///     .init();
/// # Ok(()) }
/// ```
pub struct TracingLayer<S> {
    layers: Layers<S>,
    /// Whether spans are made (not with `OTEL_SDK_DISABLED`), which the log-line filter needs.
    traced: bool,
    log_lines: bool,
    startup: Mutex<Vec<Startup>>,
}

impl<S> TracingLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    pub(crate) fn new(layers: Layers<S>, traced: bool, startup: Vec<Startup>) -> Self {
        Self { layers, traced, log_lines: true, startup: Mutex::new(startup) }
    }

    /// Leaves log lines to your own layers: obs writes none, and keeps its spans and their
    /// request ids.
    #[must_use]
    pub fn without_log_lines(mut self) -> Self {
        self.layers.lines = super::no_log_lines(self.traced);
        self.log_lines = false;
        self
    }
}

impl<S> std::fmt::Debug for TracingLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracingLayer").field("log_lines", &self.log_lines).finish_non_exhaustive()
    }
}

impl<S> Layer<S> for TracingLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.layers.on_register_dispatch(subscriber);
        let startup = std::mem::take(&mut *self.startup.lock().unwrap_or_else(|e| e.into_inner()));
        if startup.is_empty() {
            return;
        }
        // The subscriber is being registered: `tracing` holds its lock on the dispatchers
        // until this returns, so the lines go to it from a thread of their own once it is.
        let subscriber = subscriber.clone();
        let _ = std::thread::Builder::new().name("obs-startup".into()).spawn(move || {
            tracing::dispatcher::with_default(&subscriber, || startup.iter().for_each(Startup::log));
        });
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.layers.on_layer(subscriber);
    }

    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // For the layers' own bookkeeping; which callsites exist is the app's filters' choice.
        let _ = self.layers.register_callsite(meta);
        Interest::always()
    }

    fn enabled(&self, _: &Metadata<'_>, _: Context<'_, S>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        None
    }

    #[inline]
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.layers.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.layers.on_record(id, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.layers.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.layers.on_event(event, ctx);
    }

    #[inline]
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.layers.on_enter(id, ctx);
    }

    #[inline]
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.layers.on_exit(id, ctx);
    }

    #[inline]
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.layers.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.layers.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        // SAFETY: forwards the caller's contract to the wrapped layers.
        unsafe { self.layers.downcast_raw(id) }
    }
}
