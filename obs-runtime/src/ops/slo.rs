//! Objectives as rules: each SLI's ratio over every window an alert reads, the number of events
//! in each long window, metadata rules (target, budget, burn rate, budget remaining over the
//! period), and the SRE workbook's four burn-rate tiers, each quiet below a minimum number of
//! events. Every recorded series carries an `objective` label.

use super::alerts::{Alert, Section, Severity, Topic, Watch};
use super::model::{Model, scoped};
use super::objectives::{ObjectiveModel, Sli};
use super::rules::{Group, Record, find};

/// One burn-rate tier: alert when both windows burn the budget `factor` times too fast.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tier {
    pub(crate) factor: f64,
    pub(crate) long: &'static str,
    pub(crate) short: &'static str,
    pub(crate) for_: &'static str,
    pub(crate) page: bool,
}

/// The SRE workbook's tiers (and sloth's and Pyrra's): 2 % of a 30-day budget in an hour and 5
/// % in six hours page; 10 % in a day and 10 % in three days make a ticket. The `for` of each
/// is Pyrra's.
pub(crate) const TIERS: [Tier; 4] = [
    Tier { factor: 14.4, long: "1h", short: "5m", for_: "2m", page: true },
    Tier { factor: 6.0, long: "6h", short: "30m", for_: "15m", page: true },
    Tier { factor: 3.0, long: "1d", short: "2h", for_: "1h", page: false },
    Tier { factor: 1.0, long: "3d", short: "6h", for_: "3h", page: false },
];

/// Windows recorded in the objective's main group, evaluated at Prometheus's interval.
const SHORT_WINDOWS: [&str; 5] = ["5m", "30m", "1h", "2h", "6h"];
/// The day-long windows and the period are evaluated once a minute: well inside Prometheus's
/// five-minute lookback, so their series never go stale between evaluations, and a range of
/// days is read 4 times less often than at the default 15 s.
pub(crate) const LONG_INTERVAL: &str = "1m";

/// A number as PromQL and YAML read it: no float noise (`1 - 0.999` is `0.001`).
pub(crate) fn num(value: f64) -> String {
    let rounded = (value * 1e12).round() / 1e12;
    rounded.to_string()
}

/// The objective's period as a PromQL duration: `30d`.
pub(crate) fn period(objective: &ObjectiveModel) -> String {
    format!("{}d", objective.objective.period())
}

/// The windows of the objective's once-a-minute group: a day, three days and its period.
fn long_windows(objective: &ObjectiveModel) -> Vec<String> {
    let mut windows = vec!["1d".to_owned(), "3d".to_owned()];
    let period = period(objective);
    if !windows.contains(&period) {
        windows.push(period);
    }
    windows
}

/// The fewest events a tier's long window must hold: the objective's own minimum, else as many
/// as it takes for one bad event alone to stay within the tier's threshold, so a single
/// failure at low traffic never fires it.
pub(crate) fn min_events(objective: &ObjectiveModel, sli: Sli, tier: &Tier) -> u64 {
    match objective.objective.min_events_set() {
        Some(events) => u64::from(events),
        None => (1.0 / (tier.factor * objective.budget(sli)) - 1e-9).ceil() as u64,
    }
}

/// `sum by (job) (f(a{…}[w]) or f(b{…}[w]))` over every member of the objective, on `metric`
/// (`suffix` `_bucket`, `_count` or none) with `extra` matchers.
fn union(
    model: &Model,
    objective: &ObjectiveModel,
    scope: &str,
    f: &str,
    w: &str,
    suffix: &str,
    extra: &[String],
) -> String {
    let metric = if suffix.is_empty() { objective.covered.total } else { objective.covered.duration };
    let name = format!("{}{suffix}", model.name(metric));
    let parts: Vec<String> = objective
        .members
        .iter()
        .map(|member| {
            let mut matchers = vec![model.label_matchers(&member.labels, metric)];
            matchers.extend(extra.iter().cloned());
            let refs: Vec<&str> = matchers.iter().map(String::as_str).collect();
            format!("{f}({}[{w}])", scoped(&name, scope, &refs))
        })
        .collect();
    format!("sum by (job) ({})", parts.join(" or "))
}

/// The SLI's bad share over `w` within `scope` (`job="…"` for rules; the dashboard's variables
/// for panels): the error ratio, or the share of events slower than the latency threshold.
pub(crate) fn ratio_expr(model: &Model, objective: &ObjectiveModel, sli: Sli, w: &str, scope: &str) -> String {
    match (sli, objective.objective.latency_target()) {
        (Sli::Latency, Some(latency)) => {
            // The threshold is a bound: checked at install and by the generator.
            let le = model.le(objective.covered.duration, latency.threshold_seconds).unwrap_or_default();
            let fast = union(model, objective, scope, "rate", w, "_bucket", &[le]);
            let count = union(model, objective, scope, "rate", w, "_count", &[]);
            format!("1 - {fast} / {count}")
        }
        _ => {
            let all = union(model, objective, scope, "rate", w, "", &[]);
            let bad = union(model, objective, scope, "rate", w, "", &[model.bad_matcher(&objective.covered)]);
            // No bad series yet is a ratio of 0, not no answer.
            format!("({bad} or {all} * 0) / {all}")
        }
    }
}

fn labelled(record: String, expr: String, labels: Vec<(&'static str, String)>) -> Record {
    Record { record, expr, labels }
}

/// `objective:<ratio>:rate<w>{objective, job}` and what it reads for one selector.
fn selector(record: &str, objective: &ObjectiveModel, model: &Model, extra: &[(&str, &str)]) -> String {
    let mut matchers = vec![format!("objective=\"{}\"", objective.name())];
    matchers.extend(extra.iter().map(|(k, v)| format!("{k}=\"{v}\"")));
    let refs: Vec<&str> = matchers.iter().map(String::as_str).collect();
    scoped(record, &model.job_scope(), &refs)
}

/// The rules of one window: each SLI's ratio and burn rate, and the events when a tier's long
/// window is `w`.
fn window_rules(model: &Model, objective: &ObjectiveModel, w: &str) -> Vec<Record> {
    let name = objective.name();
    let tag = || vec![("objective", name.to_owned())];
    let mut rules = Vec::new();
    for sli in objective.slis() {
        let record = format!("objective:{}:rate{w}", sli.ratio());
        rules.push(labelled(record.clone(), ratio_expr(model, objective, sli, w, &model.job_scope()), tag()));
        let mut labels = tag();
        labels.push(("sli", sli.label().to_owned()));
        rules.push(labelled(
            format!("objective:burn_rate:rate{w}"),
            format!("{} / {}", selector(&record, objective, model, &[]), num(objective.budget(sli))),
            labels,
        ));
    }
    if TIERS.iter().any(|t| t.long == w) {
        let events = union(model, objective, &model.job_scope(), "increase", w, "", &[]);
        rules.push(labelled(format!("objective:events:increase{w}"), events, tag()));
    }
    rules
}

/// Two groups per objective: the windows up to six hours at Prometheus's interval, and the
/// day-long windows, the period and the metadata once a minute.
pub(crate) fn groups(model: &Model) -> Vec<Group> {
    let mut groups = Vec::new();
    for objective in &model.objectives {
        let name = objective.name();
        let rules = SHORT_WINDOWS.iter().flat_map(|w| window_rules(model, objective, w)).collect();
        groups.push(Group { name: format!("{}-objective-{name}", model.service), interval: None, rules });
        let mut rules: Vec<Record> =
            long_windows(objective).iter().flat_map(|w| window_rules(model, objective, w)).collect();
        rules.extend(metadata(model, objective));
        groups.push(Group {
            name: format!("{}-objective-{name}-period", model.service),
            interval: Some(LONG_INTERVAL),
            rules,
        });
    }
    groups
}

/// What a dashboard or another rule reads instead of repeating the arithmetic.
fn metadata(model: &Model, objective: &ObjectiveModel) -> Vec<Record> {
    let name = objective.name();
    let base = || vec![("job", model.job.clone()), ("objective", name.to_owned())];
    let mut rules =
        vec![labelled("objective:period:days".into(), format!("vector({})", objective.objective.period()), base())];
    for sli in objective.slis() {
        let mut labels = base();
        labels.push(("sli", sli.label().to_owned()));
        rules.push(labelled(
            "objective:target:ratio".into(),
            format!("vector({})", num(objective.target(sli))),
            labels.clone(),
        ));
        rules.push(labelled(
            "objective:error_budget:ratio".into(),
            format!("vector({})", num(objective.budget(sli))),
            labels.clone(),
        ));
        // The expression carries the job: the rule adds what tells it from its siblings.
        labels.remove(0);
        let ratio = selector(&format!("objective:{}:rate{}", sli.ratio(), period(objective)), objective, model, &[]);
        rules.push(labelled(
            "objective:budget_remaining:ratio".into(),
            format!("1 - {ratio} / {}", num(objective.budget(sli))),
            labels,
        ));
    }
    rules
}

fn camel(name: &str) -> String {
    name.split('_').filter(|w| !w.is_empty()).map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

/// The alert name of an SLI's page or ticket tiers: `PaymentsErrorBudgetBurnPage`.
pub(crate) fn alert_name(objective: &ObjectiveModel, sli: Sli, page: bool) -> String {
    format!("{}{}BudgetBurn{}", camel(objective.name()), sli.title(), if page { "Page" } else { "Ticket" })
}

/// Every objective's burn-rate alerts: per SLI, a page and a ticket, each with two tiers.
pub(crate) fn alerts(model: &Model, groups: &[Group]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for (index, objective) in model.objectives.iter().enumerate() {
        for sli in objective.slis() {
            for (tier_index, tier) in TIERS.iter().enumerate() {
                alerts.push(burn_alert(model, groups, index, objective, sli, tier_index, tier));
            }
        }
    }
    alerts
}

fn burn_alert(
    model: &Model,
    groups: &[Group],
    index: usize,
    objective: &ObjectiveModel,
    sli: Sli,
    tier_index: usize,
    tier: &Tier,
) -> Alert {
    let name = objective.name();
    let budget = objective.budget(sli);
    let limit = num(tier.factor * budget);
    let events = min_events(objective, sli, tier);
    let ratio = |w: &str| selector(&format!("objective:{}:rate{w}", sli.ratio()), objective, model, &[]);
    let count = selector(&format!("objective:events:increase{}", tier.long), objective, model, &[]);
    let expr = format!("{} > {limit} and {} > {limit} and {count} >= {events}", ratio(tier.long), ratio(tier.short));
    let what = objective.covered.events();
    let bad = match sli {
        Sli::Errors => "failed".to_owned(),
        Sli::Latency => format!(
            "took longer than {} s",
            num(objective.objective.latency_target().map_or(0.0, |l| l.threshold_seconds))
        ),
    };
    let days = f64::from(objective.objective.period()) / tier.factor;
    let alert_name = alert_name(objective, sli, tier.page);
    let find_rules = |record: &str| find(groups, record, name);
    let reads = [
        find_rules(&format!("objective:{}:rate{}", sli.ratio(), tier.long)),
        find_rules(&format!("objective:{}:rate{}", sli.ratio(), tier.short)),
        find_rules(&format!("objective:events:increase{}", tier.long)),
    ]
    .concat();
    Alert {
        name: alert_name,
        expr,
        for_: tier.for_,
        severity: if tier.page { Severity::Page } else { Severity::Ticket },
        labels: vec![
            ("tier", if tier.page { "page" } else { "ticket" }.to_owned()),
            ("objective", name.to_owned()),
            ("sli", sli.label().to_owned()),
            ("family", objective.covered.slug().to_owned()),
            ("long_window", tier.long.to_owned()),
            ("short_window", tier.short.to_owned()),
        ],
        summary: format!(
            "Objective {name} ({}): {{{{ $value | humanizePercentage }}}} of {what} {bad} over the last {}, {}× its budget",
            objective.promise(sli),
            tier.long,
            num(tier.factor)
        ),
        description: format!(
            "Over both the last {} and the last {}, more than {} of the {what} of objective {name} in {{{{ $labels.job }}}} \
             {bad} (the budget is {}), and the {} held at least {events} of them. At this pace the {}-day budget is \
             spent in {} days.",
            tier.long,
            tier.short,
            percent(tier.factor * budget),
            percent(budget),
            tier.long,
            objective.objective.period(),
            num((days * 10.0).round() / 10.0)
        ),
        watches: Watch::Burn { objective: index, sli, tier: tier_index },
        section: Section {
            meaning: format!(
                "The share of {what} of objective `{name}` ({}) that {bad} is above {} times its budget of {} over both \
                 windows of a tier: {}. A tier also needs a minimum number of events in its long window (the \
                 objective's `min_events`, else as many as it takes for one bad event alone to stay under the \
                 tier's threshold), so one failure at low traffic never fires it. {}",
                objective.named_by.join(", "),
                if tier.page { "14.4 or 6" } else { "3 or 1" },
                percent(budget),
                if tier.page { "1h and 5m at 14.4×, 6h and 30m at 6×" } else { "1d and 2h at 3×, 3d and 6h at 1×" },
                objective.objective.describe()
            ),
            reads,
            topic: Topic::Objective(objective.covered),
            spans: Vec::new(),
            mitigation: if tier.page {
                format!(
                    "Find which of the objective's members carries the bad events (the dashboard's \"{}\" row and \
                     the {} rows), then mitigate that dependency or roll back the deploy that started it. The budget \
                     left is on the objective's row: a page that burns it out is an incident to review.",
                    format_args!("Objective {name}"),
                    objective.covered.events()
                )
            } else {
                "Plan the fix within days: find the member and the kind of error that burn the budget, and weigh \
                 the budget left against the changes planned this period."
                    .to_owned()
            },
        },
    }
}

/// A ratio as a percentage a person reads: `0.072` is `7.2 %`.
pub(crate) fn percent(ratio: f64) -> String {
    format!("{} %", num(ratio * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{Covered, Objective};

    fn objective(o: Objective) -> ObjectiveModel {
        ObjectiveModel { objective: o, covered: Covered::HTTP, members: Vec::new(), named_by: Vec::new() }
    }

    #[test]
    fn one_bad_event_alone_never_fires_a_tier_by_default() {
        let payments = objective(Objective::new("payments", 99.5));
        let needed: Vec<u64> = TIERS.iter().map(|t| min_events(&payments, Sli::Errors, t)).collect();
        assert_eq!(needed, [14, 34, 67, 200]);
        for (tier, events) in TIERS.iter().zip(&needed) {
            // One bad event among the minimum is at or under the threshold; among one fewer, above it.
            assert!(1.0 / *events as f64 <= tier.factor * 0.005 + 1e-12);
            assert!(1.0 / (*events - 1) as f64 > tier.factor * 0.005);
        }
        let set = objective(Objective::new("payments", 99.5).min_events(50));
        assert!(TIERS.iter().all(|t| min_events(&set, Sli::Errors, t) == 50));
    }
}
