//! The objectives' promtool cases. Every scenario holds a constant share of bad events from the
//! first minute, so every window reads the same ratio, exactly, in Prometheus 2 and 3 alike;
//! which tiers fire then depends only on the share against each tier's threshold and on how
//! long the scenario ran against each tier's `for`:
//!
//! - tier k fires alone at 1.5 times its threshold (under the next faster tier's), checked
//!   after its `for` and before the next slower tier's `for`;
//! - at 0.8 times its threshold it stays quiet, checked at the same time.
//!
//! The rules of every objective come from one generator, so every tier is checked on the first
//! objective with an error SLI and the first with a latency SLI (the slowest tier's case runs
//! three simulated hours); every other objective's SLIs are checked at the fast page's tier.
//!
//! Then one error at low traffic (quiet), the same ratio at high traffic (pages), a journey's
//! failures among another kind of event's successes, and Prometheus 3's `le` spelling.

use super::series::{Input, calls, durations};
use super::{Case, Check};
use crate::ops::alerts::{Alert, Watch};
use crate::ops::model::Model;
use crate::ops::objectives::{ObjectiveModel, Sli};
use crate::ops::slo::{TIERS, Tier, min_events, percent};

/// Minutes a scenario runs before its check: the tier's `for` and 8 minutes.
fn eval_minutes(tier: &Tier) -> u64 {
    duration_minutes(tier.for_) + 8
}

fn duration_minutes(text: &str) -> u64 {
    let (number, unit) = text.split_at(text.len() - 1);
    let n: u64 = number.parse().unwrap_or(0);
    match unit {
        "h" => n * 60,
        "d" => n * 24 * 60,
        _ => n,
    }
}

/// The index in `alerts` of the rule of `objective`'s `sli` at `tier`.
fn rule(alerts: &[Alert], objective: usize, sli: Sli, tier: usize) -> Option<usize> {
    alerts.iter().position(
        |a| matches!(a.watches, Watch::Burn { objective: o, sli: s, tier: t } if o == objective && s == sli && t == tier),
    )
}

/// The labels of a member's series, with a method for routes.
fn base(objective: &ObjectiveModel) -> Vec<(&'static str, String)> {
    let mut labels = objective.members.first().map(|m| m.labels.clone()).unwrap_or_default();
    if objective.covered.family.is_none() {
        labels.insert(0, ("method", "POST".to_owned()));
        if labels.len() == 1 {
            labels.push(("path", "/api/items".to_owned()));
        }
    }
    labels
}

/// `total` events a minute, a share `errors` of them failed and a share `slow` slower than the
/// latency threshold (when the objective has one).
fn traffic(
    model: &Model,
    objective: &ObjectiveModel,
    total: f64,
    errors: f64,
    slow: f64,
    float_le: bool,
) -> Vec<Input> {
    let base = base(objective);
    let mut inputs = calls(model, &objective.covered, &base, total * (1.0 - errors), total * errors);
    if let Some(latency) = objective.objective.latency_target() {
        let mut labels = base.clone();
        if objective.covered.family.is_none() {
            labels.push(("status_code", "200".to_owned()));
        }
        let (fast, duration) = (total * (1.0 - slow), objective.covered.duration);
        inputs.extend(durations(model, duration, &labels, latency.threshold_seconds, fast, total, float_le));
    }
    inputs
}

/// Events a minute, enough for every tier's minimum within its check's window.
fn rate_for(objective: &ObjectiveModel, sli: Sli) -> f64 {
    let needed = TIERS.iter().map(|t| min_events(objective, sli, t) as f64 * 3.0 / eval_minutes(t) as f64);
    needed.fold(1000.0, f64::max).ceil()
}

/// Both alert names of the SLI checked at `eval`, with the tiers that fire.
fn checks(alerts: &[Alert], index: usize, sli: Sli, eval: u64, firing: &[usize], value: f64) -> Vec<Check> {
    [true, false]
        .into_iter()
        .filter_map(|page| {
            let tiers: Vec<usize> = (0..TIERS.len()).filter(|t| TIERS[*t].page == page).collect();
            let first = rule(alerts, index, sli, tiers[0])?;
            let firing = tiers.iter().filter(|t| firing.contains(t)).filter_map(|t| rule(alerts, index, sli, *t));
            Some(Check {
                alert: alerts[first].name.clone(),
                eval_minutes: eval,
                firing: firing.map(|r| (r, value)).collect(),
            })
        })
        .collect()
}

/// Every tier of every objective's SLIs, firing and quiet, and the special cases.
pub(crate) fn cases(model: &Model, alerts: &[Alert]) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut every_tier = vec![Sli::Errors, Sli::Latency];
    for (index, objective) in model.objectives.iter().enumerate() {
        let slis = objective.slis();
        let total = slis.iter().map(|s| rate_for(objective, *s)).fold(0.0, f64::max);
        let tiers = if slis.iter().any(|s| every_tier.contains(s)) { TIERS.len() } else { 1 };
        every_tier.retain(|s| !slis.contains(s));
        for (k, tier) in TIERS.iter().enumerate().take(tiers) {
            let eval = eval_minutes(tier);
            for (factor, fires) in [(1.5, true), (0.8, false)] {
                // Both SLIs at the same multiple of their own threshold, in one scenario.
                let share = |sli| Some(factor * tier.factor * objective.budget(sli)).filter(|s| *s < 1.0);
                let firing = if fires { vec![k] } else { Vec::new() };
                let mut checked = Vec::new();
                let mut described = Vec::new();
                for sli in &slis {
                    if let Some(share) = share(*sli) {
                        checked.extend(checks(alerts, index, *sli, eval, &firing, share));
                        described.push(format!("{} {}", percent(share), sli.label()));
                    }
                }
                if checked.is_empty() {
                    continue;
                }
                cases.push(Case {
                    comment: format!(
                        "objective {}, {} tier at {}× over {} and {}: {} bad, {} each threshold, for {} minutes: {}",
                        objective.name(),
                        if tier.page { "page" } else { "ticket" },
                        tier.factor,
                        tier.long,
                        tier.short,
                        described.join(" and "),
                        if fires { "1.5 times" } else { "0.8 times" },
                        eval,
                        if fires { "this tier alone fires." } else { "quiet." }
                    ),
                    inputs: traffic(
                        model,
                        objective,
                        total,
                        share(Sli::Errors).unwrap_or(0.0),
                        share(Sli::Latency).unwrap_or(0.0),
                        false,
                    ),
                    checks: checked,
                });
            }
        }
        if !cases.iter().any(|c| c.comment.contains("12 events an hour")) {
            cases.extend(low_traffic(model, alerts, index, objective));
        }
    }
    cases.extend(diluted_journey(model, alerts));
    cases.extend(float_le(model, alerts));
    cases
}

/// One failure among 12 events an hour stays quiet in every tier; the same ratio at 1 000
/// events an hour pages. On the first objective it can be shown on (the rule is the same for all).
fn low_traffic(model: &Model, alerts: &[Alert], index: usize, objective: &ObjectiveModel) -> Vec<Case> {
    let share = 1.0 / 12.0;
    if share <= TIERS[0].factor * objective.budget(Sli::Errors) || objective.objective.min_events_set().is_some() {
        return Vec::new();
    }
    let mut quiet = calls(model, &objective.covered, &base(objective), 11.0 / 60.0, 0.0);
    if let Some(bad) = quiet.get_mut(1) {
        bad.values = super::series::Values::StepAt(30);
    }
    let busy = calls(model, &objective.covered, &base(objective), 1000.0 * 11.0 / 12.0 / 60.0, 1000.0 / 12.0 / 60.0);
    let name = objective.name();
    vec![
        Case {
            comment: format!(
                "objective {name}: 12 events an hour and one failure, at minute 30: its 1h ratio is 8.3 %, above the \
                 fast page's threshold, but the hour holds fewer events than the tier needs ({}): no page, no \
                 ticket (the ratio alerts paged on a single failure here).",
                min_events(objective, Sli::Errors, &TIERS[0])
            ),
            inputs: quiet,
            // Minute 34: the step is in the 5m window and the 1h ratio is 1 in 7, so without the
            // minimum the fast page would fire here (pending at 30, firing from 32).
            checks: checks(alerts, index, Sli::Errors, 34, &[], 0.0),
        },
        Case {
            comment: format!("objective {name}: the same 1-in-12 ratio at 1 000 events an hour: pages."),
            inputs: busy,
            checks: checks(alerts, index, Sli::Errors, eval_minutes(&TIERS[0]), &[0], share),
        },
    ]
}

/// A journey whose requests fail while the other kind of event it once counted goes well: the
/// objective on the routes reads the users' failure whole.
fn diluted_journey(model: &Model, alerts: &[Alert]) -> Vec<Case> {
    let Some((index, objective)) = model
        .objectives
        .iter()
        .enumerate()
        .find(|(_, o)| o.covered.family.is_none() && 0.1 > TIERS[0].factor * o.budget(Sli::Errors))
    else {
        return Vec::new();
    };
    // The other kind: a dependency's objective's calls where there is one (the journey's own
    // dependency, as payments' Horizon submissions), else the first catalogued call site's.
    let dependency = model.objectives.iter().find(|o| o.covered.family.is_some()).map(|o| (o.covered, base(o)));
    let dependency = dependency.or_else(|| {
        let subsystem = *model.subsystems.first()?;
        let site = model.catalogue.sites_of(subsystem).next()?;
        Some((crate::catalogue::Covered::of(subsystem), site.labels(&model.default_network)))
    });
    let Some((dependency, labels)) = dependency else { return Vec::new() };
    let mut inputs = traffic(model, objective, 100.0, 0.1, 0.0, false);
    inputs.extend(calls(model, &dependency, &labels, 100.0, 0.0));
    vec![Case {
        comment: format!(
            "objective {}: 10 % of its requests answer 500 while as many {} all succeed: the objective reads 10 % and \
             pages (it once added both kinds together, read 5 % and stayed quiet).",
            objective.name(),
            dependency.events()
        ),
        inputs,
        checks: checks(alerts, index, Sli::Errors, eval_minutes(&TIERS[0]), &[0], 0.1),
    }]
}

/// A latency SLI with an integral threshold, fed buckets spelt as Prometheus 3 stores them.
fn float_le(model: &Model, alerts: &[Alert]) -> Vec<Case> {
    let found = model
        .objectives
        .iter()
        .enumerate()
        .find(|(_, o)| o.objective.latency_target().is_some_and(|l| l.threshold_seconds.fract() == 0.0));
    let Some((index, objective)) = found else { return Vec::new() };
    let share = 1.5 * TIERS[0].factor * objective.budget(Sli::Latency);
    if share >= 1.0 {
        return Vec::new();
    }
    vec![Case {
        comment: format!(
            "objective {} (latency): buckets with `le` as Prometheus 3 stores them (`{:.1}`), {} slow: the fast page \
             fires, as with Prometheus 2's spelling.",
            objective.name(),
            objective.objective.latency_target().map_or(0.0, |l| l.threshold_seconds),
            percent(share)
        ),
        inputs: traffic(model, objective, rate_for(objective, Sli::Latency), 0.0, share, true),
        checks: checks(alerts, index, Sli::Latency, eval_minutes(&TIERS[0]), &[0], share),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tier_is_checked_after_its_for_and_before_the_next_slower_tiers() {
        for (k, tier) in TIERS.iter().enumerate() {
            let eval = eval_minutes(tier);
            assert!(eval > duration_minutes(tier.for_));
            if let Some(slower) = TIERS.get(k + 1) {
                assert!(eval < duration_minutes(slower.for_), "{tier:?}");
                // Firing at 1.5 times the threshold stays under the faster tier's.
                assert!(1.5 * slower.factor < tier.factor);
            }
        }
    }
}
