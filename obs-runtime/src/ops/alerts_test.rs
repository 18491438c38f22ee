//! `alerts_test.yml` for `promtool test rules`: for every alert, synthetic series that must page
//! and series that must stay quiet. Three quiet cases pin bugs of the documents obs replaces.

use super::model::{Model, outcomes};
use super::rule_files::HEADER;
use super::rules::{Alert, Watch, num};
use super::yaml::{Yaml, commented, list, map, s};
use crate::catalogue::{Covered, HTTP_REQUEST_DURATION, Metric};

/// One input series: its selector and per-minute increase.
struct Input {
    series: String,
    per_minute: u64,
}

/// A synthetic scenario: what the series do and when the alert is checked.
struct Case {
    comment: String,
    inputs: Vec<Input>,
    eval_minutes: u64,
    fires: bool,
}

/// A series of `metric` (`suffix`: `_bucket`, `_count` or none) with `labels` by catalogue
/// names, as the service exposes it.
fn series(model: &Model, metric: &Metric, suffix: &str, labels: &[(&str, String)]) -> String {
    let matchers: Vec<String> = labels.iter().map(|(k, v)| model.matcher(metric, k, "=", v)).collect();
    let refs: Vec<&str> = matchers.iter().map(String::as_str).collect();
    model.series(&format!("{}{suffix}", model.name(metric)), &refs)
}

/// Calls of `covered` at `good` and `bad` per minute.
fn calls(model: &Model, covered: &Covered, base: &[(&str, String)], good: u64, bad: u64) -> Vec<Input> {
    let [ok, failed] = outcomes(covered);
    let with = |(k, v): (&'static str, &'static str)| {
        let mut labels = base.to_vec();
        labels.push((k, v.to_owned()));
        series(model, covered.total, "", &labels)
    };
    vec![Input { series: with(ok), per_minute: good }, Input { series: with(failed), per_minute: bad }]
}

/// A histogram whose `fast` of `count` observations per minute fall at or under `threshold`
/// and the rest in the bucket above it.
fn durations(
    model: &Model,
    duration: &'static Metric,
    base: &[(&str, String)],
    threshold: f64,
    fast: u64,
    count: u64,
) -> Vec<Input> {
    let mut les: Vec<(f64, String)> = model.bounds(duration).iter().map(|b| (*b, b.to_string())).collect();
    les.push((f64::INFINITY, "+Inf".to_owned()));
    let mut inputs: Vec<Input> = les
        .into_iter()
        .map(|(bound, le)| {
            let mut labels = base.to_vec();
            labels.push(("le", le));
            let per_minute = if bound < threshold * (1.0 - 1e-9) {
                0
            } else if bound <= threshold * (1.0 + 1e-9) {
                fast
            } else {
                count
            };
            Input { series: series(model, duration, "_bucket", &labels), per_minute }
        })
        .collect();
    inputs.push(Input { series: series(model, duration, "_count", base), per_minute: count });
    inputs
}

fn http_base() -> Vec<(&'static str, String)> {
    vec![("method", "GET".to_owned()), ("path", "/api/items".to_owned())]
}

fn cases(model: &Model, alert: &Alert) -> Vec<Case> {
    let case =
        |comment: &str, inputs, eval_minutes, fires| Case { comment: comment.to_owned(), inputs, eval_minutes, fires };
    match &alert.watches {
        Watch::HttpErrors => vec![
            case("10 % of requests fail: pages.", calls(model, &Covered::HTTP, &http_base(), 90, 10), 30, true),
            case(
                "1.8 % of requests fail: quiet. Pins MentorsMind's HighErrorRate, which divided each 5xx series by \
                 itself and fired with value 1 here.",
                calls(model, &Covered::HTTP, &http_base(), 982, 18),
                30,
                false,
            ),
        ],
        Watch::HttpLatency => {
            let mut base = http_base();
            base.push(("status_code", "200".to_owned()));
            vec![
                case(
                    "p95 between 1 s and the next bucket: pages.",
                    durations(model, &HTTP_REQUEST_DURATION, &base, 1.0, 0, 100),
                    30,
                    true,
                ),
                case(
                    "every request under 0.25 s: quiet.",
                    durations(model, &HTTP_REQUEST_DURATION, &base, 0.25, 100, 100),
                    30,
                    false,
                ),
            ]
        }
        Watch::Subsystem(subsystem) => {
            // The subsystem is in the model because a site of it is catalogued.
            let Some(site) = model.catalogue.sites_of(*subsystem).next() else { return Vec::new() };
            let base = site.labels(&model.default_network);
            let covered = Covered::of(*subsystem);
            vec![
                case("half the calls fail: pages.", calls(model, &covered, &base, 50, 50), 30, true),
                case("0.5 % of calls fail: quiet.", calls(model, &covered, &base, 199, 1), 30, false),
            ]
        }
        Watch::TargetDown => {
            let up = |value| Input {
                series: format!("up{{job=\"{}\",instance=\"app:9464\"}}", model.job),
                per_minute: value,
            };
            vec![
                case("the target is down: pages.", vec![up(0)], 10, true),
                case("the target is up: quiet.", vec![up(1)], 10, false),
            ]
        }
        Watch::Burn { objective, latency, fast } => {
            let objective = &model.objectives[*objective];
            let Some(member) = objective.members.first() else { return Vec::new() };
            let base = member.labels.clone();
            let (budget, factor) = match objective.objective.latency_target() {
                Some(l) if *latency => (1.0 - l.percent / 100.0, if *fast { 14.4 } else { 6.0 }),
                _ => (objective.objective.error_budget(), if *fast { 14.4 } else { 6.0 }),
            };
            // A window longer than the data still gives the ratio of what there is: the cases need
            // only outlast the alert's `for`.
            let eval = if *fast { 20 } else { 40 };
            let page_share = (1.0 + factor * budget) / 2.0;
            let mut cases = Vec::new();
            if page_share < 1.0 {
                let bad = (100.0 * page_share).ceil() as u64;
                let inputs = if *latency {
                    let threshold = objective.objective.latency_target().map_or(1.0, |l| l.threshold_seconds);
                    durations(model, member.covered.duration, &base, threshold, 100 - bad, 100)
                } else {
                    calls(model, &member.covered, &base, 100 - bad, bad)
                };
                cases.push(case(
                    &format!("{bad} % bad, above {factor}× the budget over both windows: pages."),
                    inputs,
                    eval,
                    true,
                ));
            }
            let total = (10.0 / budget).ceil() as u64;
            let inputs = if *latency {
                let threshold = objective.objective.latency_target().map_or(1.0, |l| l.threshold_seconds);
                durations(model, member.covered.duration, &base, threshold, total - 1, total)
            } else {
                calls(model, &member.covered, &base, total - 1, 1)
            };
            let comment = "a tenth of the budget burnt: quiet. Every rule the alert reads is defined (the guide's SLO \
                           alerts read rate1h/rate30m/rate6h ratios it never recorded).";
            cases.push(case(comment, inputs, eval, false));
            cases
        }
    }
}

fn expected(model: &Model, alert: &Alert) -> Yaml {
    let mut labels: Vec<(String, Yaml)> = vec![("job".into(), s(&model.job))];
    if let Watch::TargetDown = alert.watches {
        labels.push(("instance".into(), s("app:9464")));
    }
    labels.extend(super::rule_files::labels(model, alert).into_iter().map(|(k, v)| (k.to_owned(), s(v))));
    let fill = |text: &str| text.replace("{{ $labels.job }}", &model.job).replace("{{ $labels.instance }}", "app:9464");
    map([
        ("exp_labels", Yaml::Map(labels)),
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

pub(crate) fn alerts_test(model: &Model, alerts: &[Alert]) -> String {
    let mut tests = Vec::new();
    for alert in alerts {
        for case in cases(model, alert) {
            let length = case.eval_minutes + 5;
            let inputs = case.inputs.iter().map(|input| {
                let values = if input.series.starts_with("up{") {
                    format!("{}x{length}", input.per_minute)
                } else {
                    format!("0+{}x{length}", input.per_minute)
                };
                map([("series", s(&input.series)), ("values", s(values))])
            });
            let exp = if case.fires { list([expected(model, alert)]) } else { list([]) };
            let check = map([
                ("eval_time", s(format!("{}m", case.eval_minutes))),
                ("alertname", s(&alert.name)),
                ("exp_alerts", exp),
            ]);
            let test = map([("interval", s("1m")), ("input_series", list(inputs)), ("alert_rule_test", list([check]))]);
            tests.push(commented(format!("{}: {}", alert.name, case.comment), test));
        }
    }
    if let Some(apdex) = apdex_case(model) {
        tests.push(apdex);
    }
    map([
        ("rule_files", list([s("recording-rules.yml"), s("alerts.yml")])),
        ("evaluation_interval", s("1m")),
        ("tests", list(tests)),
    ])
    .document(&format!("{HEADER}\nRun: promtool test rules alerts_test.yml"))
}

/// Half the requests under T = 0.25 s, the rest under 4T = 1 s: Apdex (50 + 100) / 2 / 100.
fn apdex_case(model: &Model) -> Option<Yaml> {
    let (t, four_t) = (model.le(&HTTP_REQUEST_DURATION, 0.25)?, model.le(&HTTP_REQUEST_DURATION, 1.0)?);
    let mut base = http_base();
    base.push(("status_code", "200".to_owned()));
    let mut inputs = calls(model, &Covered::HTTP, &http_base(), 100, 0);
    inputs.extend(durations(model, &HTTP_REQUEST_DURATION, &base, 0.25, 50, 100));
    let inputs =
        inputs.iter().map(|i| map([("series", s(&i.series)), ("values", s(format!("0+{}x15", i.per_minute)))]));
    let check = map([
        ("expr", s("round(job:http_apdex:rate5m, 0.01)")),
        ("eval_time", s("10m")),
        (
            "exp_samples",
            list([map([
                ("labels", s(format!("{{job=\"{}\"}}", model.job))),
                ("value", super::yaml::plain(num(0.75))),
            ])]),
        ),
    ]);
    let test = map([("interval", s("1m")), ("input_series", list(inputs)), ("promql_expr_test", list([check]))]);
    Some(commented(
        format!(
            "job:http_apdex:rate5m reads le=\"{t}\" and le=\"{}\", buckets obs has (the guide's Apdex read le=\"2.0\", \
             which does not exist, and so was empty).",
            four_t
        ),
        test,
    ))
}
