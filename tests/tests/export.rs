//! Span export: spans received by an OTLP receiver built on opentelemetry-proto's generated
//! server over gRPC and HTTP, the guard's flush from any runtime flavour, samplers and resources,
//! and harmlessness when the collector refuses or never answers. Each scenario in a process of
//! its own.
#![cfg(all(feature = "db", feature = "queue"))]

use std::time::{Duration, Instant};

use obs_tests::child::{resident_bytes, run_in_child};
use obs_tests::fixtures::{checkout, find_user};
use obs_tests::otlp_receiver::{OtlpReceiver, ReceivedSpan, SpanQueries, Transport};
use obs_tests::runtime;

/// Starts a receiver here, runs `body` in a child that exports to it over `transport` (with
/// `env` added last, so it wins), and returns the spans received once `expect` of them arrived
/// or the wait ran out; `None` inside the child.
fn spans_from_child(
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
    run_in_child(case, &all, body)?;
    let receiver = receiver?;
    let wait = if expect == 0 { Duration::from_secs(1) } else { Duration::from_secs(10) };
    Some(receiver.wait_for(wait, |spans| expect > 0 && spans.len() >= expect))
}

fn assert_spans(spans: &[ReceivedSpan], transport: Transport) {
    assert!(spans.iter().all(|s| s.transport == transport));
    assert!(spans.iter().all(|s| s.service_name == "otlp-check"), "service.name on every span");
    let ok_parent = spans.with_error("checkout", false);
    let ok_child = spans.with_error("SELECT users", false);
    assert_eq!(ok_parent.kind, "internal");
    assert_eq!(ok_child.kind, "client");
    assert_eq!(ok_child.attributes.get("db.system.name").map(String::as_str), Some("postgresql"));
    assert_eq!(ok_child.attributes.get("db.collection.name").map(String::as_str), Some("users"));
    let failed_parent = spans.with_error("checkout", true);
    let failed_child = spans.with_error("SELECT users", true);
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
        let spans = spans_from_child(&case, transport, &env, 4, || {
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
    let Some(spans) = spans_from_child("", Transport::Grpc, &env, 2, || {
        runtime().block_on(async {
            let guard = obs_runtime::init().unwrap();
            checkout(3).await.unwrap();
            drop(guard);
        });
    }) else {
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
    let Some(spans) = spans_from_child("", Transport::Grpc, &env, 4, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let guard = obs_runtime::init().unwrap();
            one_ok_and_one_failed_checkout().await;
            drop_within_deadline(guard); // on the runtime's only thread
        });
    }) else {
        return;
    };
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert_spans(&spans, Transport::Grpc);
}

/// Four spans: a checkout and its query, once succeeding and once failing.
async fn one_ok_and_one_failed_checkout() {
    checkout(3).await.unwrap();
    checkout(10).await.unwrap_err();
}

/// Drops the guard, which must flush within `OBS_SHUTDOWN_TIMEOUT` (5 s) and a second.
fn drop_within_deadline(guard: obs_runtime::ObsGuard) {
    let started = Instant::now();
    drop(guard);
    assert!(started.elapsed() < Duration::from_secs(6), "flush took {:?}", started.elapsed());
}

#[test]
fn a_guard_dropped_outside_any_runtime_delivers_grpc_spans() {
    let env = [("OTEL_BSP_SCHEDULE_DELAY", "600000")];
    let Some(spans) = spans_from_child("", Transport::Grpc, &env, 4, || {
        // Installed and dropped on a plain thread; the calls run on a runtime in between.
        let guard = obs_runtime::init().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(one_ok_and_one_failed_checkout());
        drop(rt);
        drop_within_deadline(guard);
    }) else {
        return;
    };
    assert_eq!(spans.len(), 4, "{spans:#?}");
    assert_spans(&spans, Transport::Grpc);
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
        let Some(spans) = spans_from_child(case, Transport::Grpc, &env, expect, || {
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

/// Drives 10 000 instrumented calls with spans on while the collector misbehaves; the calls do
/// not slow down as the export backs up (the last 9 000 take per call at most ten times what the
/// first 1 000 took, plus a second for a busy machine), memory stays bounded and the guard
/// returns within its deadline + 1 s.
fn harmless_with(endpoint: &str, protocol: &str) {
    let rt = runtime();
    rt.block_on(async {
        let guard = obs_runtime::init().unwrap();
        let before = resident_bytes();
        let started = Instant::now();
        for id in 1..=1_000 {
            let _ = find_user(id).await;
        }
        let early = started.elapsed();
        for id in 1_001..=10_000 {
            let _ = find_user(id).await;
        }
        let late = started.elapsed() - early;
        assert!(
            late < early * 9 * 10 + Duration::from_secs(1),
            "9 000 calls took {late:?} after the first 1 000 took {early:?}, with the collector at {endpoint} ({protocol})"
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
fn harmless_for_each_protocol(endpoint: &str) {
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
        let _ = run_in_child(protocol, &env, || harmless_with(endpoint, protocol));
    }
}

#[test]
fn a_collector_refusing_connections_is_harmless() {
    let closed = obs_tests::refused::RefusedPort::new();
    harmless_for_each_protocol(&format!("http://{}", closed.addr()));
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
    harmless_for_each_protocol(&endpoint);
}

/// Regression (issue 13): `url.path` and `user_agent.original` were kept whole, so with a
/// stalled collector one client sending 5 000 requests with a 30 000-character path and a
/// 16 KiB User-Agent grew the service from 12.5 MB to 179.6 MB RSS. Values are now cut to
/// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` and the export queue is bounded in bytes.
#[cfg(feature = "http")]
#[test]
fn regression_an_oversized_attribute_flood_with_a_stalled_collector_keeps_memory_bounded() {
    // Accepts connections and never reads or answers.
    let black_hole = (!obs_tests::child::is_child()).then(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    let endpoint = black_hole.as_ref().map(|l| format!("http://{}", l.local_addr().unwrap())).unwrap_or_default();
    if let Some(listener) = black_hole {
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
    }
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OBS_BSP_MAX_QUEUE_BYTES", "4194304"),
        ("OBS_SHUTDOWN_TIMEOUT", "1s"),
        ("LOG_LEVEL", "off"),
    ];
    let outcome = run_in_child("", &env, || {
        let rt = runtime();
        rt.block_on(async {
            let guard = obs_runtime::init().unwrap();
            let app = axum::Router::new().fallback(|| async { "ok" }).layer(obs_runtime::http::ObsLayer::new());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            let client = reqwest::Client::new();
            let flood = |requests: usize| {
                let client = client.clone();
                async move {
                    let path = format!("/{}", "p".repeat(30_000));
                    let agent = "a".repeat(16 << 10);
                    let tasks: Vec<_> = (0..8)
                        .map(|_| {
                            let (client, path, agent) = (client.clone(), path.clone(), agent.clone());
                            tokio::spawn(async move {
                                for _ in 0..requests / 8 {
                                    let url = format!("http://{addr}{path}");
                                    let response = client.get(url).header("user-agent", &agent).send().await.unwrap();
                                    assert_eq!(response.status(), 200);
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                }
            };
            flood(400).await; // warm: connections, buffers, the allocator
            let before = resident_bytes();
            flood(5_000).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let grown = resident_bytes().saturating_sub(before);
            println!("rss grew by {:.1} MiB over 5 000 oversized requests", grown as f64 / (1 << 20) as f64);
            assert!(grown < 32 << 20, "resident memory grew by {} MiB", grown >> 20);
            let text = obs_runtime::render();
            assert!(text.contains(r#"obs_spans_dropped_total{app="export",reason="queue_bytes"}"#), "{text}");
            drop(guard);
        });
    });
    for line in outcome.iter().flat_map(|out| out.lines()).filter(|l| l.contains("rss grew")) {
        eprintln!("{line}");
    }
}

#[test]
fn info_events_reach_their_span_whatever_the_log_level_and_the_access_log_never_does() {
    // LOG_LEVEL=off: no log line is written, the span still records its INFO events. Pins the
    // routing that replaced per-layer filters (issue 10).
    let Some(spans) = spans_from_child("", Transport::Grpc, &[], 1, || {
        let guard = obs_runtime::init().unwrap();
        tracing::info_span!("reserve").in_scope(|| {
            tracing::info!("stock reserved");
            tracing::debug!("below the spans' level");
            tracing::info!(target: "obs::access", "request completed");
        });
        drop(guard);
    }) else {
        return;
    };
    let reserve = spans.iter().find(|s| s.name == "reserve").expect("the reserve span");
    let events: Vec<&str> = reserve.events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(events, ["stock reserved"], "{reserve:#?}");
}
