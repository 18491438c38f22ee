//! `tracing` and OpenTelemetry: the global subscriber (log lines filtered by `LOG_LEVEL`, and
//! the OpenTelemetry layer, each seeing its own events so a quiet log level never turns traces
//! off), the tracer provider and its exporter, JSON log lines joined to traces, and W3C
//! propagation.

mod attribute_lists;
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
use tracing_subscriber::fmt;
use tracing_subscriber::layer::{Layer as _, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

#[cfg(feature = "http")]
pub(crate) use filter::ACCESS_LOG_TARGET;
pub use layer::opentelemetry_layer;
pub(crate) use spans::{Export, SharedProcessor, SpanLayer, SpanOutput, span_context_of};

use crate::config::{LogFormat, LogSettings, ServiceSettings, TraceExporter, TraceSettings};
use crate::error::InitError;
use filter::{LogLines, TracedEvents};

/// Installs the global subscriber. With `local_spans` (nothing exported), the OpenTelemetry
/// layer makes id-only spans (`local`) rather than the provider's; with `output`, obs's spans
/// that are exported go straight to the provider's processors.
pub(crate) fn install(
    service: &ServiceSettings,
    logs: &LogSettings,
    traces: &TraceSettings,
    provider: Option<&SdkTracerProvider>,
    output: Option<SpanOutput>,
    local_spans: bool,
) -> Result<(), InitError> {
    let filter = logs.env_filter()?;
    let traced = provider.is_some();
    let lines = match logs.format {
        LogFormat::Json => json::JsonWithTrace::new(service, traces.exporter == TraceExporter::Datadog).boxed(),
        LogFormat::Pretty => {
            // Colour for people at a terminal; plain text for pipes, files and NO_COLOR.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
            fmt::layer().pretty().with_ansi(ansi).boxed()
        }
    };
    let lines = LogLines::new(filter, &logs.filter, traced, lines);
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
    tracing_subscriber::registry()
        .with(stack::LinesThenSpans { lines, spans })
        .try_init()
        .map_err(|_| InitError::SubscriberAlreadyInstalled)
}
