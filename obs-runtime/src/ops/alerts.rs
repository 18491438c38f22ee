//! The alerts, as data: the service's own (errors and latency by family, its dependencies, its
//! targets, its metrics going missing, the Watchdog) and each objective's burn-rate tiers.
//! `alerts.yml`, the promtool tests, Alertmanager's routing and the runbook are written from
//! this list.

use super::model::Model;
use super::objectives::Sli;
use super::rules::{Group, Record, error_ratio_reads, find, subsystem_rule};
use super::slo;
use crate::catalogue::{Covered, Subsystem};

/// How loud an alert is, and so who gets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// `severity="critical"`: it pages.
    Page,
    /// `severity="warning"`: a ticket, worked in hours.
    Ticket,
    /// `severity="none"`: the Watchdog, which always fires.
    None,
}

impl Severity {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Severity::Page => "critical",
            Severity::Ticket => "warning",
            Severity::None => "none",
        }
    }
}

/// What a runbook section says of an alert.
#[derive(Clone, Debug)]
pub(crate) enum Topic {
    /// The service's HTTP requests.
    Http,
    /// A subsystem's calls.
    Subsystem(Subsystem),
    /// Outgoing HTTP requests.
    Client,
    /// A scrape target that does not answer.
    Target,
    /// The job's metrics gone from Prometheus.
    Absent,
    /// The dead man's switch.
    Watchdog,
    /// An objective over a family.
    Objective(Covered),
    /// A connection pool.
    Pool,
    /// A queue's backlog and give-ups.
    Queue,
    /// The process's resources.
    Process,
}

/// An alert's runbook section.
#[derive(Clone, Debug)]
pub(crate) struct Section {
    /// "What it means".
    pub(crate) meaning: String,
    /// The recording rules the expression reads, for the exact PromQL.
    pub(crate) reads: Vec<Record>,
    pub(crate) topic: Topic,
    /// Span names to search for in the trace backend.
    pub(crate) spans: Vec<String>,
    /// What to do for this alert beyond its topic's mitigation.
    pub(crate) mitigation: String,
}

/// What an alert watches: the promtool tests build their series from it.
#[derive(Clone, Debug)]
pub(crate) enum Watch {
    HttpErrors,
    HttpLatency,
    Subsystem(Subsystem),
    ClientErrors,
    TargetDown,
    Absent,
    Watchdog,
    Burn {
        objective: usize,
        sli: Sli,
        tier: usize,
    },
    PoolWaiting,
    PoolSlow,
    PoolTimeouts,
    QueueBacklog(String),
    /// A queue and its oldest job's limit in seconds.
    QueueAge(String, f64),
    QueueDeadLetters(String),
    Fds,
}

/// One alerting rule of `alerts.yml`. Several may share a name (an objective's page has two
/// tiers); they share its runbook section.
#[derive(Clone, Debug)]
pub(crate) struct Alert {
    pub(crate) name: String,
    pub(crate) expr: String,
    pub(crate) for_: &'static str,
    pub(crate) severity: Severity,
    /// Labels besides `severity`.
    pub(crate) labels: Vec<(&'static str, String)>,
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) watches: Watch,
    pub(crate) section: Section,
}

/// The dashboard panels alerts and the runbook send the reader to: each must exist (a test
/// reads every panel title the runbook names).
pub(crate) mod panels {
    pub(crate) const ERRORS_BY_ROUTE: &str = "5xx ratio by route";
    pub(crate) const LATENCY_BY_ROUTE: &str = "p95 latency by route";
    pub(crate) const CLIENT_ERRORS: &str = "Outgoing requests failing by server";
}

/// Every alert: the service's own, then each objective's tiers.
pub(crate) fn alerts(model: &Model, groups: &[Group]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let family = |slug: &str, sli: Sli| vec![("family", slug.to_owned()), ("sli", sli.label().to_owned())];
    if model.has_routes() {
        let spans: Vec<String> = model.catalogue.routes().iter().map(|r| format!("<METHOD> {}", r.path)).collect();
        alerts.push(Alert {
            name: "HighErrorRate".into(),
            expr: "job:http_error_ratio:rate5m > 0.05".into(),
            for_: "5m",
            severity: Severity::Page,
            labels: family("http", Sli::Errors),
            summary: "{{ $value | humanizePercentage }} of HTTP requests to {{ $labels.job }} fail with 5xx".into(),
            description: format!(
                "Over the last 5 minutes more than 5 % of all requests to {{{{ $labels.job }}}} were answered with \
                 5xx. The dashboard's \"{}\" panel shows which routes.",
                panels::ERRORS_BY_ROUTE
            ),
            watches: Watch::HttpErrors,
            section: Section {
                meaning: "The share of all requests answered with a 5xx status, summed over every route, method and \
                          instance before dividing, has been above 5 % for 5 minutes."
                    .into(),
                reads: [
                    find(groups, "job:http_error_ratio:rate5m", ""),
                    find(groups, "job:http_errors:rate5m", ""),
                    find(groups, "job:http_requests:rate5m", ""),
                ]
                .concat(),
                topic: Topic::Http,
                spans: spans.clone(),
                mitigation: "Roll back the latest deploy if the errors started with it; otherwise find the failing \
                             route and the dependency its spans name, and fail over or shed it."
                    .into(),
            },
        });
        alerts.push(Alert {
            name: "HighLatency".into(),
            expr: "job:http_latency:p95_5m > 1".into(),
            for_: "10m",
            severity: Severity::Ticket,
            labels: family("http", Sli::Latency),
            summary: "p95 HTTP latency of {{ $labels.job }} is {{ $value | humanizeDuration }}".into(),
            description: format!(
                "Over the last 5 minutes the slowest 5 % of requests to {{{{ $labels.job }}}} took more than 1 s. The \
                 dashboard's \"{}\" panel shows which routes.",
                panels::LATENCY_BY_ROUTE
            ),
            watches: Watch::HttpLatency,
            section: Section {
                meaning: "The 95th percentile of request duration, from the histogram summed over every route and \
                          instance, has been above 1 s for 10 minutes."
                    .into(),
                reads: find(groups, "job:http_latency:p95_5m", ""),
                topic: Topic::Http,
                spans,
                mitigation: "Find the slow dependency on the dashboard's rows (database, Redis, Stellar, outgoing \
                             requests p95); scale out if CPU or scheduler lag is high; roll back if it started with a \
                             deploy."
                    .into(),
            },
        });
    }
    for subsystem in &model.subsystems {
        alerts.push(subsystem_alert(model, groups, *subsystem, family(Covered::of(*subsystem).slug(), Sli::Errors)));
    }
    if model.has_client() {
        alerts.push(client_alert(groups));
    }
    alerts.extend(super::saturation::alerts(model));
    alerts.extend(availability(model));
    alerts.extend(slo::alerts(model, groups));
    alerts
}

fn subsystem_alert(
    model: &Model,
    groups: &[Group],
    subsystem: Subsystem,
    labels: Vec<(&'static str, String)>,
) -> Alert {
    let (name, what, threshold, for_, severity) = match subsystem {
        Subsystem::Queue => ("QueueFailures", "background jobs", 0.1, "15m", Severity::Ticket),
        Subsystem::Stellar => ("StellarErrors", "Stellar Horizon calls", 0.05, "5m", Severity::Ticket),
        Subsystem::Db => ("DatabaseErrors", "database queries", 0.05, "5m", Severity::Page),
        Subsystem::Redis => ("RedisErrors", "Redis calls", 0.05, "5m", Severity::Ticket),
    };
    let rule = subsystem_rule(subsystem);
    let percent = slo::percent(threshold);
    Alert {
        name: name.into(),
        expr: format!("job:{rule}_error_ratio:rate5m > {}", slo::num(threshold)),
        for_,
        severity,
        labels,
        summary: format!("{{{{ $value | humanizePercentage }}}} of the {what} of {{{{ $labels.job }}}} fail"),
        description: format!(
            "Over the last 5 minutes more than {percent} of the {what} of {{{{ $labels.job }}}} failed. The dashboard's \
             {} row shows which call sites.",
            super::dashboard::row_title(subsystem)
        ),
        watches: Watch::Subsystem(subsystem),
        section: Section {
            meaning: format!(
                "The share of {what} that ended in `{}`, summed over every call site and instance before dividing, has \
                 been above {percent} for {for_}.",
                subsystem.family().statuses[crate::catalogue::Status::Error.index()]
            ),
            reads: error_ratio_reads(groups, &format!("job:{rule}")),
            topic: Topic::Subsystem(subsystem),
            spans: {
                let mut spans: Vec<String> =
                    model.catalogue.sites_of(subsystem).map(|s| s.span_name().to_owned()).collect();
                spans.dedup();
                spans
            },
            mitigation: String::new(),
        },
    }
}

fn client_alert(groups: &[Group]) -> Alert {
    Alert {
        name: "DependencyErrors".into(),
        expr: "job:http_client_requests_error_ratio:rate5m > 0.05".into(),
        for_: "5m",
        severity: Severity::Ticket,
        labels: vec![("family", "http_client".to_owned()), ("sli", "errors".to_owned())],
        summary: "{{ $value | humanizePercentage }} of the outgoing HTTP requests of {{ $labels.job }} fail".into(),
        description: format!(
            "Over the last 5 minutes more than 5 % of the outgoing requests of {{{{ $labels.job }}}} got a 5xx or no answer. \
             The dashboard's \"{}\" panel shows which server.",
            panels::CLIENT_ERRORS
        ),
        watches: Watch::ClientErrors,
        section: Section {
            meaning: "The share of outgoing HTTP requests (`client::SendTraced`) answered with 5xx or not answered at \
                      all (`status_code=\"error\"`: refused, timed out, reset), summed over every server and instance, \
                      has been above 5 % for 5 minutes."
                .into(),
            reads: error_ratio_reads(groups, "job:http_client_requests"),
            topic: Topic::Client,
            spans: vec!["<METHOD> (client spans, tag server.address)".into()],
            mitigation: String::new(),
        },
    }
}

/// The job's own availability: a target down, its metrics gone, and the Watchdog.
fn availability(model: &Model) -> Vec<Alert> {
    let job = &model.job;
    let anchor = model.anchor_metric();
    let section = |topic, meaning: &str| Section {
        meaning: meaning.to_owned(),
        reads: Vec::new(),
        topic,
        spans: Vec::new(),
        mitigation: String::new(),
    };
    vec![
        Alert {
            name: "TargetDown".into(),
            expr: format!("up{{job=\"{job}\"}} == 0"),
            for_: "1m",
            severity: Severity::Page,
            labels: Vec::new(),
            summary: "Prometheus cannot scrape {{ $labels.instance }} of {{ $labels.job }}".into(),
            description:
                "The scrape of {{ $labels.instance }} has failed for a minute (its `up` is {{ $value }}): the \
                          instance is down, or its scrape port is unreachable or refuses the token."
                    .into(),
            watches: Watch::TargetDown,
            section: section(Topic::Target, "The `up` series of a target of the job is 0: its last scrape failed."),
        },
        Alert {
            name: "MetricsAbsent".into(),
            expr: format!("absent(up{{job=\"{job}\"}}) or absent({anchor}{{job=\"{job}\"}})"),
            for_: "10m",
            severity: Severity::Page,
            labels: Vec::new(),
            summary: "Prometheus has no metrics of {{ $labels.job }}".into(),
            description: format!(
                "For 10 minutes Prometheus has had no target of {{{{ $labels.job }}}}, or no `{anchor}` from it: every \
                 other alert of the job is blind."
            ),
            watches: Watch::Absent,
            section: section(
                Topic::Absent,
                &format!(
                    "No `up` series of the job exists (service discovery lost every target), or its targets answer \
                     without `{anchor}`, which obs registers at start: another prefix, the metric switched off, or \
                     another program on the port. Every other alert of the job reads series that are now missing, so \
                     none of them can fire."
                ),
            ),
        },
        Alert {
            name: "Watchdog".into(),
            expr: "vector(1)".into(),
            for_: "0m",
            severity: Severity::None,
            labels: vec![("job", job.clone())],
            // Rule labels are not in `$labels`: the expression has none.
            summary: format!("The alerting pipeline of {job} works"),
            description: "Always firing, on purpose: Alertmanager routes it to a dead man's switch, which raises the \
                          alarm when it stops arriving (Prometheus, its rules or Alertmanager are down)."
                .into(),
            watches: Watch::Watchdog,
            section: section(
                Topic::Watchdog,
                "This alert always fires. Its absence is the alarm: the dead man's switch it is routed to pages when \
                 it has not heard from Alertmanager for a while.",
            ),
        },
    ]
}
