//! A request whose client goes away: counted under 499 with its duration, its access-log line
//! written, its server span ended at the drop, failed, with `error.type` saying why; and the
//! instrumented call it was waiting on, cancelled, whose span and histogram agree on its
//! duration within a millisecond.
#![cfg(all(feature = "http", feature = "redis"))]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use obs_runtime::http::ObsLayer;
use obs_tests::child::run_in_child;

const ENV: &[(&str, &str)] = &[
    ("PROMETHEUS_PORT", "0"),
    ("PROMETHEUS_HOST", "127.0.0.1"),
    ("OTEL_SERVICE_NAME", "abandoned"),
    ("LOG_FORMAT", "json"),
];

#[obs_runtime::instrument_redis(command = "blpop")]
async fn wait_for_work() -> Result<(), std::io::Error> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

fn seconds(span: &opentelemetry_sdk::trace::SpanData) -> f64 {
    span.end_time.duration_since(span.start_time).unwrap_or_default().as_secs_f64()
}

#[test]
fn a_request_abandoned_at_300_ms_is_counted_logged_and_its_spans_end_then() {
    let output = run_in_child("abandoned", ENV, || {
        obs_tests::runtime().block_on(async {
            let guard = obs_tests::collected_spans::install();
            let app = Router::new()
                .route("/work", get(|| async { wait_for_work().await.map(|()| "done").map_err(|e| e.to_string()) }))
                .layer(ObsLayer::new());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            // The client gives up after 300 ms, as a load balancer's deadline would.
            let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
            let sent = Instant::now();
            let gave_up = client.get(format!("http://{addr}/work")).send().await.unwrap_err();
            assert!(gave_up.is_timeout(), "{gave_up}");
            let waited = sent.elapsed().as_secs_f64();
            let series = "http_requests_total{app=\"abandoned\",method=\"GET\",path=\"/work\",status_code=\"499\"}";
            let deadline = Instant::now() + Duration::from_secs(5);
            while obs_tests::sample_value(&obs_runtime::render(), series) != Some(1.0) {
                assert!(Instant::now() < deadline, "no 499:\n{}", obs_runtime::render());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let text = obs_runtime::render();
            let sum = |name: &str| obs_tests::sample_value(&text, name).unwrap_or(f64::NAN);
            let request_seconds =
                sum("http_request_duration_seconds_sum{app=\"abandoned\",method=\"GET\",path=\"/work\",status_code=\"499\"}");
            let call_seconds = sum("redis_call_duration_seconds_sum{app=\"abandoned\",command=\"blpop\"}");
            assert_eq!(obs_tests::sample_value(&text, "redis_calls_total{app=\"abandoned\",command=\"blpop\",status=\"cancelled\"}"), Some(1.0));
            // What the server saw lasted what the client waited, give or take its connection's
            // close reaching the server.
            assert!(request_seconds >= 0.29 && request_seconds <= waited + 0.25, "{request_seconds} vs {waited}");
            drop(guard);
            let spans = obs_tests::collected_spans::exported();
            let server = spans.iter().find(|s| s.name == "GET /work").expect("the server span");
            let call = spans.iter().find(|s| s.name == "blpop").expect("the call's span");
            let attribute = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
                span.attributes.iter().find(|a| a.key.as_str() == key).map(|a| a.value.to_string())
            };
            assert_eq!(attribute(server, "error.type").as_deref(), Some("client_closed_request"));
            assert!(matches!(server.status, opentelemetry::trace::Status::Error { .. }), "{:?}", server.status);
            // Span and histogram agree: before, the spans ended at their last poll (0.00 ms).
            assert!((seconds(server) - request_seconds).abs() < 0.001, "{} vs {request_seconds}", seconds(server));
            assert!((seconds(call) - call_seconds).abs() < 0.001, "{} vs {call_seconds}", seconds(call));
            assert_eq!(attribute(call, "obs.cancelled").as_deref(), Some("true"));
            // The figures side by side, for whoever reads the run.
            println!(
                "\nabandoned checked: server span {:.4} s, request histogram {request_seconds:.4} s; \
                 blpop span {:.4} s, call histogram {call_seconds:.4} s",
                seconds(server),
                seconds(call)
            );
        });
    });
    let Some(output) = output else { return };
    let checked = output.lines().find(|l| l.starts_with("abandoned checked")).unwrap_or_else(|| panic!("{output}"));
    println!("{checked}");
    let logged = obs_tests::json_lines(&output);
    let access = logged.iter().find(|l| l["message"] == "request completed").expect("an access-log line");
    assert_eq!(access["fields"]["status_code"], 499, "{access}");
}
