//! The second reference service, gemini-flow: obs configured to expose another team's metric
//! set exactly (names, label names and values, buckets, `/metrics` on the app port), scraped
//! under demo traffic by a real Prometheus that answers the team's PromQL examples, and the
//! monitoring generated for it under those names.
#![cfg(feature = "e2e")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use obs_tests::prometheus::{Target, promtool_check};
use obs_tests::service::Service;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_gemini-flow-under-test");

const HTTP_BUCKETS: &[&str] = &["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "2", "5", "+Inf"];
const DB_BUCKETS: &[&str] = &["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf"];
const NODE_BUCKETS: &[&str] = &["0", "10", "25", "50", "100", "250", "500", "1000", "+Inf"];

/// The team's metric set: (family, type, label names, bucket bounds).
const FAMILIES: &[(&str, &str, &[&str], &[&str])] = &[
    ("gemini_flow_http_request_duration_seconds", "histogram", &["method", "route", "status_code"], HTTP_BUCKETS),
    ("gemini_flow_http_requests_total", "counter", &["method", "route", "status_code"], &[]),
    ("gemini_flow_websocket_connections_active", "gauge", &[], &[]),
    ("gemini_flow_websocket_messages_total", "counter", &["direction", "type"], &[]),
    ("gemini_flow_db_operation_duration_seconds", "histogram", &["operation", "collection"], DB_BUCKETS),
    ("gemini_flow_db_operations_total", "counter", &["operation", "collection", "status"], &[]),
    ("gemini_flow_workflows_total", "gauge", &[], &[]),
    ("gemini_flow_workflow_nodes", "histogram", &[], NODE_BUCKETS),
    ("gemini_flow_errors_total", "counter", &["type", "path"], &[]),
    // The default process metrics, with the prefix.
    ("gemini_flow_process_cpu_seconds_total", "counter", &[], &[]),
    ("gemini_flow_process_open_fds", "gauge", &[], &[]),
    ("gemini_flow_process_max_fds", "gauge", &[], &[]),
    ("gemini_flow_process_virtual_memory_bytes", "gauge", &[], &[]),
    ("gemini_flow_process_virtual_memory_max_bytes", "gauge", &[], &[]),
    ("gemini_flow_process_resident_memory_bytes", "gauge", &[], &[]),
    ("gemini_flow_process_start_time_seconds", "gauge", &[], &[]),
    ("gemini_flow_process_threads", "gauge", &[], &[]),
];

/// One family as scraped.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    label_names: BTreeSet<String>,
    /// The `le` values of each histogram series, in order.
    les: BTreeMap<String, Vec<String>>,
    /// Every value of each label.
    values: BTreeMap<String, BTreeSet<String>>,
}

fn parse_labels(body: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = body;
    while let Some((name, after)) = rest.split_once("=\"") {
        let end = after.find('"').unwrap();
        labels.push((name.trim_start_matches(',').to_owned(), after[..end].to_owned()));
        rest = &after[end + 1..];
    }
    labels
}

fn families(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            families.entry(name.to_owned()).or_default().kind = kind.to_owned();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, _value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, body)) => (name, parse_labels(body.trim_end_matches('}'))),
            None => (series, Vec::new()),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| families.get(*base).is_some_and(|f| f.kind == "histogram"))
            .unwrap_or(name)
            .to_owned();
        let family = families.entry(family).or_default();
        let key: Vec<String> = labels.iter().filter(|(k, _)| k != "le").map(|(k, v)| format!("{k}={v}")).collect();
        for (k, v) in &labels {
            if k == "le" {
                family.les.entry(key.join(",")).or_default().push(v.clone());
            } else {
                family.label_names.insert(k.clone());
                family.values.entry(k.clone()).or_default().insert(v.clone());
            }
        }
    }
    families
}

fn scrape(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_once('/').unwrap();
    let (status, _, body) = obs_tests::raw_get(addr.parse().unwrap(), &format!("/{path}"), "");
    assert_eq!(status, 200, "{body}");
    body
}

fn start(store: &str) -> Service {
    let store = std::env::temp_dir().join(format!("obs-gemini-flow-{store}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&store);
    let store = store.to_string_lossy().into_owned();
    Service::start_with_args(
        EXE,
        &["--demo-traffic"],
        &[("GEMINI_FLOW_STORE", store.as_str()), ("OTEL_EXPORTER", "none")],
    )
}

/// Scrapes until demo traffic has moved every series a check below reads.
fn scrape_after_traffic(service: &Service) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = scrape(&service.metrics);
        let moved = ["operation=\"delete\",collection=\"sessions\",status=\"success\"} ", "type=\"NotFoundError\""]
            .iter()
            .all(|needle| text.lines().any(|l| l.contains(needle) && !l.ends_with(" 0")));
        if moved {
            return text;
        }
        assert!(std::time::Instant::now() < deadline, "demo traffic did not reach every series:\n{text}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_exposition_is_exactly_the_teams_metric_set() {
    let service = start("exposition");
    assert!(service.metrics.ends_with("/metrics") && service.metrics.starts_with(&service.api), "app port");
    assert!(!service.logged("Prometheus scrape target"), "no scrape server of obs's own");
    let text = scrape_after_traffic(&service);
    let scraped = families(&text);

    let names: BTreeSet<&str> = scraped.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = FAMILIES.iter().map(|f| f.0).collect();
    assert_eq!(names, expected, "the set of families:\n{text}");
    for (name, kind, labels, buckets) in FAMILIES {
        let family = &scraped[*name];
        assert_eq!(family.kind, *kind, "{name}");
        let labels: BTreeSet<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        assert_eq!(family.label_names, labels, "{name}: label names");
        for les in family.les.values() {
            assert_eq!(les, buckets, "{name}: buckets");
        }
        assert_eq!(family.les.is_empty(), buckets.is_empty(), "{name}: a histogram has buckets");
    }

    // Label values: the team's, and only those.
    let values = |family: &str, label: &str| -> BTreeSet<String> { scraped[family].values[label].clone() };
    let set = |values: &[&str]| -> BTreeSet<String> { values.iter().map(|v| (*v).to_owned()).collect() };
    let db = "gemini_flow_db_operations_total";
    assert_eq!(values(db, "status"), set(&["success", "error"]), "sync store calls are never cancelled");
    assert_eq!(values(db, "operation"), set(&["read", "write", "delete"]));
    assert_eq!(values(db, "collection"), set(&["workflows", "store", "sessions"]));
    assert_eq!(
        values("gemini_flow_db_operation_duration_seconds", "collection"),
        set(&["workflows", "store", "sessions"])
    );
    assert!(values("gemini_flow_errors_total", "type").is_superset(&set(&["ValidationError", "NotFoundError"])));
    assert!(values("gemini_flow_errors_total", "type").is_subset(&set(&[
        "ValidationError",
        "NotFoundError",
        "InternalError"
    ])));
    assert!(values("gemini_flow_http_requests_total", "route").contains("/api/workflows"));
    assert!(values("gemini_flow_websocket_messages_total", "direction").is_subset(&set(&["inbound", "outbound"])));
    assert!(!text.contains("app=\""), "no app label: the team's series have none");

    // The acceptance example's first lines, with the team's HELP text.
    let lines: Vec<&str> = text.lines().collect();
    let help = lines.iter().position(|l| *l == "# HELP gemini_flow_http_requests_total Total number of HTTP requests");
    let help = help.unwrap_or_else(|| panic!("no HELP line:\n{text}"));
    assert_eq!(lines[help + 1], "# TYPE gemini_flow_http_requests_total counter");
    let listed = lines.iter().find_map(|l| {
        l.strip_prefix(r#"gemini_flow_http_requests_total{method="GET",route="/api/workflows",status_code="200"} "#)
    });
    assert!(listed.is_some_and(|n| n.parse::<u64>().unwrap() > 0), "{text}");

    // It parses, and promtool's only remark is about the team's own choice of a gauge named
    // `…_total`, which obs renders as asked.
    let (ok, output) = promtool_check(&text);
    let lint = "gemini_flow_workflows_total non-counter metrics should not have \"_total\" suffix";
    assert!(ok || output.lines().filter(|l| !l.trim().is_empty()).all(|l| l.contains(lint)), "{output}");
    println!("first 30 lines of the exposition:\n{}", lines[..30.min(lines.len())].join("\n"));
}

fn ops_dir() -> PathBuf {
    let dir = obs_tests::ops::scratch("gemini-flow");
    obs_tests::ops::generate(EXE, &dir, &[]);
    dir
}

fn checked_in() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/gemini-flow/ops"))
}

#[test]
fn checked_in_ops_match_the_generator() {
    let regenerate = "OBS_UPDATE_OPS=1 cargo test -p obs-tests --test gemini_flow checked_in \
                      (or: cargo run -p obs-examples --bin gemini-flow -- --ops-out examples/gemini-flow/ops)";
    obs_tests::ops::assert_matches_generator(EXE, &checked_in(), regenerate);
}

#[test]
fn promtool_amtool_and_compose_accept_the_checked_in_files() {
    obs_tests::ops::assert_tools_accept(&checked_in());
    // Prometheus scrapes the app's own port, as the team's config does.
    let config = std::fs::read_to_string(checked_in().join("prometheus/prometheus.yml")).unwrap();
    assert!(config.contains("  - targets:\n    - \"gemini-flow:3001\""), "{config}");
}

#[test]
fn a_real_prometheus_answers_the_teams_queries_and_the_generated_dashboard() {
    let service = start("prometheus");
    let ops = ops_dir();
    let metrics = service.metrics.strip_prefix("http://").unwrap();
    let (addr, path) = metrics.split_once('/').unwrap();
    let target = Target { addr: addr.parse().unwrap(), path: format!("/{path}"), bearer_token: None };
    let prometheus = obs_tests::ops::prometheus_with_rules(&ops, "gemini-flow", &[target]);
    let wait = Duration::from_secs(60);

    // The team's four examples. The error-rate one, as the team's issue writes it, divides
    // series with different label sets (`type,path` by `method,route,status_code`), which
    // PromQL matches with nothing; summed, it answers.
    let average = "rate(gemini_flow_http_request_duration_seconds_sum[5m]) / rate(gemini_flow_http_request_duration_seconds_count[5m])";
    let error_rate = "100 * sum(rate(gemini_flow_errors_total[5m])) / sum(rate(gemini_flow_http_requests_total[5m]))";
    let p95 = "histogram_quantile(0.95, rate(gemini_flow_http_request_duration_seconds_bucket[5m]))";
    let websockets = "gemini_flow_websocket_connections_active";
    for query in [average, error_rate, p95, websockets] {
        let result = prometheus.wait_for_result(query, wait);
        let shown: Vec<String> = result.iter().take(4).map(|r| format!("{} {}", r["metric"], r["value"][1])).collect();
        println!("{query}\n  {} series, e.g. {}", result.len(), shown.join("\n  "));
    }
    let by_route = prometheus.query(average);
    assert!(by_route.iter().any(|r| r["metric"]["route"] == "/api/workflows"), "{by_route:?}");
    let share: f64 = prometheus.query(error_rate)[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(share > 0.0 && share < 100.0, "demo traffic sends some invalid and missing: {share}");
    let connections = prometheus.query(websockets);
    assert_eq!(connections[0]["value"][1], "1", "the demo's editor tab");
    let literal = "100 * rate(gemini_flow_errors_total[5m]) / rate(gemini_flow_http_requests_total[5m])";
    assert!(prometheus.query(literal).is_empty(), "label sets differ: one-to-one matching finds no pair");

    // The generated dashboard reads the renamed series: every query answers.
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(ops.join("grafana/dashboard.json")).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    assert!(queries.iter().any(|q| q.contains("gemini_flow_db_operation_duration_seconds_bucket")), "{queries:?}");
    assert!(queries.iter().any(|q| q.contains("sum by (method, status_code)")), "{queries:?}");
    for query in &queries {
        // The team's `errors_total` is the one family with a `path` label.
        let own_path = query.contains("path") && !query.contains("gemini_flow_errors_total");
        assert!(!query.contains("db_query") && !own_path, "obs's own names in {query}");
    }
    obs_tests::ops::assert_every_rule_and_query_answers(&prometheus, &ops, "gemini-flow", ".*");
    // So do the rules and alerts, which the server above loaded and evaluates.
    let rules = std::fs::read_to_string(ops.join("prometheus/recording-rules.yml")).unwrap()
        + &std::fs::read_to_string(ops.join("prometheus/alerts.yml")).unwrap();
    // (YAML escapes the quotes.)
    assert!(rules.contains(r#"gemini_flow_db_operations_total{job=\"gemini-flow\",status=\"error\"}"#), "{rules}");
    assert!(rules.contains(r#"gemini_flow_http_requests_total{job=\"gemini-flow\",status_code=~\"5..\"}"#), "{rules}");
    assert!(!rules.contains("db_queries_total") && !rules.contains("db_query_duration"), "{rules}");
    let metrics_md = std::fs::read_to_string(ops.join("metrics.md")).unwrap();
    assert!(
        metrics_md.contains("| `gemini_flow_db_operations_total` (obs's `db_queries_total`) | counter | `operation`, `collection`, `status` |"),
        "{metrics_md}"
    );
    let _ = std::fs::remove_dir_all(&ops);
}

/// The gemini-flow README's `OBS_METRIC_RENAMES` and `OBS_METRICS_DISABLED` are the service's own settings:
/// set from the environment on an obs default config, they give the same names.
#[test]
fn the_readme_variables_are_the_services_renames() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/gemini-flow/README.md")).unwrap();
    let variable = |name: &str| -> String {
        let start =
            readme.find(&format!("{name}='")).unwrap_or_else(|| panic!("{name} in the README")) + name.len() + 2;
        readme[start..start + readme[start..].find('\'').unwrap()].to_owned()
    };
    let renames = variable("OBS_METRIC_RENAMES");
    let from_env = obs_runtime::Config::from_vars([
        ("OBS_METRIC_RENAMES", renames.as_str()),
        ("OBS_METRICS_DISABLED", variable("OBS_METRICS_DISABLED").as_str()),
    ])
    .unwrap();
    let in_code = gemini_flow::obs_config().unwrap();
    let shown = |config: &obs_runtime::Config| -> Vec<String> {
        config.metrics().renames.iter().map(ToString::to_string).collect()
    };
    assert_eq!(shown(&from_env), shown(&in_code));
    assert_eq!(from_env.metrics().disabled, in_code.metrics().disabled);
    // The switches the README sets on the same line as the prefix.
    for (switch, on) in
        [("OBS_APP_LABEL", in_code.metrics().app_label), ("OBS_ERROR_TYPE_LABEL", in_code.metrics().error_type_label)]
    {
        assert!(readme.contains(&format!("{switch}={on}")), "the README sets {switch}={on}, as the code does");
    }
}
