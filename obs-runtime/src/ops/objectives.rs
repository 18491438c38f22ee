//! Each objective with the series it covers: one family (checked at install), the label sets
//! of its members, and who names it. A member whose series another catalogued call site feeds
//! too is refused unless the objective says it covers shared series.

use crate::catalogue::{Catalogue, Covered, Objective, family_named};
use crate::error::InitError;

/// The series of the objective's family that count towards it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Member {
    /// The labels selecting the member's series by catalogue names, e.g. `operation`, `table`;
    /// none for a whole family.
    pub(crate) labels: Vec<(&'static str, String)>,
}

/// What an objective measures: its error ratio, or the share of events slower than its
/// latency threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Sli {
    Errors,
    Latency,
}

impl Sli {
    /// The `sli` label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Sli::Errors => "errors",
            Sli::Latency => "latency",
        }
    }

    /// The ratio's recording rule name part: `error_ratio`, `slow_ratio`.
    pub(crate) fn ratio(self) -> &'static str {
        match self {
            Sli::Errors => "error_ratio",
            Sli::Latency => "slow_ratio",
        }
    }

    /// In alert names: `Error`, `Latency`.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Sli::Errors => "Error",
            Sli::Latency => "Latency",
        }
    }
}

/// An objective and every series it covers.
#[derive(Clone, Debug)]
pub(crate) struct ObjectiveModel {
    pub(crate) objective: Objective,
    /// The one family its members belong to.
    pub(crate) covered: Covered,
    pub(crate) members: Vec<Member>,
    /// Where it is named: function paths and route templates, for the runbook.
    pub(crate) named_by: Vec<String>,
}

impl ObjectiveModel {
    pub(crate) fn name(&self) -> &'static str {
        self.objective.name()
    }

    /// Its SLIs: errors always, latency with a latency target.
    pub(crate) fn slis(&self) -> Vec<Sli> {
        let mut slis = vec![Sli::Errors];
        if self.objective.latency_target().is_some() {
            slis.push(Sli::Latency);
        }
        slis
    }

    /// The share of events an SLI allows to be bad.
    pub(crate) fn budget(&self, sli: Sli) -> f64 {
        match (sli, self.objective.latency_target()) {
            (Sli::Latency, Some(latency)) => 1.0 - latency.percent / 100.0,
            _ => self.objective.error_budget(),
        }
    }

    /// The SLI's target as a ratio: 0.995.
    pub(crate) fn target(&self, sli: Sli) -> f64 {
        1.0 - self.budget(sli)
    }

    /// The target in words: `99.5 % succeed`, `99 % within 2.5 s`.
    pub(crate) fn promise(&self, sli: Sli) -> String {
        let num = super::slo::num;
        match (sli, self.objective.latency_target()) {
            (Sli::Latency, Some(l)) => format!("{} % within {} s", num(l.percent), num(l.threshold_seconds)),
            _ => format!("{} % succeed", num(self.objective.success_percent())),
        }
    }
}

/// Every objective the catalogue and the config name, by name, with its members.
pub(crate) fn build(
    catalogue: &Catalogue,
    family_objectives: &[(String, Objective)],
    default_network: &str,
) -> Result<Vec<ObjectiveModel>, InitError> {
    let mut named: Vec<(Objective, Covered, Member, String)> = Vec::new();
    for site in catalogue.sites() {
        let (Some(objective), Some(subsystem)) = (site.objective_of(), site.subsystem()) else { continue };
        let member = Member { labels: site.labels(default_network) };
        named.push((*objective, Covered::of(subsystem), member, format!("`{}`", site.function())));
    }
    for route in catalogue.routes() {
        let Some(objective) = route.objective else { continue };
        let member = Member { labels: vec![("path", route.path.clone())] };
        named.push((objective, Covered::HTTP, member, format!("route `{}`", route.path)));
    }
    // `check_objectives` has refused unknown families and mixed kinds already.
    for (family, objective) in family_objectives {
        let Some(covered) = family_named(family) else { continue };
        named.push((
            *objective,
            covered,
            Member { labels: Vec::new() },
            format!("every series of `{}`", covered.total.name),
        ));
    }
    let mut models: Vec<ObjectiveModel> = Vec::new();
    for (objective, covered, member, by) in named {
        let i = match models.iter().position(|m| m.objective.name() == objective.name()) {
            Some(i) => i,
            None => {
                models.push(ObjectiveModel { objective, covered, members: Vec::new(), named_by: Vec::new() });
                models.len() - 1
            }
        };
        let model = &mut models[i];
        if !model.members.contains(&member) {
            model.members.push(member);
        }
        if !model.named_by.contains(&by) {
            model.named_by.push(by);
        }
    }
    // A whole family covers every member it has anyway.
    for model in &mut models {
        if model.members.iter().any(|m| m.labels.is_empty()) {
            model.members.retain(|m| m.labels.is_empty());
        }
        check_shared(catalogue, model, default_network)?;
    }
    models.sort_by_key(|m| m.objective.name());
    Ok(models)
}

/// Refuses a member call site whose series another catalogued site, outside the objective,
/// feeds too: the objective would count that site's calls as its own.
fn check_shared(catalogue: &Catalogue, model: &ObjectiveModel, default_network: &str) -> Result<(), InitError> {
    let Some(subsystem) = model.covered.subsystem() else { return Ok(()) };
    if model.objective.shares_series() || model.members.iter().any(|m| m.labels.is_empty()) {
        return Ok(());
    }
    let name = model.objective.name();
    for member in &model.members {
        let sites: Vec<_> =
            catalogue.sites_of(subsystem).filter(|s| s.labels(default_network) == member.labels).collect();
        let (inside, outside): (Vec<_>, Vec<_>) =
            sites.into_iter().partition(|s| s.objective_of().is_some_and(|o| o.name() == name));
        let (Some(site), Some(other)) = (inside.first(), outside.first()) else { continue };
        let labels: Vec<String> = member.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let (file, line) = other.location();
        return Err(InitError::InvalidObjective {
            objective: name.to_owned(),
            problem: format!(
                "its member `{}` records the series {{{}}}, which `{}` ({file}:{line}) records too, outside the \
                 objective, so the objective would count that function's calls as its own",
                site.function(),
                labels.join(","),
                other.function()
            ),
            fix: format!(
                "give one of the two its own labels (e.g. a distinct `operation` or `table`), add `objective = …` to \
                 `{}` too, or declare the objective with `.covers_shared_series()` if it is meant to cover both",
                other.function()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{CallSite, SiteKind, Subsystem};

    const PROFILES: Objective = Objective::new("profiles", 99.9);
    const SHARED: Objective = Objective::new("profiles", 99.9).covers_shared_series();
    static FIND: CallSite = CallSite::new(SiteKind::Calls(Subsystem::Db), &["SELECT", "users"], "SELECT users")
        .at("shop::db", "find_user", "src/db.rs", 10)
        .objective(&PROFILES);
    static LIST: CallSite = CallSite::new(SiteKind::Calls(Subsystem::Db), &["SELECT", "users"], "SELECT users").at(
        "shop::db",
        "list_users",
        "src/db.rs",
        20,
    );
    static FIND_SHARED: CallSite = CallSite::new(SiteKind::Calls(Subsystem::Db), &["SELECT", "users"], "SELECT users")
        .at("shop::db", "find_user", "src/db.rs", 10)
        .objective(&SHARED);
    static COUNT: CallSite = CallSite::new(SiteKind::Calls(Subsystem::Db), &["SELECT", "users_count"], "SELECT users")
        .at("shop::db", "count_users", "src/db.rs", 30);

    #[test]
    fn a_member_whose_series_another_site_feeds_is_refused_with_both_sites_and_the_fixes() {
        let catalogue = Catalogue::from_parts(vec![&FIND, &LIST], Vec::new());
        let error = build(&catalogue, &[], "testnet").unwrap_err().to_string();
        assert!(error.starts_with("objective `profiles`: its member `shop::db::find_user` records the series {operation=\"SELECT\",table=\"users\"}, which `shop::db::list_users` (src/db.rs:20) records too"), "{error}");
        assert!(error.contains("give one of the two its own labels"), "{error}");
        assert!(error.contains("add `objective = …` to `shop::db::list_users` too"), "{error}");
        assert!(error.contains("`.covers_shared_series()`"), "{error}");
    }

    #[test]
    fn shared_series_are_accepted_when_said_and_distinct_labels_are_not_shared() {
        let catalogue = Catalogue::from_parts(vec![&FIND_SHARED, &LIST], Vec::new());
        let models = build(&catalogue, &[], "testnet").unwrap();
        assert_eq!(models[0].members.len(), 1);
        let catalogue = Catalogue::from_parts(vec![&FIND, &COUNT], Vec::new());
        assert_eq!(build(&catalogue, &[], "testnet").unwrap()[0].named_by, ["`shop::db::find_user`"]);
    }
}
