//! The recording rules, as data: the YAML, the promtool tests, the dashboard and the runbook
//! are all written from these lists. Every expression aggregates by `job` before it divides,
//! and every rule an alert names is defined here.

use super::model::Model;
use super::slo::num;
use crate::catalogue::{Covered, HTTP_CLIENT_REQUEST_DURATION, HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL, Subsystem};

/// One recording rule, with the labels it adds.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub(crate) record: String,
    pub(crate) expr: String,
    pub(crate) labels: Vec<(&'static str, String)>,
}

impl Record {
    fn new(record: impl Into<String>, expr: impl Into<String>) -> Self {
        Self { record: record.into(), expr: expr.into(), labels: Vec::new() }
    }
}

/// A group of recording rules, evaluated at `interval` (Prometheus's default when `None`).
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) interval: Option<&'static str>,
    pub(crate) rules: Vec<Record>,
}

/// The rules recording `record`; of one objective when `objective` is not empty.
pub(crate) fn find(groups: &[Group], record: &str, objective: &str) -> Vec<Record> {
    let of_objective =
        |r: &Record| objective.is_empty() || r.labels.iter().any(|(k, v)| *k == "objective" && v == objective);
    groups.iter().flat_map(|g| &g.rules).filter(|r| r.record == record && of_objective(r)).cloned().collect()
}

/// The rule name part of a subsystem: `db_queries`, `queue_jobs`.
pub(crate) fn subsystem_rule(subsystem: Subsystem) -> String {
    subsystem.family().total.name.trim_end_matches("_total").to_owned()
}

fn rate(series: String, w: &str) -> String {
    format!("sum by (job) (rate({series}[{w}]))")
}

/// `job:<prefix>:rate5m`, `…_errors:rate5m` and `…_error_ratio:rate5m` over `total` with `bad`.
fn error_ratio(prefix: &str, total: String, bad: String) -> Vec<Record> {
    vec![
        Record::new(format!("{prefix}:rate5m"), rate(total, "5m")),
        // No error yet is a rate of 0, not no answer.
        Record::new(format!("{prefix}_errors:rate5m"), format!("{} or {prefix}:rate5m * 0", rate(bad, "5m"))),
        Record::new(format!("{prefix}_error_ratio:rate5m"), format!("{prefix}_errors:rate5m / {prefix}:rate5m")),
    ]
}

/// The three rules [`error_ratio`] recorded for `prefix`, ratio first, for a runbook.
pub(crate) fn error_ratio_reads(groups: &[Group], prefix: &str) -> Vec<Record> {
    let ratio = find(groups, &format!("{prefix}_error_ratio:rate5m"), "");
    [ratio, find(groups, &format!("{prefix}_errors:rate5m"), ""), find(groups, &format!("{prefix}:rate5m"), "")]
        .concat()
}

fn quantile(model: &Model, record: String, q: f64, bucket: &str) -> Record {
    Record::new(record, format!("histogram_quantile({q}, sum by (job, le) (rate({}[5m])))", model.series(bucket, &[])))
}

/// The job-level groups: HTTP requests, each subsystem's calls, outgoing HTTP requests.
pub(crate) fn groups(model: &Model) -> Vec<Group> {
    let mut groups = Vec::new();
    if model.has_routes() {
        groups.push(Group { name: format!("{}-http", model.service), interval: None, rules: http(model) });
    }
    let mut calls = Vec::new();
    for subsystem in &model.subsystems {
        let family = subsystem.family();
        let prefix = format!("job:{}", subsystem_rule(*subsystem));
        let total = model.name(family.total);
        let bad = model.bad_matcher(&Covered::of(*subsystem));
        calls.extend(error_ratio(&prefix, model.series(&total, &[]), model.series(&total, &[&bad])));
        let bucket = format!("{}_bucket", model.name(family.duration));
        calls.push(quantile(model, format!("{prefix}_latency:p95_5m"), 0.95, &bucket));
    }
    if !calls.is_empty() {
        groups.push(Group { name: format!("{}-calls", model.service), interval: None, rules: calls });
    }
    if model.has_client() {
        let name = model.name(&HTTP_CLIENT_REQUEST_DURATION);
        let count = format!("{name}_count");
        let bad = model.matcher(&HTTP_CLIENT_REQUEST_DURATION, "status_code", "=~", "5..|error");
        let mut rules =
            error_ratio("job:http_client_requests", model.series(&count, &[]), model.series(&count, &[&bad]));
        rules.push(quantile(model, "job:http_client_latency:p95_5m".into(), 0.95, &format!("{name}_bucket")));
        groups.push(Group { name: format!("{}-http-client", model.service), interval: None, rules });
    }
    groups
}

fn http(model: &Model) -> Vec<Record> {
    let total = model.name(&HTTP_REQUESTS_TOTAL);
    let bucket = format!("{}_bucket", model.name(&HTTP_REQUEST_DURATION));
    let bad = model.matcher(&HTTP_REQUESTS_TOTAL, "status_code", "=~", "5..");
    let mut rules = vec![
        Record::new("job:http_requests:rate5m", rate(model.series(&total, &[]), "5m")),
        Record::new(
            "job:http_errors:rate5m",
            format!("{} or job:http_requests:rate5m * 0", rate(model.series(&total, &[&bad]), "5m")),
        ),
        Record::new("job:http_error_ratio:rate5m", "job:http_errors:rate5m / job:http_requests:rate5m"),
        quantile(model, "job:http_latency:p95_5m".into(), 0.95, &bucket),
        quantile(model, "job:http_latency:p99_5m".into(), 0.99, &bucket),
    ];
    // Apdex: satisfied within T, tolerating within 4T, both bucket boundaries; T is the
    // tightest latency threshold of the service's HTTP objectives.
    if let Some((t, tolerated)) = model.apdex_bounds() {
        let le = |bound| model.le(&HTTP_REQUEST_DURATION, bound).unwrap_or_default();
        let bucket = |bound| rate(model.series(&bucket, &[&le(bound)]), "5m");
        rules.push(Record {
            record: "job:http_apdex:rate5m".into(),
            expr: format!("({} + {}) / 2 / job:http_requests:rate5m", bucket(t), bucket(tolerated)),
            labels: vec![("threshold_seconds", num(t))],
        });
    }
    rules
}
