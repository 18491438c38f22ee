//! The monitoring generated from the reference service's catalogue (DESIGN §4): the checked-in
//! `docs/ops` matches the generator, passes promtool, amtool and compose, its promtool cases
//! catch the bugs of the documents it replaces, and its dashboard is valid for Grafana.
#![cfg(feature = "e2e")]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use obs_tests::ops::{FILES, assert_tools_accept, generate as generate_with, run, scratch};
use obs_tests::prometheus::PROMTOOL;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");
const REGENERATE: &str = "OBS_UPDATE_OPS=1 cargo test -p obs-tests --test ops checked_in \
                          (or: cargo run -p obs-examples --bin mentorsmind -- --ops-out docs/ops)";

fn checked_in() -> PathBuf {
    obs_tests::ops::mentorsmind_ops()
}

fn service(args: &[&str], env: &[(&str, &str)]) -> Output {
    obs_tests::ops::service(EXE, args, env)
}

fn generate(dir: &Path, env: &[(&str, &str)]) {
    generate_with(EXE, dir, env)
}

#[test]
fn checked_in_ops_match_the_generator() {
    obs_tests::ops::assert_matches_generator(EXE, &checked_in(), REGENERATE);
}

#[test]
fn promtool_amtool_and_compose_accept_the_checked_in_files() {
    assert_tools_accept(&checked_in());
}

/// Runs the promtool cases on a copy of `prometheus/` with `file` changed by `change`, on a
/// thread of its own (promtool takes seconds; the mutations run side by side); its output,
/// after checking it failed.
fn promtool_fails_with(
    prometheus: &Path,
    file: &'static str,
    change: impl Fn(&str) -> String + Send + 'static,
) -> std::thread::JoinHandle<String> {
    static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let copy = scratch(&format!("mutant-{}", COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(prometheus).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
    }
    std::thread::spawn(move || {
        let path = copy.join(file);
        let original = std::fs::read_to_string(&path).unwrap();
        let broken = change(&original);
        assert_ne!(broken, original, "the mutation of {file} changed nothing");
        std::fs::write(&path, &broken).unwrap();
        let (ok, out) = run(Command::new(PROMTOOL).args(["test", "rules", "alerts_test.yml"]).current_dir(&copy));
        let _ = std::fs::remove_dir_all(&copy);
        assert!(!ok, "promtool passed with a broken {file}");
        out
    })
}

/// The rules of one objective's group: `record` first in the group named `group`.
fn in_group(text: &str, group: &str, from: &str, to: &str) -> String {
    let start = text.find(&format!("name: \"{group}\"")).unwrap_or_else(|| panic!("no group {group}"));
    let (before, after) = text.split_at(start);
    format!("{before}{}", after.replacen(from, to, 1))
}

/// Each alert's promtool cases must fail when the alert is broken: the tests are not vacuous.
#[test]
fn promtool_cases_catch_the_documents_bugs() {
    let dir = scratch("broken");
    generate(&dir, &[]);
    let prometheus = dir.join("prometheus");
    let mut mutants = Vec::new();
    // MentorsMind's HighErrorRate: each 5xx series divided by itself.
    let mutant = promtool_fails_with(&prometheus, "alerts.yml", |alerts| {
        let per_series = r#"expr: "sum by (job) (rate(http_requests_total{status_code=~\"5..\"}[5m]) / rate(http_requests_total{status_code=~\"5..\"}[5m])) > 0.05""#;
        alerts.replace(r#"expr: "job:http_error_ratio:rate5m > 0.05""#, per_series)
    });
    mutants.push((mutant, "alertname: HighErrorRate", "the quiet 1.8 % case must catch the per-series ratio"));
    // The guide's Apdex: a le="2.0" bucket obs does not have.
    let mutant = promtool_fails_with(&prometheus, "recording-rules.yml", |rules| {
        rules.replace(r#"le=~\"1(\\\\.0)?\""#, r#"le=\"2.0\""#)
    });
    mutants.push((mutant, "job:http_apdex:rate5m", "the Apdex case must catch a missing bucket"));
    // The guide's SLO alerts: a ratio rule they read and nobody records.
    let mutant = promtool_fails_with(&prometheus, "recording-rules.yml", |rules| {
        let record = "record: \"objective:error_ratio:rate1h\"";
        in_group(rules, "mentorsmind-objective-payments", record, "record: \"objective:error_ratio:rate1h_unused\"")
    });
    mutants.push((mutant, "PaymentsErrorBudgetBurnPage", "the burn-rate case must catch an undefined rule"));
    // The SRE review's page on a single error: no minimum of events in the long window.
    let mutant = promtool_fails_with(&prometheus, "alerts.yml", |alerts| {
        alerts.replace(r#" and objective:events:increase1h{job=\"mentorsmind\",objective=\"payments\"} >= 14"#, "")
    });
    mutants.push((mutant, "PaymentsErrorBudgetBurnPage, time: 34m", "the one-error case must catch a page"));
    // The SRE review's diluted journey: the Horizon submissions added to the payments requests.
    let mutant = promtool_fails_with(&prometheus, "recording-rules.yml", |rules| {
        let mut text = rules.to_owned();
        for w in ["1h", "5m"] {
            let route = format!("rate(http_requests_total{{job=\\\"mentorsmind\\\",path=\\\"/payments\\\"}}[{w}])");
            let horizon = format!(
                " or rate(stellar_api_calls_total{{job=\\\"mentorsmind\\\",operation=\\\"submitTransaction\\\"}}[{w}])"
            );
            text = text.replace(&route, &format!("{route}{horizon}"));
        }
        text
    });
    mutants.push((mutant, "PaymentsErrorBudgetBurnPage, time: 10m", "the diluted case must catch the sum"));
    // Prometheus 3 stores le="5" as "5.0": an exact matcher on "5" reads nothing there.
    let mutant = promtool_fails_with(&prometheus, "recording-rules.yml", |rules| {
        rules.replace(r#"le=~\"5(\\\\.0)?\""#, r#"le=\"5\""#)
    });
    mutants.push((mutant, "HorizonSubmitLatencyBudgetBurnPage", "the le=\"5.0\" case must catch it"));
    // A tier dropped: the ticket at 3× over a day never fires.
    let mutant = promtool_fails_with(&prometheus, "alerts.yml", |alerts| {
        let rule = r#"objective:error_ratio:rate1d{job=\"mentorsmind\",objective=\"horizon_submit\"} > 0.03"#;
        alerts.replace(rule, "vector(0) > 1")
    });
    mutants.push((mutant, "HorizonSubmitErrorBudgetBurnTicket, time: 1h8m", "the 3× ticket case must catch it"));
    for (mutant, failure, why) in mutants {
        let out = mutant.join().unwrap();
        assert!(out.contains(failure), "{why}: {out}");
    }
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
        "CPU (cores)",
        "Request rate by route",
        "5xx ratio by route",
        "p95 latency by route",
        "Errors by type and route",
        "Outgoing requests failing by server",
        "db_queries_total failing, by operation, table",
        "db_queries_total failures by error_type",
        "payments: SLI",
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
