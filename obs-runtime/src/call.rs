//! What one instrumented call carries from start to finish: its timer, its span, and the guard
//! that still records it when the call panics or its future is dropped.

use std::cell::Cell;
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
    /// Set while unwinding out of a poll: the owner drops the future only after the unwinding
    /// ends, when `thread::panicking()` no longer tells.
    panicked: Cell<bool>,
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
            panicked: Cell::new(false),
        }
    }

    /// A call that has a span but no metrics (`#[traced]`).
    #[inline]
    pub fn untimed(span: Span) -> Self {
        Self { site: None, start: 0, span, sink: None, done: false, panicked: Cell::new(false) }
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
        if std::thread::panicking() || self.panicked.get() {
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
    /// The instrumented future of an async call: enters the span on every poll and, on
    /// completion, classifies the output with the expansion's `classify` (written where the
    /// output's concrete type is known) and records the call. Dropped before completion, the
    /// timer records `cancelled`; a panic inside a poll records `error`.
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, C> {
        #[pin]
        inner: F,
        timer: Timer,
        classify: Option<C>,
    }
}

impl<F, C> std::fmt::Debug for Instrumented<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instrumented").field("timer", &self.timer).finish_non_exhaustive()
    }
}

impl<F, C> Instrumented<F, C>
where
    F: Future,
    C: for<'a> FnOnce(&'a F::Output) -> Outcome<'a>,
{
    /// Wraps the user's future.
    #[inline]
    pub fn new(timer: Timer, inner: F, classify: C) -> Self {
        Self { inner, timer, classify: Some(classify) }
    }
}

/// Marks the timer as panicked when dropped during unwinding.
struct PanicFlag<'a>(&'a Cell<bool>);

impl Drop for PanicFlag<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.set(true);
        }
    }
}

impl<F, C> Future for Instrumented<F, C>
where
    F: Future,
    C: for<'a> FnOnce(&'a F::Output) -> Outcome<'a>,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = {
            let _entered = this.timer.span.enter();
            let _flag = PanicFlag(&this.timer.panicked);
            match this.inner.poll(cx) {
                Poll::Ready(output) => output,
                Poll::Pending => return Poll::Pending,
            }
        };
        if let Some(classify) = this.classify.take() {
            this.timer.finish(classify(&output));
        }
        Poll::Ready(output)
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
