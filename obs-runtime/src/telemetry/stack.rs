//! The subscriber's two layers, log lines and spans, as one level on the registry.
//!
//! `tracing-subscriber` stacks each layer as a level of its own: a span's creation, each
//! enter and exit, and each close (the registry closes a span once per exit and once per
//! child, counting references) passes through every level, and each level's close looks for
//! the registry through the levels below it. Both layers on one level cost an annotated call
//! about 120 instructions less inside a request span (callgrind, `profile_call`).

use std::any::TypeId;

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// `lines` (which decides callsites, `enabled` and the level hint for the subscriber, see
/// `filter::LogLines`) and then `spans`, which follows it.
pub(crate) struct LinesThenSpans<A, B> {
    pub(crate) lines: A,
    pub(crate) spans: B,
}

// The per-span hooks are marked `#[inline]`: left to the compiler, `on_exit` stopped being
// inlined into the registry's `Layered` after unrelated code grew, 19 instructions more per
// call in (b) and (d) (callgrind, `profile_call`).
impl<S, A, B> Layer<S> for LinesThenSpans<A, B>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    A: Layer<S>,
    B: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.lines.on_register_dispatch(subscriber);
        self.spans.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.lines.on_layer(subscriber);
        self.spans.on_layer(subscriber);
    }

    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        let interest = self.lines.register_callsite(meta);
        // Called for its own bookkeeping; the lines' answer covers what the spans want.
        let _ = self.spans.register_callsite(meta);
        interest
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.lines.enabled(meta, ctx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.lines.max_level_hint()
    }

    #[inline]
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.lines.on_new_span(attrs, id, ctx.clone());
        self.spans.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.lines.on_record(id, values, ctx.clone());
        self.spans.on_record(id, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.lines.on_follows_from(span, follows, ctx.clone());
        self.spans.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.lines.on_event(event, ctx.clone());
        self.spans.on_event(event, ctx);
    }

    #[inline]
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.lines.on_enter(id, ctx.clone());
        self.spans.on_enter(id, ctx);
    }

    #[inline]
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.lines.on_exit(id, ctx.clone());
        self.spans.on_exit(id, ctx);
    }

    #[inline]
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.lines.on_close(id.clone(), ctx.clone());
        self.spans.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.lines.on_id_change(old, new, ctx.clone());
        self.spans.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        // SAFETY: forwards the caller's contract to the two layers.
        unsafe { self.lines.downcast_raw(id).or_else(|| self.spans.downcast_raw(id)) }
    }
}
