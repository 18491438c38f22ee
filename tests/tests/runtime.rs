//! `init()` and what it installs, each scenario in a process of its own (see `obs_tests::child`):
//! the scrape server, the exposition, bounded memory, and harmlessness when the collector is
//! missing, refusing or silent.
#![cfg(all(feature = "db", feature = "queue"))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use obs_runtime::{instrument_db, queue_job};
use obs_tests::child::{resident_bytes, run_in_child};

#[instrument_db(table = "users")]
async fn find_user(id: u64) -> Result<u64, String> {
    if id.is_multiple_of(10) { Err(format!("user {id} not found")) } else { Ok(id) }
}

#[queue_job(queue = "sessionReminder")]
async fn remind(id: u64) -> Result<(), String> {
    if id.is_multiple_of(7) { Err("bounced".into()) } else { Ok(()) }
}

/// A raw HTTP/1.1 exchange, so the test sees exactly what the server sends.
fn http(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    http(addr, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn nothing_configured_the_app_starts_and_calls_work() {
    let _ = run_in_child("nothing_configured_the_app_starts_and_calls_work", "", &[], || {
        runtime().block_on(async {
            // Defaults: scrape server on 0.0.0.0:9464, spans to a Jaeger that is not running.
            let guard = obs_runtime::init().expect("init with nothing configured");
            assert_eq!(guard.scrape_addr().map(|a| a.port()), Some(9464));
            for id in 1..=20 {
                let _ = find_user(id).await;
            }
            let (status, _, body) = get("127.0.0.1:9464".parse().unwrap(), "/metrics", "");
            assert_eq!(status, 200);
            assert!(
                body.contains(
                    r#"db_queries_total{app="unknown_service",operation="SELECT",table="users",status="success"} 18"#
                ),
                "{body}"
            );
            let started = Instant::now();
            drop(guard);
            assert!(started.elapsed() < Duration::from_secs(6), "guard drop took {:?}", started.elapsed());
        });
    });
}

#[test]
fn the_scrape_server_serves_only_its_endpoint() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_ENDPOINT", "/internal/metrics"),
        ("PROMETHEUS_BEARER_TOKEN", "s3cret"),
        ("OTEL_EXPORTER", "none"),
    ];
    let _ = run_in_child("the_scrape_server_serves_only_its_endpoint", "", &env, || {
        runtime().block_on(async {
            let guard = obs_runtime::init().unwrap();
            let addr = guard.scrape_addr().unwrap();
            assert_ne!(addr.port(), 0, "PROMETHEUS_PORT=0 binds a free port the guard reports");
            let _ = find_user(1).await;
            let auth = "Authorization: Bearer s3cret\r\n";
            assert_eq!(get(addr, "/metrics", auth).0, 404);
            assert_eq!(get(addr, "/", auth).0, 404);
            assert_eq!(get(addr, "/internal/metrics/extra", auth).0, 404);
            let (status, head, _) = http(
                addr,
                "POST /internal/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            assert_eq!(status, 405);
            assert!(head.contains("allow: get, head"), "{head}");
            let (status, head, _) = get(addr, "/internal/metrics", "");
            assert_eq!(status, 401);
            assert!(head.contains("www-authenticate: bearer"), "{head}");
            assert_eq!(get(addr, "/internal/metrics", "Authorization: Bearer s3cres\r\n").0, 401);
            assert_eq!(get(addr, "/internal/metrics", "Authorization: Bearer s3cret2\r\n").0, 401);
            let (status, head, body) = get(addr, "/internal/metrics", auth);
            assert_eq!(status, 200);
            assert!(head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"), "{head}");
            assert!(body.contains("db_queries_total{"), "{body}");
            let (status, _, body) =
                http(addr, &format!("HEAD /internal/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n"));
            assert_eq!((status, body.as_str()), (200, ""));
            // The same text is available for apps that mount their own route.
            assert!(obs_runtime::render().contains("db_queries_total{"));
        });
    });
}

#[test]
fn every_metric_has_help_a_unit_the_prefix_and_the_app_label() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("METRICS_PREFIX", "gemini_flow_"),
        ("OTEL_SERVICE_NAME", "mentorsmind"),
        ("OTEL_EXPORTER", "none"),
    ];
    let _ = run_in_child("every_metric_has_help_a_unit_the_prefix_and_the_app_label", "", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            for id in 1..=30 {
                let _ = find_user(id).await;
                let _ = remind(id).await;
            }
            metrics::histogram!("http_request_duration_seconds", "method" => "GET", "path" => "/users/{id}", "status_code" => "200").record(0.02);
            tokio::time::sleep(Duration::from_millis(600)).await; // one scheduler probe at least
            let text = obs_runtime::render();
            let mut families = Vec::new();
            for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
                let mut parts = line.split(' ').skip(2);
                let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
                assert_ne!(kind, "summary", "{name} must be a histogram");
                assert!(text.contains(&format!("# HELP {name} ")), "HELP for {name}");
                assert!(name.starts_with("gemini_flow_"), "{name} has the prefix");
                families.push((name.to_owned(), kind.to_owned()));
            }
            for expected in [
                ("gemini_flow_db_query_duration_seconds", "histogram"),
                ("gemini_flow_db_queries_total", "counter"),
                ("gemini_flow_queue_job_duration_seconds", "histogram"),
                ("gemini_flow_queue_jobs_total", "counter"),
                ("gemini_flow_http_request_duration_seconds", "histogram"),
                ("gemini_flow_process_resident_memory_bytes", "gauge"),
                ("gemini_flow_process_cpu_seconds_total", "counter"),
                ("gemini_flow_process_open_fds", "gauge"),
                ("gemini_flow_process_max_fds", "gauge"),
                ("gemini_flow_process_virtual_memory_bytes", "gauge"),
                ("gemini_flow_process_start_time_seconds", "gauge"),
                ("gemini_flow_process_threads", "gauge"),
                ("gemini_flow_tokio_scheduler_lag_seconds", "gauge"),
            ] {
                assert!(families.iter().any(|(n, k)| n == expected.0 && k == expected.1), "{expected:?} in {families:?}");
            }
            for sample in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
                assert!(sample.contains(r#"app="mentorsmind""#), "app label on {sample}");
            }
            let http_buckets = text.lines().filter(|l| l.starts_with("gemini_flow_http_request_duration_seconds_bucket{")).count();
            assert_eq!(http_buckets, 12, "DESIGN's 11 HTTP buckets and +Inf");
        });
    });
}

#[test]
fn histogram_memory_stays_bounded() {
    let env =
        [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none"), ("LOG_LEVEL", "warn")];
    let _ = run_in_child("histogram_memory_stays_bounded", "", &env, || {
        let _guard = obs_runtime::init().unwrap();
        let user_histogram = metrics::histogram!("http_request_duration_seconds", "method" => "GET", "path" => "/", "status_code" => "200");
        let before = resident_bytes();
        for i in 0..5_000_000_u64 {
            user_histogram.record((i % 1000) as f64 * 1e-4);
        }
        let grown = resident_bytes().saturating_sub(before);
        assert!(grown < 32 << 20, "resident memory grew by {} MiB for 5 million samples", grown >> 20);
        let text = obs_runtime::render();
        assert!(text.contains(r#"http_request_duration_seconds_count{app="unknown_service",method="GET",path="/",status_code="200"} 5000000"#), "{text}");
    });
}

/// Drives 10 000 instrumented calls with spans on while the collector misbehaves; every call
/// completes promptly, memory stays bounded and the guard returns within its deadline + 1 s.
fn harmless_with(endpoint: &str, protocol: &str) {
    let rt = runtime();
    rt.block_on(async {
        let guard = obs_runtime::init().unwrap();
        let before = resident_bytes();
        let started = Instant::now();
        for id in 1..=10_000 {
            let _ = find_user(id).await;
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(10),
            "10 000 calls took {took:?} with the collector at {endpoint} ({protocol})"
        );
        let grown = resident_bytes().saturating_sub(before);
        assert!(grown < 64 << 20, "memory grew by {} MiB", grown >> 20);
        assert!(obs_runtime::render().contains("status=\"success\"} 9000"));
        let dropping = Instant::now();
        drop(guard);
        let deadline = Duration::from_secs(2) + Duration::from_secs(1);
        assert!(dropping.elapsed() < deadline, "guard drop took {:?}", dropping.elapsed());
    });
}

/// Runs [`harmless_with`] in a child for each OTLP protocol, exporting to `endpoint`.
fn harmless_for_each_protocol(test: &str, endpoint: &str) {
    for protocol in ["grpc", "http/protobuf"] {
        let env = [
            ("PROMETHEUS_HOST", "127.0.0.1"),
            ("PROMETHEUS_PORT", "0"),
            ("OTEL_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OBS_SHUTDOWN_TIMEOUT", "2s"),
            ("LOG_LEVEL", "off"),
        ];
        let _ = run_in_child(test, protocol, &env, || harmless_with(endpoint, protocol));
    }
}

#[test]
fn a_collector_refusing_connections_is_harmless() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    harmless_for_each_protocol("a_collector_refusing_connections_is_harmless", &format!("http://{closed}"));
}

#[test]
fn a_collector_that_never_answers_is_harmless() {
    // Accepts connections and never reads or answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", black_hole.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in black_hole.incoming().flatten() {
            held.push(stream);
        }
    });
    harmless_for_each_protocol("a_collector_that_never_answers_is_harmless", &endpoint);
}

#[test]
fn init_reads_the_process_environment() {
    let _ = run_in_child("init_reads_the_process_environment", "", &[("PROMETHEUS_PORT", "abc")], || {
        let error = obs_runtime::init().unwrap_err();
        assert_eq!(error.to_string(), r#"PROMETHEUS_PORT="abc" is not valid: expected a port number from 0 to 65535"#);
    });
}

/// Regression: an `install` that failed half-way dropped obs's own Tokio runtime inside the
/// caller's async code, which panics ("Cannot drop a runtime in a context where blocking is
/// not allowed") instead of returning the error.
#[test]
fn regression_a_failed_install_inside_async_code_returns_the_error() {
    let env = [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none")];
    let _ = run_in_child("regression_a_failed_install_inside_async_code_returns_the_error", "", &env, || {
        runtime().block_on(async {
            let _first = obs_runtime::init().unwrap();
            let second = obs_runtime::init().expect_err("one recorder per process");
            assert!(matches!(second, obs_runtime::InitError::RecorderAlreadyInstalled), "{second:?}");
        });
    });
}

#[cfg(feature = "http")]
#[test]
fn the_axum_handler_serves_the_same_exposition() {
    let env = [
        ("PROMETHEUS_ENABLED", "true"),
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("OTEL_EXPORTER", "none"),
    ];
    let _ = run_in_child("the_axum_handler_serves_the_same_exposition", "", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            let _ = find_user(3).await;
            let app = axum::Router::new().route("/metrics", axum::routing::get(obs_runtime::http::metrics_handler));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            let (status, head, body) = tokio::task::spawn_blocking(move || get(addr, "/metrics", "")).await.unwrap();
            assert_eq!(status, 200);
            assert!(head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"), "{head}");
            assert!(
                body.contains(
                    r#"db_queries_total{app="unknown_service",operation="SELECT",table="users",status="success"} 1"#
                ),
                "{body}"
            );
        });
    });
}
