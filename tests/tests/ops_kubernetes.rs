//! The monitoring as Prometheus Operator objects: both reference services' `kubernetes/` sets
//! are valid against the Operator's own CRD schemas, their rules pass promtool, a broken object
//! is caught, and a generator option Kubernetes would refuse stops the generator before it
//! writes anything.
#![cfg(feature = "e2e")]

use std::path::PathBuf;

use obs_runtime::ops::{Kubernetes, Ops};
use obs_tests::ops::{assert_kubernetes_valid, crd_schemas, generate, run, scratch};

const MENTORSMIND: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");

fn gemini_flow_ops() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/gemini-flow/ops"))
}

#[test]
fn both_services_kubernetes_objects_are_valid_against_the_operators_crds() {
    let report = assert_kubernetes_valid(&obs_tests::ops::mentorsmind_ops());
    for kind in ["PrometheusRule", "ServiceMonitor", "ConfigMap", "AlertmanagerConfig", "Kustomization"] {
        assert!(report.contains(kind), "{report}");
    }
    println!("{report}");
    assert_kubernetes_valid(&gemini_flow_ops());
}

/// The validator is not vacuous: an object the Operator would refuse fails it.
#[test]
fn an_object_the_operator_would_refuse_is_caught() {
    let dir = scratch("kubernetes-broken");
    generate(MENTORSMIND, &dir, &[]);
    let monitor = dir.join("kubernetes/service-monitor.yaml");
    let text = std::fs::read_to_string(&monitor).unwrap();
    std::fs::write(&monitor, text.replace("interval: \"15s\"", "interval: \"every 15 seconds\"")).unwrap();
    let script = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/validate_kubernetes.py"));
    let rules = dir.join("rules.yml");
    let (ok, out) = run(std::process::Command::new("python3")
        .arg(script)
        .arg(dir.join("kubernetes"))
        .arg(crd_schemas())
        .arg(rules));
    assert!(!ok && out.contains("service-monitor.yaml") && out.contains("interval"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_option_kubernetes_would_refuse_writes_nothing() {
    let config = obs_runtime::Config::default().service_name("shop");
    let cases = [
        (Kubernetes::default().namespace("Payments"), "Kubernetes::namespace=\"Payments\" cannot be used: a DNS label"),
        (Kubernetes::default().namespace("a".repeat(64)), "Kubernetes::namespace="),
        (Kubernetes::default().name("Shop"), "Kubernetes::name=\"Shop\" cannot be used"),
        (Kubernetes::default().selector_label("release", "x".repeat(64)), "Kubernetes::selector_label="),
        (Kubernetes::default().dashboard_label("grafana dashboard", "1"), "Kubernetes::dashboard_label="),
        (Kubernetes::default().token_secret("scrape-token", ""), "Kubernetes::token_secret=\"\" cannot be used"),
        (Kubernetes::default().port_name("Metrics"), "Kubernetes::port_name="),
    ];
    for (kubernetes, message) in cases {
        let dir = scratch("kubernetes-refused");
        let error = Ops::new(&config).kubernetes(kubernetes).write_to(&dir).unwrap_err().to_string();
        assert!(error.starts_with(message), "{error}");
        assert!(!dir.exists(), "nothing is written: {}", dir.display());
    }
    // A service name that cannot be an object's name says how to give one.
    let config = obs_runtime::Config::default().service_name("Shop API");
    let error = Ops::new(&config).files().unwrap_err().to_string();
    assert!(error.contains("Kubernetes::name(\"my-service\")"), "{error}");
}
