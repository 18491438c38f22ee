//! The OpenTelemetry layer `init()` installs: `tracing-opentelemetry`'s, in front of which obs
//! keeps the spans of annotated fns in a table of its own (see `table`): as ids only when they
//! will record nothing, and as the span's data (see `recorded`) when they are exported and obs
//! shares the provider's processors.
//!
//! An unrecorded span costs its ids and a table entry, a recorded one that and its attributes,
//! instead of a span builder, a `String` per attribute, a lock in the registry's extensions, a
//! context and an SDK span: most of an annotated call's cost. Every other span, the user's own
//! and obs's under a tail sampler (whose processor needs the SDK's span), goes to
//! `tracing-opentelemetry` exactly as before.
//!
//! The two kinds nest both ways. A span under one of obs's is handed to the inner layer
//! with that span as the current OpenTelemetry context, which is where the inner layer looks
//! for a contextual parent (and, rewritten as contextual, an explicit one). An obs span under
//! one of the inner layer's finds its parent as the inner layer would: the current
//! OpenTelemetry context, or the explicit parent's. Lookups of a span's ids (log lines,
//! exemplars, [`TraceContext`](crate::propagation::TraceContext), header injection) go through
//! [`span_context`], which knows both. `OpenTelemetrySpanExt::context`, `set_parent` and
//! `opentelemetry::Context::current()` know only the inner layer's spans (an obs span is not
//! made current, which would cost the context an allocation per call), so obs's own APIs are
//! the ones to use on an obs span.

mod context;
mod decision;
mod fields;
mod ids;
mod interned;
#[cfg(test)]
mod parity;
mod recorded;
mod slots;
mod table;

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceState};
use tracing::dispatcher::WeakDispatch;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

pub use context::ParentGuard;
pub(crate) use context::{set_parent, span_context, span_context_of};
use decision::Decision;
pub(crate) use decision::Export;
use ids::Ids;
pub(crate) use recorded::{SharedProcessor, SpanOutput};
use table::{Closed, SpanTable};

use super::local::LocalSpan;
use crate::catalogue::SLOW_FIELD;
use crate::config::Sampler;
use recorded::{ParentIds, Recorded, SpanEvent};

thread_local! {
    /// How many spans are entered on this thread, and obs's among them with the depth each was
    /// entered at: the current span is obs's when the innermost of these is as deep as the
    /// stack. A registry lookup of the current span cost about as much as
    /// the rest of an unrecorded span (callgrind); this costs a count per enter and exit.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };

    /// The obs span this thread opened last, by layer and id, and whether it is recorded: it
    /// is most often the next one entered, known then without the table. Registry ids carry
    /// their slot's generation, so a reused slot never matches.
    static OPENED: Cell<(usize, u64, bool)> = const { Cell::new((0, 0, false)) };

    /// Set while a closed span is handed to the processors: whatever they log is not an event
    /// of obs's spans (as `tracing-opentelemetry` ignores events inside its own calls).
    static EXPORTING: Cell<bool> = const { Cell::new(false) };
}

/// What became of a new obs span while its parent was borrowed.
enum Opening {
    /// The tracer makes it.
    Tracer,
    /// Kept as ids already.
    Unrecorded,
    /// To record, with its ids, its parent's trace state and what it keeps of its parent.
    Recorded(Ids, TraceState, ParentIds),
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Entered {
    layer: usize,
    depth: usize,
    id: u64,
    recorded: bool,
}

/// `inner` (the `tracing-opentelemetry` layer) behind obs's own spans.
pub(crate) struct SpanLayer<L> {
    inner: L,
    table: SpanTable,
    /// Where recorded spans go; without it every exported span is the inner layer's.
    output: Option<SpanOutput>,
    dispatch: OnceLock<WeakDispatch>,
}

impl<L> SpanLayer<L> {
    pub(crate) fn new(inner: L, sampler: Sampler, export: Export, output: Option<SpanOutput>) -> Self {
        Self { inner, table: SpanTable::new(sampler, export), output, dispatch: OnceLock::new() }
    }
}

/// An annotated fn's span: every field set obs's expansion declares ends with `obs.slow`.
/// Only the last name is compared: a search of every name cost as much as a table lookup.
pub(crate) fn is_obs_span(meta: &Metadata<'_>) -> bool {
    let fields = meta.fields();
    fields.len().checked_sub(1).and_then(|last| fields.iter().nth(last)).is_some_and(|f| f.name() == SLOW_FIELD)
}

/// `f` of a context's valid span, or of none (a new trace); `None` when telemetry is
/// suppressed, which the tracer answers for itself.
fn with_parent_in<R>(cx: &opentelemetry::Context, f: impl FnOnce(Option<&SpanContext>) -> R) -> Option<R> {
    if cx.is_telemetry_suppressed() {
        return None;
    }
    let span = cx.span();
    let span_context = span.span_context();
    Some(f(span_context.is_valid().then_some(span_context)))
}

impl<L> SpanLayer<L> {
    /// `f` of the parent an obs span would get from the inner layer: the explicit parent's
    /// context, else the current context (an obs span that is current is not in it, so it is
    /// asked first). `None` when that is for the tracer to say. `f` may run while the current
    /// context is borrowed: it must not attach one.
    fn with_obs_parent<R>(&self, attrs: &Attributes<'_>, f: impl FnOnce(Option<&SpanContext>) -> R) -> Option<R> {
        if let Some(parent) = attrs.parent() {
            if let Some(span_context) = self.table.get(parent) {
                return Some(f(Some(&span_context)));
            }
            let dispatch = self.dispatch.get()?.upgrade()?;
            // A parent the inner layer does not know makes a root, as there.
            return match tracing_opentelemetry::get_otel_context(parent, &dispatch) {
                Some(cx) => with_parent_in(&cx, f),
                None => Some(f(None)),
            };
        }
        if !attrs.is_contextual() {
            return Some(f(None));
        }
        if !context::parent_attached()
            && let Some(current) = self.current_obs()
            && let Some(span_context) = self.table.get(&Id::from_u64(current.id))
        {
            return Some(f(Some(&span_context)));
        }
        opentelemetry::Context::map_current(|cx| with_parent_in(cx, f))
    }

    /// The current span, if it is one of this layer's obs spans: only those are in `ENTERED`,
    /// so the innermost entry at the current depth is it.
    fn current_obs(&self) -> Option<Entered> {
        let depth = DEPTH.get();
        let innermost = ENTERED.try_with(|entered| entered.borrow().last().copied()).ok().flatten()?;
        (innermost.depth == depth && innermost.layer == self.identity()).then_some(innermost)
    }

    /// The current span's ids, if it is one of this layer's obs spans.
    fn current_obs_context(&self) -> Option<SpanContext> {
        self.table.get(&Id::from_u64(self.current_obs()?.id))
    }

    fn identity(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }

    /// Opens an obs span of obs's own, if the decision is obs's: an unrecorded one while its
    /// parent is borrowed, a recorded one with what it keeps of its parent (reading its
    /// attributes may run code that makes a context current).
    fn open_obs(&self, attrs: &Attributes<'_>, id: &Id) -> bool {
        let records = self.output.is_some();
        let decided = self.with_obs_parent(attrs, |parent| match self.table.decider.decide(parent, records) {
            Decision::Tracer => Opening::Tracer,
            Decision::Unrecorded(ids) => {
                self.table.insert_unrecorded(id, ids, parent.map_or(&TraceState::NONE, SpanContext::trace_state));
                Opening::Unrecorded
            }
            Decision::Recorded(ids) => {
                let state = parent.map_or(TraceState::NONE, |parent| parent.trace_state().clone());
                Opening::Recorded(ids, state, ParentIds::of(parent))
            }
        });
        let recorded = match decided.unwrap_or(Opening::Tracer) {
            Opening::Tracer => return false,
            Opening::Unrecorded => false,
            Opening::Recorded(ids, state, parent) => {
                // Decided only with an output.
                let Some(output) = &self.output else { return false };
                let opened = Recorded::read(attrs, &output.limits);
                self.table.insert_recorded(id, || (ids.context(state), opened.into_span(parent)));
                true
            }
        };
        // `with` rather than `set`: `LocalKey::set` of this tuple was an out-of-line call.
        OPENED.with(|opened| opened.set((self.identity(), id.into_u64(), recorded)));
        true
    }

    /// Records an event on obs span `id` if it is recorded (`recorded`, when already known);
    /// whether `id` is one of obs's.
    fn obs_event(&self, id: &Id, recorded: Option<bool>, event: &Event<'_>) -> bool {
        let Some(recorded) = recorded.or_else(|| self.table.kind(id)) else { return false };
        if let (true, Some(output), false) = (recorded, &self.output, EXPORTING.get()) {
            // Read before the span's entry is locked: reading may log.
            let event = SpanEvent::read(event);
            let _ = self.table.with_recorded(id, |span| span.event(event, &output.limits));
        }
        true
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
            if !self.open_obs(attrs, id) {
                self.inner.on_new_span(attrs, id, ctx);
            }
            return;
        }
        let parent = match attrs.parent() {
            Some(parent) => self.table.get(parent),
            None if attrs.is_contextual() => self.current_obs_context(),
            None => None,
        };
        match parent {
            // The inner layer looks for a contextual parent in the current context: lend it
            // the obs parent there, and ask as if contextual when the parent was explicit.
            Some(parent) => {
                let _current = opentelemetry::Context::current().with_span(LocalSpan::new(parent)).attach();
                self.inner.on_new_span(&Attributes::new(attrs.metadata(), attrs.values()), id, ctx);
            }
            None => self.inner.on_new_span(attrs, id, ctx),
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let obs = match (&self.output, self.table.kind(id)) {
            (Some(output), Some(true)) => {
                // Read before the span's entry is locked: reading may log.
                let updates = Recorded::fields(values);
                let _ = self.table.with_recorded(id, |span| span.record(updates, &output.limits));
                true
            }
            (_, kind) => kind.is_some(),
        };
        if !obs {
            self.inner.on_record(id, values, ctx);
        }
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        match (self.table.kind(span), &self.output) {
            (None, _) => self.inner.on_follows_from(span, follows, ctx),
            (Some(true), Some(output)) => {
                let dispatch = self.dispatch.get().and_then(WeakDispatch::upgrade);
                // Looked up before the span's entry is locked: the lookup may take the lock.
                if let Some(follows) = dispatch.and_then(|dispatch| span_context(follows, &dispatch)) {
                    let _ = self.table.with_recorded(span, |span| span.link(follows, &output.limits));
                }
            }
            (Some(_), _) => {}
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let in_obs = match event.parent() {
            Some(parent) => self.obs_event(parent, None, event),
            None if event.is_contextual() => match self.current_obs() {
                Some(current) => self.obs_event(&Id::from_u64(current.id), Some(current.recorded), event),
                None => false,
            },
            None => false,
        };
        if !in_obs {
            self.inner.on_event(event, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let depth = DEPTH.get() + 1;
        DEPTH.set(depth);
        let layer = self.identity();
        let kind = match OPENED.get() {
            (opened_layer, opened, recorded) if (opened_layer, opened) == (layer, id.into_u64()) => Some(recorded),
            _ => self.table.kind(id),
        };
        match kind {
            Some(recorded) => {
                let entered = Entered { layer, depth, id: id.into_u64(), recorded };
                // After this thread's locals are gone (a span closed in a destructor) the span
                // is simply not current: nothing may panic in the host's teardown.
                let _ = ENTERED.try_with(|stack| stack.borrow_mut().push(entered));
            }
            None => self.inner.on_enter(id, ctx),
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        DEPTH.set(DEPTH.get().saturating_sub(1));
        let (layer, raw) = (self.identity(), id.into_u64());
        let left = ENTERED.try_with(|stack| {
            let mut stack = stack.borrow_mut();
            // Spans most often leave in the order they entered; a guard may be dropped out of
            // order.
            if stack.last().is_some_and(|e| e.layer == layer && e.id == raw) {
                return stack.pop();
            }
            let at = stack.iter().rposition(|e| e.layer == layer && e.id == raw);
            at.map(|at| stack.remove(at))
        });
        // Without this thread's locals, an obs span is still known by the table.
        let recorded = match left {
            Ok(left) => left.map(|entered| entered.recorded),
            Err(_) => self.table.kind(id),
        };
        match recorded {
            // `tracing-opentelemetry` ends a span at its last exit.
            Some(true) => {
                let _ = self.table.with_recorded(id, Recorded::exited);
            }
            Some(false) => {}
            None => self.inner.on_exit(id, ctx),
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let (layer, opened, _) = OPENED.get();
        if (layer, opened) == (self.identity(), id.into_u64()) {
            OPENED.with(|opened| opened.set((0, 0, false)));
        }
        match self.table.remove(&id) {
            Some(Closed::Recorded(context, recorded)) => {
                if let Some(output) = &self.output {
                    let exporting = EXPORTING.replace(true);
                    output.export(context, recorded);
                    EXPORTING.set(exporting);
                }
            }
            Some(_) => {}
            None => self.inner.on_close(id, ctx),
        }
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        if id == TypeId::of::<SpanTable>() {
            return Some(std::ptr::from_ref(&self.table).cast());
        }
        // SAFETY: forwards the caller's contract to the wrapped layer; `WithContext`, which
        // `OpenTelemetrySpanExt` looks up, is found through here.
        unsafe { self.inner.downcast_raw(id) }
    }
}
