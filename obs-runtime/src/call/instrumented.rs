//! The future of an instrumented async call.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use super::outcome::Outcome;
use super::timer::Timer;

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
struct PanicFlag<'a>(&'a AtomicBool);

impl Drop for PanicFlag<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
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
            let _entered = this.timer.span().enter();
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
