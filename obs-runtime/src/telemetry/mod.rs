//! The global `tracing` subscriber: log lines (JSON or pretty) filtered by `LOG_LEVEL`, and the
//! OpenTelemetry layer, each with its own filter so a quiet log level never turns traces off.

mod json;
pub(crate) mod otlp;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

pub(crate) use json::RequestId;

use crate::InitError;
use crate::config::{Config, LogFormat};

/// Installs the global subscriber.
pub(crate) fn install(config: &Config, provider: Option<&SdkTracerProvider>) -> Result<(), InitError> {
    let events = EventsOnly(
        EnvFilter::builder()
            .parse(&config.log_filter)
            .map_err(|e| InitError::invalid("LOG_LEVEL", &config.log_filter, e.to_string()))?,
    );
    let logs = match config.log_format {
        LogFormat::Json => fmt::layer().event_format(json::JsonWithTrace).with_filter(events).boxed(),
        LogFormat::Pretty => {
            // Colour for people at a terminal; plain text for pipes, files and NO_COLOR.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout()) && std::env::var_os("NO_COLOR").is_none();
            fmt::layer().pretty().with_ansi(ansi).with_filter(events).boxed()
        }
    };
    let otel = provider.map(|provider| {
        crate::otel_layer::opentelemetry_layer(provider.tracer("obs"), config.span_debug_attributes)
            .with_filter(LevelFilter::INFO)
    });
    tracing_subscriber::registry()
        .with(RequestIdLayer)
        .with(logs)
        .with(otel)
        .try_init()
        .map_err(|_| InitError::SubscriberAlreadyInstalled)
}

/// Filters events by the log filter but lets every span at INFO or above through, so log lines
/// inside a span can name it and its trace even when the span itself would not be logged.
struct EventsOnly(EnvFilter);

impl<S: Subscriber> Filter<S> for EventsOnly {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if meta.is_span() { *meta.level() <= tracing::Level::INFO } else { Filter::enabled(&self.0, meta, cx) }
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.is_span() {
            if *meta.level() <= tracing::Level::INFO { Interest::always() } else { Interest::never() }
        } else {
            Filter::<S>::callsite_enabled(&self.0, meta)
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(Filter::<S>::max_level_hint(&self.0).map_or(LevelFilter::INFO, |hint| hint.max(LevelFilter::INFO)))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        Filter::on_new_span(&self.0, attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        Filter::on_record(&self.0, id, values, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        Filter::on_enter(&self.0, id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        Filter::on_exit(&self.0, id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        Filter::on_close(&self.0, id, ctx);
    }
}

/// Keeps the `request_id` field of a span in its extensions, for the JSON log lines.
pub(crate) struct RequestIdLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for RequestIdLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut visitor = RequestIdVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(request_id), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut visitor = RequestIdVisitor(None);
        values.record(&mut visitor);
        if let (Some(request_id), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().replace(RequestId(request_id));
        }
    }
}

struct RequestIdVisitor(Option<String>);

impl tracing::field::Visit for RequestIdVisitor {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "request_id" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "request_id" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}
