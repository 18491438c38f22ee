//! A span's OpenTelemetry context, whichever layer keeps it: looked up by id (log lines,
//! exemplars, propagation), moved under a new parent, and the parent `#[queue_job(parent = …)]`
//! makes current while its span opens.

use std::cell::Cell;

use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use tracing::Dispatch;
use tracing::span::Id;

use super::table::SpanTable;

thread_local! {
    /// Set while `#[queue_job(parent = …)]` opens its span with the job's context current:
    /// that context, not the enclosing span, is the new span's parent.
    static PARENT_ATTACHED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a [`ParentGuard`] is alive on this thread.
pub(super) fn parent_attached() -> bool {
    PARENT_ATTACHED.get()
}

/// The ids of span `id` of `dispatch`: an obs span's, or the inner layer's span's.
pub(crate) fn span_context(id: &Id, dispatch: &Dispatch) -> Option<SpanContext> {
    if let Some(table) = dispatch.downcast_ref::<SpanTable>()
        && let Some(span_context) = table.get(id)
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
        let table = dispatch.downcast_ref::<SpanTable>();
        table.is_some_and(|table| table.reparent(id, cx.span().span_context()))
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
