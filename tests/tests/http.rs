//! `ObsLayer`, propagation and WebSocket metrics on a real axum server on a loopback port, with
//! real HTTP and WebSocket clients; spans checked by the OTLP receiver. Each scenario runs in a
//! child process (obs installs process-wide globals).
#![cfg(all(feature = "http", feature = "ws", feature = "queue"))]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use obs_runtime::http::{ErrorType, ObsLayer};
use obs_runtime::propagation::TraceContext;
use obs_tests::child::run_in_child;
use obs_tests::otlp_receiver::{OtlpReceiver, SpanQueries};
use obs_tests::{client, runtime};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

#[derive(Clone)]
struct Jobs(tokio::sync::mpsc::UnboundedSender<Job>);

struct Job {
    id: u64,
    trace: TraceContext,
}

fn app(jobs: Jobs) -> Router {
    let api =
        Router::new().route("/orders/{order_id}", get(|Path(id): Path<u64>| async move { format!("order {id}") }));
    let router = Router::new()
        .route("/users/{id}", get(|Path(id): Path<u64>| async move { format!("user {id}") }))
        .route("/boom", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route("/log", get(log_inside))
        .route("/healthz", get(|| async { "ok" }))
        .route("/ws", get(|upgrade: WebSocketUpgrade| async move { upgrade.on_upgrade(echo) }))
        .nest("/api", api);
    router
        .route("/enqueue", get(enqueue))
        .with_state(jobs)
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route") })
        .layer(ObsLayer::new())
}

/// A queue nobody consumes, for scenarios that do not enqueue.
fn no_jobs() -> Jobs {
    Jobs(tokio::sync::mpsc::unbounded_channel().0)
}

async fn log_inside() -> impl IntoResponse {
    tracing::info!(user = 7, "inside the handler");
    "logged"
}

async fn enqueue(State(jobs): State<Jobs>) -> impl IntoResponse {
    let _ = jobs.0.send(Job { id: 99, trace: TraceContext::current() });
    StatusCode::ACCEPTED
}

#[obs_runtime::ws_connection]
async fn echo(mut socket: WebSocket) {
    while let Some(Ok(message)) = socket.recv().await {
        if let Message::Text(text) = message {
            obs_runtime::ws::message_received("text");
            if socket.send(Message::Text(text)).await.is_err() {
                break;
            }
            obs_runtime::ws::message_sent("text", 1);
        }
    }
}

#[obs_runtime::queue_job(queue = "sessionReminder", id = job.id, parent = job.trace)]
async fn send_reminder(job: Job) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(())
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await });
    addr
}

/// The value of the one sample line starting with `prefix`, if any.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

const QUIET: [(&str, &str); 4] =
    [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none"), ("LOG_LEVEL", "off")];

#[test]
fn route_templates_nested_routers_and_one_unmatched_series() {
    let _ = run_in_child("", &QUIET, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            let addr = serve(app(no_jobs())).await;
            let http = client();
            for path in ["/users/1", "/users/2", "/api/orders/7", "/healthz", "/healthz"] {
                assert!(http.get(format!("http://{addr}{path}")).send().await.unwrap().status().is_success());
            }
            for i in 0..1_000_u64 {
                let random = format!("/nothing/{}/{i}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                assert_eq!(http.get(format!("http://{addr}{random}")).send().await.unwrap().status(), 404);
            }
            let purge = reqwest::Method::from_bytes(b"PURGE").unwrap();
            http.request(purge, format!("http://{addr}/users/3")).send().await.unwrap();
            let text = obs_runtime::render();
            let total = r#"http_requests_total{app="http",method="GET","#;
            assert_eq!(
                sample(&text, &format!(r#"{total}path="/users/{{id}}",status_code="200"}}"#)),
                Some(2.0),
                "{text}"
            );
            assert_eq!(
                sample(&text, &format!(r#"{total}path="/api/orders/{{order_id}}",status_code="200"}}"#)),
                Some(1.0)
            );
            assert_eq!(sample(&text, &format!(r#"{total}path="unmatched",status_code="404"}}"#)), Some(1000.0));
            let unmatched =
                text.lines().filter(|l| l.starts_with("http_requests_total{") && l.contains(r#"path="unmatched""#));
            assert_eq!(unmatched.count(), 1, "1 000 unknown paths, one series");
            assert!(!text.contains("/healthz"), "skipped paths are not recorded");
            assert!(!text.contains("/nothing/"), "raw paths never become labels");
            assert!(text.contains(r#"method="_OTHER",path="/users/{id}",status_code="405""#), "{text}");
            let buckets = text.lines().filter(|l| {
                l.starts_with("http_request_duration_seconds_bucket{")
                    && l.contains(r#"method="GET",path="/users/{id}",status_code="200""#)
            });
            assert_eq!(buckets.count(), 12, "DESIGN's 11 buckets and +Inf");
            assert_eq!(
                sample(&text, r#"http_requests_in_flight{app="http",method="GET",path="/users/{id}"}"#),
                Some(0.0)
            );
        });
    });
}

fn otlp_env(receiver: &Option<OtlpReceiver>) -> String {
    receiver.as_ref().map(OtlpReceiver::grpc_endpoint).unwrap_or_default()
}

#[test]
fn server_spans_continue_the_caller_and_only_5xx_is_an_error() {
    let receiver = (!obs_tests::child::is_child()).then(OtlpReceiver::start);
    let endpoint = otlp_env(&receiver);
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_SERVICE_NAME", "http-check"),
        // On, so the access log is written: it must stay a log line, not a span event.
        ("LOG_LEVEL", "info"),
    ];
    let _ = run_in_child("", &env, || {
        runtime().block_on(async {
            let guard = obs_runtime::init().unwrap();
            let addr = serve(app(no_jobs())).await;
            let http = client();
            let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
            let ok =
                http.get(format!("http://{addr}/users/5")).header("traceparent", traceparent).send().await.unwrap();
            assert_eq!(ok.status(), 200);
            assert_eq!(http.get(format!("http://{addr}/boom")).send().await.unwrap().status(), 500);
            assert_eq!(http.get(format!("http://{addr}/missing")).send().await.unwrap().status(), 404);
            let malformed = http.get(format!("http://{addr}/api/orders/1")).header("traceparent", "00-zzzz-nope-01");
            assert_eq!(malformed.send().await.unwrap().status(), 200, "a malformed traceparent is not an error");
            let text = obs_runtime::render();
            assert_eq!(
                sample(&text, r#"errors_total{app="http-check",type="http_500",path="/boom"}"#),
                Some(1.0),
                "{text}"
            );
            assert!(!text.contains(r#"errors_total{app="http-check",path="unmatched""#), "404 is no error");
            drop(guard);
        });
    });
    let Some(receiver) = receiver else { return };
    let spans = receiver.wait_for(Duration::from_secs(10), |s| s.len() >= 4);
    let user = spans.server("GET /users/{id}");
    assert_eq!(user.trace_id, TRACE_ID, "continues the caller's trace");
    assert_eq!(user.parent_span_id, PARENT_ID, "the caller's span is the parent");
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/users/{id}"),
        ("url.path", "/users/5"),
        ("url.scheme", "http"),
        ("http.response.status_code", "200"),
        ("client.address", "127.0.0.1"),
        ("user_agent.original", "obs-tests/1.0"),
    ] {
        assert_eq!(user.attributes.get(key).map(String::as_str), Some(value), "{key} in {:?}", user.attributes);
    }
    assert!(user.attributes.get("request_id").is_some_and(|id| id.len() == 36));
    assert!(user.events.is_empty(), "the access log is not an event of the span: {:?}", user.events);
    assert_eq!(user.status, "unset");
    assert_eq!(user.service_name, "http-check");
    let boom = spans.server("GET /boom");
    assert_eq!(boom.status, "error");
    assert_eq!(boom.attributes.get("error.type").map(String::as_str), Some("500"), "{:?}", boom.attributes);
    assert!(!user.attributes.contains_key("error.type"), "{:?}", user.attributes);
    let missing = spans.server("GET unmatched");
    assert_eq!(missing.status, "unset", "4xx leaves the status unset");
    assert_eq!(missing.attributes.get("http.response.status_code").map(String::as_str), Some("404"));
    let fresh = spans.server("GET /api/orders/{order_id}");
    assert_ne!(fresh.trace_id, TRACE_ID);
    assert!(fresh.parent_span_id.is_empty(), "a malformed traceparent starts a new trace");
    assert_eq!(fresh.status, "unset");
}

#[test]
fn request_ids_are_echoed_or_generated_and_on_every_log_line() {
    let env =
        [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "json"), ("LOG_LEVEL", "info")];
    let Some(stdout) = run_in_child("", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            let addr = serve(app(no_jobs())).await;
            let http = client();
            let given =
                http.get(format!("http://{addr}/log")).header("x-request-id", "req-abc-123").send().await.unwrap();
            assert_eq!(given.headers()["x-request-id"], "req-abc-123");
            let generated = http.get(format!("http://{addr}/users/1")).send().await.unwrap();
            let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
            let parsed = uuid_parts(&id);
            assert_eq!(parsed, Some((4, true)), "a UUID v4 (RFC 4122 variant): {id}");
            let unusable =
                http.get(format!("http://{addr}/users/1")).header("x-request-id", "a b").send().await.unwrap();
            assert_ne!(unusable.headers()["x-request-id"], "a b", "an id with a space is replaced");
            assert_eq!(http.get(format!("http://{addr}/healthz")).send().await.unwrap().status(), 200);
        });
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&stdout);
    // One access-log line per recorded request, inside its span: request and trace ids with it.
    let access: Vec<&serde_json::Value> = lines.iter().filter(|l| l["message"] == "request completed").collect();
    assert_eq!(access.len(), 3, "/log and /users/1 twice; /healthz is on the skip list: {access:#?}");
    let first = access[0];
    assert_eq!((&first["level"], &first["target"]), (&"info".into(), &"obs::access".into()));
    assert_eq!(first["request_id"], "req-abc-123");
    let fields = &first["fields"];
    assert_eq!((&fields["method"], &fields["route"], &fields["path"]), (&"GET".into(), &"/log".into(), &"/log".into()));
    assert_eq!(fields["status_code"], 200);
    assert!(fields["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{first}");
    assert_eq!(
        (&access[1]["fields"]["route"], &access[1]["fields"]["path"]),
        (&"/users/{id}".into(), &"/users/1".into())
    );
    assert!(access.iter().all(|l| l["trace_id"].as_str().is_some_and(|t| t.len() == 32)), "{access:#?}");
    let line = lines
        .iter()
        .find(|l| l["message"] == "inside the handler")
        .unwrap_or_else(|| panic!("no handler log line in {stdout}"));
    assert_eq!(line["request_id"], "req-abc-123", "{line}");
    let trace_id = line["trace_id"].as_str().unwrap_or_default();
    assert!(trace_id.len() == 32 && trace_id.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    assert_eq!(line["span"], "http.server.request");
}

#[test]
fn the_access_log_can_be_switched_off() {
    let env =
        [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "json"), ("LOG_LEVEL", "info")];
    let Some(stdout) = run_in_child("", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            let quiet =
                Router::new().route("/users/{id}", get(|| async { "user" })).layer(ObsLayer::new().access_log(false));
            let addr = serve(quiet).await;
            assert_eq!(client().get(format!("http://{addr}/users/1")).send().await.unwrap().status(), 200);
            tracing::info!("requests done");
        });
    }) else {
        return;
    };
    assert!(stdout.contains("requests done"), "logging is on: {stdout}");
    assert!(!stdout.contains("request completed"), "{stdout}");
}

/// (version, RFC 4122 variant) of a UUID in its text form.
fn uuid_parts(id: &str) -> Option<(u32, bool)> {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lengths != [8, 4, 4, 4, 12] || !id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
        return None;
    }
    let version = groups[2].chars().next()?.to_digit(16)?;
    let variant = matches!(groups[3].chars().next()?, '8' | '9' | 'a' | 'b' | 'A' | 'B');
    Some((version, variant))
}

#[test]
fn in_flight_returns_to_zero_when_the_client_disconnects() {
    let _ = run_in_child("", &QUIET, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            let addr = serve(app(no_jobs())).await;
            let in_flight = r#"http_requests_in_flight{app="http",method="GET",path="/slow"}"#;
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while sample(&obs_runtime::render(), in_flight) != Some(1.0) {
                assert!(Instant::now() < deadline, "the request never showed as in flight");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            drop(stream); // the client goes away mid-request
            let deadline = Instant::now() + Duration::from_secs(5);
            while sample(&obs_runtime::render(), in_flight) != Some(0.0) {
                assert!(
                    Instant::now() < deadline,
                    "in flight stuck at {:?}",
                    sample(&obs_runtime::render(), in_flight)
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
    });
}

#[test]
fn websocket_connections_and_messages_are_counted() {
    let _ = run_in_child("", &QUIET, || {
        runtime().block_on(async {
            use tokio_tungstenite::tungstenite::Message as ClientMessage;
            let _guard = obs_runtime::init().unwrap();
            let addr = serve(app(no_jobs())).await;
            let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
            for i in 0..3 {
                futures_send(&mut socket, ClientMessage::text(format!("hello {i}"))).await;
                let echoed = futures_next(&mut socket).await;
                assert_eq!(echoed, ClientMessage::text(format!("hello {i}")));
            }
            let active = r#"active_websocket_connections{app="http"}"#;
            assert_eq!(sample(&obs_runtime::render(), active), Some(1.0));
            // Drop the TCP connection without a close frame.
            drop(socket);
            let deadline = Instant::now() + Duration::from_secs(5);
            while sample(&obs_runtime::render(), active) != Some(0.0) {
                assert!(
                    Instant::now() < deadline,
                    "active connections stuck at {:?}",
                    sample(&obs_runtime::render(), active)
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let text = obs_runtime::render();
            let messages = r#"websocket_messages_total{app="http",direction="#;
            assert_eq!(sample(&text, &format!(r#"{messages}"inbound",type="text"}}"#)), Some(3.0), "{text}");
            assert_eq!(sample(&text, &format!(r#"{messages}"outbound",type="text"}}"#)), Some(3.0), "{text}");
        });
    });
}

async fn futures_send<S>(socket: &mut S, message: tokio_tungstenite::tungstenite::Message)
where
    S: futures_sink::Sink<tokio_tungstenite::tungstenite::Message> + Unpin,
    S::Error: std::fmt::Debug,
{
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *socket).poll_ready(cx)).await.unwrap();
    std::pin::Pin::new(&mut *socket).start_send(message).unwrap();
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *socket).poll_flush(cx)).await.unwrap();
}

async fn futures_next<S, E>(socket: &mut S) -> tokio_tungstenite::tungstenite::Message
where
    S: futures_core::Stream<Item = Result<tokio_tungstenite::tungstenite::Message, E>> + Unpin,
    E: std::fmt::Debug,
{
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *socket).poll_next(cx)).await.unwrap().unwrap()
}

#[test]
fn one_trace_from_request_to_job_on_another_runtime_and_to_the_next_service() {
    let receiver = (!obs_tests::child::is_child()).then(OtlpReceiver::start);
    let endpoint = otlp_env(&receiver);
    let env = [
        ("PROMETHEUS_ENABLED", "false"),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("LOG_LEVEL", "off"),
    ];
    let _ = run_in_child("", &env, || {
        let (sender, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        // The consumer: its own runtime on its own thread, as a worker process would be.
        let worker = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let job = queue.recv().await.unwrap();
                send_reminder(job).await.unwrap();
            });
        });
        runtime().block_on(async {
            let guard = obs_runtime::init().unwrap();
            let addr = serve(app(Jobs(sender))).await;
            let http = client();
            assert_eq!(http.get(format!("http://{addr}/enqueue")).send().await.unwrap().status(), 202);
            worker.join().unwrap();
            // An outgoing call made inside an instrumented fn carries the trace.
            call_next_service(addr).await;
            drop(guard);
        });
    });
    let Some(receiver) = receiver else { return };
    let spans = receiver.wait_for(Duration::from_secs(10), |s| s.len() >= 4);
    let request = spans.server("GET /enqueue");
    let job = spans.iter().find(|s| s.name == "queue.sessionReminder").expect("job span");
    assert_eq!(job.trace_id, request.trace_id, "the job continues the request's trace");
    assert_eq!(job.parent_span_id, request.span_id);
    assert_eq!(job.kind, "consumer");
    assert_eq!(job.attributes.get("job.id").map(String::as_str), Some("99"));
    let caller = spans.iter().find(|s| s.name == "call.next").expect("caller span");
    let callee = spans.server("GET /users/{id}");
    assert_eq!(callee.trace_id, caller.trace_id, "the called service continues the caller's trace");
    assert_eq!(callee.parent_span_id, caller.span_id);
}

#[obs_runtime::traced(name = "call.next")]
async fn call_next_service(addr: SocketAddr) {
    let mut headers = reqwest::header::HeaderMap::new();
    obs_runtime::propagation::inject(&mut headers);
    assert!(headers.contains_key("traceparent"));
    let response = client().get(format!("http://{addr}/users/9")).headers(headers).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn the_series_cap_sends_new_label_sets_to_one_overflow_series() {
    let _ = run_in_child("", &QUIET, || {
        let _guard = obs_runtime::init().unwrap();
        for i in 0..3_000 {
            obs_runtime::record_error(&format!("error_type_{i}"), "/payments");
        }
        // Seen again: an admitted label set stays admitted, a turned-away one is counted once.
        obs_runtime::record_error("error_type_1", "/payments");
        obs_runtime::record_error("error_type_2999", "/payments");
        let text = obs_runtime::render();
        let series: Vec<&str> = text.lines().filter(|l| l.starts_with("errors_total{")).collect();
        assert_eq!(series.len(), 2_001, "2 000 series and the overflow series");
        assert_eq!(sample(&text, r#"errors_total{app="http",overflow="true"}"#), Some(1_001.0));
        assert_eq!(sample(&text, r#"errors_total{app="http",type="error_type_1",path="/payments"}"#), Some(2.0));
        assert_eq!(
            sample(&text, r#"obs_series_overflow_total{app="http",metric="errors_total"}"#),
            Some(1_000.0),
            "{}",
            &text[text.len().saturating_sub(2000)..]
        );
    });
}

/// An error of the app's own, named by its type.
struct ValidationError;

impl IntoResponse for ValidationError {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::BAD_REQUEST, ErrorType::of::<Self>(), "invalid").into_response()
    }
}

#[test]
fn responses_that_name_their_error_count_it_under_that_name_and_route() {
    let _ = run_in_child("", &QUIET, || {
        runtime().block_on(async {
            let guard = obs_runtime::init().unwrap();
            let app = Router::new()
                .route("/workflows/{id}", get(|| async { ValidationError }))
                .route(
                    "/upstream",
                    get(|| async { (StatusCode::BAD_GATEWAY, ErrorType::named("UpstreamError"), "down") }),
                )
                .layer(ObsLayer::new());
            let addr = serve(app).await;
            let http = client();
            for id in 1..=3 {
                let response = http.get(format!("http://{addr}/workflows/{id}")).send().await.unwrap();
                assert_eq!(response.status(), 400);
            }
            assert_eq!(http.get(format!("http://{addr}/upstream")).send().await.unwrap().status(), 502);
            let text = obs_runtime::render();
            let app = r#"app="http""#;
            let validation = format!(r#"errors_total{{{app},type="ValidationError",path="/workflows/{{id}}"}}"#);
            assert_eq!(sample(&text, &validation), Some(3.0), "by route template, not by id:\n{text}");
            let upstream = format!(r#"errors_total{{{app},type="UpstreamError",path="/upstream"}}"#);
            assert_eq!(sample(&text, &upstream), Some(1.0), "{text}");
            assert!(!text.contains(r#"type="http_502""#), "a named 5xx is counted once, by its name:\n{text}");
            drop(guard);
        });
    });
}
