//! The reference service's generated monitoring on the live service: every catalogued series
//! at zero before any traffic, and every rule and dashboard query answering on a real
//! Prometheus scraping it under demo traffic.
#![cfg(all(
    feature = "db",
    feature = "redis",
    feature = "queue",
    feature = "stellar",
    feature = "ws",
    feature = "http"
))]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use obs_tests::horizon_stub::{HorizonStub, Mode};
use obs_tests::ops::{generate, scratch, service as run_service};
use obs_tests::prometheus::Target;
use obs_tests::service::Service;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");

fn service(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    run_service(EXE, args, env)
}

/// What `--catalogue` lists: every call site with metrics, as `(family total, labels)`.
/// A catalogued call site's series: its counter, its label pairs, whether it can be cancelled.
#[derive(Debug)]
struct SiteSeries {
    total: String,
    labels: Vec<(String, String)>,
    cancellable: bool,
}

fn catalogued_series() -> Vec<SiteSeries> {
    let output = service(&["--catalogue"], &[]);
    assert!(output.status.success());
    let mut series = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let site: Value = serde_json::from_str(line).unwrap();
        if !site["kind"].as_str().is_some_and(|k| k.starts_with("Calls(")) {
            continue;
        }
        // The counter first, then the histogram.
        let total = site["metrics"][0].as_str().unwrap();
        let names = site["label_names"].as_array().unwrap();
        let values = site["label_values"].as_array().unwrap();
        let labels = names
            .iter()
            .enumerate()
            // A Stellar site without a network gets the service's default, testnet.
            .map(|(i, n)| {
                (n.as_str().unwrap().to_owned(), values.get(i).and_then(Value::as_str).unwrap_or("testnet").to_owned())
            })
            .collect();
        let cancellable = site["cancellable"].as_bool().unwrap();
        series.push(SiteSeries { total: total.to_owned(), labels, cancellable });
    }
    assert!(series.len() >= 10, "{series:?}");
    series
}

#[test]
fn every_catalogued_series_is_at_zero_on_the_first_scrape() {
    let expected = catalogued_series();
    let directory = scratch("zero");
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("zero.sqlite").display());
    let service = Service::start(EXE, &[("DATABASE_URL", database_url.as_str()), ("OTEL_EXPORTER", "none")]);
    let metrics = service.metrics.strip_prefix("http://").unwrap();
    let (addr, path) = metrics.split_once('/').unwrap();
    let (status, _, text) = obs_tests::raw_get(addr.parse().unwrap(), &format!("/{path}"), "");
    assert_eq!(status, 200);
    for SiteSeries { total, labels, cancellable } in &expected {
        let statuses: &[&str] = if total == "queue_jobs_total" {
            &["completed", "failed", "cancelled"]
        } else {
            &["success", "error", "cancelled"]
        };
        // Only a future can be dropped half-way: a sync site has no `cancelled` series.
        for status in statuses.iter().filter(|s| **s != "cancelled" || *cancellable) {
            let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            let line = format!("{total}{{app=\"mentorsmind\",{},status=\"{status}\"}} 0", body.join(","));
            assert!(text.lines().any(|l| l == line), "no `{line}` before any traffic:\n{text}");
        }
    }
    assert!(text.lines().any(|l| l == "active_websocket_connections{app=\"mentorsmind\"} 0"), "{text}");
    // Regression: registering at install and at the first call once gave two blocks of one
    // family, because each got its own copy of the family's promoted constant.
    let mut types = HashSet::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        assert!(types.insert(line), "{line} twice:\n{text}");
    }
    service.terminate(Duration::from_secs(15));
    let _ = std::fs::remove_dir_all(&directory);
}

/// The generated rules on a real Prometheus scraping the service under demo traffic, with a
/// Horizon that answers 500.
#[test]
fn a_real_prometheus_evaluates_every_rule_and_dashboard_query() {
    let ops = scratch("live");
    generate(EXE, &ops, &[]);

    let horizon = HorizonStub::start();
    horizon.set_mode(Mode::ServerError);
    let directory = scratch("live-db");
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("live.sqlite").display());
    let service = Service::start_with_args(
        EXE,
        &["--demo-traffic"],
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("STELLAR_HORIZON_URL", horizon.url.as_str()),
            ("OTEL_EXPORTER", "none"),
        ],
    );
    let metrics = service.metrics.strip_prefix("http://").unwrap();
    let (addr, path) = metrics.split_once('/').unwrap();
    let target = Target { addr: addr.parse().unwrap(), path: format!("/{path}"), bearer_token: None };
    let prometheus = obs_tests::ops::prometheus_with_rules(&ops, "mentorsmind", &[target]);

    // The Stellar error alert goes pending (its `for` is 5 minutes) once Horizon's 500s count.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let alerts = prometheus.api("alerts");
        let stellar =
            alerts["alerts"].as_array().unwrap().iter().find(|a| a["labels"]["alertname"] == "StellarErrors").cloned();
        if let Some(alert) = stellar {
            assert!(alert["state"] == "pending" || alert["state"] == "firing", "{alert}");
            assert_eq!(alert["labels"]["severity"], "warning");
            assert!(alert["annotations"]["runbook_url"].as_str().unwrap().ends_with("runbook.md#stellarerrors"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "StellarErrors never went pending: {alerts}; Horizon calls {}",
            horizon.calls()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    obs_tests::ops::assert_every_rule_and_query_answers(&prometheus, &ops, "mentorsmind", ".*");
    service.terminate(Duration::from_secs(15));
    let _ = std::fs::remove_dir_all(&ops);
    let _ = std::fs::remove_dir_all(&directory);
}
