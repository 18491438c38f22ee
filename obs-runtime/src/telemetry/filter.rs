//! Who sees what: log lines get the events `LOG_LEVEL` enables, and the spans at INFO or above
//! so a line can name its span and trace even when the span itself would not be logged; the
//! OpenTelemetry layer gets those spans and the events at INFO or above, except the access log.
//!
//! Two plain wrapper layers rather than tracing-subscriber's per-layer filters
//! (`Layer::with_filter`): those look the span up in the registry on every enter, exit and
//! close, once per filtered layer, which was a third of an instrumented call's cost with the
//! SDK off. Here spans are decided once per callsite (the same for both layers) and only
//! events are checked per call. The log wrapper answers for the whole subscriber: a layer that
//! says `never` hides a callsite from every layer, so it says what either side wants.

use std::any::TypeId;

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::request_id::RequestIdLayer;

/// The target of the access log (`request completed`), a log line per request: a log line, not
/// an event on the server span, whose attributes already say the same.
pub(crate) const ACCESS_LOG_TARGET: &str = "obs::access";

fn info_or_above(meta: &Metadata<'_>) -> bool {
    *meta.level() <= tracing::Level::INFO
}

/// An event the OpenTelemetry layer records on its span.
fn traced_event(meta: &Metadata<'_>) -> bool {
    info_or_above(meta) && meta.target() != ACCESS_LOG_TARGET
}

/// The log-line layer `inner` behind the log filter, deciding callsites for the subscriber,
/// and keeping each span's request id for the lines (`RequestIdLayer`, called from here rather
/// than stacked: each layer stacked on the registry costs every span a level of dispatch).
pub(crate) struct LogLines<L> {
    filter: EnvFilter,
    /// Whether the filter has span directives (`target[span{field=value}]=level`), which need
    /// to follow spans in and out; without them it only reads an event's metadata.
    follows_spans: bool,
    /// Whether an OpenTelemetry layer is installed beside this one and wants its events.
    traces: bool,
    inner: L,
}

impl<L> LogLines<L> {
    pub(crate) fn new(filter: EnvFilter, directives: &str, traces: bool, inner: L) -> Self {
        Self { filter, follows_spans: directives.contains('['), traces, inner }
    }
}

impl<S, L> Layer<S> for LogLines<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        // Called for its own bookkeeping (span directives) whatever the answer.
        let logs = Layer::<S>::register_callsite(&self.filter, meta);
        let _ = self.inner.register_callsite(meta);
        match meta.is_span() {
            true if info_or_above(meta) => Interest::always(),
            true => Interest::never(),
            false if self.traces && traced_event(meta) => Interest::always(),
            false => logs,
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        match meta.is_span() {
            true => info_or_above(meta),
            false => (self.traces && traced_event(meta)) || Layer::enabled(&self.filter, meta, ctx),
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(Layer::<S>::max_level_hint(&self.filter).map_or(LevelFilter::INFO, |hint| hint.max(LevelFilter::INFO)))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        RequestIdLayer.on_new_span(attrs, id, ctx.clone());
        if self.follows_spans {
            self.filter.on_new_span(attrs, id, ctx.clone());
        }
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        RequestIdLayer.on_record(id, values, ctx.clone());
        if self.follows_spans {
            self.filter.on_record(id, values, ctx.clone());
        }
        self.inner.on_record(id, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // The exporter's lines per failed batch: `export_health` says it once instead.
        if super::export_health::reported_here(event.metadata()) {
            return;
        }
        // The callsite may be enabled for the traces only.
        if Layer::enabled(&self.filter, event.metadata(), ctx.clone()) {
            self.inner.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.follows_spans {
            Layer::on_enter(&self.filter, id, ctx.clone());
        }
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if self.follows_spans {
            Layer::on_exit(&self.filter, id, ctx.clone());
        }
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if self.follows_spans {
            Layer::on_close(&self.filter, id.clone(), ctx.clone());
        }
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        // SAFETY: forwards the caller's contract to the wrapped layer.
        unsafe { self.inner.downcast_raw(id) }
    }
}

/// The OpenTelemetry layer `inner`, handed the events it records (INFO or above, not the
/// access log); spans reach it as `LogLines` decided.
pub(crate) struct TracedEvents<O>(pub(crate) O);

impl<S, O> Layer<S> for TracedEvents<O>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    O: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.0.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.0.on_layer(subscriber);
    }

    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        let _ = self.0.register_callsite(meta);
        Interest::always()
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(id, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.0.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if traced_event(event.metadata()) {
            self.0.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.0.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.0.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        // SAFETY: forwards the caller's contract to the wrapped layer; `WithContext`, which
        // `OpenTelemetrySpanExt` looks up, is found through here.
        unsafe { self.0.downcast_raw(id) }
    }
}
