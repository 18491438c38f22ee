//! Metrics pushed over OTLP (`OTEL_METRICS_EXPORTER`): the tests' receiver gets, over gRPC and
//! over HTTP, the numbers a scrape of the same process shows, as cumulative sums, explicit-bucket
//! histograms and gauges with the service's resource; a stalled collector blocks nothing and the
//! guard still returns within its deadline. Each scenario in a process of its own: `init()`
//! installs globals.
#![cfg(feature = "db")]

use std::time::{Duration, Instant};

use obs_runtime::instrument_db;
use obs_tests::child::{resident_bytes, run_in_child};
use obs_tests::otlp_receiver::{OtlpReceiver, Transport};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};

#[instrument_db(table = "orders")]
fn find_order(id: u32) -> Result<u32, std::io::Error> {
    if id == 0 { Err(std::io::ErrorKind::NotFound.into()) } else { Ok(id) }
}

fn text(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn labels(attributes: &[KeyValue], extra: Option<(&str, String)>) -> String {
    let mut pairs: Vec<String> = attributes.iter().map(|kv| format!("{}=\"{}\"", kv.key, text(kv))).collect();
    pairs.extend(extra.map(|(k, v)| format!("{k}=\"{v}\"")));
    if pairs.is_empty() { String::new() } else { format!("{{{}}}", pairs.join(",")) }
}

/// The pushed metrics written back as exposition lines (independently of obs's converter), and
/// the checks OTLP asks of each kind.
fn as_exposition(request: &ExportMetricsServiceRequest) -> Vec<String> {
    let mut lines = Vec::new();
    for scope in request.resource_metrics.iter().flat_map(|r| &r.scope_metrics) {
        for metric in &scope.metrics {
            let value = |v: &Option<number_data_point::Value>| match v {
                Some(number_data_point::Value::AsDouble(d)) => *d,
                Some(number_data_point::Value::AsInt(i)) => *i as f64,
                None => f64::NAN,
            };
            match &metric.data {
                Some(metric::Data::Sum(sum)) => {
                    assert!(sum.is_monotonic, "{}", metric.name);
                    assert_eq!(sum.aggregation_temporality, AggregationTemporality::Cumulative as i32);
                    for point in &sum.data_points {
                        assert!(point.start_time_unix_nano > 0 && point.start_time_unix_nano <= point.time_unix_nano);
                        lines.push(format!(
                            "{}{} {}",
                            metric.name,
                            labels(&point.attributes, None),
                            value(&point.value)
                        ));
                    }
                }
                Some(metric::Data::Gauge(gauge)) => {
                    for point in &gauge.data_points {
                        lines.push(format!(
                            "{}{} {}",
                            metric.name,
                            labels(&point.attributes, None),
                            value(&point.value)
                        ));
                    }
                }
                Some(metric::Data::Histogram(histogram)) => {
                    assert_eq!(histogram.aggregation_temporality, AggregationTemporality::Cumulative as i32);
                    for point in &histogram.data_points {
                        assert_eq!(point.bucket_counts.len(), point.explicit_bounds.len() + 1, "{}", metric.name);
                        assert_eq!(point.bucket_counts.iter().sum::<u64>(), point.count, "{}", metric.name);
                        let mut cumulative = 0;
                        for (i, count) in point.bucket_counts.iter().enumerate() {
                            cumulative += count;
                            let le = point.explicit_bounds.get(i).map_or("+Inf".to_owned(), f64::to_string);
                            let pairs = labels(&point.attributes, Some(("le", le)));
                            lines.push(format!("{}_bucket{pairs} {cumulative}", metric.name));
                        }
                        let pairs = labels(&point.attributes, None);
                        lines.push(format!("{}_sum{pairs} {}", metric.name, point.sum.unwrap_or(f64::NAN)));
                        lines.push(format!("{}_count{pairs} {}", metric.name, point.count));
                    }
                }
                other => panic!("{}: unexpected data {other:?}", metric.name),
            }
        }
    }
    lines
}

/// obs installed from `env`, pushing to `receiver` (started in the child: its port is known
/// only there).
fn install(receiver: &OtlpReceiver, http: bool) -> obs_runtime::ObsGuard {
    let endpoint = if http { receiver.http_endpoint() } else { receiver.grpc_endpoint() };
    let config = obs_runtime::Config::from_env().unwrap();
    config.with_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)]).unwrap().install().unwrap()
}

fn pushes_what_a_scrape_shows(protocol: &str) {
    let env = [
        ("OTEL_SERVICE_NAME", "push-test"),
        ("OTEL_EXPORTER", "none"),
        ("LOG_LEVEL", "off"),
        ("OTEL_METRICS_EXPORTER", "prometheus,otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", if protocol == "grpc" { "grpc" } else { "http/protobuf" }),
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
    ];
    let _ = run_in_child(protocol, &env, || {
        let receiver = OtlpReceiver::start();
        let runtime = obs_tests::runtime();
        let guard = runtime.block_on(async { install(&receiver, protocol != "grpc") });
        for id in [1, 2, 3, 0] {
            let _ = find_order(id);
        }
        metrics::counter!("orders_shipped_total", "carrier" => "post").increment(7);
        metrics::gauge!("orders_open").set(4.5);
        // A push that started after the calls carries them; nothing is recorded after it.
        let calls_done = Instant::now();
        let exports = receiver.wait_for_metrics(Duration::from_secs(20), |exports| exports.len() >= 2);
        std::thread::sleep(Duration::from_millis(250).saturating_sub(calls_done.elapsed()));
        let count_before = receiver.metric_exports().len();
        let exports_after = receiver.wait_for_metrics(Duration::from_secs(20), |e| e.len() > count_before);
        let (transport, pushed) = exports_after.last().cloned().expect("a push after the calls");
        let scrape = obs_runtime::render();
        assert!(exports.len() >= 2, "pushes every 100 ms");
        assert_eq!(transport, if protocol == "grpc" { Transport::Grpc } else { Transport::Http });

        let resource = pushed.resource_metrics[0].resource.as_ref().expect("a resource");
        let service = resource.attributes.iter().find(|kv| kv.key == "service.name").map(text);
        assert_eq!(service.as_deref(), Some("push-test"));

        let lines = as_exposition(&pushed);
        let compared: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("db_") || l.starts_with("orders_") || l.starts_with("obs_"))
            .collect();
        for line in &compared {
            assert!(scrape.lines().any(|l| l == line.as_str()), "pushed {line:?}, not in the scrape:\n{scrape}");
        }
        for expected in [
            r#"db_queries_total{app="push-test",operation="SELECT",table="orders",status="success"} 3"#,
            r#"db_queries_total{app="push-test",operation="SELECT",table="orders",status="error",error_type="not_found"} 1"#,
            r#"db_query_duration_seconds_count{app="push-test",operation="SELECT",table="orders"} 4"#,
            r#"orders_shipped_total{app="push-test",carrier="post"} 7"#,
            r#"orders_open{app="push-test"} 4.5"#,
        ] {
            assert!(lines.iter().any(|l| l == expected), "{expected} not pushed: {lines:#?}");
        }
        // Every series of these families that the scrape shows was pushed.
        let scraped =
            scrape.lines().filter(|l| !l.starts_with('#') && (l.starts_with("db_") || l.starts_with("orders_")));
        for line in scraped {
            assert!(compared.iter().any(|c| c.as_str() == line), "scraped {line:?}, not pushed");
        }
        assert!(lines.iter().any(|l| l.starts_with("process_resident_memory_bytes")), "process metrics too");
        drop(guard);
    });
}

#[test]
fn grpc_pushes_what_a_scrape_shows() {
    pushes_what_a_scrape_shows("grpc");
}

#[test]
fn http_pushes_what_a_scrape_shows() {
    pushes_what_a_scrape_shows("http");
}

#[test]
fn the_guard_pushes_once_more_when_dropped() {
    let env = [
        ("OTEL_EXPORTER", "none"),
        ("LOG_LEVEL", "off"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000"),
    ];
    let _ = run_in_child("", &env, || {
        let receiver = OtlpReceiver::start();
        let guard = install(&receiver, false);
        assert_eq!(guard.scrape_addr(), None, "otlp alone: no scrape server");
        let _ = find_order(5);
        drop(guard);
        let exports = receiver.metric_exports();
        assert_eq!(exports.len(), 1, "the interval is an hour: only the last push on drop");
        let lines = as_exposition(&exports[0].1);
        assert!(
            lines.iter().any(|l| l.starts_with("db_queries_total{") && l.contains(r#"status="success"} 1"#)),
            "{lines:#?}"
        );
    });
}

#[test]
fn a_stalled_collector_blocks_nothing_and_the_guard_keeps_its_deadline() {
    // Accepts connections and never answers.
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", stalled.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut sockets = Vec::new();
        for socket in stalled.incoming().take(64) {
            sockets.push(socket);
        }
    });
    for protocol in ["grpc", "http/protobuf"] {
        let env = [
            ("OTEL_EXPORTER", "none"),
            ("LOG_LEVEL", "off"),
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "50"),
            // Each push is abandoned after 100 ms, and the next one tries again.
            ("OTEL_METRIC_EXPORT_TIMEOUT", "100"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OBS_SHUTDOWN_TIMEOUT", "1s"),
        ];
        let output = run_in_child(protocol, &env, || {
            let guard = obs_runtime::init().unwrap();
            // Calls go on while pushes hang: the calls never wait for a push.
            let mut calls = 0;
            let mut run = |millis| {
                let started = Instant::now();
                while started.elapsed() < Duration::from_millis(millis) {
                    let _ = find_order(calls % 5);
                    calls += 1;
                }
            };
            run(500);
            let before = resident_bytes();
            run(1_500); // some 10 abandoned pushes more
            let grown = resident_bytes().saturating_sub(before);
            println!(
                "{protocol}: {calls} calls in 2 s; resident memory grew {} KiB over 1.5 s of failing pushes",
                grown / 1024
            );
            assert!(calls > 1_000, "only {calls} calls in 2 s: something waited for the collector");
            assert!(grown < 8 << 20, "resident memory grew {grown} bytes while pushes failed");
            let dropping = Instant::now();
            drop(guard);
            let took = dropping.elapsed();
            // The deadline (1 s) plus what the flush thread needs to be started and joined.
            assert!(took < Duration::from_secs(3), "the guard took {took:?} with a stalled collector");
        });
        for line in output.iter().flat_map(|o| o.lines()).filter(|l| l.contains("resident memory")) {
            println!("{line}");
        }
    }
    drop(held);
}
