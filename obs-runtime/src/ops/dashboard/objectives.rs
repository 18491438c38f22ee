//! A row per objective, computed from the raw series within `$instance` (the recorded rules are
//! per job): the SLI, the burn rate over each tier's long window with the tiers' thresholds
//! drawn, and the budget left over the objective's period.

use super::{Layout, SCOPE, Target};
use crate::ops::model::Model;
use crate::ops::objectives::ObjectiveModel;
use crate::ops::slo::{TIERS, num, period, ratio_expr};

/// The burn-rate thresholds drawn on the burn panel, fastest tier last.
fn burn_lines() -> Vec<(f64, &'static str)> {
    let colours = ["dark-red", "red", "orange", "yellow"];
    let mut lines: Vec<(f64, &str)> = TIERS.iter().map(|t| t.factor).zip(colours).collect();
    lines.reverse();
    lines
}

pub(super) fn row(layout: &mut Layout, model: &Model, objective: &ObjectiveModel) {
    let name = objective.name();
    let promises: Vec<String> = objective.slis().iter().map(|s| objective.promise(*s)).collect();
    layout.row(&format!("Objective {name}: {}", promises.join(", ")));
    let ratio = |sli, w: &str| ratio_expr(model, objective, sli, w, SCOPE);
    let mut sli: Vec<Target> = Vec::new();
    let mut burn: Vec<Target> = Vec::new();
    let mut left: Vec<Target> = Vec::new();
    for s in objective.slis() {
        let budget = num(objective.budget(s));
        sli.push((format!("1 - ({})", ratio(s, "$__rate_interval")), objective.promise(s)));
        for tier in TIERS {
            burn.push((format!("({}) / {budget}", ratio(s, tier.long)), format!("{}, {}", s.label(), tier.long)));
        }
        left.push((format!("1 - ({}) / {budget}", ratio(s, &period(objective))), s.label().to_owned()));
    }
    layout.panel(&format!("{name}: SLI"), "percentunit", &sli);
    layout.panel_with_lines(&format!("{name}: burn rate (1 = on budget)"), "short", &burn, &burn_lines());
    layout.panel(&format!("{name}: error budget left ({})", period(objective)), "percentunit", &left);
}
