//! Regression tests (issue 9, 5b): each outgoing request gets a client span of its own, whose
//! id is the parent the server receives; the span and `http_client_request_duration_seconds`
//! say how it ended, 5xx and transport errors included. Against a real server on loopback.
#![cfg(feature = "http")]

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use obs_runtime::client::SendTraced;
use obs_runtime::testing::{SpanKind, SpanStatus, capture_async};
use obs_tests::CapturedSpans;
use tracing::Instrument;

/// A server that answers with the `traceparent` it received; `/boom` answers 500.
async fn echo_server() -> SocketAddr {
    let echo = |headers: HeaderMap| async move {
        headers.get("traceparent").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    };
    let app = Router::new()
        .route("/echo", get(echo))
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/busy", get(|| async { StatusCode::TOO_MANY_REQUESTS }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn regression_each_outgoing_request_carries_its_own_client_span() {
    let addr = echo_server().await;
    let client = reqwest::Client::new();
    let url = format!("http://user:secret@{addr}/echo?page=2");
    let (received, captured) = capture_async(async {
        let handler = tracing::info_span!("handler");
        async {
            let first = client.get(&url).send_traced().await.unwrap().text().await.unwrap();
            let second = client.get(&url).send_traced().await.unwrap().text().await.unwrap();
            (first, second)
        }
        .instrument(handler)
        .await
    })
    .await;
    let handler = captured.only_span("handler");
    let clients: Vec<_> = captured.spans_named("GET").collect();
    assert_eq!(clients.len(), 2);
    for (span, traceparent) in clients.iter().zip([&received.0, &received.1]) {
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.parent_span_id.as_deref(), Some(handler.span_id.as_str()), "a child of the handler");
        assert_eq!(
            *traceparent,
            format!("00-{}-{}-01", span.trace_id, span.span_id),
            "the server's parent is the client span"
        );
        assert_eq!(span.attr("http.request.method"), Some("GET"));
        assert_eq!(span.attr("server.address"), Some("127.0.0.1"));
        assert_eq!(span.attr("server.port"), Some(addr.port().to_string().as_str()));
        // reqwest moves the credentials into an Authorization header; they never reach the span.
        assert_eq!(span.attr("url.full"), Some(format!("http://{addr}/echo?page=2").as_str()));
        assert!(!format!("{span:?}").contains("secret"));
        assert_eq!(span.attr("http.response.status_code"), Some("200"));
        assert_eq!(span.status, SpanStatus::Unset);
    }
    assert_ne!(received.0, received.1, "each request its own parent id");
    let labels = [("method", "GET"), ("server_address", "127.0.0.1"), ("status_code", "200")];
    assert_eq!(captured.histogram("http_client_request_duration_seconds", &labels).unwrap().count, 2);
}

#[tokio::test]
async fn regression_5xx_and_transport_errors_fail_the_client_span() {
    let addr = echo_server().await;
    let held = obs_tests::refused::RefusedPort::new();
    let closed = held.addr();
    let client = reqwest::Client::new();
    let (results, captured) = capture_async(async {
        let boom = client.get(format!("http://{addr}/boom")).send_traced().await.map(|r| r.status().as_u16());
        let refused = client.get(format!("http://{closed}/")).send_traced().await.map(|r| r.status().as_u16());
        (boom, refused)
    })
    .await;
    assert_eq!(results.0.unwrap(), 500);
    assert!(results.1.is_err(), "nothing listens there");
    let spans: Vec<_> = captured.spans_named("GET").collect();
    assert_eq!(spans.len(), 2);
    assert!(spans.iter().all(|s| matches!(s.status, SpanStatus::Error(_))), "{spans:#?}");
    assert_eq!(spans[0].attr("error.type"), Some("500"));
    assert_eq!(spans[1].attr("error.type"), Some("connect"));
    let boom = [("server_address", "127.0.0.1"), ("status_code", "500")];
    assert_eq!(captured.histogram("http_client_request_duration_seconds", &boom).unwrap().count, 1);
    let refused = [("server_address", "127.0.0.1"), ("status_code", "error")];
    assert_eq!(captured.histogram("http_client_request_duration_seconds", &refused).unwrap().count, 1);
}

/// A remote call whose reqwest error names its kind on the call's span.
#[cfg(feature = "stellar")]
#[obs_runtime::stellar_call(operation = "loadAccount")]
async fn load_account(client: &reqwest::Client, url: &str) -> reqwest::Result<String> {
    client.get(url).send().await?.error_for_status()?.text().await
}

#[cfg(feature = "stellar")]
#[tokio::test]
async fn a_reqwest_error_names_its_bounded_kind_as_error_type() {
    let addr = echo_server().await;
    let client = reqwest::Client::new();
    let held = obs_tests::refused::RefusedPort::new();
    let closed = held.addr();
    let ((), captured) = capture_async(async {
        for url in [format!("http://{addr}/busy"), format!("http://{addr}/boom"), format!("http://{closed}/")] {
            let _ = load_account(&client, &url).await;
        }
    })
    .await;
    let kinds: Vec<Option<&str>> = captured.spans_named("stellar.loadAccount").map(|s| s.attr("error.type")).collect();
    assert_eq!(kinds, [Some("status_429"), Some("status_5xx"), Some("connect")]);
}
