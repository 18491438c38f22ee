//! Shared helpers for obs's behaviour, UI and end-to-end tests.

pub mod child;
pub mod horizon_stub;
pub mod otlp_receiver;
pub mod prometheus;

use obs_runtime::testing::{Captured, CapturedSpan};

/// The one span named `name`, with a readable failure listing what was captured instead.
pub fn only_span<'a>(captured: &'a Captured, name: &str) -> &'a CapturedSpan {
    let matching: Vec<&CapturedSpan> = captured.spans_named(name).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one span named {name:?}, got {}; spans: {:?}",
        matching.len(),
        captured.spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    matching[0]
}

/// Asserts one call was counted with `status` on the metric pair of a subsystem, and that its
/// duration was recorded.
pub fn assert_counted(captured: &Captured, total: &str, duration: &str, labels: &[(&str, &str)], status: &str) {
    let mut with_status = labels.to_vec();
    with_status.push(("status", status));
    assert_eq!(captured.counter(total, &with_status), 1, "{total}{with_status:?} in {:#?}", captured.metrics);
    assert_eq!(captured.counter(total, labels), 1, "one call in all of {total}{labels:?}: {:#?}", captured.metrics);
    let histogram = captured
        .histogram(duration, labels)
        .unwrap_or_else(|| panic!("no {duration}{labels:?} in {:#?}", captured.metrics));
    assert_eq!(histogram.count, 1, "{duration}{labels:?}");
    assert!(histogram.sum >= 0.0 && histogram.sum < 5.0, "{duration} sum {}", histogram.sum);
}

/// Polls `future`, turning a panic inside a poll into `Err` with its message, so a test can
/// inspect what an instrumented future recorded when it panicked.
pub async fn catch_panic<F: std::future::Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(output)) => std::task::Poll::Ready(Ok(output)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(payload) => std::task::Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    })
    .await
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
