//! `alerts_test.yml` for `promtool test rules`: for every alert, synthetic series that must fire
//! it, with the annotations Prometheus renders, and series that must leave it quiet; for every
//! objective, each burn-rate tier firing alone and staying quiet under its threshold, one error
//! at low traffic, and a journey diluted by another kind of event; and the `le` spelling of
//! Prometheus 3.

mod burn;
mod saturation;
mod series;

use series::{Input, Values, calls, durations, humanize_duration, render};

use super::alerts::{Alert, Watch};
use super::model::Model;
use super::rule_files::{HEADER, labels};
use super::yaml::{Yaml, commented, list, map, plain, s};
use crate::catalogue::{Covered, HTTP_CLIENT_REQUEST_DURATION, HTTP_REQUEST_DURATION};

/// The instance the tests' series come from.
pub(crate) const INSTANCE: &str = "app:9464";

/// What one alert name must do at one time: the alerts it fires, each with its value.
pub(crate) struct Check {
    pub(crate) alert: String,
    pub(crate) eval_minutes: u64,
    /// (the alert rule, the value of its expression) of each firing alert.
    pub(crate) firing: Vec<(usize, f64)>,
}

/// A synthetic scenario and what is checked in it.
pub(crate) struct Case {
    pub(crate) comment: String,
    pub(crate) inputs: Vec<Input>,
    pub(crate) checks: Vec<Check>,
}

impl Case {
    /// Whether it can share a promtool test with others: its series only add to theirs (a
    /// case that needs series to be missing cannot).
    fn additive(&self) -> bool {
        !self.inputs.is_empty()
    }
}

/// One promtool test of many cases whose series do not touch one another: promtool evaluates
/// every rule of the service at every minute of every test, so fewer tests run much faster.
fn merged(cases: Vec<Case>) -> Case {
    let mut all = Case { comment: String::new(), inputs: Vec::new(), checks: Vec::new() };
    for case in cases {
        all.comment.push_str(&format!("{}\n", case.comment));
        for input in case.inputs {
            if !all.inputs.iter().any(|i| i.series == input.series) {
                all.inputs.push(input);
            }
        }
        all.checks.extend(case.checks);
    }
    all.comment = all.comment.trim_end().to_owned();
    all
}

fn http_base() -> Vec<(&'static str, String)> {
    vec![("method", "GET".to_owned()), ("path", "/api/items".to_owned())]
}

/// One case: `alert` (rule `index`) fires with `value` at `eval` minutes, or stays quiet.
fn single(comment: &str, inputs: Vec<Input>, alert: &Alert, index: usize, eval: u64, value: Option<f64>) -> Case {
    Case {
        comment: format!("{}: {comment}", alert.name),
        inputs,
        checks: vec![Check {
            alert: alert.name.clone(),
            eval_minutes: eval,
            firing: value.map(|v| vec![(index, v)]).unwrap_or_default(),
        }],
    }
}

/// The cases of the service's own alerts (objectives' are in [`burn`]).
fn cases(model: &Model, alerts: &[Alert], index: usize) -> Vec<Case> {
    let alert = &alerts[index];
    let one = |comment: &str, inputs, eval, value| single(comment, inputs, alert, index, eval, value);
    match &alert.watches {
        Watch::HttpErrors => vec![
            one("10 % of requests fail: pages.", calls(model, &Covered::HTTP, &http_base(), 90.0, 10.0), 30, Some(0.1)),
            one(
                "1.8 % of requests fail: quiet. Pins MentorsMind's HighErrorRate, which divided each 5xx series by \
                 itself and fired with value 1 here.",
                calls(model, &Covered::HTTP, &http_base(), 982.0, 18.0),
                30,
                None,
            ),
        ],
        Watch::HttpLatency => {
            let mut base = http_base();
            base.push(("status_code", "200".to_owned()));
            let bounds = model.bounds(&HTTP_REQUEST_DURATION);
            let above = bounds.iter().copied().find(|b| *b > 1.0).unwrap_or(2.0);
            // Every request in (1 s, next bound]: histogram_quantile interpolates linearly.
            let p95 = 1.0 + (above - 1.0) * 0.95;
            vec![
                one(
                    "every request between 1 s and the next bucket: pages.",
                    durations(model, &HTTP_REQUEST_DURATION, &base, 1.0, 0.0, 100.0, false),
                    30,
                    Some(p95),
                ),
                one(
                    "every request under 0.25 s: quiet.",
                    durations(model, &HTTP_REQUEST_DURATION, &base, 0.25, 100.0, 100.0, false),
                    30,
                    None,
                ),
            ]
        }
        Watch::Subsystem(subsystem) => {
            // The subsystem is in the model because a site of it is catalogued.
            let Some(site) = model.catalogue.sites_of(*subsystem).next() else { return Vec::new() };
            let base = site.labels(&model.default_network);
            let covered = Covered::of(*subsystem);
            vec![
                one("half the calls fail: fires.", calls(model, &covered, &base, 50.0, 50.0), 30, Some(0.5)),
                one("0.5 % of calls fail: quiet.", calls(model, &covered, &base, 199.0, 1.0), 30, None),
            ]
        }
        Watch::ClientErrors => {
            let client = |status: &str, per_minute| Input {
                series: series::series(
                    model,
                    &HTTP_CLIENT_REQUEST_DURATION,
                    "_count",
                    &[
                        ("method", "POST".to_owned()),
                        ("server_address", "api.example.com".to_owned()),
                        ("status_code", status.to_owned()),
                    ],
                ),
                values: Values::Rising(per_minute),
            };
            vec![
                one(
                    "a third of the requests time out and a sixth answer 503: fires.",
                    vec![client("200", 50.0), client("error", 30.0), client("503", 20.0)],
                    30,
                    Some(0.5),
                ),
                one("1 % answer 503: quiet.", vec![client("200", 99.0), client("503", 1.0)], 30, None),
            ]
        }
        Watch::TargetDown => {
            let up = |value| Input {
                series: format!("up{{job=\"{}\",instance=\"{INSTANCE}\"}}", model.job),
                values: Values::Constant(value),
            };
            vec![
                one("the target is down: pages.", vec![up(0.0)], 10, Some(0.0)),
                one("the target is up: quiet.", vec![up(1.0)], 10, None),
            ]
        }
        Watch::Absent => {
            let anchor = format!("{}{{job=\"{}\",instance=\"{INSTANCE}\"}}", model.anchor_metric(), model.job);
            let up = format!("up{{job=\"{}\",instance=\"{INSTANCE}\"}}", model.job);
            let other = format!("up{{job=\"another-service\",instance=\"{INSTANCE}\"}}");
            vec![
                one(
                    "Prometheus scrapes another job only: fires.",
                    vec![Input { series: other, values: Values::Constant(1.0) }],
                    15,
                    Some(1.0),
                ),
                one(
                    "the target is up and exposes obs's metrics: quiet.",
                    vec![
                        Input { series: up, values: Values::Constant(1.0) },
                        Input { series: anchor, values: Values::Constant(1_700_000_000.0) },
                    ],
                    15,
                    None,
                ),
            ]
        }
        Watch::Watchdog => vec![one("it always fires.", Vec::new(), 1, Some(1.0))],
        Watch::Burn { .. } => Vec::new(),
        _ => saturation::cases(model, alerts, index),
    }
}

/// The expected alert of rule `index` with `value`, as promtool compares it.
fn expected(model: &Model, alerts: &[Alert], index: usize, value: f64) -> Yaml {
    let alert = &alerts[index];
    let mut exp: Vec<(String, Yaml)> = Vec::new();
    if !alert.labels.iter().any(|(k, _)| *k == "job") {
        exp.push(("job".into(), s(&model.job)));
    }
    let own = saturation::labels(model, &alert.watches);
    for (name, value) in &own {
        if !alert.labels.iter().any(|(k, _)| *k == name.as_str()) {
            exp.push((name.clone(), s(value)));
        }
    }
    exp.extend(labels(alert).into_iter().map(|(k, v)| (k.to_owned(), s(v))));
    let mut all = vec![("job".to_owned(), model.job.clone())];
    all.extend(own);
    let fill = |text: &str| render(text, &all, value);
    map([
        ("exp_labels", Yaml::Map(exp)),
        (
            "exp_annotations",
            map([
                ("summary", s(fill(&alert.summary))),
                ("description", s(fill(&alert.description))),
                ("runbook_url", s(model.runbook_link(&alert.name))),
            ]),
        ),
    ])
}

fn test_yaml(model: &Model, alerts: &[Alert], case: &Case) -> Yaml {
    let length = case.checks.iter().map(|c| c.eval_minutes).max().unwrap_or(0) + 5;
    let inputs = case.inputs.iter().map(|i| map([("series", s(&i.series)), ("values", s(i.values(length)))]));
    let checks = case.checks.iter().map(|check| {
        let exp = list(check.firing.iter().map(|(index, value)| expected(model, alerts, *index, *value)));
        map([("eval_time", s(format!("{}m", check.eval_minutes))), ("alertname", s(&check.alert)), ("exp_alerts", exp)])
    });
    let test = map([("interval", s("1m")), ("input_series", list(inputs)), ("alert_rule_test", list(checks))]);
    commented(&case.comment, test)
}

pub(crate) fn alerts_test(model: &Model, alerts: &[Alert]) -> String {
    let mut tests: Vec<Yaml> = Vec::new();
    let (mut firing, mut quiet, mut alone) = (Vec::new(), Vec::new(), Vec::new());
    for index in 0..alerts.len() {
        for case in cases(model, alerts, index) {
            match (case.additive(), case.checks.iter().any(|c| !c.firing.is_empty())) {
                (false, _) => alone.push(case),
                (true, true) => firing.push(case),
                (true, false) => quiet.push(case),
            }
        }
    }
    for case in [merged(firing), merged(quiet)].into_iter().chain(alone) {
        tests.push(test_yaml(model, alerts, &case));
    }
    for case in burn::cases(model, alerts) {
        tests.push(test_yaml(model, alerts, &case));
    }
    tests.extend(apdex_cases(model));
    map([
        ("rule_files", list([s("recording-rules.yml"), s("alerts.yml")])),
        ("evaluation_interval", s("1m")),
        ("tests", list(tests)),
    ])
    .document(&format!("{HEADER}\nRun: promtool test rules alerts_test.yml"))
}

/// Half the requests within T, the rest within the tolerated bound: Apdex (50 + 100) / 2 / 100,
/// with `le` spelt as Prometheus 2 writes it and as Prometheus 3 stores it (`1.0`).
fn apdex_cases(model: &Model) -> Vec<Yaml> {
    let Some((t, tolerated)) = model.apdex_bounds() else { return Vec::new() };
    let mut base = http_base();
    base.push(("status_code", "200".to_owned()));
    [false, true]
        .into_iter()
        .map(|float_le| {
            let mut inputs = calls(model, &Covered::HTTP, &http_base(), 100.0, 0.0);
            inputs.extend(durations(model, &HTTP_REQUEST_DURATION, &base, t, 50.0, 100.0, float_le));
            let inputs = inputs.iter().map(|i| map([("series", s(&i.series)), ("values", s(i.values(15)))]));
            let check = map([
                ("expr", s("round(job:http_apdex:rate5m, 0.01)")),
                ("eval_time", s("10m")),
                (
                    "exp_samples",
                    list([map([
                        (
                            "labels",
                            s(format!("{{job=\"{}\",threshold_seconds=\"{}\"}}", model.job, super::slo::num(t))),
                        ),
                        ("value", plain(super::slo::num(0.75))),
                    ])]),
                ),
            ]);
            let test =
                map([("interval", s("1m")), ("input_series", list(inputs)), ("promql_expr_test", list([check]))]);
            let comment = if float_le {
                format!(
                    "job:http_apdex:rate5m with `le` as Prometheus 3 stores it (an integral bound is `1.0`): T = {}, \
                     tolerated within {}.",
                    humanize_duration(t),
                    humanize_duration(tolerated)
                )
            } else {
                format!(
                    "job:http_apdex:rate5m reads the buckets of T = {} and of {} (4T, or the largest bound under it), \
                     buckets obs has (the guide's Apdex read le=\"2.0\", which does not exist, and so was empty).",
                    humanize_duration(t),
                    humanize_duration(tolerated)
                )
            };
            commented(comment, test)
        })
        .collect()
}
