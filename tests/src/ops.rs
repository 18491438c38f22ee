//! What the generated-monitoring tests share: running a reference service's `--ops-out` with
//! only the environment a test names, scratch folders, running the real tools, and the checks
//! every service's generated set must pass (promtool, amtool, compose, a real Prometheus).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::prometheus::{PROMTOOL, PrometheusServer, Target};

/// Every file the generator writes, in its order.
pub const FILES: &[&str] = &[
    "grafana/dashboard.json",
    "grafana/provisioning/datasources/datasources.yml",
    "grafana/provisioning/dashboards/dashboards.yml",
    "prometheus/prometheus.yml",
    "prometheus/recording-rules.yml",
    "prometheus/alerts.yml",
    "prometheus/alerts_test.yml",
    "alertmanager/alertmanager.yml",
    "promtail/promtail.yml",
    "runbook.md",
    "metrics.md",
    "docker-compose.yml",
    "kubernetes/prometheus-rule.yaml",
    "kubernetes/service-monitor.yaml",
    "kubernetes/dashboard-configmap.yaml",
    "kubernetes/alertmanager-config.yaml",
    "kubernetes/kustomization.yaml",
];

/// The reference service's checked-in set, `docs/ops`.
pub fn mentorsmind_ops() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ops")
}

/// A fresh scratch path for `name` (removed if it exists).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("obs-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `exe` with `args` and only `env` of obs's variables.
pub fn service(exe: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(exe);
    command.args(args);
    for (key, _) in std::env::vars() {
        if crate::child::OBS_VARIABLES.iter().any(|p| key.starts_with(p)) {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied()).output().expect("run the reference service")
}

/// `exe --ops-out dir` with `env`, which must succeed.
pub fn generate(exe: &str, dir: &Path, env: &[(&str, &str)]) {
    let output = service(exe, &["--ops-out", dir.to_str().unwrap()], env);
    assert!(output.status.success(), "--ops-out failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// Runs `command`; its success and its output.
pub fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}: run scripts/test, which installs it"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// The checked-in set under `dir` is what the generator writes now; with `OBS_UPDATE_OPS` set
/// the generator rewrites it first.
pub fn assert_matches_generator(exe: &str, dir: &Path, regenerate: &str) {
    if std::env::var_os("OBS_UPDATE_OPS").is_some() {
        generate(exe, dir, &[]);
    }
    let fresh = scratch(&format!("fresh-{}", dir.file_name().unwrap().to_string_lossy()));
    generate(exe, &fresh, &[]);
    for file in FILES {
        let want = std::fs::read_to_string(fresh.join(file)).unwrap();
        let have = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|_| panic!("{}/{file} is missing; regenerate with {regenerate}", dir.display()));
        assert!(
            have == want,
            "{}/{file} drifted from what the generator writes; regenerate with {regenerate}",
            dir.display()
        );
    }
    std::fs::remove_dir_all(&fresh).unwrap();
}

/// promtool checks and tests the rules and config, amtool the routing, compose the stack.
pub fn assert_tools_accept(ops: &Path) {
    let prometheus = ops.join("prometheus");
    let (ok, out) = run(Command::new(PROMTOOL)
        .args(["check", "rules", "recording-rules.yml", "alerts.yml"])
        .current_dir(&prometheus));
    assert!(ok, "promtool check rules: {out}");
    let (ok, out) = run(Command::new(PROMTOOL).args(["test", "rules", "alerts_test.yml"]).current_dir(&prometheus));
    assert!(ok && out.contains("SUCCESS"), "promtool test rules: {out}");
    let (ok, out) = run(Command::new(PROMTOOL).args(["check", "config", "prometheus.yml"]).current_dir(&prometheus));
    assert!(ok, "promtool check config: {out}");
    let (ok, out) =
        run(Command::new("amtool").args(["check-config", "alertmanager/alertmanager.yml"]).current_dir(ops));
    assert!(ok, "amtool check-config: {out}");
    // Docker's compose plugin where it is installed, else Debian's docker-compose (1.29, which
    // reads the Compose Specification too); scripts/test installs the latter.
    let plugin = Command::new("docker").args(["compose", "version"]).output().is_ok_and(|o| o.status.success());
    let (ok, out) = if plugin {
        run(Command::new("docker").args(["compose", "config", "--quiet"]).current_dir(ops))
    } else {
        run(Command::new("docker-compose").args(["config", "--quiet"]).current_dir(ops))
    };
    assert!(ok, "compose config: {out}");
}

/// The Prometheus Operator's CRDs the `kubernetes/` objects are checked against (v0.93.0, as
/// `../shared/schemas/` has them).
pub fn crd_schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/prometheus-operator")
}

/// Validates `ops/kubernetes/` against the CRD schemas (Python's `jsonschema`), checks the
/// PrometheusRule's groups with promtool; the validator's report.
pub fn assert_kubernetes_valid(ops: &Path) -> String {
    let rules = scratch(&format!("kubernetes-rules-{}", ops.file_name().unwrap_or_default().to_string_lossy()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/validate_kubernetes.py");
    let (ok, out) =
        run(Command::new("python3").arg(&script).arg(ops.join("kubernetes")).arg(crd_schemas()).arg(&rules));
    assert!(ok, "the kubernetes/ objects are not valid (scripts/test installs jsonschema and pyyaml): {out}");
    let (ok, checked) = run(Command::new(PROMTOOL).args(["check", "rules"]).arg(&rules));
    let _ = std::fs::remove_file(&rules);
    assert!(ok, "promtool check rules on the PrometheusRule's groups: {checked}");
    out
}

/// Prometheus with the generated rules (the once-a-minute groups every second, like the
/// others) scraping `targets` as `job`.
pub fn prometheus_with_rules(ops: &Path, job: &str, targets: &[Target]) -> PrometheusServer {
    let rules = ops.join("prometheus/recording-rules.yml");
    let text = std::fs::read_to_string(&rules).unwrap().replace("interval: \"1m\"", "interval: \"1s\"");
    std::fs::write(&rules, text).unwrap();
    let jobs: Vec<(String, Target)> = targets.iter().map(|t| (job.to_owned(), t.clone())).collect();
    PrometheusServer::start_with_rules(&jobs, &[rules, ops.join("prometheus/alerts.yml")])
}

/// Every rule group evaluates without error and every recording rule has a value; every
/// dashboard query, with `$job`, `$instance` and the rate interval filled in, returns a series.
pub fn assert_every_rule_and_query_answers(prometheus: &PrometheusServer, ops: &Path, job: &str, instance: &str) {
    let groups = prometheus.api("rules");
    let mut records = Vec::new();
    for group in groups["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            assert_eq!(rule["health"], "ok", "{} in {}: {rule}", rule["name"], group["name"]);
            if rule["type"] == "recording" {
                let labels = rule["labels"].as_object().map(|l| {
                    l.iter().map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or_default())).collect::<Vec<_>>()
                });
                records.push(format!("{}{{{}}}", rule["name"].as_str().unwrap(), labels.unwrap_or_default().join(",")));
            }
        }
    }
    assert!(records.len() >= 40, "{records:?}");
    for record in &records {
        let result = prometheus.wait_for_series(record, Duration::from_secs(30));
        assert!(!result.is_empty(), "{record} has no value");
    }
    let dashboard = std::fs::read_to_string(ops.join("grafana/dashboard.json")).unwrap();
    let queries = obs_runtime::ops::dashboard_queries(&dashboard).unwrap();
    assert!(queries.len() >= 20, "{queries:?}");
    for query in queries {
        let concrete = query.replace("$job", job).replace("$instance", instance).replace("$__rate_interval", "1m");
        let result = prometheus.wait_for_series(&concrete, Duration::from_secs(30));
        assert!(!result.is_empty(), "dashboard query returned nothing: {concrete}");
    }
}

/// What `--catalogue` lists: every call site with metrics, as `(family total, labels)`.
/// A catalogued call site's series: its counter, its label pairs, whether it can be cancelled.
#[derive(Debug)]
struct SiteSeries {
    total: String,
    labels: Vec<(String, String)>,
    cancellable: bool,
}

fn catalogued_series(exe: &str) -> Vec<SiteSeries> {
    let output = service(exe, &["--catalogue"], &[]);
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

/// Every series the reference service at `exe` catalogues is in `text` (its first scrape) at
/// zero, each family's block once.
pub fn assert_catalogued_at_zero(exe: &str, text: &str) {
    for SiteSeries { total, labels, cancellable } in &catalogued_series(exe) {
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
    let mut types = std::collections::HashSet::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        assert!(types.insert(line), "{line} twice:\n{text}");
    }
}
