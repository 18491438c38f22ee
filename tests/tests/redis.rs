//! `#[instrument_redis]`: metrics and span.
#![cfg(feature = "redis")]

use obs_runtime::instrument_redis;
use obs_runtime::testing::{SpanKind, SpanStatus, capture_async};
use obs_tests::{CapturedSpans, assert_counted};

#[instrument_redis(command = "get")]
async fn cache_get(key: &str) -> Result<Option<String>, std::io::Error> {
    match key {
        "down" => Err(std::io::Error::other("connection refused")),
        "hit" => Ok(Some("value".into())),
        _ => Ok(None),
    }
}

#[tokio::test]
async fn records_command_status_and_client_span() {
    let labels = [("command", "get")];
    let (value, captured) = capture_async(cache_get("hit")).await;
    assert_eq!(value.unwrap().as_deref(), Some("value"));
    assert_counted(&captured, "redis_calls_total", "redis_call_duration_seconds", &labels, "success");
    let span = captured.only_span("get");
    assert_eq!(span.kind, SpanKind::Client);
    assert_eq!(span.attr("db.system.name"), Some("redis"));
    assert_eq!(span.attr("db.operation.name"), Some("get"));

    let (_, captured) = capture_async(cache_get("down")).await;
    assert_counted(&captured, "redis_calls_total", "redis_call_duration_seconds", &labels, "error");
    assert_eq!(captured.only_span("get").status, SpanStatus::Error("connection refused".into()));
}
