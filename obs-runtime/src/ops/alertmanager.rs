//! Who gets what, and what is held back while something louder fires: one routing tree and one
//! set of inhibitions, written as `alertmanager.yml` and as the Operator's `AlertmanagerConfig`.
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

/// One label matcher: `name op "value"`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Matcher {
    pub(crate) name: &'static str,
    pub(crate) op: &'static str,
    pub(crate) value: &'static str,
}

const fn m(name: &'static str, op: &'static str, value: &'static str) -> Matcher {
    Matcher { name, op, value }
}

impl Matcher {
    /// As `alertmanager.yml` writes it: `tier="page"`.
    fn text(&self) -> String {
        format!("{}{}\"{}\"", self.name, self.op, self.value)
    }
}

/// One node of the routing tree.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) receiver: Option<&'static str>,
    pub(crate) group_by: Vec<&'static str>,
    /// `(group_wait, repeat_interval)` where they differ from the parent's.
    pub(crate) timing: Option<(&'static str, &'static str)>,
    pub(crate) routes: Vec<Route>,
}

/// One inhibition: alerts matching `target` are held back while one matching `source` fires
/// with the same `equal` labels.
#[derive(Debug)]
pub(crate) struct Inhibition {
    pub(crate) source: Vec<Matcher>,
    pub(crate) target: Vec<Matcher>,
    pub(crate) equal: Vec<&'static str>,
}

/// The receivers, with the webhooks to replace by the team's integrations.
pub(crate) const RECEIVERS: [(&str, &str); 3] = [
    ("pager", "http://pager.example.invalid/alerts"),
    ("ticket", "http://tickets.example.invalid/alerts"),
    ("watchdog", "http://deadmansswitch.example.invalid/ping"),
];

/// The root's grouping and timing.
pub(crate) const ROOT_GROUP_BY: [&str; 2] = ["alertname", "job"];
pub(crate) const ROOT_TIMING: [&str; 3] = ["30s", "5m", "4h"];

fn leaf(matchers: Vec<Matcher>, receiver: &'static str) -> Route {
    Route { matchers, receiver: Some(receiver), group_by: Vec::new(), timing: None, routes: Vec::new() }
}

/// The routes under the root, which sends the rest to the ticket queue.
pub(crate) fn routes() -> Vec<Route> {
    let by_severity = || {
        vec![leaf(vec![m("severity", "=", "critical")], "pager"), leaf(vec![m("severity", "=", "warning")], "ticket")]
    };
    let mut routes = vec![
        Route { timing: Some(("0s", "5m")), ..leaf(vec![m("alertname", "=", "Watchdog")], "watchdog") },
        Route {
            matchers: vec![m("objective", "=~", ".+")],
            receiver: None,
            group_by: vec!["objective", "job"],
            timing: None,
            routes: by_severity(),
        },
    ];
    routes.extend(by_severity());
    routes
}

pub(crate) fn inhibitions() -> Vec<Inhibition> {
    vec![
        Inhibition {
            source: vec![m("tier", "=", "page")],
            target: vec![m("tier", "=", "ticket")],
            equal: vec!["objective", "job"],
        },
        Inhibition {
            source: vec![m("tier", "=", "page")],
            target: vec![m("objective", "=", ""), m("family", "=~", ".+")],
            equal: vec!["job", "family", "sli"],
        },
        Inhibition {
            source: vec![m("alertname", "=", "TargetDown")],
            target: vec![m("alertname", "=", "MetricsAbsent")],
            equal: vec!["job"],
        },
    ]
}

fn matchers_text(matchers: &[Matcher]) -> Yaml {
    list(matchers.iter().map(|m| s(m.text())))
}

fn route_yaml(route: &Route) -> Yaml {
    let mut node = map([("matchers", matchers_text(&route.matchers))]);
    if let Some(receiver) = route.receiver {
        node = node.with("receiver", s(receiver));
    }
    if !route.group_by.is_empty() {
        node = node.with("group_by", list(route.group_by.iter().copied().map(s)));
    }
    if let Some((wait, repeat)) = route.timing {
        node = node.with("group_wait", s(wait)).with("repeat_interval", s(repeat));
    }
    if !route.routes.is_empty() {
        node = node.with("routes", list(route.routes.iter().map(route_yaml)));
    }
    node
}

pub(crate) fn alertmanager_yml(model: &Model) -> String {
    let [wait, interval, repeat] = ROOT_TIMING;
    let route = map([
        ("receiver", s("ticket")),
        ("group_by", list(ROOT_GROUP_BY.map(s))),
        ("group_wait", s(wait)),
        ("group_interval", s(interval)),
        ("repeat_interval", s(repeat)),
        ("routes", list(routes().iter().map(route_yaml))),
    ]);
    let inhibit = list(inhibitions().iter().map(|rule| {
        map([
            ("source_matchers", matchers_text(&rule.source)),
            ("target_matchers", matchers_text(&rule.target)),
            ("equal", list(rule.equal.iter().copied().map(s))),
        ])
    }));
    let receivers = list(RECEIVERS.iter().map(|(name, url)| {
        map([("name", s(*name)), ("webhook_configs", list([map([("url", s(*url)), ("send_resolved", plain(true))])]))])
    }));
    map([("route", route), ("inhibit_rules", inhibit), ("receivers", receivers)]).document(&format!(
        "{HEADER}\nPages of {} go to the pager, tickets to the ticket queue, the Watchdog to a dead man's switch. Replace \
         the three webhook URLs with your integrations.",
        model.service
    ))
}
