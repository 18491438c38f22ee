//! `alertmanager.yml`: who gets what, and what is held back while something louder fires.
//!
//! - An objective's alerts are grouped by objective and job, so its tiers and SLIs arrive as
//!   one notification; every other alert by name and job.
//! - Pages (`severity="critical"`) go to the pager, tickets (`warning`) to the ticket queue, the
//!   Watchdog to a dead man's switch that is expected to hear from it every few minutes.
//! - A page of an objective holds back its tickets (same objective and job): the page is the
//!   same problem, louder.
//! - A page of an objective holds back the service-wide alert over the same events (same job,
//!   family and SLI): an objective on routes holds back `HighErrorRate` or `HighLatency`, one on
//!   Stellar calls `StellarErrors`, and so on. The objective's page already names the journey;
//!   the family-wide alert would only page a second time for it. It stays visible, inhibited,
//!   in Alertmanager.
//! - A target that is down holds back `MetricsAbsent` of its job, which follows from it.

use super::model::Model;
use super::rule_files::HEADER;
use super::yaml::{Yaml, list, map, plain, s};

/// The inhibition rules, as (source matchers, target matchers, equal labels).
pub(crate) fn inhibitions() -> Vec<(Vec<&'static str>, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        (vec!["tier=\"page\""], vec!["tier=\"ticket\""], vec!["objective", "job"]),
        (vec!["tier=\"page\""], vec!["objective=\"\"", "family=~\".+\""], vec!["job", "family", "sli"]),
        (vec!["alertname=\"TargetDown\""], vec!["alertname=\"MetricsAbsent\""], vec!["job"]),
    ]
}

/// The routing tree.
pub(crate) fn route() -> Yaml {
    let by_severity = || {
        list([
            map([("matchers", list([s("severity=\"critical\"")])), ("receiver", s("pager"))]),
            map([("matchers", list([s("severity=\"warning\"")])), ("receiver", s("ticket"))]),
        ])
    };
    let mut routes = vec![
        map([
            ("matchers", list([s("alertname=\"Watchdog\"")])),
            ("receiver", s("watchdog")),
            ("group_wait", s("0s")),
            ("repeat_interval", s("5m")),
        ]),
        map([
            ("matchers", list([s("objective=~\".+\"")])),
            ("group_by", list([s("objective"), s("job")])),
            ("routes", by_severity()),
        ]),
    ];
    if let Yaml::List(items) = by_severity() {
        routes.extend(items);
    }
    map([
        ("receiver", s("ticket")),
        ("group_by", list([s("alertname"), s("job")])),
        ("group_wait", s("30s")),
        ("group_interval", s("5m")),
        ("repeat_interval", s("4h")),
        ("routes", Yaml::List(routes)),
    ])
}

/// The inhibition rules as YAML.
pub(crate) fn inhibit_rules() -> Yaml {
    list(inhibitions().into_iter().map(|(source, target, equal)| {
        map([
            ("source_matchers", list(source.into_iter().map(s))),
            ("target_matchers", list(target.into_iter().map(s))),
            ("equal", list(equal.into_iter().map(s))),
        ])
    }))
}

/// The receivers: webhooks to replace with the team's integrations.
pub(crate) fn receivers() -> Yaml {
    let webhook = |url: &str| list([map([("url", s(url)), ("send_resolved", plain(true))])]);
    list([
        map([("name", s("pager")), ("webhook_configs", webhook("http://pager.example.invalid/alerts"))]),
        map([("name", s("ticket")), ("webhook_configs", webhook("http://tickets.example.invalid/alerts"))]),
        map([("name", s("watchdog")), ("webhook_configs", webhook("http://deadmansswitch.example.invalid/ping"))]),
    ])
}

pub(crate) fn alertmanager_yml(model: &Model) -> String {
    map([("route", route()), ("inhibit_rules", inhibit_rules()), ("receivers", receivers())]).document(&format!(
        "{HEADER}\nPages of {} go to the pager, tickets to the ticket queue, the Watchdog to a dead man's switch. Replace \
         the three webhook URLs with your integrations.",
        model.service
    ))
}
