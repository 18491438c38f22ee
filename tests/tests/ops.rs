//! The monitoring generated from the reference service's catalogue (DESIGN §4): the checked-in
//! `docs/ops` matches the generator, passes promtool and amtool, is a valid Grafana dashboard,
//! and works on a real Prometheus scraping the service under demo traffic.
#![cfg(all(
    feature = "db",
    feature = "redis",
    feature = "queue",
    feature = "stellar",
    feature = "ws",
    feature = "http"
))]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use obs_tests::horizon_stub::{HorizonStub, Mode};
use obs_tests::prometheus::{PROMTOOL, PrometheusServer, Target};
use obs_tests::service::Service;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");
const REGENERATE: &str = "OBS_UPDATE_OPS=1 cargo test -p obs-tests --test ops checked_in \
                          (or: cargo run -p obs-examples --bin mentorsmind -- --ops-out docs/ops)";
const FILES: &[&str] = &[
    "grafana/dashboard.json",
    "grafana/provisioning/datasources/datasources.yml",
    "grafana/provisioning/dashboards/dashboards.yml",
    "prometheus/prometheus.yml",
    "prometheus/recording-rules.yml",
    "prometheus/alerts.yml",
    "prometheus/alerts_test.yml",
    "alertmanager/alertmanager.yml",
    "runbook.md",
    "metrics.md",
    "docker-compose.yml",
];

fn checked_in() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ops")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("obs-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The reference service with `args`, only `env` of obs's variables set.
fn service(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(EXE);
    command.args(args);
    for (key, _) in std::env::vars() {
        if obs_tests::child::OBS_VARIABLES.iter().any(|p| key.starts_with(p)) {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied()).output().expect("run the reference service")
}

fn generate(dir: &Path, env: &[(&str, &str)]) {
    let output = service(&["--ops-out", dir.to_str().unwrap()], env);
    assert!(output.status.success(), "--ops-out failed: {}", String::from_utf8_lossy(&output.stderr));
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}: run scripts/test, which installs it"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn checked_in_ops_match_the_generator() {
    if std::env::var_os("OBS_UPDATE_OPS").is_some() {
        generate(&checked_in(), &[]);
    }
    let fresh = scratch("fresh");
    generate(&fresh, &[]);
    for file in FILES {
        let want = std::fs::read_to_string(fresh.join(file)).unwrap();
        let have = std::fs::read_to_string(checked_in().join(file))
            .unwrap_or_else(|_| panic!("docs/ops/{file} is missing; regenerate with {REGENERATE}"));
        assert!(have == want, "docs/ops/{file} drifted from what the generator writes; regenerate with {REGENERATE}");
    }
    std::fs::remove_dir_all(&fresh).unwrap();
}

#[test]
fn promtool_and_amtool_accept_the_checked_in_files() {
    let ops = checked_in();
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
        run(Command::new("amtool").args(["check-config", "alertmanager/alertmanager.yml"]).current_dir(&ops));
    assert!(ok, "amtool check-config: {out}");
    // Docker's compose plugin where it is installed, else Debian's docker-compose (1.29, which
    // reads the Compose Specification too); scripts/test installs the latter.
    let plugin = Command::new("docker").args(["compose", "version"]).output().is_ok_and(|o| o.status.success());
    let (ok, out) = if plugin {
        run(Command::new("docker").args(["compose", "config", "--quiet"]).current_dir(&ops))
    } else {
        run(Command::new("docker-compose").args(["config", "--quiet"]).current_dir(&ops))
    };
    assert!(ok, "compose config: {out}");
}

/// Each alert's promtool cases must fail when the alert is broken: the tests are not vacuous.
#[test]
fn promtool_cases_catch_the_documents_bugs() {
    let dir = scratch("broken");
    generate(&dir, &[]);
    let prometheus = dir.join("prometheus");
    let alerts = std::fs::read_to_string(prometheus.join("alerts.yml")).unwrap();
    // MentorsMind's HighErrorRate: each 5xx series divided by itself.
    let per_series = r#"expr: "sum by (job) (rate(http_requests_total{status_code=~\"5..\"}[5m]) / rate(http_requests_total{status_code=~\"5..\"}[5m])) > 0.05""#;
    let broken = alerts.replace(r#"expr: "job:http_error_ratio:rate5m > 0.05""#, per_series);
    assert_ne!(broken, alerts);
    std::fs::write(prometheus.join("alerts.yml"), &broken).unwrap();
    let (ok, out) = run(Command::new(PROMTOOL).args(["test", "rules", "alerts_test.yml"]).current_dir(&prometheus));
    assert!(
        !ok && out.contains("alertname: HighErrorRate"),
        "the quiet 1.8 % case must catch the per-series ratio: {out}"
    );
    // The guide's Apdex: a le="2.0" bucket obs does not have.
    let rules = std::fs::read_to_string(prometheus.join("recording-rules.yml")).unwrap();
    std::fs::write(prometheus.join("alerts.yml"), &alerts).unwrap();
    std::fs::write(prometheus.join("recording-rules.yml"), rules.replace(r#"le=\"1\""#, r#"le=\"2.0\""#)).unwrap();
    let (ok, out) = run(Command::new(PROMTOOL).args(["test", "rules", "alerts_test.yml"]).current_dir(&prometheus));
    assert!(!ok && out.contains("job:http_apdex:rate5m"), "the Apdex case must catch a missing bucket: {out}");
    // The guide's SLO alerts: a ratio rule they read and nobody records.
    let undefined = rules.replace(
        "record: \"objective:payments:error_ratio:rate1h\"",
        "record: \"objective:payments:error_ratio:rate1h_unused\"",
    );
    std::fs::write(prometheus.join("recording-rules.yml"), undefined).unwrap();
    let (ok, out) = run(Command::new(PROMTOOL).args(["test", "rules", "alerts_test.yml"]).current_dir(&prometheus));
    assert!(
        !ok && out.contains("PaymentsErrorBudgetBurnFast"),
        "the burn-rate case must catch an undefined rule: {out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_scrape_token_is_referenced_by_file_and_never_written() {
    let dir = scratch("token");
    generate(&dir, &[("PROMETHEUS_BEARER_TOKEN", "s3cret-token-value")]);
    for file in FILES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(!text.contains("s3cret-token-value"), "{file} contains the token");
    }
    let config = std::fs::read_to_string(dir.join("prometheus/prometheus.yml")).unwrap();
    assert!(config.contains("type: \"Bearer\"\n    credentials_file: \"scrape-token\""), "{config}");
    std::fs::write(dir.join("prometheus/scrape-token"), "s3cret-token-value").unwrap();
    let (ok, out) =
        run(Command::new(PROMTOOL).args(["check", "config", "prometheus.yml"]).current_dir(dir.join("prometheus")));
    assert!(ok, "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_dashboard_is_well_formed_for_grafana() {
    let text = std::fs::read_to_string(checked_in().join("grafana/dashboard.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let variables: Vec<&str> =
        dashboard["templating"]["list"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(variables, ["datasource", "job", "instance"]);
    let panels = dashboard["panels"].as_array().unwrap();
    let mut ids = HashSet::new();
    let mut cells = HashSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        assert!(ids.insert(panel["id"].as_u64().unwrap()), "duplicate id at {title}");
        let grid = &panel["gridPos"];
        let [h, w, x, y] = [&grid["h"], &grid["w"], &grid["x"], &grid["y"]].map(|v| v.as_u64().unwrap());
        assert!(h > 0 && w > 0 && x + w <= 24, "{title}: {grid}");
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "{title} overlaps another panel at ({cx}, {cy})");
            }
        }
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{title}");
            assert!(!target["expr"].as_str().unwrap().is_empty(), "{title}");
        }
    }
    let titles: Vec<&str> = panels.iter().map(|p| p["title"].as_str().unwrap()).collect();
    for wanted in [
        "Request rate by method and status",
        "Request latency p50 / p95 / p99",
        "5xx error rate",
        "Active WebSocket connections",
        "Database p95 by table",
        "Redis p95 by command",
        "Queue throughput by status",
        "Stellar p95 by operation",
        "Memory (resident)",
        "Tokio scheduler lag",
        "CPU",
        "payments: burn rate (1 = on budget)",
        "payments: error budget left (30d)",
    ] {
        assert!(titles.contains(&wanted), "no panel {wanted:?} in {titles:?}");
    }
}

#[test]
fn bad_output_paths_are_refused_and_nothing_is_written() {
    let file = scratch("file");
    std::fs::write(&file, "not a folder").unwrap();
    let output = service(&["--ops-out", file.to_str().unwrap()], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a directory: give the ops generator a directory to write into"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");
    std::fs::remove_file(&file).unwrap();

    let foreign = scratch("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let output = service(&["--ops-out", foreign.to_str().unwrap()], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("notes.txt, which obs did not generate"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&foreign).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["notes.txt"], "nothing written beside the user's file");
    std::fs::remove_dir_all(&foreign).unwrap();

    // A folder obs wrote before is replaced whole.
    let again = scratch("again");
    generate(&again, &[]);
    generate(&again, &[("METRICS_PREFIX", "shop_")]);
    let rules = std::fs::read_to_string(again.join("prometheus/recording-rules.yml")).unwrap();
    assert!(rules.contains("rate(shop_http_requests_total{"), "{rules}");
    std::fs::remove_dir_all(&again).unwrap();
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
    generate(&ops, &[]);
    // The error-budget group evaluates every 5 minutes; here every second, like the others.
    let rules = ops.join("prometheus/recording-rules.yml");
    let text = std::fs::read_to_string(&rules).unwrap().replace("interval: \"5m\"", "interval: \"1s\"");
    std::fs::write(&rules, text).unwrap();

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
    let prometheus = PrometheusServer::start_with_rules(
        &[("mentorsmind".to_owned(), target)],
        &[rules.clone(), ops.join("prometheus/alerts.yml")],
    );

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

    // Every group evaluated without error, and every recording rule has a value.
    let groups = prometheus.api("rules");
    let mut records = Vec::new();
    for group in groups["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            assert_eq!(rule["health"], "ok", "{} in {}: {rule}", rule["name"], group["name"]);
            if rule["type"] == "recording" {
                records.push(rule["name"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(records.len() >= 40, "{records:?}");
    for record in &records {
        let result = prometheus.wait_for_series(record, Duration::from_secs(30));
        assert!(!result.is_empty(), "{record} has no value");
    }

    // Every dashboard query returns at least one series for this job.
    let dashboard = std::fs::read_to_string(ops.join("grafana/dashboard.json")).unwrap();
    let queries = obs_runtime::ops::dashboard_queries(&dashboard).unwrap();
    assert!(queries.len() >= 20, "{queries:?}");
    for query in queries {
        let concrete =
            query.replace("$job", "mentorsmind").replace("$instance", ".*").replace("$__rate_interval", "1m");
        let result = prometheus.wait_for_series(&concrete, Duration::from_secs(30));
        assert!(!result.is_empty(), "dashboard query returned nothing: {concrete}");
    }
    service.terminate(Duration::from_secs(15));
    let _ = std::fs::remove_dir_all(&ops);
    let _ = std::fs::remove_dir_all(&directory);
}
