//! Three replicas of the reference service behind one real Prometheus with the generated rules:
//! one PostgreSQL database, one Redis, one shared job queue. Each replica's catalogued series
//! are at zero on its first scrape; every job-level rule is one series per job, the sum over
//! the replicas; jobs enqueued by one replica and run by the others are counted exactly once;
//! every dashboard query answers with one, two or all instances chosen; and a stopped replica
//! fires TargetDown for itself only, and no error-rate or burn alert.
#![cfg(feature = "e2e")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use obs_tests::horizon_stub::HorizonStub;
use obs_tests::ops::{assert_catalogued_at_zero, generate, scratch};
use obs_tests::postgres::FreshDatabase;
use obs_tests::prometheus::{PrometheusServer, Target};
use obs_tests::service::Service;
use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");
const SESSIONS: usize = 24;

fn target(service: &Service) -> Target {
    let metrics = service.metrics.strip_prefix("http://").unwrap();
    let (addr, path) = metrics.split_once('/').unwrap();
    Target { addr: addr.parse().unwrap(), path: format!("/{path}"), bearer_token: None }
}

fn number(result: &[Value]) -> f64 {
    result.first().and_then(|r| r["value"][1].as_str()).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

/// Requests the replica at `api` answers: users, `SESSIONS` sessions (each enqueues a reminder
/// job), a lookup that fails, a payment.
async fn traffic(api: &str) {
    let http = obs_tests::client();
    let user = |name: &str| json!({"name": name, "email": format!("{name}@example.com")});
    let mentor: Value =
        http.post(format!("{api}/users")).json(&user("mentor")).send().await.unwrap().json().await.unwrap();
    let mentee: Value =
        http.post(format!("{api}/users")).json(&user("mentee")).send().await.unwrap().json().await.unwrap();
    let (mentor, mentee) = (mentor["id"].as_str().unwrap(), mentee["id"].as_str().unwrap());
    for _ in 0..SESSIONS {
        let session = json!({"mentor_id": mentor, "mentee_id": mentee});
        let created = http.post(format!("{api}/sessions")).json(&session).send().await.unwrap();
        assert_eq!(created.status().as_u16(), 201);
    }
    http.get(format!("{api}/users/{mentee}")).send().await.unwrap();
    http.get(format!("{api}/users/nobody")).send().await.unwrap();
    let payment = json!({"user_id": mentee, "destination": format!("G{:0>55}", 1), "amount": "10"});
    http.post(format!("{api}/payments")).json(&payment).send().await.unwrap();
}

#[test]
fn three_replicas_add_up_on_one_prometheus() {
    let runtime = obs_tests::runtime();
    let database = runtime.block_on(FreshDatabase::create());
    let horizon = HorizonStub::start();
    let redis = format!("redis://127.0.0.1:6379/{}", 1 + (std::process::id() + 11) % 15);
    let (url, horizon_url) = (database.url(), horizon.url.clone());
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("STELLAR_HORIZON_URL", horizon_url.as_str()),
        ("OTEL_EXPORTER", "none"),
    ];
    // One after the other: each runs the migrations before the next starts.
    let mut replicas: Vec<Service> = (0..3).map(|_| Service::start(EXE, &env)).collect();
    let instances: Vec<String> = replicas.iter().map(|r| target(r).addr.to_string()).collect();
    for replica in &replicas {
        let t = target(replica);
        let (status, _, first) = obs_tests::raw_get(t.addr, &t.path, "");
        assert_eq!(status, 200);
        assert_catalogued_at_zero(EXE, &first);
    }

    let ops = scratch("replicas");
    generate(EXE, &ops, &[]);
    // TargetDown waits a minute before it fires; here five seconds, its expression unchanged.
    let alerts = ops.join("prometheus/alerts.yml");
    let text = std::fs::read_to_string(&alerts).unwrap();
    let down = text.find("alert: \"TargetDown\"").unwrap();
    let shortened = format!("{}{}", &text[..down], text[down..].replacen("for: \"1m\"", "for: \"5s\"", 1));
    std::fs::write(&alerts, shortened).unwrap();
    let targets: Vec<Target> = replicas.iter().map(target).collect();
    let prometheus = obs_tests::ops::prometheus_with_rules(&ops, "mentorsmind", &targets);

    // Scraped once before any traffic, so the rates below see it arrive.
    let deadline = Instant::now() + Duration::from_secs(30);
    while number(&prometheus.query("count(up{job=\"mentorsmind\"} == 1)")) != 3.0 {
        assert!(Instant::now() < deadline, "Prometheus never scraped all three replicas");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    // Every job is enqueued by the first replica; all three run them off the shared queue.
    runtime.block_on(traffic(&replicas[0].api));
    let completed = "sum(queue_jobs_total{job=\"mentorsmind\",status=\"completed\"})";
    let deadline = Instant::now() + Duration::from_secs(60);
    while number(&prometheus.query(completed)) != SESSIONS as f64 {
        assert!(Instant::now() < deadline, "{completed} = {:?}, want {SESSIONS}", prometheus.query(completed));
        std::thread::sleep(Duration::from_millis(250));
    }
    let by_instance =
        prometheus.query("sum by (instance) (queue_jobs_total{job=\"mentorsmind\",status=\"completed\"})");
    let elsewhere: f64 = by_instance
        .iter()
        .filter(|r| r["metric"]["instance"] != instances[0].as_str())
        .map(|r| r["value"][1].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(elsewhere > 0.0, "no job ran on another replica: {by_instance:?}");
    let failed = number(&prometheus.query("sum(queue_jobs_total{job=\"mentorsmind\",status!=\"completed\"})"));
    assert_eq!(failed, 0.0, "each job ran once, and well");
    println!("jobs completed by instance: {by_instance:?}");

    // A few evaluations later: the rules have read what the last scrapes stored.
    std::thread::sleep(Duration::from_secs(5));
    check_job_level_rules(&prometheus);
    check_dashboard_by_instance(&prometheus, &ops, &instances);

    // One replica stops: TargetDown for it alone, and nothing about errors or budgets.
    let stopped = replicas.remove(1);
    stopped.terminate(Duration::from_secs(15));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let firing: Vec<Value> = prometheus.api("alerts")["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["state"] == "firing")
            .cloned()
            .collect();
        let down: BTreeSet<&str> = firing
            .iter()
            .filter(|a| a["labels"]["alertname"] == "TargetDown")
            .map(|a| a["labels"]["instance"].as_str().unwrap())
            .collect();
        let names: BTreeSet<&str> = firing.iter().map(|a| a["labels"]["alertname"].as_str().unwrap()).collect();
        assert!(names.iter().all(|n| ["TargetDown", "Watchdog"].contains(n)), "{firing:#?}");
        if !down.is_empty() {
            assert_eq!(down, BTreeSet::from([instances[1].as_str()]), "{firing:#?}");
            break;
        }
        assert!(Instant::now() < deadline, "TargetDown never fired: {firing:#?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    for replica in replicas {
        replica.terminate(Duration::from_secs(15));
    }
    drop(prometheus);
    runtime.block_on(database.drop_now());
    let _ = std::fs::remove_dir_all(&ops);
}

/// Every recording rule of a job (`job:`, `objective:`) is one series per job; one written
/// `sum by (job) (X)` is, at its own evaluation time, the sum of X over every series, that is
/// over the replicas: more than any one replica's part.
fn check_job_level_rules(prometheus: &PrometheusServer) {
    let (mut compared, mut positive) = (0, 0);
    for group in prometheus.api("rules")["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap().iter().filter(|r| r["type"] == "recording") {
            let name = rule["name"].as_str().unwrap();
            let labels: Vec<String> = rule["labels"]
                .as_object()
                .map(|l| l.iter().map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap())).collect())
                .unwrap_or_default();
            let selector = format!("{name}{{{}}}", labels.join(","));
            let series = prometheus.wait_for_series(&selector, Duration::from_secs(30));
            assert_eq!(series.len(), 1, "{selector} is one series per job: {series:?}");
            assert!(series[0]["metric"].get("instance").is_none(), "{selector}: {series:?}");
            let query = rule["query"].as_str().unwrap();
            let Some(inner) = query.strip_prefix("sum by (job) (").and_then(|q| q.strip_suffix(')')) else { continue };
            if inner.contains(" or ") {
                continue;
            }
            let at = series[0]["value"][0].as_f64().unwrap();
            let recorded: f64 = series[0]["value"][1].as_str().unwrap().parse().unwrap();
            let parts = prometheus.query_at(inner, at);
            let values: Vec<f64> =
                parts.iter().map(|p| p["value"][1].as_str().unwrap().parse::<f64>().unwrap()).collect();
            let summed: f64 = values.iter().sum();
            let instances: BTreeSet<&str> = parts.iter().filter_map(|p| p["metric"]["instance"].as_str()).collect();
            // Not to the last digit: the rule ran before the last scrapes at or before its
            // time were stored, which a query now sees. Above any one replica's part, where
            // several have one: it adds them up.
            assert!(
                (recorded - summed).abs() <= 0.15 * summed.abs().max(1e-9),
                "{selector} = {recorded}, but the sum over {instances:?} is {summed}"
            );
            let largest = values.iter().copied().fold(0.0, f64::max);
            if values.iter().filter(|v| **v > 0.0).count() > 1 {
                assert!(recorded > largest, "{selector} = {recorded}: one replica's part alone is {largest}");
            }
            if recorded > 0.0 {
                println!(
                    "{selector} = {recorded}: the sum over {} instances is {summed} (the largest part {largest})",
                    instances.len()
                );
                positive += 1;
            }
            compared += 1;
        }
    }
    assert!(compared >= 10 && positive >= 6, "{compared} rules compared with their sums, {positive} above 0");
}

/// Grafana's `$instance`: one value, two (a regex alternation, dots escaped as Grafana does),
/// or All (`.*`). Every panel's and annotation's query answers with each.
fn check_dashboard_by_instance(prometheus: &PrometheusServer, ops: &std::path::Path, instances: &[String]) {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(ops.join("grafana/dashboard.json")).unwrap()).unwrap();
    let instance =
        dashboard["templating"]["list"].as_array().unwrap().iter().find(|v| v["name"] == "instance").unwrap();
    assert_eq!((instance["multi"].as_bool(), instance["includeAll"].as_bool()), (Some(true), Some(true)));
    assert_eq!(instance["allValue"], ".*");
    let escaped = |i: &String| i.replace('.', "\\\\.");
    let choices = [
        format!("({})", escaped(&instances[0])),
        format!("({}|{})", escaped(&instances[0]), escaped(&instances[1])),
        ".*".to_owned(),
    ];
    let queries = obs_runtime::ops::dashboard_queries(&dashboard.to_string()).unwrap();
    for choice in &choices {
        for query in &queries {
            let concrete =
                query.replace("$job", "mentorsmind").replace("$instance", choice).replace("$__rate_interval", "1m");
            let result = prometheus.wait_for_series(&concrete, Duration::from_secs(30));
            assert!(!result.is_empty(), "no series with $instance={choice}: {concrete}");
        }
    }
}
