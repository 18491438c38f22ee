//! Log lines: JSON with trace ids, the start-up lines and the global propagator, and pretty
//! lines for people. Each scenario in a process of its own.
#![cfg(all(feature = "db", feature = "queue"))]

use obs_runtime::traced;
use obs_tests::child::run_in_child;
use obs_tests::runtime;

#[test]
fn pretty_logs_are_for_people() {
    let env = [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "pretty")];
    let Some(stdout) = run_in_child("", &env, || {
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
    let Some(stdout) = run_in_child("", &env, || {
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
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&stdout);
    let message = |m: &str| lines.iter().find(|l| l["message"].as_str().is_some_and(|s| s.starts_with(m)));
    let scrape = message("Prometheus scrape target: http://127.0.0.1:").unwrap_or_else(|| panic!("{stdout}"));
    assert!(scrape["message"].as_str().unwrap().ends_with("/metrics"), "{scrape}");
    let started = message("OpenTelemetry tracing started (exporter=jaeger, endpoint=http://127.0.0.1:4318/v1/traces)");
    assert!(started.is_some(), "{stdout}");
    let rewrite: Vec<_> =
        lines.iter().filter(|l| l["message"].as_str().is_some_and(|m| m.contains("legacy Thrift"))).collect();
    assert_eq!(rewrite.len(), 1, "one warning for the rewritten Jaeger URL: {stdout}");
    // Lowercase words, so a log query's `level="warn"` matches.
    assert_eq!(rewrite[0]["level"], "warn");
    // Every line says who wrote it, from the resource (`deployment.environment` is the older
    // key; `deployment.environment.name` wins when both are set).
    for line in &lines {
        assert_eq!((&line["service"], &line["environment"]), (&"log-check".into(), &"test".into()), "{line}");
        assert!(line.get("version").is_none() && line.get("dd.trace_id").is_none(), "{line}");
    }
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

#[test]
fn datadog_log_lines_carry_its_decimal_ids_and_the_version() {
    let env = [
        ("PROMETHEUS_ENABLED", "false"),
        ("OTEL_EXPORTER", "datadog"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.version=2.4.1,deployment.environment=old,deployment.environment.name=production",
        ),
        ("OTEL_SERVICE_NAME", "shop"),
        ("LOG_FORMAT", "json"),
    ];
    let Some(stdout) = run_in_child("", &env, || {
        let rt = runtime();
        let guard = rt.block_on(async { obs_runtime::init().unwrap() });
        rt.block_on(traced_with_log());
        drop(guard);
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&stdout);
    let inside = lines.iter().find(|l| l["message"] == "inside the checkout").unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!((&inside["service"], &inside["version"]), (&"shop".into(), &"2.4.1".into()));
    assert_eq!(inside["environment"], "production", "deployment.environment.name wins");
    assert_eq!(inside["level"], "info");
    // Datadog joins logs to traces by the low 64 bits of each id, in decimal.
    let hex_low = |hex: &str| u64::from_str_radix(&hex[hex.len() - 16..], 16).unwrap().to_string();
    assert_eq!(inside["dd.trace_id"], hex_low(inside["trace_id"].as_str().unwrap()).as_str(), "{inside}");
    assert_eq!(inside["dd.span_id"], hex_low(inside["span_id"].as_str().unwrap()).as_str(), "{inside}");
}

#[traced(name = "log.check")]
async fn traced_with_log() {
    tracing::info!(order = 42, "inside the checkout");
    tracing::info!(parent: None, "outside any span");
}

#[obs_runtime::instrument_db(table = "users")]
fn find_user_logged(id: u64) -> Result<u64, String> {
    tracing::info!("looking the user up");
    Ok(id)
}

#[test]
fn with_export_off_a_line_inside_an_annotated_call_names_its_span_and_trace() {
    // Issue 10's setup (b): spans are made for these ids and not exported.
    let env = [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "json")];
    let Some(stdout) = run_in_child("", &env, || {
        let guard = obs_runtime::init().unwrap();
        let request = tracing::info_span!("request");
        request.in_scope(|| {
            tracing::info!("before the lookup");
            find_user_logged(7).unwrap();
            // Not exported, still sampled: the next service decides as if this one exported.
            let traceparent = obs_runtime::propagation::TraceContext::current().traceparent;
            assert!(traceparent.starts_with("00-") && traceparent.ends_with("-01"), "{traceparent}");
        });
        drop(guard);
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&stdout);
    let line = |m: &str| lines.iter().find(|l| l["message"] == m).unwrap_or_else(|| panic!("{m}: {stdout}"));
    let (outside, inside) = (line("before the lookup"), line("looking the user up"));
    assert_eq!(inside["span"], "SELECT users", "{inside}");
    let hex = |v: &serde_json::Value, len: usize| {
        v.as_str().is_some_and(|s| s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit()))
    };
    assert!(hex(&inside["trace_id"], 32) && hex(&inside["span_id"], 16), "{inside}");
    assert_eq!(inside["trace_id"], outside["trace_id"], "one trace: the call is a child of the request");
    assert_ne!(inside["span_id"], outside["span_id"], "the call's own span");
}
