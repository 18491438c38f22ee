//! What the reference service's generated monitoring does for the people it alerts: a real
//! Alertmanager holds back what the routing says it holds back; every runbook link and every
//! dashboard panel the alerts and runbook name exist; the runbook's log queries return the
//! lines the service prints; the Compose stack keeps the budget's month and ships the logs.
#![cfg(feature = "e2e")]

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use obs_tests::alertmanager::AlertmanagerServer;
use obs_tests::horizon_stub::{HorizonStub, Mode};
use obs_tests::logql::Query;
use obs_tests::service::Service;
use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");

fn checked_in() -> PathBuf {
    obs_tests::ops::mentorsmind_ops()
}

fn read(file: &str) -> String {
    std::fs::read_to_string(checked_in().join(file)).unwrap()
}

/// An alert as Prometheus posts it: `alertname`, `job` and `severity`, then `labels`.
fn alert(name: &str, severity: &str, labels: &[(&str, &str)]) -> Value {
    let mut all = serde_json::Map::new();
    all.insert("alertname".into(), json!(name));
    all.insert("job".into(), json!("mentorsmind"));
    all.insert("severity".into(), json!(severity));
    for (k, v) in labels {
        all.insert((*k).into(), json!(v));
    }
    json!({"labels": all, "annotations": {"summary": name}})
}

fn tier(objective: &str, sli: &str, tier: &str, family: &str) -> Vec<(&'static str, String)> {
    let (long, short) = if tier == "page" { ("1h", "5m") } else { ("1d", "2h") };
    [
        ("tier", tier),
        ("objective", objective),
        ("sli", sli),
        ("family", family),
        ("long_window", long),
        ("short_window", short),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn labelled(name: &str, severity: &str, labels: Vec<(&'static str, String)>) -> Value {
    let refs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
    alert(name, severity, &refs)
}

/// Posts alerts to a real Alertmanager running the checked-in `alertmanager.yml` and reads back,
/// with `amtool alert query`, which are inhibited and by what.
#[test]
fn a_real_alertmanager_inhibits_tickets_under_a_page_and_family_alerts_under_an_objective() {
    let alertmanager = AlertmanagerServer::start(&checked_in().join("alertmanager/alertmanager.yml"));
    let mut other_job =
        labelled("PaymentsErrorBudgetBurnTicket", "warning", tier("payments", "errors", "ticket", "http"));
    other_job["labels"]["job"] = json!("another-service");
    alertmanager.post(&[
        labelled("PaymentsErrorBudgetBurnPage", "critical", tier("payments", "errors", "page", "http")),
        labelled("PaymentsErrorBudgetBurnTicket", "warning", tier("payments", "errors", "ticket", "http")),
        labelled("PaymentsLatencyBudgetBurnTicket", "warning", tier("payments", "latency", "ticket", "http")),
        labelled("ProfilesErrorBudgetBurnTicket", "warning", tier("profiles", "errors", "ticket", "http")),
        other_job,
        alert("HighErrorRate", "critical", &[("family", "http"), ("sli", "errors")]),
        alert("HighLatency", "warning", &[("family", "http"), ("sli", "latency")]),
        alert("DatabaseErrors", "critical", &[("family", "db"), ("sli", "errors")]),
        alert("TargetDown", "critical", &[("instance", "app:9464")]),
        alert("MetricsAbsent", "critical", &[]),
    ]);
    let listed = alertmanager.query();
    let state = |name: &str, job: &str| -> (String, Vec<String>) {
        let found = listed
            .iter()
            .find(|a| a["labels"]["alertname"] == name && a["labels"]["job"] == job)
            .unwrap_or_else(|| panic!("{name} of {job} not listed: {listed:#?}"));
        let by = found["status"]["inhibitedBy"].as_array().cloned().unwrap_or_default();
        (found["status"]["state"].as_str().unwrap_or_default().to_owned(), by.iter().map(|v| v.to_string()).collect())
    };
    let inhibited = |name: &str, job: &str| {
        let (state, by) = state(name, job);
        assert_eq!(state, "suppressed", "{name} of {job} should be inhibited: {listed:#?}");
        assert!(!by.is_empty(), "{name} of {job}: no inhibitedBy");
    };
    let active = |name: &str, job: &str| {
        let (state, by) = state(name, job);
        assert_eq!((state.as_str(), by.len()), ("active", 0), "{name} of {job} should not be inhibited: {listed:#?}");
    };
    // The page holds back the tickets of its own objective and job, of both SLIs…
    inhibited("PaymentsErrorBudgetBurnTicket", "mentorsmind");
    inhibited("PaymentsLatencyBudgetBurnTicket", "mentorsmind");
    // …and the service-wide alert over the same events and SLI.
    inhibited("HighErrorRate", "mentorsmind");
    inhibited("MetricsAbsent", "mentorsmind");
    // Not another objective's, another job's, another SLI's or another family's.
    active("ProfilesErrorBudgetBurnTicket", "mentorsmind");
    active("PaymentsErrorBudgetBurnTicket", "another-service");
    active("HighLatency", "mentorsmind");
    active("DatabaseErrors", "mentorsmind");
    active("PaymentsErrorBudgetBurnPage", "mentorsmind");
    active("TargetDown", "mentorsmind");
}

/// The `#anchor` of a markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_runbook_link_and_every_panel_the_alerts_name_exists() {
    let runbook = read("runbook.md");
    let anchors: HashSet<String> =
        runbook.lines().filter(|l| l.starts_with('#')).map(|l| anchor(l.trim_start_matches('#').trim())).collect();
    let mut links = 0;
    for (i, _) in runbook.match_indices("](#") {
        let target = &runbook[i + 3..i + 3 + runbook[i + 3..].find(')').unwrap()];
        assert!(anchors.contains(target), "runbook.md links to #{target}, which no heading has");
        links += 1;
    }
    assert!(links >= 20, "{links} links");
    // Every alert's runbook_url lands on a section.
    let alerts = read("prometheus/alerts.yml");
    for line in alerts.lines().filter(|l| l.contains("runbook_url:")) {
        let target = line.rsplit('#').next().unwrap().trim_end_matches('"');
        assert!(anchors.contains(target), "{line}: no such section");
    }
    // Every panel a description or the runbook names in quotes ("… panel") is on the dashboard.
    let dashboard: Value = serde_json::from_str(&read("grafana/dashboard.json")).unwrap();
    let titles: HashSet<&str> =
        dashboard["panels"].as_array().unwrap().iter().filter_map(|p| p["title"].as_str()).collect();
    let mut named = 0;
    for text in [&alerts, &runbook] {
        let text = text.replace("\\\"", "\"");
        for (i, _) in text.match_indices("\" panel") {
            let start = text[..i].rfind('"').unwrap() + 1;
            let title = &text[start..i];
            assert!(titles.contains(title), "the panel {title:?} is named but not on the dashboard");
            named += 1;
        }
    }
    assert!(named >= 4, "{named} panels named");
    // Every row an alert's description names.
    for row in ["Database", "Redis", "Queue", "Stellar Horizon"] {
        assert!(alerts.contains(&format!("The dashboard's {row} row")), "{row}");
        assert!(titles.iter().any(|t| t.starts_with(&format!("{row} ("))), "no row {row}");
    }
}

#[test]
fn the_compose_stack_keeps_a_month_on_volumes_and_ships_the_logs_the_runbook_queries() {
    let compose = read("docker-compose.yml");
    let retention = compose.split("--storage.tsdb.retention.time=").nth(1).unwrap();
    let days: u32 = retention[..retention.find('d').unwrap()].parse().unwrap();
    assert!(days >= 31, "Prometheus keeps {days} days");
    for volume in [
        "prometheus-data:/prometheus",
        "alertmanager-data:/alertmanager",
        "grafana-data:/var/lib/grafana",
        "loki-data:/loki",
    ] {
        assert!(compose.contains(volume), "no {volume} in docker-compose.yml");
    }
    let promtail = read("promtail/promtail.yml");
    assert!(promtail.contains("com.docker.compose.service=mentorsmind"), "{promtail}");
    assert!(promtail.contains("target_label: \"service\""), "{promtail}");

    // The service's own log lines, among them an error: Horizon answers 500, a payment fails.
    let horizon = HorizonStub::start();
    horizon.set_mode(Mode::ServerError);
    let dir = obs_tests::ops::scratch("logs-db");
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.join("logs.sqlite").display());
    let service = Service::start(
        EXE,
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("STELLAR_HORIZON_URL", horizon.url.as_str()),
            ("OTEL_EXPORTER", "none"),
        ],
    );
    let runtime = obs_tests::runtime();
    let status = runtime.block_on(async {
        let body = json!({"user_id": "u1", "destination": "GABC", "amount": "10"});
        obs_tests::client().post(format!("{}/payments", service.api)).json(&body).send().await.unwrap().status()
    });
    assert_eq!(status.as_u16(), 502);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !service.logged("request completed") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let lines = service.lines_with("");
    service.terminate(Duration::from_secs(15));
    let request_id = lines.iter().find_map(|l| l["request_id"].as_str()).expect("a request id").to_owned();
    let trace_id = lines.iter().find_map(|l| l["trace_id"].as_str()).expect("a trace id").to_owned();

    // Promtail labels the stream by the Compose service; each LogQL the runbook writes finds lines.
    let labels = BTreeMap::from([("service".to_owned(), "mentorsmind".to_owned())]);
    let runbook = read("runbook.md");
    let mut queries = 0;
    let mut blocks = runbook.split("```logql\n").skip(1);
    for block in blocks.by_ref() {
        for query in block[..block.find("```").unwrap()].lines().filter(|l| !l.trim().is_empty()) {
            let query = query.replace("<id>", &request_id).replace("<trace id>", &trace_id);
            let parsed = Query::parse(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
            assert!(!parsed.run(&labels, &lines).is_empty(), "{query} finds none of the service's lines: {lines:#?}");
            queries += 1;
        }
    }
    assert!(queries >= 3, "{queries} LogQL queries");
    // The inline ones too (`{service=…} | json | level="error"`).
    for (i, _) in runbook.match_indices("`{service=") {
        let query = &runbook[i + 1..i + 1 + runbook[i + 1..].find('`').unwrap()];
        assert!(!Query::parse(query).unwrap().run(&labels, &lines).is_empty(), "{query}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
