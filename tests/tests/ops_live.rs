//! The reference service's generated monitoring on the live service: every catalogued series
//! at zero before any traffic, and every rule and dashboard query answering on a real
//! Prometheus scraping it under demo traffic.
#![cfg(feature = "e2e")]

use std::time::{Duration, Instant};

use obs_tests::horizon_stub::{HorizonStub, Mode};
use obs_tests::ops::{generate, scratch};
use obs_tests::prometheus::Target;
use obs_tests::service::Service;

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");

#[test]
fn every_catalogued_series_is_at_zero_on_the_first_scrape() {
    let directory = scratch("zero");
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("zero.sqlite").display());
    let service = Service::start(EXE, &[("DATABASE_URL", database_url.as_str()), ("OTEL_EXPORTER", "none")]);
    let metrics = service.metrics.strip_prefix("http://").unwrap();
    let (addr, path) = metrics.split_once('/').unwrap();
    let (status, _, text) = obs_tests::raw_get(addr.parse().unwrap(), &format!("/{path}"), "");
    assert_eq!(status, 200);
    obs_tests::ops::assert_catalogued_at_zero(EXE, &text);
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
