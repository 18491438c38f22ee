//! What one instrumented call carries from start to finish: its start time, its site and its
//! span, recorded exactly once however the call ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Span;

use super::outcome::{ErrorDetail, Outcome};
use super::site::Site;
use crate::catalogue::{CANCELLED_FIELD, SLOW_FIELD, Status};
use crate::clock;
use crate::prometheus::exemplar;
use crate::testing::{self, Sink};

/// Times one call and records it exactly once: through [`Timer::finish`] with the classified
/// outcome, or on drop as `error` while panicking and `cancelled` otherwise. Used by the
/// expansions.
#[derive(Debug)]
#[must_use]
pub struct Timer {
    site: Option<&'static Site>,
    start: u64,
    span: Span,
    sink: Option<Arc<Sink>>,
    done: bool,
    /// Set while unwinding out of a poll: the owner drops the future only after the unwinding
    /// ends, when `thread::panicking()` no longer tells. Atomic, not a `Cell`, so a future
    /// that was `Sync` stays `Sync` once instrumented.
    pub(super) panicked: AtomicBool,
}

impl Timer {
    /// Starts timing a call of `site` whose span is `span`.
    #[inline]
    pub fn start(site: &'static Site, span: Span) -> Self {
        Self {
            site: Some(site),
            start: clock::now(),
            span,
            sink: testing::current_sink(),
            done: false,
            panicked: AtomicBool::new(false),
        }
    }

    /// A call that has a span but no metrics (`#[traced]`).
    #[inline]
    pub fn untimed(span: Span) -> Self {
        Self { site: None, start: 0, span, sink: None, done: false, panicked: AtomicBool::new(false) }
    }

    /// The call's span.
    #[inline]
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Records the call with its classified outcome, once.
    #[inline]
    pub fn finish(&mut self, outcome: Outcome<'_>) {
        if self.done {
            return;
        }
        self.done = true;
        match outcome {
            Outcome::Success => self.record(Status::Success, None),
            Outcome::Error(detail) => {
                self.record(Status::Error, Some(detail.kind()));
                record_error(&self.span, detail);
            }
        }
    }

    /// Records the call; a failed one with its `error_type`.
    #[inline]
    fn record(&self, status: Status, error_kind: Option<&'static str>) {
        if let Some(site) = self.site {
            let nanos = clock::nanos_since(self.start);
            site.record(status, nanos, error_kind);
            if site.is_slow(nanos) && !self.span.is_disabled() {
                self.span.record(SLOW_FIELD, true);
            }
            // One relaxed load until a scraper asks for OpenMetrics; then a context lookup for
            // calls with a span.
            if exemplar::wanted()
                && !self.span.is_disabled()
                && let Some(exemplar) = exemplar::of_span(&self.span, nanos as f64 * 1e-9)
            {
                site.keep_exemplar(status, error_kind, nanos, exemplar);
            }
            if let Some(sink) = &self.sink {
                let family = site.family();
                let labels = super::site::site_labels(site.spec());
                sink.record_call(family, labels, status, error_kind, nanos as f64 * 1e-9);
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if std::thread::panicking() || self.panicked.load(Ordering::Relaxed) {
            let detail = ErrorDetail::Opaque("panicked", "panic");
            self.record(Status::Error, Some(detail.kind()));
            record_error(&self.span, detail);
        } else {
            self.record(Status::Cancelled, None);
            if !self.span.is_disabled() {
                self.span.record(CANCELLED_FIELD, true);
                // A span ends at its last exit: entered once more here, it ends now, when the
                // call was given up, as its duration histogram says, not at its last poll.
                drop(self.span.enter());
            }
        }
    }
}

/// Marks the span as failed the way OpenTelemetry's `recordException` does: status Error with
/// the error's text, plus an `exception` event with its type and message; and sets the
/// semantic conventions' `error.type` to the error's [`BoundedKind`](super::outcome::BoundedKind)
/// or else its type name (`panic` for a panic, `error_if` when the predicate said so).
#[cold]
fn record_error(span: &Span, detail: ErrorDetail<'_>) {
    if span.is_disabled() {
        return;
    }
    let message = detail.to_string();
    span.record("otel.status_description", message.as_str());
    span.record("error.type", detail.kind());
    tracing::event!(
        parent: span,
        tracing::Level::ERROR,
        "exception.type" = detail.type_name(),
        exception.message = message.as_str(),
        "exception"
    );
}
