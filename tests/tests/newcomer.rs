//! What a newcomer's first service met (issue 34): no silent defaults (a service without a name
//! is named after its executable, with one WARN line; the same for an exporter sending to a
//! default endpoint nobody set), and quiet when nothing listens (one WARN line, a counter, one
//! INFO line when the collector comes back; not an ERROR line per batch).
#![cfg(feature = "db")]

use std::time::{Duration, Instant};

use obs_tests::child::run_in_child;
use obs_tests::otlp_receiver::OtlpReceiver;
use obs_tests::refused::RefusedPort;

#[obs_runtime::instrument_db(table = "orders")]
fn find_order(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

/// The lines of `output` at `level` (obs's JSON lines say it in lowercase).
fn at_level(lines: &[serde_json::Value], level: &str) -> Vec<String> {
    lines.iter().filter(|l| l["level"] == level).map(|l| l["message"].as_str().unwrap_or_default().to_owned()).collect()
}

#[test]
fn an_unnamed_service_and_a_default_endpoint_are_said_once_at_start() {
    let env = [("PROMETHEUS_PORT", "0"), ("PROMETHEUS_HOST", "127.0.0.1"), ("OBS_SHUTDOWN_TIMEOUT", "1s")];
    let Some(output) = run_in_child("defaults", &env, || {
        let guard = obs_runtime::init().unwrap();
        find_order(1).unwrap();
        println!("SCRAPE {}", obs_runtime::render().lines().find(|l| l.starts_with("db_queries_total")).unwrap());
        drop(guard);
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&output);
    let warnings = at_level(&lines, "warn");
    let named: Vec<&String> = warnings.iter().filter(|m| m.starts_with("OTEL_SERVICE_NAME is not set")).collect();
    assert_eq!(named.len(), 1, "{warnings:#?}");
    assert!(named[0].contains(r#"named "newcomer" after its executable"#), "{}", named[0]);
    let endpoint: Vec<&String> = warnings.iter().filter(|m| m.starts_with("JAEGER_ENDPOINT is not set")).collect();
    assert_eq!(endpoint.len(), 1, "{warnings:#?}");
    assert!(endpoint[0].contains("http://localhost:4318/v1/traces") && endpoint[0].contains("OTEL_EXPORTER=none"));
    assert!(
        output.contains(r#"SCRAPE db_queries_total{app="newcomer","#),
        "the app label is the name chosen: {output}"
    );
    // Every line carries it too.
    assert!(lines.iter().all(|l| l["service"] == "newcomer"), "{lines:#?}");
}

/// Regression: the parent chose a free port, released it, and the child's scrape server
/// (`PROMETHEUS_PORT=0`) was given that same port in CI, so the exporter reached the scrape server
/// and the collector could not start there. The child holds the port now from start to end.
#[test]
fn an_unreachable_collector_is_one_warning_a_counter_and_one_line_when_it_returns() {
    let env = [
        ("OTEL_SERVICE_NAME", "quiet"),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1000"),
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_HOST", "127.0.0.1"),
    ];
    let Some(output) = run_in_child("unreachable", &env, || {
        let reserved = RefusedPort::new();
        let endpoint = format!("http://{}", reserved.addr());
        // On a line of its own: libtest's "test … ... " has no newline before the body prints.
        println!("\nENDPOINT {endpoint}");
        let guard = obs_runtime::Config::from_env().unwrap().otlp_endpoint(endpoint).install().unwrap();
        let failures = r#"obs_spans_export_failures_total{app="quiet",reason="unreachable"}"#;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            find_order(7).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        let after_ten_seconds = obs_tests::sample_value(&obs_runtime::render(), failures).unwrap_or(0.0);
        println!("FAILED {after_ten_seconds}");
        // The collector comes up where the service has been sending, on the socket held for it.
        let receiver = OtlpReceiver::start_on(reserved.listen());
        let deadline = Instant::now() + Duration::from_secs(10);
        while receiver.spans().is_empty() && Instant::now() < deadline {
            find_order(8).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!receiver.spans().is_empty(), "export recovered once the collector listened");
        println!("FAILED-AFTER {}", obs_tests::sample_value(&obs_runtime::render(), failures).unwrap_or(0.0));
        drop(guard);
    }) else {
        return;
    };
    let endpoint = output.lines().find_map(|l| l.strip_prefix("ENDPOINT ")).unwrap().to_owned();
    let lines = obs_tests::json_lines(&output);
    let failed: f64 = output.lines().find_map(|l| l.strip_prefix("FAILED ")?.parse().ok()).unwrap();
    assert!(failed >= 5.0, "about one failed batch per 200 ms tick with spans, counted: {failed}");
    let warnings = at_level(&lines, "warn");
    let export: Vec<&String> = warnings.iter().filter(|m| m.starts_with("spans cannot be exported")).collect();
    assert_eq!(export.len(), 1, "one WARN line for {failed} failed batches: {warnings:#?}");
    assert!(export[0].contains(&endpoint) && export[0].contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{}", export[0]);
    assert_eq!(warnings.len(), 1, "nothing else warned: {warnings:#?}");
    assert!(at_level(&lines, "error").is_empty(), "no ERROR line: {:#?}", at_level(&lines, "error"));
    let infos = at_level(&lines, "info");
    let recovered: Vec<&String> = infos.iter().filter(|m| m.starts_with("span export to")).collect();
    assert_eq!(recovered.len(), 1, "{infos:#?}");
    assert!(recovered[0].contains("recovered after") && recovered[0].contains(&endpoint), "{}", recovered[0]);
}
