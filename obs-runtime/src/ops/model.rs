//! What the generators read: the catalogue and the config turned into final metric names,
//! label matchers and objectives with the series that make them up.

use crate::catalogue::{
    self, Catalogue, Covered, HTTP_REQUEST_DURATION, HTTP_REQUESTS_TOTAL, Metric, Objective, Status, Subsystem,
};
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
    /// Label matchers selecting the member's series, e.g. `operation="SELECT",table="users"`.
    pub(crate) matchers: String,
    /// The matcher of its bad outcomes, e.g. `status="error"` or `status_code=~"5.."`.
    pub(crate) bad: String,
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
    pub(crate) prefix: String,
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
        catalogue::check_objectives(&catalogue, &metrics.objectives, &metrics.buckets)?;
        let subsystems = Subsystem::ALL.into_iter().filter(|s| catalogue.sites_of(*s).next().is_some()).collect();
        let has_websockets = catalogue.sites().iter().any(|s| s.kind() == catalogue::SiteKind::Connections);
        let objectives = objectives(&catalogue, &metrics.objectives, &metrics.stellar_network)?;
        Ok(Self {
            service: config.service().name.clone(),
            job,
            prefix: metrics.prefix.clone(),
            buckets: metrics.buckets.clone(),
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
        format!("{}{}", self.prefix, metric.name)
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

/// The matcher of a family's bad outcomes.
pub(crate) fn bad_matcher(covered: &Covered) -> String {
    if covered.total.name == HTTP_REQUESTS_TOTAL.name {
        return "status_code=~\"5..\"".to_owned();
    }
    let family = Subsystem::ALL.map(Subsystem::family).into_iter().find(|f| f.total.name == covered.total.name);
    let status = family.map_or("error", |f| f.statuses[Status::Error.index()]);
    format!("status=\"{status}\"")
}

fn objectives(
    catalogue: &Catalogue,
    family_objectives: &[(String, &'static Objective)],
    default_network: &str,
) -> Result<Vec<ObjectiveModel>, InitError> {
    let http = Covered { total: &HTTP_REQUESTS_TOTAL, duration: &HTTP_REQUEST_DURATION };
    let mut named: Vec<(&'static Objective, Member, String)> = Vec::new();
    for site in catalogue.sites() {
        let (Some(objective), Some(subsystem)) = (site.objective_of(), site.subsystem()) else { continue };
        let family = subsystem.family();
        let matchers: Vec<String> = family
            .site_labels()
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let value = site.label_values().get(i).copied().unwrap_or(default_network);
                format!("{label}=\"{value}\"")
            })
            .collect();
        let covered = Covered { total: family.total, duration: family.duration };
        let member = Member { covered, matchers: matchers.join(","), bad: bad_matcher(&covered) };
        named.push((objective, member, format!("`{}`", site.function())));
    }
    for route in catalogue.routes() {
        let Some(objective) = route.objective else { continue };
        let member = Member { covered: http, matchers: format!("path=\"{}\"", route.path), bad: bad_matcher(&http) };
        named.push((objective, member, format!("route `{}`", route.path)));
    }
    for (family, objective) in family_objectives {
        let covered = catalogue::family_named(family).ok_or_else(|| InitError::InvalidObjective {
            objective: objective.name().to_owned(),
            problem: format!("it names the family {family:?}, which obs does not record"),
            fix: "name a family obs records".to_owned(),
        })?;
        let member = Member { covered, matchers: String::new(), bad: bad_matcher(&covered) };
        named.push((objective, member, format!("every series of `{}`", covered.total.name)));
    }
    let mut models: Vec<ObjectiveModel> = Vec::new();
    for (objective, member, by) in named {
        let model = match models.iter_mut().find(|m| m.objective.name() == objective.name()) {
            Some(model) => model,
            None => {
                models.push(ObjectiveModel { objective, members: Vec::new(), named_by: Vec::new() });
                models.last_mut().expect("just pushed")
            }
        };
        if !model
            .members
            .iter()
            .any(|m| m.matchers == member.matchers && m.covered.total.name == member.covered.total.name)
        {
            model.members.push(member);
        }
        if !model.named_by.contains(&by) {
            model.named_by.push(by);
        }
    }
    models.sort_by_key(|m| m.objective.name());
    Ok(models)
}
