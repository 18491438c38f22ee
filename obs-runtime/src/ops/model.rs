//! What the generators read: the catalogue and the config turned into final metric names,
//! label matchers and objectives with the series that make them up.

use crate::catalogue::{self, Catalogue, Covered, Metric, Names, Objective, Status, Subsystem};
use crate::config::{Config, ScrapeSettings};
use crate::error::InitError;

/// The rate windows the rules define: the burn-rate alerts' pairs, and the budget's month.
pub(crate) const WINDOWS: [&str; 4] = ["5m", "30m", "1h", "6h"];
/// The error budget's period.
pub(crate) const BUDGET_WINDOW: &str = "30d";

/// The series of one family that count towards an objective.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) covered: Covered,
    /// The labels selecting the member's series by catalogue names, e.g. `operation`, `table`;
    /// none for a whole family.
    pub(crate) labels: Vec<(&'static str, String)>,
}

/// An objective and every series it covers.
#[derive(Clone, Debug)]
pub(crate) struct ObjectiveModel {
    pub(crate) objective: &'static Objective,
    pub(crate) members: Vec<Member>,
    /// Where it is named: function paths and route templates, for the runbook.
    pub(crate) named_by: Vec<String>,
}

/// Everything the artefacts are generated from.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) service: String,
    /// The Prometheus job the rules select: by default the service's name, as the generated
    /// `prometheus.yml` names its scrape job.
    pub(crate) job: String,
    /// The final metric and label names.
    pub(crate) names: Names,
    /// The `network` of Stellar sites that name none (`STELLAR_NETWORK`).
    pub(crate) default_network: String,
    pub(crate) buckets: Vec<(String, Vec<f64>)>,
    pub(crate) scrape: ScrapeSettings,
    pub(crate) catalogue: Catalogue,
    pub(crate) subsystems: Vec<Subsystem>,
    pub(crate) has_websockets: bool,
    pub(crate) objectives: Vec<ObjectiveModel>,
    pub(crate) runbook_url: String,
}

impl Model {
    pub(crate) fn new(
        config: &Config,
        catalogue: Catalogue,
        job: String,
        runbook_url: String,
    ) -> Result<Self, InitError> {
        let metrics = config.metrics();
        let names = metrics.names()?;
        let buckets = metrics.buckets_by_catalogue_name();
        let family_objectives = metrics.objectives_by_catalogue_name();
        catalogue::check_objectives(&catalogue, &family_objectives, &buckets)?;
        let subsystems = Subsystem::ALL.into_iter().filter(|s| catalogue.sites_of(*s).next().is_some()).collect();
        let has_websockets = catalogue.sites().iter().any(|s| s.kind() == catalogue::SiteKind::Connections);
        let objectives = objectives(&catalogue, &family_objectives, &metrics.stellar_network);
        Ok(Self {
            service: config.service().name.clone(),
            job,
            names,
            default_network: metrics.stellar_network.clone(),
            buckets,
            scrape: metrics.scrape.clone(),
            catalogue,
            subsystems,
            has_websockets,
            objectives,
            runbook_url,
        })
    }

    /// A metric's name as the service exposes it.
    pub(crate) fn name(&self, metric: &Metric) -> String {
        self.names.name(metric.name).into_owned()
    }

    /// The name of `metric`'s label `label` (a catalogue name) as the service exposes it.
    pub(crate) fn label<'a>(&'a self, metric: &Metric, label: &'a str) -> &'a str {
        self.names.label(metric.name, label)
    }

    /// Whether the service records `metric` (it may be switched off).
    pub(crate) fn records(&self, metric: &Metric) -> bool {
        !self.names.is_disabled(metric.name)
    }

    /// `label` of `metric` (a catalogue name) matched as `op` `value`: `route="/x"`.
    pub(crate) fn matcher(&self, metric: &Metric, label: &str, op: &str, value: &str) -> String {
        format!("{}{op}\"{value}\"", self.label(metric, label))
    }

    /// A member's labels as PromQL matchers on `metric`: `operation="SELECT",table="users"`.
    pub(crate) fn member_matchers(&self, member: &Member, metric: &Metric) -> String {
        let matchers: Vec<String> = member.labels.iter().map(|(k, v)| self.matcher(metric, k, "=", v)).collect();
        matchers.join(",")
    }

    /// The matcher of a family's bad outcomes on its counter: any 5xx for HTTP, the error
    /// `status` otherwise.
    pub(crate) fn bad_matcher(&self, covered: &Covered) -> String {
        match covered.family {
            None => self.matcher(covered.total, "status_code", "=~", "5.."),
            Some(_) => {
                let [_, (label, value)] = outcomes(covered);
                self.matcher(covered.total, label, "=", value)
            }
        }
    }

    /// `name{job="…",matchers}`: one metric of this service's job.
    pub(crate) fn series(&self, metric: &str, matchers: &[&str]) -> String {
        let mut all = vec![format!("job=\"{}\"", self.job)];
        all.extend(matchers.iter().filter(|m| !m.is_empty()).map(|m| (*m).to_owned()));
        format!("{metric}{{{}}}", all.join(","))
    }

    /// A histogram's bucket bounds after the config's overrides.
    pub(crate) fn bounds(&self, metric: &'static Metric) -> &[f64] {
        catalogue::bounds_of(metric, &self.buckets)
    }

    /// The `le` label value obs writes for `bound` of `metric`; `None` when it is not one of
    /// its bounds, so no expression can name a bucket that does not exist.
    pub(crate) fn le(&self, metric: &'static Metric, bound: f64) -> Option<String> {
        self.bounds(metric).iter().find(|b| (*b - bound).abs() <= bound * 1e-9).map(|b| b.to_string())
    }

    pub(crate) fn runbook_link(&self, alert: &str) -> String {
        format!("{}#{}", self.runbook_url, alert.to_lowercase())
    }
}

/// The label (by catalogue name) and value of a family's good and bad outcome: `status_code` 200
/// and 500 for HTTP, the family's success and error `status` for the macros'.
pub(crate) fn outcomes(covered: &Covered) -> [(&'static str, &'static str); 2] {
    match covered.family {
        None => [("status_code", "200"), ("status_code", "500")],
        Some(family) => {
            [("status", family.statuses[Status::Success.index()]), ("status", family.statuses[Status::Error.index()])]
        }
    }
}

fn objectives(
    catalogue: &Catalogue,
    family_objectives: &[(String, &'static Objective)],
    default_network: &str,
) -> Vec<ObjectiveModel> {
    let mut named: Vec<(&'static Objective, Member, String)> = Vec::new();
    for site in catalogue.sites() {
        let (Some(objective), Some(subsystem)) = (site.objective_of(), site.subsystem()) else { continue };
        let member = Member { covered: Covered::of(subsystem), labels: site.labels(default_network) };
        named.push((objective, member, format!("`{}`", site.function())));
    }
    for route in catalogue.routes() {
        let Some(objective) = route.objective else { continue };
        let member = Member { covered: Covered::HTTP, labels: vec![("path", route.path.clone())] };
        named.push((objective, member, format!("route `{}`", route.path)));
    }
    // `check_objectives` has refused unknown families already.
    for (family, objective) in family_objectives {
        let Some(covered) = catalogue::family_named(family) else { continue };
        let member = Member { covered, labels: Vec::new() };
        named.push((objective, member, format!("every series of `{}`", covered.total.name)));
    }
    let mut models: Vec<ObjectiveModel> = Vec::new();
    for (objective, member, by) in named {
        let i = match models.iter().position(|m| m.objective.name() == objective.name()) {
            Some(i) => i,
            None => {
                models.push(ObjectiveModel { objective, members: Vec::new(), named_by: Vec::new() });
                models.len() - 1
            }
        };
        let model = &mut models[i];
        let same = |m: &Member| m.labels == member.labels && m.covered.total.name == member.covered.total.name;
        if !model.members.iter().any(same) {
            model.members.push(member);
        }
        if !model.named_by.contains(&by) {
            model.named_by.push(by);
        }
    }
    models.sort_by_key(|m| m.objective.name());
    models
}
