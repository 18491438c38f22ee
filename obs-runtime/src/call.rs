//! What one instrumented call carries from start to finish: its timer, its span, and the guard
//! that still records it when the call panics or its future is dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tracing::Span;

use crate::clock;
use crate::outcome::{ErrorDetail, Outcome};
use crate::site::{GaugeSite, Site, WS_GAUGE};
use crate::status::Status;
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
}

impl Timer {
    /// Starts timing a call of `site` whose span is `span`.
    #[inline]
    pub fn start(site: &'static Site, span: Span) -> Self {
        Self { site: Some(site), start: clock::now(), span, sink: testing::current_sink(), done: false }
    }

    /// A call that has a span but no metrics (`#[traced]`).
    #[inline]
    pub fn untimed(span: Span) -> Self {
        Self { site: None, start: 0, span, sink: None, done: false }
    }

    /// The call's span.
    #[inline]
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Records the call with its classified outcome.
    #[inline]
    pub fn finish(mut self, outcome: Outcome<'_>) {
        self.done = true;
        self.record(outcome.status());
        if let Outcome::Error(detail) = outcome {
            record_error(&self.span, detail);
        }
    }

    #[inline]
    fn record(&self, status: Status) {
        if let Some(site) = self.site {
            let nanos = clock::nanos_since(self.start);
            site.record(status, nanos);
            if let Some(sink) = &self.sink {
                sink.record_call(site.spec(), status, nanos as f64 * 1e-9);
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if std::thread::panicking() {
            self.record(Status::Error);
            record_error(&self.span, ErrorDetail::Opaque("panicked", "panic"));
        } else {
            self.record(Status::Cancelled);
        }
    }
}

/// Marks the span as failed the way OpenTelemetry's `recordException` does: status Error with
/// the error's text, plus an `exception` event with its type and message.
#[cold]
fn record_error(span: &Span, detail: ErrorDetail<'_>) {
    if span.is_disabled() {
        return;
    }
    let message = detail.to_string();
    span.record("otel.status_description", message.as_str());
    tracing::event!(
        parent: span,
        tracing::Level::ERROR,
        "exception.type" = detail.type_name(),
        exception.message = message.as_str(),
        "exception"
    );
}

pin_project_lite::pin_project! {
    /// The instrumented future of an async call: enters the span on every poll, and hands the
    /// timer back with the output so the caller classifies it with concrete types in scope.
    /// Dropped before completion, the timer records `cancelled`; a panic inside a poll records
    /// `error` at once, because the owner drops the future only after the unwinding ends.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F> {
        #[pin]
        inner: F,
        span: Span,
        timer: Option<Timer>,
    }
}

impl<F> Instrumented<F> {
    /// Wraps the user's future.
    #[inline]
    pub fn new(timer: Timer, inner: F) -> Self {
        Self { inner, span: timer.span.clone(), timer: Some(timer) }
    }
}

struct PanicGuard<'a>(&'a mut Option<Timer>);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Dropped while unwinding, so the timer records `error`.
            self.0.take();
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = (F::Output, Timer);

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let guard = PanicGuard(this.timer);
        let output = match this.inner.poll(cx) {
            Poll::Ready(output) => output,
            Poll::Pending => return Poll::Pending,
        };
        let timer = guard.0.take().unwrap_or_else(|| Timer::untimed(Span::none()).into_done());
        Poll::Ready((output, timer))
    }
}

impl Timer {
    fn into_done(mut self) -> Self {
        self.done = true;
        self
    }
}

/// Keeps `active_websocket_connections` one higher while a `#[ws_connection]` handler runs,
/// however it ends. Used by the expansions.
#[derive(Debug)]
#[must_use]
pub struct WsConnection {
    site: &'static GaugeSite,
    sink: Option<Arc<Sink>>,
}

impl WsConnection {
    /// Counts a connection in.
    #[inline]
    pub fn open(site: &'static GaugeSite) -> Self {
        site.add(1.0);
        let sink = testing::current_sink();
        if let Some(sink) = &sink {
            sink.add_gauge(WS_GAUGE, 1.0);
        }
        Self { site, sink }
    }
}

impl Drop for WsConnection {
    fn drop(&mut self) {
        self.site.add(-1.0);
        if let Some(sink) = &self.sink {
            sink.add_gauge(WS_GAUGE, -1.0);
        }
    }
}
