//! The runtime against real components: a real Prometheus server (Debian's package) scraping
//! the scrape server, `promtool check metrics` on the exposition, and spans received by an
//! OTLP receiver built on opentelemetry-proto's generated server, over gRPC and HTTP.
#![cfg(all(feature = "db", feature = "queue"))]

use std::time::{Duration, Instant};

use obs_runtime::{instrument_db, queue_job, traced};
use obs_tests::child::run_in_child;
use obs_tests::otlp_receiver::{OtlpReceiver, ReceivedSpan, Transport};
use obs_tests::prometheus::{PrometheusServer, Target, promtool_check};

#[instrument_db(table = "users")]
async fn find_user(id: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(id % 5)).await;
    if id.is_multiple_of(10) { Err(format!("user {id} not found")) } else { Ok(id) }
}

#[queue_job(queue = "sessionReminder")]
async fn remind(id: u64) -> Result<(), String> {
    if id.is_multiple_of(7) { Err("bounced".into()) } else { Ok(()) }
}

#[traced(name = "checkout")]
async fn checkout(id: u64) -> Result<u64, String> {
    find_user(id).await
}

/// Label values an app might mean, including characters the exporter escapes lossily.
const ODD_VALUES: &[&str] =
    &["café ☕ {a=b, c}", "path/with spaces & ?query=1", "say \"hi\"", "back\\slash", "new\nline", "tab\there"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn a_real_prometheus_scrapes_and_answers_the_queries() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_BEARER_TOKEN", "scrape-token"),
        ("OTEL_SERVICE_NAME", "mentorsmind"),
        ("OTEL_EXPORTER", "none"),
        ("LOG_LEVEL", "warn"),
    ];
    let _ = run_in_child("a_real_prometheus_scrapes_and_answers_the_queries", "", &env, || {
        let rt = runtime();
        let guard = rt.block_on(async { obs_runtime::init().unwrap() });
        let long = "x".repeat(300);
        for value in ODD_VALUES.iter().copied().chain([long.as_str()]) {
            metrics::counter!("label_roundtrip_total", "value" => value.to_owned()).increment(1);
        }
        let traffic = rt.spawn(async {
            for id in 0.. {
                let _ = find_user(id).await;
                let _ = remind(id).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let prometheus = PrometheusServer::start(&[Target {
            addr: guard.scrape_addr().unwrap(),
            path: "/metrics".into(),
            bearer_token: Some("scrape-token".into()),
        }]);
        let timeout = Duration::from_secs(60);
        let p95 = prometheus.wait_for_result(
            "histogram_quantile(0.95, sum(rate(db_query_duration_seconds_bucket[1m])) by (le))",
            timeout,
        );
        let p95: f64 = p95[0]["value"][1].as_str().unwrap().parse().unwrap();
        assert!((0.0..0.05).contains(&p95), "p95 of 0-4 ms queries within the first buckets: {p95}");
        let by_status = prometheus.wait_for_result("sum(rate(queue_jobs_total[1m])) by (status)", timeout);
        let statuses: Vec<&str> = by_status.iter().map(|r| r["metric"]["status"].as_str().unwrap()).collect();
        for status in ["completed", "failed"] {
            assert!(statuses.contains(&status), "{status} in {statuses:?}");
        }
        let up = prometheus.wait_for_result("up", timeout);
        assert_eq!(up[0]["value"][1], "1", "scraped with the bearer token: {up:?}");
        assert_eq!(up[0]["metric"]["job"], "target0");

        let stored = prometheus.wait_for_result("label_roundtrip_total", timeout);
        let mut got: Vec<String> = stored.iter().map(|r| r["metric"]["value"].as_str().unwrap().to_owned()).collect();
        let mut meant: Vec<String> =
            ODD_VALUES.iter().copied().chain([long.as_str()]).map(obs_runtime::normalise_label).collect();
        got.sort();
        meant.sort();
        assert_eq!(got, meant, "Prometheus stores exactly what obs recorded");
        assert!(meant.iter().all(|v| v.chars().count() <= obs_runtime::MAX_LABEL_CHARS));
        for result in &stored {
            assert_eq!(result["metric"]["app"], "mentorsmind");
        }
        traffic.abort();
        drop(guard);
    });
}

#[test]
fn promtool_finds_nothing_to_complain_about() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("METRICS_PREFIX", "gemini_flow_"),
        ("OTEL_EXPORTER", "none"),
        ("LOG_LEVEL", "off"),
    ];
    let _ = run_in_child("promtool_finds_nothing_to_complain_about", "", &env, || {
        runtime().block_on(async {
            let _guard = obs_runtime::init().unwrap();
            for id in 0..50 {
                let _ = find_user(id).await;
                let _ = remind(id).await;
            }
            metrics::histogram!("http_request_duration_seconds", "path" => "/users/{id}").record(0.01);
            tokio::time::sleep(Duration::from_millis(600)).await;
            let exposition = obs_runtime::render();
            let (ok, output) = promtool_check(&exposition);
            assert!(ok && output.trim().is_empty(), "promtool check metrics:\n{output}\n--- exposition\n{exposition}");
        });
    });
}

/// Starts a receiver here, runs `body` in a child that exports to it over `transport` (with
/// `env` added last, so it wins), and returns the spans received once `expect` of them arrived
/// or the wait ran out; `None` inside the child.
fn spans_from_child(
    test: &str,
    case: &str,
    transport: Transport,
    env: &[(&str, &str)],
    expect: usize,
    body: impl FnOnce(),
) -> Option<Vec<ReceivedSpan>> {
    let receiver = (!obs_tests::child::is_child()).then(OtlpReceiver::start);
    let (endpoint, protocol) = match (&receiver, transport) {
        (Some(r), Transport::Grpc) => (r.grpc_endpoint(), "grpc"),
        (Some(r), Transport::Http) => (r.http_endpoint(), "http/protobuf"),
        (None, _) => (String::new(), ""),
    };
    let mut all = vec![
        ("PROMETHEUS_ENABLED", "false"),
        ("OTEL_SERVICE_NAME", "otlp-check"),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("LOG_LEVEL", "off"),
    ];
    all.extend_from_slice(env);
    run_in_child(test, case, &all, body)?;
    let receiver = receiver?;
    let wait = if expect == 0 { Duration::from_secs(1) } else { Duration::from_secs(10) };
    Some(receiver.wait_for(wait, |spans| expect > 0 && spans.len() >= expect))
}

fn span<'a>(spans: &'a [ReceivedSpan], name: &str, error: bool) -> &'a ReceivedSpan {
    spans.iter().find(|s| s.name == name && (s.status == "error") == error).unwrap_or_else(|| {
        panic!(
            "no {name} span (error: {error}) in {:#?}",
            spans.iter().map(|s| (&s.name, &s.status)).collect::<Vec<_>>()
        )
    })
}

fn assert_spans(spans: &[ReceivedSpan], transport: Transport) {
    assert!(spans.iter().all(|s| s.transport == transport));
    assert!(spans.iter().all(|s| s.service_name == "otlp-check"), "service.name on every span");
    let ok_parent = span(spans, "checkout", false);
    let ok_child = span(spans, "SELECT users", false);
    assert_eq!(ok_parent.kind, "internal");
    assert_eq!(ok_child.kind, "client");
    assert_eq!(ok_child.attributes.get("db.system.name").map(String::as_str), Some("postgresql"));
    assert_eq!(ok_child.attributes.get("db.collection.name").map(String::as_str), Some("users"));
    let failed_parent = span(spans, "checkout", true);
    let failed_child = span(spans, "SELECT users", true);
    assert_eq!(failed_child.status_message, "user 10 not found");
    let (event, attributes) = &failed_child.events[0];
    assert_eq!(event, "exception");
    assert_eq!(attributes.get("exception.message").map(String::as_str), Some("user 10 not found"));
    assert!(attributes.get("exception.type").is_some_and(|t| t.contains("String")), "{attributes:?}");
    assert_eq!(failed_child.parent_span_id, failed_parent.span_id, "the query is a child of the checkout");
    assert_eq!(failed_child.trace_id, failed_parent.trace_id);
    assert!(failed_parent.parent_span_id.is_empty(), "checkout is a root");
    for s in spans {
        for key in s.attributes.keys() {
            assert!(
                !(key == "busy_ns" || key == "idle_ns" || key.starts_with("thread.") || key.starts_with("code.")),
                "{key} on {} is off by default",
                s.name
            );
        }
    }
}

#[test]
fn the_otlp_receiver_gets_spans_over_grpc_and_http() {
    // `datadog` is the Datadog Agent's OTLP receiver: the same protocol at the OTLP endpoint.
    for (exporter, transport) in [("otlp", Transport::Grpc), ("otlp", Transport::Http), ("datadog", Transport::Grpc)] {
        let case = format!("{exporter}-{transport:?}");
        let env = [("OTEL_EXPORTER", exporter)];
        let spans =
            spans_from_child("the_otlp_receiver_gets_spans_over_grpc_and_http", &case, transport, &env, 4, || {
                runtime().block_on(async {
                    let guard = obs_runtime::init().unwrap();
                    checkout(3).await.unwrap();
                    checkout(10).await.unwrap_err();
                    drop(guard); // flushes
                });
            });
        if let Some(spans) = spans {
            assert_eq!(spans.len(), 4, "{case}: {spans:#?}");
            assert_spans(&spans, transport);
        }
    }
}

#[test]
fn debug_attributes_come_back_when_asked_for() {
    let env = [("OBS_SPAN_DEBUG_ATTRIBUTES", "true")];
    let Some(spans) =
        spans_from_child("debug_attributes_come_back_when_asked_for", "", Transport::Grpc, &env, 2, || {
            runtime().block_on(async {
                let guard = obs_runtime::init().unwrap();
                checkout(3).await.unwrap();
                drop(guard);
            });
        })
    else {
        return;
    };
    let checkout = spans.iter().find(|s| s.name == "checkout").expect("checkout span");
    assert!(checkout.attributes.contains_key("busy_ns"), "{:?}", checkout.attributes);
    assert!(checkout.attributes.keys().any(|k| k.starts_with("code.")), "{:?}", checkout.attributes);
}

#[test]
fn a_guard_dropped_on_a_current_thread_runtime_delivers_grpc_spans() {
    // Nothing is exported before the guard drops: the flush has to do it.
    let env = [("OTEL_BSP_SCHEDULE_DELAY", "600000"), ("OBS_SHUTDOWN_TIMEOUT", "5s")];
    let test = "a_guard_dropped_on_a_current_thread_runtime_delivers_grpc_spans";
    let Some(spans) = spans_from_child(test, "", Transport::Grpc, &env, 4, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let guard = obs_runtime::init().unwrap();
            checkout(3).await.unwrap();
            checkout(10).await.unwrap_err();
            let started = Instant::now();
            drop(guard); // on the runtime's only thread
            assert!(started.elapsed() < Duration::from_secs(6), "flush took {:?}", started.elapsed());
        });
    }) else {
        return;
    };
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert_spans(&spans, Transport::Grpc);
}

#[test]
fn a_guard_dropped_outside_any_runtime_delivers_grpc_spans() {
    let env = [("OTEL_BSP_SCHEDULE_DELAY", "600000")];
    let test = "a_guard_dropped_outside_any_runtime_delivers_grpc_spans";
    let Some(spans) = spans_from_child(test, "", Transport::Grpc, &env, 4, || {
        // Installed and dropped on a plain thread; the calls run on a runtime in between.
        let guard = obs_runtime::init().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            checkout(3).await.unwrap();
            checkout(10).await.unwrap_err();
        });
        drop(rt);
        let started = Instant::now();
        drop(guard);
        assert!(started.elapsed() < Duration::from_secs(6), "flush took {:?}", started.elapsed());
    }) else {
        return;
    };
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert_spans(&spans, Transport::Grpc);
}

#[test]
fn pretty_logs_are_for_people() {
    let env = [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "pretty")];
    let Some(stdout) = run_in_child("pretty_logs_are_for_people", "", &env, || {
        let rt = runtime();
        let guard = rt.block_on(async { obs_runtime::init().unwrap() });
        rt.block_on(traced_with_log());
        drop(guard);
    }) else {
        return;
    };
    assert!(stdout.contains("inside the checkout"), "{stdout}");
    assert!(stdout.contains("order: 42"), "pretty fields: {stdout}");
    assert!(!stdout.lines().any(|l| l.trim_start().starts_with("{\"")), "no JSON lines: {stdout}");
}

#[test]
fn start_up_logs_json_lines_with_trace_ids_and_the_global_propagator() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("OTEL_EXPORTER", "jaeger"),
        // Jaeger's legacy Thrift URL on the receiver's host: rewritten to OTLP/HTTP on :4318.
        ("JAEGER_ENDPOINT", "http://127.0.0.1:14268/api/traces"),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,team=payments"),
        ("OTEL_SERVICE_NAME", "log-check"),
        ("LOG_FORMAT", "json"),
        ("LOG_LEVEL", "info"),
    ];
    let Some(stdout) =
        run_in_child("start_up_logs_json_lines_with_trace_ids_and_the_global_propagator", "", &env, || {
            runtime().block_on(async {
                let guard = obs_runtime::init().unwrap();
                traced_with_log().await;
                // The W3C propagator is global: OpenTelemetry's own API injects the current span.
                let mut headers = std::collections::HashMap::new();
                let span = tracing::info_span!("propagate");
                let carried = {
                    let _entered = span.enter();
                    opentelemetry::global::get_text_map_propagator(|propagator| {
                        propagator.inject_context(&opentelemetry::Context::current(), &mut headers);
                    });
                    obs_runtime::propagation::TraceContext::current()
                };
                assert!(carried.traceparent.starts_with("00-") && carried.traceparent.len() == 55, "{carried:?}");
                assert_eq!(headers.get("traceparent"), Some(&carried.traceparent), "{headers:?}");
                drop(guard);
            });
        })
    else {
        return;
    };
    // libtest prints the test name without a newline before the first line.
    let lines: Vec<serde_json::Value> =
        stdout.lines().filter_map(|l| l.find('{').and_then(|i| serde_json::from_str(&l[i..]).ok())).collect();
    let message = |m: &str| lines.iter().find(|l| l["message"].as_str().is_some_and(|s| s.starts_with(m)));
    let scrape = message("Prometheus scrape target: http://127.0.0.1:").unwrap_or_else(|| panic!("{stdout}"));
    assert!(scrape["message"].as_str().unwrap().ends_with("/metrics"), "{scrape}");
    let started = message("OpenTelemetry tracing started (exporter=jaeger, endpoint=http://127.0.0.1:4318/v1/traces)");
    assert!(started.is_some(), "{stdout}");
    let rewrite: Vec<_> =
        lines.iter().filter(|l| l["message"].as_str().is_some_and(|m| m.contains("legacy Thrift"))).collect();
    assert_eq!(rewrite.len(), 1, "one warning for the rewritten Jaeger URL: {stdout}");
    assert_eq!(rewrite[0]["level"], "WARN");
    let inside = message("inside the checkout").unwrap_or_else(|| panic!("{stdout}"));
    let trace_id = inside["trace_id"].as_str().unwrap();
    let span_id = inside["span_id"].as_str().unwrap();
    assert!(trace_id.len() == 32 && trace_id.chars().all(|c| c.is_ascii_hexdigit()), "{inside}");
    assert!(span_id.len() == 16 && span_id.chars().all(|c| c.is_ascii_hexdigit()), "{inside}");
    assert_eq!(inside["span"], "log.check");
    assert_eq!(inside["fields"]["order"], 42);
    let outside = message("outside any span").unwrap();
    assert!(outside.get("trace_id").is_none(), "{outside}");
}

#[traced(name = "log.check")]
async fn traced_with_log() {
    tracing::info!(order = 42, "inside the checkout");
    tracing::info!(parent: None, "outside any span");
}

#[test]
fn samplers_and_sdk_disabled_export_nothing_and_resources_are_attached() {
    for (case, sampler, disabled, expect) in [
        ("always_off", "always_off", "false", 0),
        ("ratio_zero", "traceidratio", "false", 0),
        ("disabled", "always_on", "true", 0),
        ("always_on", "always_on", "false", 4),
    ] {
        let env = [
            ("OTEL_TRACES_SAMPLER", sampler),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("OTEL_SDK_DISABLED", disabled),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,service.version=1.2.3"),
        ];
        let test = "samplers_and_sdk_disabled_export_nothing_and_resources_are_attached";
        let Some(spans) = spans_from_child(test, case, Transport::Grpc, &env, expect, || {
            runtime().block_on(async {
                let guard = obs_runtime::init().unwrap();
                checkout(3).await.unwrap();
                checkout(10).await.unwrap_err();
                drop(guard);
            });
        }) else {
            continue;
        };
        assert_eq!(spans.len(), expect, "{case}: {spans:#?}");
        for span in &spans {
            assert_eq!(span.resource.get("deployment.environment").map(String::as_str), Some("test"));
            assert_eq!(span.resource.get("service.version").map(String::as_str), Some("1.2.3"));
        }
    }
}
