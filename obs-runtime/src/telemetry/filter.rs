//! The log filter as a per-layer filter that never hides spans, and the OpenTelemetry layer's
//! filter, which keeps the access log out of the spans.

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Filter};

/// Filters events by the log filter but lets every span at INFO or above through, so log lines
/// inside a span can name it and its trace even when the span itself would not be logged.
pub(crate) struct EventsOnly(pub(crate) EnvFilter);

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

/// The target of the access log (`request completed`), a log line per request: a log line, not
/// an event on the server span, whose attributes already say the same.
pub(crate) const ACCESS_LOG_TARGET: &str = "obs::access";

/// What the OpenTelemetry layer sees: spans and events at INFO or above, except the access log.
pub(crate) struct SpansAndEvents;

impl<S: Subscriber> Filter<S> for SpansAndEvents {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        *meta.level() <= tracing::Level::INFO && !(meta.is_event() && meta.target() == ACCESS_LOG_TARGET)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if *meta.level() <= tracing::Level::INFO && !(meta.is_event() && meta.target() == ACCESS_LOG_TARGET) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::INFO)
    }
}
