//! Shared helpers for obs's behaviour, UI and end-to-end tests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub mod alertmanager;
pub mod child;
pub mod collected_spans;
pub mod daemon;
pub mod fixtures;
pub mod horizon_stub;
pub mod logql;
pub mod module_order;
pub mod ops;
pub mod otlp_receiver;
pub mod postgres;
pub mod prometheus;
pub mod refused;
pub mod relay;
pub mod service;

use obs_runtime::testing::{Captured, CapturedSpan};

/// A raw HTTP/1.1 exchange, so the test sees exactly what the server sends.
pub fn raw_http(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// `GET path` over a fresh connection; `extra` is more header lines, each ending in `\r\n`.
pub fn raw_get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    raw_http(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"))
}

/// The exposition `guard`'s scrape server serves now.
pub fn scrape(guard: &obs_runtime::ObsGuard) -> String {
    let (status, _, text) = raw_get(guard.scrape_addr().expect("a scrape server"), "/metrics", "");
    assert_eq!(status, 200);
    text
}

/// The value of the sample in `text` whose line starts with `series ` (name and labels as
/// written).
pub fn sample_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The JSON log lines in a child's output (libtest may print the test name before the first).
pub fn json_lines(output: &str) -> Vec<serde_json::Value> {
    output.lines().filter_map(|l| l.find('{').and_then(|i| serde_json::from_str(&l[i..]).ok())).collect()
}

/// The Tokio runtime the tests drive instrumented code and servers on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a Tokio runtime")
}

/// An HTTP client that never waits long.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent("obs-tests/1.0")
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// Span queries on what `testing::capture` returned.
pub trait CapturedSpans {
    /// The one span named `name`, with a readable failure listing what was captured instead.
    fn only_span(&self, name: &str) -> &CapturedSpan;
}

impl CapturedSpans for Captured {
    fn only_span(&self, name: &str) -> &CapturedSpan {
        let matching: Vec<&CapturedSpan> = self.spans_named(name).collect();
        assert_eq!(
            matching.len(),
            1,
            "expected one span named {name:?}, got {}; spans: {:?}",
            matching.len(),
            self.spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        matching[0]
    }
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
