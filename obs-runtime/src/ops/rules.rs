//! The recording rules and alerts, as data: the YAML, the promtool tests and the runbook are
//! all written from these lists. Every expression aggregates by `job` before it divides, and
//! every rule an alert names is defined here.

use super::model::{BUDGET_WINDOW, Member, Model, ObjectiveModel, WINDOWS};
use crate::catalogue::{HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL, Metric, Subsystem};

/// One recording rule.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub(crate) record: String,
    pub(crate) expr: String,
}

/// A group of recording rules, evaluated at `interval` (Prometheus's default when `None`).
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) interval: Option<&'static str>,
    pub(crate) rules: Vec<Record>,
}

/// One alert and what its runbook section says.
#[derive(Clone, Debug)]
pub(crate) struct Alert {
    pub(crate) name: String,
    pub(crate) expr: String,
    pub(crate) for_: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) summary: String,
    pub(crate) description: String,
    /// The runbook's "what it means".
    pub(crate) meaning: String,
    /// Span names to search for in the trace backend.
    pub(crate) spans: Vec<String>,
    /// The recording rules the expression reads, for the runbook's exact PromQL.
    pub(crate) reads: Vec<Record>,
    pub(crate) mitigation: String,
    /// Which subsystem it watches, for the promtool tests.
    pub(crate) watches: Watch,
}

/// What an alert watches: the promtool tests build their series from it.
#[derive(Clone, Debug)]
pub(crate) enum Watch {
    HttpErrors,
    HttpLatency,
    Subsystem(Subsystem),
    TargetDown,
    Burn { objective: usize, latency: bool, fast: bool },
}

/// The burn-rate pairs of the SRE workbook: 2 % of a 30-day budget in 1 h (14.4×, checked over
/// 1 h and 5 m) pages; 5 % in 6 h (6×, over 6 h and 30 m) pages at warning. The guide's 3×
/// belongs to the workbook's 1-day/2-hour ticket tier, whose windows we do not record.
pub(crate) const BURNS: [(bool, f64, &str, &str, &str); 2] =
    [(true, 14.4, "1h", "5m", "critical"), (false, 6.0, "6h", "30m", "warning")];

/// A number as PromQL and YAML read it: no float noise (`1 - 0.999` is `0.001`).
pub(crate) fn num(value: f64) -> String {
    let rounded = (value * 1e12).round() / 1e12;
    rounded.to_string()
}

fn subsystem_rule(subsystem: Subsystem) -> String {
    subsystem.family().total.name.trim_end_matches("_total").to_owned()
}

/// `job:<subsystem>:…` rules for every subsystem the catalogue has.
pub(crate) fn groups(model: &Model) -> Vec<Group> {
    let http_total = model.name(&HTTP_REQUESTS_TOTAL);
    let http_bucket = format!("{}_bucket", model.name(&HTTP_REQUEST_DURATION));
    let rate = |series: String, w: &str| format!("sum by (job) (rate({series}[{w}]))");
    let mut http = vec![
        Record { record: "job:http_requests:rate5m".into(), expr: rate(model.series(&http_total, &[]), "5m") },
        Record {
            record: "job:http_errors:rate5m".into(),
            // No 5xx yet is a rate of 0, not no answer.
            expr: format!(
                "{} or job:http_requests:rate5m * 0",
                rate(
                    model.series(&http_total, &[&model.matcher(&HTTP_REQUESTS_TOTAL, "status_code", "=~", "5..")]),
                    "5m"
                )
            ),
        },
        Record {
            record: "job:http_error_ratio:rate5m".into(),
            expr: "job:http_errors:rate5m / job:http_requests:rate5m".into(),
        },
    ];
    for (q, name) in [(0.95, "p95_5m"), (0.99, "p99_5m")] {
        http.push(Record {
            record: format!("job:http_latency:{name}"),
            expr: format!("histogram_quantile({q}, sum by (job, le) (rate({}[5m])))", model.series(&http_bucket, &[])),
        });
    }
    // Apdex with T = 0.25 s: satisfied under T, tolerating under 4T = 1 s, both bucket
    // boundaries of the HTTP histogram (the guide's `le="2.0"` is not one).
    if let (Some(t), Some(four_t)) = (model.le(&HTTP_REQUEST_DURATION, 0.25), model.le(&HTTP_REQUEST_DURATION, 1.0)) {
        let bucket = |le: &str| rate(model.series(&http_bucket, &[&format!("le=\"{le}\"")]), "5m");
        http.push(Record {
            record: "job:http_apdex:rate5m".into(),
            expr: format!("({} + {}) / 2 / job:http_requests:rate5m", bucket(&t), bucket(&four_t)),
        });
    }
    let mut groups = vec![Group { name: format!("{}-http", model.service), interval: None, rules: http }];

    let mut calls = Vec::new();
    for subsystem in &model.subsystems {
        let family = subsystem.family();
        let prefix = format!("job:{}", subsystem_rule(*subsystem));
        let total = model.name(family.total);
        let bad = model.bad_matcher(&crate::catalogue::Covered::of(*subsystem));
        calls.push(Record { record: format!("{prefix}:rate5m"), expr: rate(model.series(&total, &[]), "5m") });
        calls.push(Record {
            record: format!("{prefix}_errors:rate5m"),
            expr: format!("{} or {prefix}:rate5m * 0", rate(model.series(&total, &[&bad]), "5m")),
        });
        calls.push(Record {
            record: format!("{prefix}_error_ratio:rate5m"),
            expr: format!("{prefix}_errors:rate5m / {prefix}:rate5m"),
        });
        calls.push(Record {
            record: format!("{prefix}_latency:p95_5m"),
            expr: format!(
                "histogram_quantile(0.95, sum by (job, le) (rate({}[5m])))",
                model.series(&format!("{}_bucket", model.name(family.duration)), &[])
            ),
        });
    }
    if !calls.is_empty() {
        groups.push(Group { name: format!("{}-calls", model.service), interval: None, rules: calls });
    }

    for objective in &model.objectives {
        let name = objective.objective.name();
        let mut rules = Vec::new();
        for w in WINDOWS {
            rules.extend(objective_rules(model, objective, w));
        }
        groups.push(Group { name: format!("{}-objective-{name}", model.service), interval: None, rules });
        groups.push(Group {
            name: format!("{}-objective-{name}-budget", model.service),
            interval: Some("5m"),
            rules: objective_rules(model, objective, BUDGET_WINDOW),
        });
    }
    groups
}

/// The union of one selector over every member: `rate(a{…}[w]) or rate(b{…}[w])`.
fn union(
    model: &Model,
    members: &[Member],
    w: &str,
    series: impl Fn(&Member) -> Option<(String, &'static Metric, Vec<String>)>,
) -> String {
    let parts: Vec<String> = members
        .iter()
        .filter_map(|m| {
            let (metric, selects, mut matchers) = series(m)?;
            matchers.insert(0, model.member_matchers(m, selects));
            let refs: Vec<&str> = matchers.iter().map(String::as_str).collect();
            Some(format!("rate({}[{w}])", model.series(&metric, &refs)))
        })
        .collect();
    format!("sum by (job) ({})", parts.join(" or "))
}

/// `objective:<name>:error_ratio:rate<w>` and, with a latency target, `…:slow_ratio:rate<w>`.
pub(crate) fn objective_rules(model: &Model, objective: &ObjectiveModel, w: &str) -> Vec<Record> {
    let name = objective.objective.name();
    let all = union(model, &objective.members, w, |m| Some((model.name(m.covered.total), m.covered.total, vec![])));
    let bad = union(model, &objective.members, w, |m| {
        Some((model.name(m.covered.total), m.covered.total, vec![model.bad_matcher(&m.covered)]))
    });
    let mut rules = vec![Record {
        record: format!("objective:{name}:error_ratio:rate{w}"),
        expr: format!("({bad} or {all} * 0) / {all}"),
    }];
    if let Some(latency) = objective.objective.latency_target() {
        let fast = union(model, &objective.members, w, |m| {
            let le = model.le(m.covered.duration, latency.threshold_seconds)?;
            Some((
                format!("{}_bucket", model.name(m.covered.duration)),
                m.covered.duration,
                vec![format!("le=\"{le}\"")],
            ))
        });
        let count = union(model, &objective.members, w, |m| {
            Some((format!("{}_count", model.name(m.covered.duration)), m.covered.duration, vec![]))
        });
        rules.push(Record {
            record: format!("objective:{name}:slow_ratio:rate{w}"),
            expr: format!("1 - {fast} / {count}"),
        });
    }
    rules
}

fn camel(name: &str) -> String {
    name.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

fn find(groups: &[Group], record: &str) -> Vec<Record> {
    groups.iter().flat_map(|g| &g.rules).filter(|r| r.record == record).cloned().collect()
}

/// Every alert: the service's own, then each objective's burn-rate pairs.
pub(crate) fn alerts(model: &Model, groups: &[Group]) -> Vec<Alert> {
    let spans_of = |subsystem: Option<Subsystem>| -> Vec<String> {
        let mut spans: Vec<String> = match subsystem {
            Some(s) => model.catalogue.sites_of(s).map(|site| site.span_name().to_owned()).collect(),
            None => model.catalogue.routes().iter().map(|r| format!("<METHOD> {}", r.path)).collect(),
        };
        spans.dedup();
        spans
    };
    let mut alerts = vec![
        Alert {
            name: "HighErrorRate".into(),
            expr: "job:http_error_ratio:rate5m > 0.05".into(),
            for_: "5m",
            severity: "critical",
            summary: "More than 5 % of {{ $labels.job }}'s HTTP requests fail with 5xx".into(),
            description: "Over the last 5 minutes more than 5 % of all requests to {{ $labels.job }} were answered \
                          with 5xx. The dashboard's 5xx panel shows the routes."
                .into(),
            meaning:
                "The share of all requests answered with a 5xx status, summed over every route, method and instance \
                      before dividing, has been above 5 % for 5 minutes."
                    .into(),
            spans: spans_of(None),
            reads: [
                find(groups, "job:http_error_ratio:rate5m"),
                find(groups, "job:http_errors:rate5m"),
                find(groups, "job:http_requests:rate5m"),
            ]
            .concat(),
            mitigation: "Roll back the latest deploy if the errors started with it; otherwise fail over or shed the \
                         failing dependency (the error logs name it) and scale out if instances are saturated."
                .into(),
            watches: Watch::HttpErrors,
        },
        Alert {
            name: "HighLatency".into(),
            expr: "job:http_latency:p95_5m > 1".into(),
            for_: "10m",
            severity: "warning",
            summary: "{{ $labels.job }}'s p95 HTTP latency is above 1 s".into(),
            description: "Over the last 5 minutes the slowest 5 % of requests to {{ $labels.job }} took more than \
                          1 s. The dashboard's latency panel shows p50, p95 and p99."
                .into(),
            meaning:
                "The 95th percentile of request duration, from the histogram summed over every route and instance, \
                      has been above 1 s for 10 minutes."
                    .into(),
            spans: spans_of(None),
            reads: find(groups, "job:http_latency:p95_5m"),
            mitigation:
                "Find the slow dependency on the dashboard's subsystem rows (DB, Redis, Stellar p95); scale out \
                         if CPU or scheduler lag is high; roll back if it started with a deploy."
                    .into(),
            watches: Watch::HttpLatency,
        },
    ];
    for subsystem in &model.subsystems {
        let (name, what, threshold, for_, severity) = match subsystem {
            Subsystem::Queue => ("QueueFailures", "background jobs", 0.1, "15m", "warning"),
            Subsystem::Stellar => ("StellarErrors", "Stellar Horizon calls", 0.05, "5m", "warning"),
            Subsystem::Db => ("DatabaseErrors", "database queries", 0.05, "5m", "critical"),
            Subsystem::Redis => ("RedisErrors", "Redis calls", 0.05, "5m", "warning"),
        };
        let rule = format!("job:{}_error_ratio:rate5m", subsystem_rule(*subsystem));
        let percent = num(threshold * 100.0);
        alerts.push(Alert {
            name: name.into(),
            expr: format!("{rule} > {}", num(threshold)),
            for_,
            severity,
            summary: format!("More than {percent} % of {{{{ $labels.job }}}}'s {what} fail"),
            description: format!(
                "Over the last 5 minutes more than {percent} % of {{{{ $labels.job }}}}'s {what} failed."
            ),
            meaning: format!(
                "The share of {what} that ended in `{}`, summed over every call site before dividing, has been above \
                 {percent} % for {for_}.",
                subsystem.family().statuses[crate::catalogue::Status::Error.index()]
            ),
            spans: spans_of(Some(*subsystem)),
            reads: [
                find(groups, &rule),
                find(groups, &format!("job:{}_errors:rate5m", subsystem_rule(*subsystem))),
                find(groups, &format!("job:{}:rate5m", subsystem_rule(*subsystem))),
            ]
            .concat(),
            mitigation: match subsystem {
                Subsystem::Queue => "Pause the failing job type if it keeps retrying into the same error; fix or roll \
                                     back, then re-enqueue the failed jobs."
                    .into(),
                Subsystem::Stellar => "Check Horizon's status for the network; payments fail fast with 502 while it \
                                       is down, so tell users and retry once it answers."
                    .into(),
                _ => "Check the server's health and connection limits; restart or fail over; roll back a deploy that \
                      changed queries."
                    .into(),
            },
            watches: Watch::Subsystem(*subsystem),
        });
    }
    alerts.push(Alert {
        name: "TargetDown".into(),
        expr: format!("up{{job=\"{}\"}} == 0", model.job),
        for_: "1m",
        severity: "critical",
        summary: "Prometheus cannot scrape {{ $labels.instance }} of {{ $labels.job }}".into(),
        description: "The scrape of {{ $labels.instance }} has failed for a minute: the instance is down, or its \
                      scrape port is unreachable or refuses the token."
            .into(),
        meaning: "The `up` series of a target of the job is 0: the last scrape failed.".into(),
        spans: vec![],
        reads: vec![],
        mitigation: "Restart the instance if it is down; check the scrape port (PROMETHEUS_PORT) and token \
                     (PROMETHEUS_BEARER_TOKEN) against `prometheus.yml`."
            .into(),
        watches: Watch::TargetDown,
    });
    for (index, objective) in model.objectives.iter().enumerate() {
        alerts.extend(burn_alerts(groups, index, objective));
    }
    alerts
}

fn burn_alerts(groups: &[Group], index: usize, objective: &ObjectiveModel) -> Vec<Alert> {
    let name = objective.objective.name();
    let mut alerts = Vec::new();
    let mut kinds = vec![(false, objective.objective.error_budget(), "error_ratio", "failures")];
    if let Some(latency) = objective.objective.latency_target() {
        kinds.push((true, 1.0 - latency.percent / 100.0, "slow_ratio", "slow calls"));
    }
    for (latency, budget, ratio, what) in kinds {
        for (fast, factor, long, short, severity) in BURNS {
            let alert = format!(
                "{}{}BudgetBurn{}",
                camel(name),
                if latency { "Latency" } else { "Error" },
                if fast { "Fast" } else { "Slow" }
            );
            let limit = num(factor * budget);
            let rule = |w: &str| format!("objective:{name}:{ratio}:rate{w}");
            let target = match objective.objective.latency_target() {
                Some(l) if latency => format!("{} % within {} s", num(l.percent), num(l.threshold_seconds)),
                _ => format!("{} % success", num(objective.objective.success_percent())),
            };
            alerts.push(Alert {
                name: alert,
                expr: format!("{} > {limit} and {} > {limit}", rule(long), rule(short)),
                for_: if fast { "2m" } else { "15m" },
                severity,
                summary: format!("Objective {name} ({target}) is burning its budget {factor}× too fast"),
                description: format!(
                    "The share of {what} of objective {name} is above {limit} over both {long} and {short}: at this \
                     pace the 30-day budget lasts {} days.",
                    num(30.0 / factor)
                ),
                meaning: format!(
                    "The share of {what} across every series of objective `{name}` ({}) is above {factor} times its \
                     budget ({}) over both {long} and {short}. {}",
                    objective.named_by.join(", "),
                    num(budget),
                    objective.objective.describe()
                ),
                spans: vec![],
                reads: [find(groups, &rule(long)), find(groups, &rule(short))].concat(),
                mitigation:
                    "Treat as an incident on the journey: find which member series carries the failures on the \
                             dashboard's objective row, then mitigate that dependency or roll back."
                        .into(),
                watches: Watch::Burn { objective: index, latency, fast },
            });
        }
    }
    alerts
}
