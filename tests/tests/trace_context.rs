//! Regression tests for W3C Trace Context (issue 9): `ObsLayer`, `propagation::extract` and a
//! `TraceContext` read back from a job continue only what the specification allows, combine
//! repeated `tracestate` headers, pass unknown flag bits on, and never send an empty
//! `tracestate`.
#![cfg(all(feature = "http", feature = "queue"))]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Request;
use obs_runtime::http::ObsLayer;
use obs_runtime::propagation::{self, TraceContext};
use obs_runtime::queue_job;
use obs_runtime::testing::{Captured, capture, capture_async};
use obs_tests::CapturedSpans;
use tower::ServiceExt;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Serves one request through `ObsLayer` with these headers (names as given, in order); returns
/// the handler's own `TraceContext` and what was captured.
async fn serve(headers: &[(&str, &str)]) -> (TraceContext, Captured) {
    let app: Router = Router::new()
        .route("/ctx", get(|| async { serde_json::to_string(&TraceContext::current()).unwrap() }))
        .layer(ObsLayer::new());
    let mut request = Request::get("/ctx");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).unwrap();
    let (response, captured) = capture_async(async move { app.oneshot(request).await.unwrap() }).await;
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    (serde_json::from_slice(&body).unwrap(), captured)
}

/// Whether the server span continued `TRACE` from `PARENT`.
fn continued(captured: &Captured) -> bool {
    let span = captured.only_span("GET /ctx");
    let continued = span.trace_id == TRACE && span.parent_span_id.as_deref() == Some(PARENT);
    assert!(continued || span.parent_span_id.is_none(), "either continued or a new root: {span:?}");
    continued
}

#[tokio::test]
async fn regression_a_valid_traceparent_is_continued_whatever_the_header_name_case() {
    for name in ["traceparent", "TraceParent", "TRACEPARENT"] {
        let (_, captured) = serve(&[(name, VALID)]).await;
        assert!(continued(&captured), "{name}");
    }
}

#[tokio::test]
async fn regression_malformed_traceparents_start_a_new_root_trace() {
    for bad in [
        "00-4bf92f35-00f067aa-01",
        "00-1-1-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "",
    ] {
        let (carried, captured) = serve(&[("traceparent", bad), ("tracestate", "foo=bar")]).await;
        assert!(!continued(&captured), "{bad:?} must not be continued");
        assert!(carried.tracestate.is_empty(), "tracestate is dropped with a bad traceparent: {carried:?}");
    }
}

#[tokio::test]
async fn regression_two_traceparent_lines_start_a_new_trace() {
    let (_, captured) = serve(&[("traceparent", VALID), ("traceparent", VALID)]).await;
    assert!(!continued(&captured));
}

#[tokio::test]
async fn regression_tracestate_lines_are_combined_in_order_and_checked() {
    let headers = [("traceparent", VALID), ("tracestate", ""), ("tracestate", "a=1"), ("TraceState", "b@v=2")];
    let (carried, captured) = serve(&headers).await;
    assert!(continued(&captured));
    assert_eq!(carried.tracestate, "a=1,b@v=2");
    for bad in ["foo=", "@foo=1", "Foo=1"] {
        let (carried, captured) = serve(&[("traceparent", VALID), ("tracestate", bad)]).await;
        assert!(continued(&captured), "a bad tracestate does not lose the traceparent");
        assert!(carried.tracestate.is_empty(), "{bad:?} is dropped whole: {carried:?}");
    }
    let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
    let (carried, _) = serve(&[("traceparent", VALID), ("tracestate", &many.join(","))]).await;
    assert!(carried.tracestate.is_empty(), "33 members are too many");
}

/// The W3C suite's tracestate tests at its 2026 head (issue 32): duplicated keys keep the list
/// (obs keeps the first), and keys with `@` after their first character, up to 256
/// characters, are passed on as received, through the layer, a job's context and its headers.
#[tokio::test]
async fn regression_tracestate_follows_the_current_key_grammar() {
    let tenant = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
    let cases = [
        ("foo=1,foo=2", "foo=1".to_owned()),
        ("foo@=1,bar=2", "foo@=1,bar=2".to_owned()),
        ("foo@@bar=1,bar=2", "foo@@bar=1,bar=2".to_owned()),
        ("foo@bar@baz=1,bar=2", "foo@bar@baz=1,bar=2".to_owned()),
        (tenant.as_str(), tenant.clone()),
    ];
    for (received, sent_on) in cases {
        let (carried, captured) = serve(&[("traceparent", VALID), ("tracestate", received)]).await;
        assert!(continued(&captured), "{received}");
        assert_eq!(carried.tracestate, sent_on, "{received}");
        let mut headers = http::HeaderMap::new();
        let (_, _) = capture(|| {
            let span = tracing::info_span!("job");
            carried.attach(&span);
            propagation::inject_span(&span, &mut headers);
        });
        assert_eq!(headers["tracestate"], sent_on.as_str(), "{received}, through a job's context");
    }
}

#[tokio::test]
async fn regression_unknown_flag_bits_are_passed_on_and_no_empty_tracestate_is_sent() {
    let random = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
    let (carried, captured) = serve(&[("traceparent", random)]).await;
    assert!(continued(&captured));
    assert!(carried.traceparent.ends_with("-03"), "the random flag survives: {carried:?}");
    let (carried, _) = serve(&[("traceparent", VALID), ("tracestate", " ")]).await;
    assert_eq!(carried.tracestate, "");
    let mut headers = http::HeaderMap::new();
    let (_, _) = capture(|| {
        let span = tracing::info_span!("outgoing");
        TraceContext { traceparent: VALID.into(), tracestate: String::new(), enqueued_at_ms: None }.attach(&span);
        propagation::inject_span(&span, &mut headers);
    });
    assert!(headers.get("traceparent").is_some_and(|v| v.to_str().unwrap().contains(TRACE)), "{headers:?}");
    assert!(headers.get("tracestate").is_none(), "no empty tracestate header: {headers:?}");
}

#[queue_job(queue = "jobs", parent = parent)]
fn run_job(parent: &TraceContext) {}

#[test]
fn regression_a_malformed_job_context_starts_a_new_trace() {
    let good = TraceContext { traceparent: VALID.into(), tracestate: String::new(), enqueued_at_ms: None };
    let (_, captured) = capture(|| run_job(&good));
    let span = captured.only_span("queue.jobs");
    assert_eq!((span.trace_id.as_str(), span.parent_span_id.as_deref()), (TRACE, Some(PARENT)));
    for bad in ["00-1-1-01", "00-4bf92f35-00f067aa-01", "garbage"] {
        let context = TraceContext { traceparent: bad.into(), tracestate: "foo=bar".into(), enqueued_at_ms: None };
        let (_, captured) = capture(|| run_job(&context));
        let span = captured.only_span("queue.jobs");
        assert_eq!(span.parent_span_id, None, "{bad:?}");
        assert!(!span.trace_id.starts_with("0000000000000000"), "{bad:?} zero-padded: {}", span.trace_id);
    }
}
