//! `tracing` and OpenTelemetry: the global subscriber (log lines filtered by `LOG_LEVEL`, and
//! the OpenTelemetry layer, each seeing its own events so a quiet log level never turns traces
//! off), the tracer provider and its exporter, JSON log lines joined to traces, and W3C
//! propagation.

mod attribute_lists;
mod composed;
mod export_health;
mod filter;
mod json;
mod layer;
mod limits;
mod local;
pub(crate) mod otlp;
pub mod propagation;
mod request_id;
mod spans;
mod stack;
mod tail;
pub(crate) mod trace_context;
mod tracestate;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::layer::{Identity, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

#[cfg(feature = "http")]
pub(crate) use filter::ACCESS_LOG_TARGET;
pub use layer::opentelemetry_layer;
pub(crate) use spans::{Export, SharedProcessor, SpanLayer, SpanOutput, span_context_of};

use crate::config::{LogFormat, LogSettings, ServiceSettings, TraceExporter, TraceSettings};
use crate::error::InitError;
pub(crate) use composed::Startup;
pub use composed::TracingLayer;
pub(crate) use export_health::ExportHealth;
use filter::{LogLines, TracedEvents};
use stack::LinesThenSpans;

/// What obs's tracing is made of: the settings and the provider `install` built.
pub(crate) struct Parts<'a> {
    pub(crate) service: &'a ServiceSettings,
    pub(crate) logs: &'a LogSettings,
    pub(crate) traces: &'a TraceSettings,
    pub(crate) provider: Option<&'a SdkTracerProvider>,
    /// Where obs's exported spans go straight to the provider's processors.
    pub(crate) output: Option<SpanOutput>,
    /// Nothing exported: the spans are made for their ids only (`local`).
    pub(crate) local_spans: bool,
}

/// A layer as `tracing-subscriber` boxes it, for a subscriber `S`.
pub(crate) type Boxed<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

/// obs's log lines then obs's spans, on one level: what `install` puts on the registry and
/// [`TracingLayer`] on any subscriber.
pub(crate) type Layers<S> = LinesThenSpans<LogLines<Boxed<S>>, Option<Boxed<S>>>;

/// Builds [`Layers`] from what install made.
pub(crate) fn layers<S>(parts: Parts<'_>) -> Result<Layers<S>, InitError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let Parts { service, logs, traces, provider, output, local_spans } = parts;
    let traced = provider.is_some();
    let lines: Boxed<S> = match logs.format {
        LogFormat::Json => json::JsonWithTrace::new(service, traces.exporter == TraceExporter::Datadog).boxed(),
        LogFormat::Pretty => {
            // Colour for people at a terminal; plain text for pipes, files and NO_COLOR.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
            fmt::layer().pretty().with_ansi(ansi).boxed()
        }
    };
    let lines = LogLines::new(logs.env_filter()?, &logs.filter, traced, lines);
    let debug = traces.debug_attributes;
    let exported = provider.filter(|_| !local_spans);
    let exported = exported.map(|provider| {
        TracedEvents(SpanLayer::new(
            opentelemetry_layer(provider.tracer(otlp::TRACER_NAME), debug),
            traces.sampler,
            Export::Exported,
            // Debug attributes are tracing-opentelemetry's to add.
            output.filter(|_| !debug),
        ))
    });
    let local = (traced && local_spans).then(|| {
        let tracer = local::LocalTracer::new(otlp::sampler(traces.sampler));
        TracedEvents(SpanLayer::new(layer::lean_layer(tracer, debug), traces.sampler, Export::Local, None))
    });
    // One layer for spans, whichever, on the lines' level: see `stack`.
    let spans = exported.map(|l| l.boxed()).or_else(|| local.map(|l| l.boxed()));
    Ok(LinesThenSpans { lines, spans })
}

/// In place of obs's log lines: none, with the request ids still kept for the spans.
pub(crate) fn no_log_lines<S>(traced: bool) -> LogLines<Boxed<S>>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    LogLines::new(EnvFilter::new("off"), "off", traced, Identity::new().boxed())
}

/// Installs the global subscriber: obs's layers on the registry, obs's filter deciding.
pub(crate) fn install(parts: Parts<'_>) -> Result<(), InitError> {
    tracing_subscriber::registry().with(layers(parts)?).try_init().map_err(|_| InitError::SubscriberAlreadyInstalled)
}
