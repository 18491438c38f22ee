//! Regression tests for fn shapes obs got wrong (issue 9): plain fns that return a future are
//! timed and classified when the future finishes, not when the fn returns; an instrumented
//! future is `Send`/`Sync`/`Unpin` exactly when the user's is; `-> !` compiles and records its
//! panic. (The shadowed return type is a UI pass case: `ui/pass/shadowed_return_type.rs`.)
#![cfg(feature = "db")]

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use obs_runtime::instrument_db;
use obs_runtime::testing::{SpanStatus, capture, capture_async};
use obs_tests::{CapturedSpans, assert_counted, panic_message};

const TOTAL: &str = "db_queries_total";
const DURATION: &str = "db_query_duration_seconds";
const PAUSE: Duration = Duration::from_millis(30);

// Spelled out on purpose: an attribute sees tokens, so a type alias of a boxed future is timed
// like a sync call (as with `tracing::instrument`).
#[instrument_db(table = "impl_future", operation = "SELECT")]
fn later(fail: bool) -> impl Future<Output = Result<u8, std::io::Error>> {
    async move {
        tokio::time::sleep(PAUSE).await;
        if fail { Err(std::io::Error::other("failed after the pause")) } else { Ok(3) }
    }
}

#[instrument_db(table = "boxed_no_move", operation = "SELECT")]
fn boxed_without_move() -> Pin<Box<dyn Future<Output = Result<u8, std::io::Error>> + Send>> {
    Box::pin(async {
        tokio::time::sleep(PAUSE).await;
        Ok(3)
    })
}

#[instrument_db(table = "boxed_no_move", operation = "SELECT")]
fn boxed_without_move_failing() -> Pin<Box<dyn Future<Output = Result<u8, std::io::Error>> + Send>> {
    Box::pin(async {
        tokio::time::sleep(PAUSE).await;
        Err(std::io::Error::other("failed after the pause"))
    })
}

#[instrument_db(table = "boxed_let", operation = "SELECT")]
fn boxed_after_a_let(fail: bool) -> std::pin::Pin<Box<dyn Future<Output = Result<u8, std::io::Error>> + Send>> {
    let future = later(fail);
    Box::pin(future)
}

#[instrument_db(table = "returned_call", operation = "SELECT")]
fn a_call_that_returns_a_future(fail: bool) -> impl Future<Output = Result<u8, std::io::Error>> {
    if fail {
        return std::future::ready(Err(std::io::Error::other("failed at once")));
    }
    std::future::ready(Ok(1))
}

/// Runs `future`, returning what it captured and how long the test saw it take.
async fn timed<F: Future>(future: F) -> (F::Output, obs_runtime::testing::Captured, f64) {
    let started = Instant::now();
    let (output, captured) = capture_async(future).await;
    (output, captured, started.elapsed().as_secs_f64())
}

fn assert_recorded(captured: &obs_runtime::testing::Captured, table: &str, status: &str, min: f64, max: f64) {
    let labels = [("table", table)];
    assert_counted(captured, TOTAL, DURATION, &labels, status);
    let seconds = captured.histogram(DURATION, &labels).unwrap().sum;
    assert!(seconds >= min && seconds <= max, "{table}: recorded {seconds} s, expected {min}..={max}");
    let span = captured.only_span(&format!("SELECT {table}"));
    assert_eq!(matches!(span.status, SpanStatus::Error(_)), status == "error", "{span:?}");
}

#[tokio::test]
async fn regression_a_fn_returning_impl_future_is_timed_when_the_future_finishes() {
    for fail in [false, true] {
        let (output, captured, took) = timed(async { later(fail).await }).await;
        assert_eq!(output.is_err(), fail);
        let status = if fail { "error" } else { "success" };
        // At least the pause the future waits, at most what the test itself measured.
        assert_recorded(&captured, "impl_future", status, PAUSE.as_secs_f64(), took);
    }
}

#[tokio::test]
async fn regression_boxed_futures_are_timed_whatever_the_body_looks_like() {
    for fail in [false, true] {
        let status = if fail { "error" } else { "success" };
        let no_move = async { if fail { boxed_without_move_failing().await } else { boxed_without_move().await } };
        let (_, captured, took) = timed(no_move).await;
        assert_recorded(&captured, "boxed_no_move", status, PAUSE.as_secs_f64(), took);
        let (_, captured, took) = timed(async { boxed_after_a_let(fail).await }).await;
        assert_recorded(&captured, "boxed_let", status, PAUSE.as_secs_f64(), took);
        let (_, captured, took) = timed(async { a_call_that_returns_a_future(fail).await }).await;
        assert_recorded(&captured, "returned_call", status, 0.0, took);
    }
}

#[tokio::test]
async fn regression_a_returned_future_dropped_early_records_cancelled() {
    let (result, captured) =
        capture_async(async { tokio::time::timeout(Duration::from_millis(1), later(false)).await }).await;
    assert!(result.is_err(), "the timeout fired first");
    assert_counted(&captured, TOTAL, DURATION, &[("table", "impl_future")], "cancelled");
}

#[tokio::test]
async fn regression_the_span_is_entered_on_every_poll_of_a_returned_future() {
    #[instrument_db(table = "polled", operation = "SELECT")]
    fn logs_inside() -> impl Future<Output = Option<String>> {
        async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            tracing::Span::current().metadata().map(|m| m.name().to_owned())
        }
    }
    let (inside, _) = capture_async(async { logs_inside().await }).await;
    assert_eq!(inside.as_deref(), Some("SELECT polled"), "the query's span is current after two yields");
}

fn assert_send_sync<T: Send + Sync>(_: &T) {}
fn assert_unpin<T: Unpin>(_: &T) {}

#[instrument_db(table = "sync_future", operation = "SELECT")]
fn sync_boxed() -> Pin<Box<dyn Future<Output = u8> + Send + Sync>> {
    Box::pin(async { 1 })
}

#[instrument_db(table = "sync_future", operation = "SELECT")]
async fn sync_async(n: u8) -> u8 {
    n
}

#[instrument_db(table = "sync_future", operation = "SELECT")]
fn unpin_future() -> impl Future<Output = u8> + Send + Sync + Unpin {
    std::future::ready(2)
}

#[tokio::test]
async fn regression_an_instrumented_future_keeps_send_sync_and_unpin() {
    let boxed = sync_boxed();
    assert_send_sync(&boxed);
    assert_unpin(&boxed);
    let from_async_fn = sync_async(1);
    assert_send_sync(&from_async_fn);
    let ready = unpin_future();
    assert_send_sync(&ready);
    assert_unpin(&ready);
    assert_eq!(boxed.await + from_async_fn.await + ready.await, 4);
}

#[instrument_db(table = "diverging", operation = "SELECT")]
fn never_returns(message: &str) -> ! {
    panic!("{message}")
}

#[test]
fn regression_a_diverging_fn_compiles_and_its_panic_records_error() {
    let (caught, captured) = capture(|| std::panic::catch_unwind(|| never_returns("gave up")));
    let payload = caught.expect_err("it panics");
    assert_eq!(panic_message(payload.as_ref()), "gave up");
    assert_counted(&captured, TOTAL, DURATION, &[("table", "diverging")], "error");
    assert!(matches!(captured.only_span("SELECT diverging").status, SpanStatus::Error(_)));
}
