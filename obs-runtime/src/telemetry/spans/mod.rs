//! The OpenTelemetry layer `init()` installs: `tracing-opentelemetry`'s, in front of which obs
//! keeps the spans of annotated fns that will record nothing (see `unrecorded`) out of it.
//!
//! An unrecorded span costs its ids and a table entry instead of a span builder, an attribute
//! pass, a lock, a context and a tracer call: under `OTEL_EXPORTER=none` or a dropping sampler
//! that was most of an annotated call's cost. Every other span, the user's own and every span
//! that may be exported, goes to `tracing-opentelemetry` exactly as before.
//!
//! The two kinds nest both ways. A span under an unrecorded one is handed to the inner layer
//! with that span as the current OpenTelemetry context, which is where the inner layer looks
//! for a contextual parent (and, rewritten as contextual, an explicit one). An obs span under
//! one of the inner layer's finds its parent as the inner layer would: the current
//! OpenTelemetry context, or the explicit parent's. Lookups of a span's ids (log lines,
//! exemplars, [`TraceContext`](crate::propagation::TraceContext), header injection) go through
//! [`span_context`], which knows both. `OpenTelemetrySpanExt::context`, `set_parent` and
//! `opentelemetry::Context::current()` know only the inner layer's spans (an unrecorded span is
//! not made current, which would cost the context an allocation per call), so obs's own APIs
//! are the ones to use on an obs span.

mod unrecorded;

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use tracing::dispatcher::WeakDispatch;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

pub(crate) use unrecorded::Export;
use unrecorded::Unrecorded;

use super::local::LocalSpan;
use crate::call::timer::SLOW_FIELD;
use crate::config::Sampler;

thread_local! {
    /// Set while `#[queue_job(parent = …)]` opens its span with the job's context current:
    /// that context, not the enclosing span, is the new span's parent.
    static PARENT_ATTACHED: Cell<bool> = const { Cell::new(false) };

    /// How many spans are entered on this thread, and the unrecorded ones among them with the
    /// depth each was entered at: the current span is unrecorded when the innermost of these
    /// is as deep as the stack. A registry lookup of the current span cost about as much as
    /// the rest of an unrecorded span (callgrind); this costs a count per enter and exit.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };

    /// The unrecorded span this thread opened last, by layer and id: it is most often the
    /// next one entered, known then without the table. Registry ids carry their slot's
    /// generation, so a reused slot never matches.
    static OPENED: Cell<(usize, u64)> = const { Cell::new((0, 0)) };
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Entered {
    layer: usize,
    depth: usize,
    id: u64,
}

/// `inner` (the `tracing-opentelemetry` layer) behind obs's unrecorded spans.
pub(crate) struct SpanLayer<L> {
    inner: L,
    unrecorded: Unrecorded,
    dispatch: OnceLock<WeakDispatch>,
}

impl<L> SpanLayer<L> {
    pub(crate) fn new(inner: L, sampler: Sampler, export: Export) -> Self {
        Self { inner, unrecorded: Unrecorded::new(sampler, export), dispatch: OnceLock::new() }
    }
}

/// An annotated fn's span: every field set obs's expansion declares ends with `obs.slow`.
fn is_obs_span(meta: &Metadata<'_>) -> bool {
    meta.fields().field(SLOW_FIELD).is_some()
}

/// A context's valid span, or none (a new trace); `None` when telemetry is suppressed, which
/// the tracer answers for itself.
fn parent_in(cx: &opentelemetry::Context) -> Option<Option<SpanContext>> {
    if cx.is_telemetry_suppressed() {
        return None;
    }
    let span = cx.span();
    let span_context = span.span_context();
    Some(span_context.is_valid().then(|| span_context.clone()))
}

impl<L> SpanLayer<L> {
    /// The parent an obs span would get from the inner layer: the explicit parent's context,
    /// else the current context (an unrecorded current span is not in it, so it is asked
    /// first). `None` when that is for the tracer to say.
    fn obs_parent(&self, attrs: &Attributes<'_>) -> Option<Option<SpanContext>> {
        if let Some(parent) = attrs.parent() {
            if let Some(span_context) = self.unrecorded.get(parent) {
                return Some(Some(span_context));
            }
            let dispatch = self.dispatch.get()?.upgrade()?;
            // A parent the inner layer does not know makes a root, as there.
            return tracing_opentelemetry::get_otel_context(parent, &dispatch).map_or(Some(None), |cx| parent_in(&cx));
        }
        if !attrs.is_contextual() {
            return Some(None);
        }
        if !PARENT_ATTACHED.get()
            && let Some(span_context) = self.current_unrecorded()
        {
            return Some(Some(span_context));
        }
        opentelemetry::Context::map_current(parent_in)
    }

    /// The current span, if it is one of this layer's unrecorded spans: only those are in
    /// `ENTERED`, so the innermost entry at the current depth is it.
    fn current_unrecorded_id(&self) -> Option<Id> {
        let depth = DEPTH.get();
        let innermost = ENTERED.try_with(|entered| entered.borrow().last().copied()).ok().flatten()?;
        (innermost.depth == depth && innermost.layer == self.identity()).then(|| Id::from_u64(innermost.id))
    }

    /// The current span's ids, if it is one of this layer's unrecorded spans.
    fn current_unrecorded(&self) -> Option<SpanContext> {
        self.unrecorded.get(&self.current_unrecorded_id()?)
    }

    fn identity(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }
}

impl<S, L> Layer<S> for SpanLayer<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(meta)
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(meta, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if is_obs_span(attrs.metadata()) {
            let ids = self.obs_parent(attrs).and_then(|parent| self.unrecorded.decide(parent.as_ref()));
            match ids {
                Some(span_context) => {
                    self.unrecorded.insert(id, span_context);
                    OPENED.set((self.identity(), id.into_u64()));
                }
                None => self.inner.on_new_span(attrs, id, ctx),
            }
            return;
        }
        let parent = match attrs.parent() {
            Some(parent) => self.unrecorded.get(parent),
            None if attrs.is_contextual() => self.current_unrecorded(),
            None => None,
        };
        match parent {
            // The inner layer looks for a contextual parent in the current context: lend it
            // the unrecorded parent there, and ask as if contextual when the parent was explicit.
            Some(parent) => {
                let _current = opentelemetry::Context::current().with_span(LocalSpan::new(parent)).attach();
                self.inner.on_new_span(&Attributes::new(attrs.metadata(), attrs.values()), id, ctx);
            }
            None => self.inner.on_new_span(attrs, id, ctx),
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if !self.unrecorded.contains(id) {
            self.inner.on_record(id, values, ctx);
        }
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        if !self.unrecorded.contains(span) {
            self.inner.on_follows_from(span, follows, ctx);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let in_unrecorded = match event.parent() {
            Some(parent) => self.unrecorded.contains(parent),
            None if event.is_contextual() => self.current_unrecorded_id().is_some(),
            None => false,
        };
        if !in_unrecorded {
            self.inner.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let depth = DEPTH.get() + 1;
        DEPTH.set(depth);
        let entered = Entered { layer: self.identity(), depth, id: id.into_u64() };
        if OPENED.get() == (entered.layer, entered.id) || self.unrecorded.contains(id) {
            // After this thread's locals are gone (a span closed in a destructor) the span is
            // simply not current: nothing may panic in the host's teardown.
            let _ = ENTERED.try_with(|stack| stack.borrow_mut().push(entered));
        } else {
            self.inner.on_enter(id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        DEPTH.set(DEPTH.get().saturating_sub(1));
        let (layer, raw) = (self.identity(), id.into_u64());
        let unrecorded = ENTERED.try_with(|stack| {
            let mut stack = stack.borrow_mut();
            // Spans most often leave in the order they entered; a guard may be dropped out of
            // order.
            if stack.last().is_some_and(|e| e.layer == layer && e.id == raw) {
                return stack.pop().is_some();
            }
            let at = stack.iter().rposition(|e| e.layer == layer && e.id == raw);
            at.map(|at| stack.remove(at)).is_some()
        });
        // Without this thread's locals, an unrecorded span is still known by the table.
        let unrecorded = unrecorded.unwrap_or_else(|_| self.unrecorded.contains(id));
        if !unrecorded {
            self.inner.on_exit(id, ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if OPENED.get() == (self.identity(), id.into_u64()) {
            OPENED.set((0, 0));
        }
        if !self.unrecorded.remove(&id) {
            self.inner.on_close(id, ctx);
        }
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        if id == TypeId::of::<Unrecorded>() {
            return Some(std::ptr::from_ref(&self.unrecorded).cast());
        }
        // SAFETY: forwards the caller's contract to the wrapped layer; `WithContext`, which
        // `OpenTelemetrySpanExt` looks up, is found through here.
        unsafe { self.inner.downcast_raw(id) }
    }
}

/// The ids of span `id` of `dispatch`: an unrecorded obs span's, or the inner layer's span's.
pub(crate) fn span_context(id: &Id, dispatch: &Dispatch) -> Option<SpanContext> {
    if let Some(unrecorded) = dispatch.downcast_ref::<Unrecorded>()
        && let Some(span_context) = unrecorded.get(id)
    {
        return Some(span_context);
    }
    let cx = tracing_opentelemetry::get_otel_context(id, dispatch)?;
    Some(cx.span().span_context().clone())
}

/// The ids of `span`, if it is enabled and traced.
pub(crate) fn span_context_of(span: &tracing::Span) -> Option<SpanContext> {
    span.with_subscriber(|(id, dispatch)| span_context(id, dispatch)).flatten()
}

/// Makes `span` a child of `cx`, whichever layer keeps it.
pub(crate) fn set_parent(span: &tracing::Span, cx: opentelemetry::Context) {
    let moved = span.with_subscriber(|(id, dispatch)| {
        let unrecorded = dispatch.downcast_ref::<Unrecorded>();
        unrecorded.is_some_and(|unrecorded| unrecorded.reparent(id, cx.span().span_context()))
    });
    if moved != Some(true) {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let _ = span.set_parent(cx);
    }
}

/// `cx` as the current context and the parent of obs spans opened until it is dropped.
#[must_use]
pub struct ParentGuard {
    _current: opentelemetry::ContextGuard,
    previous: bool,
}

impl std::fmt::Debug for ParentGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentGuard").finish_non_exhaustive()
    }
}

impl ParentGuard {
    pub(crate) fn attach(cx: opentelemetry::Context) -> Self {
        let previous = PARENT_ATTACHED.replace(true);
        Self { _current: cx.attach(), previous }
    }
}

impl Drop for ParentGuard {
    fn drop(&mut self) {
        PARENT_ATTACHED.set(self.previous);
    }
}
