//! What the generators read: the catalogue and the config turned into final metric names,
//! label matchers and objectives with the series that make them up.

use super::objectives::{self, ObjectiveModel};
use crate::catalogue::{self, Catalogue, Covered, HTTP_REQUEST_DURATION, Metric, Names, Status, Subsystem};
use crate::config::{Config, ScrapeSettings};
use crate::error::InitError;

/// The Apdex threshold T when no HTTP objective names a latency: a quarter of a second.
pub(crate) const DEFAULT_APDEX_SECONDS: f64 = 0.25;

/// A queue of the service.
#[derive(Clone, Debug)]
pub(crate) struct QueueModel {
    pub(crate) name: String,
    /// Observed (`queue::ObservedQueue`): its depth and oldest job's age are exported.
    pub(crate) observed: bool,
    /// The oldest job's declared limit, in seconds.
    pub(crate) max_age: Option<f64>,
    /// `#[queue_job]` sites run its jobs: their wait, retries and give-ups are exported.
    pub(crate) has_sites: bool,
}

fn queues(catalogue: &Catalogue) -> Vec<QueueModel> {
    let mut queues: Vec<QueueModel> = Vec::new();
    for site in catalogue.sites_of(Subsystem::Queue) {
        let Some(name) = site.label_values().first() else { continue };
        if !queues.iter().any(|q| q.name == *name) {
            queues.push(QueueModel { name: (*name).to_owned(), observed: false, max_age: None, has_sites: true });
        }
    }
    for entry in catalogue.queues() {
        let max_age = entry.max_age.map(|d| d.as_secs_f64());
        match queues.iter_mut().find(|q| q.name == entry.name) {
            Some(queue) => {
                queue.observed = true;
                queue.max_age = max_age;
            }
            None => queues.push(QueueModel { name: entry.name.clone(), observed: true, max_age, has_sites: false }),
        }
    }
    queues
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
    /// Whether error series carry `error_type` (`Config::error_type_label`).
    pub(crate) error_type_label: bool,
    pub(crate) objectives: Vec<ObjectiveModel>,
    /// The queues: every name a `#[queue_job]` site or an observed queue gives, with what is
    /// known of each.
    pub(crate) queues: Vec<QueueModel>,
    /// Where alerts link to: the runbook's address, each alert adding `#<alert>`.
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
        let objectives = objectives::build(&catalogue, &family_objectives, &metrics.stellar_network)?;
        let subsystems = Subsystem::ALL.into_iter().filter(|s| catalogue.sites_of(*s).next().is_some()).collect();
        let has_websockets = catalogue.sites().iter().any(|s| s.kind() == catalogue::SiteKind::Connections);
        let queues = queues(&catalogue);
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
            error_type_label: metrics.error_type_label,
            objectives,
            queues,
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

    /// Whether the service's binary emits or registers `metric`: the families of what its
    /// catalogue holds (routes, call sites, clients, pools, queues), and what every install
    /// registers (process and runtime metrics, obs's own counters, the build).
    pub(crate) fn emits(&self, metric: &Metric) -> bool {
        use catalogue::*;
        let is = |other: &Metric| std::ptr::eq(metric, other) || metric.name == other.name;
        let family = |subsystem: Subsystem| {
            let f = subsystem.family();
            self.subsystems.contains(&subsystem) && (is(f.total) || is(f.duration))
        };
        if Subsystem::ALL.into_iter().any(|s| is(s.family().total) || is(s.family().duration)) {
            return Subsystem::ALL.into_iter().any(family);
        }
        if [&HTTP_REQUESTS_TOTAL, &HTTP_REQUEST_DURATION, &HTTP_REQUESTS_IN_FLIGHT, &ERRORS_TOTAL].into_iter().any(is) {
            return self.has_routes();
        }
        if is(&HTTP_CLIENT_REQUEST_DURATION) {
            return self.has_client();
        }
        if is(&WS_CONNECTIONS) || is(&WS_MESSAGES_TOTAL) {
            return self.has_websockets;
        }
        let pool = [&DB_CLIENT_CONNECTIONS, &DB_CLIENT_CONNECTIONS_MAX, &DB_CLIENT_CONNECTION_PENDING];
        if pool.into_iter().chain([&DB_CLIENT_CONNECTION_WAIT, &DB_CLIENT_CONNECTION_TIMEOUTS]).any(is) {
            return !self.pools().is_empty();
        }
        if [&QUEUE_DEPTH, &QUEUE_OLDEST_JOB_AGE, &QUEUE_READ_FAILURES].into_iter().any(is) {
            return self.queues.iter().any(|q| q.observed);
        }
        if [&QUEUE_JOB_WAIT, &QUEUE_JOB_RETRIES, &QUEUE_JOBS_DEAD_LETTERED].into_iter().any(is) {
            return self.queues.iter().any(|q| q.has_sites);
        }
        true
    }

    /// The connection pools the service observes, by name.
    pub(crate) fn pools(&self) -> &[String] {
        self.catalogue.pools()
    }

    /// A process metric, when the service records it.
    pub(crate) fn process_metric(&self, metric: &'static Metric) -> Option<&'static Metric> {
        Some(metric).filter(|m| self.records(m))
    }

    /// Whether the service serves HTTP routes obs records.
    pub(crate) fn has_routes(&self) -> bool {
        !self.catalogue.routes().is_empty()
    }

    /// Whether the service makes outgoing HTTP requests obs records (`client::SendTraced`).
    pub(crate) fn has_client(&self) -> bool {
        self.catalogue.has_client() && self.records(&catalogue::HTTP_CLIENT_REQUEST_DURATION)
    }

    /// A metric every instance of the service exposes from its start, whatever it does: the
    /// `absent()` alert watches it.
    pub(crate) fn anchor_metric(&self) -> String {
        match self.process_metric(&catalogue::PROCESS_START_TIME_SECONDS) {
            Some(metric) => self.name(metric),
            None => self.name(&catalogue::SERIES_OVERFLOW_TOTAL),
        }
    }

    /// `label` of `metric` (a catalogue name) matched as `op` `value`: `route="/x"`.
    pub(crate) fn matcher(&self, metric: &Metric, label: &str, op: &str, value: &str) -> String {
        format!("{}{op}\"{value}\"", self.label(metric, label))
    }

    /// Labels (catalogue names) as PromQL matchers on `metric`: `operation="SELECT",table="users"`.
    pub(crate) fn label_matchers(&self, labels: &[(&'static str, String)], metric: &Metric) -> String {
        let matchers: Vec<String> = labels.iter().map(|(k, v)| self.matcher(metric, k, "=", &escape(v))).collect();
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

    /// The rules' scope: this service's job.
    pub(crate) fn job_scope(&self) -> String {
        format!("job=\"{}\"", self.job)
    }

    /// `name{job="…",matchers}`: one metric of this service's job.
    pub(crate) fn series(&self, metric: &str, matchers: &[&str]) -> String {
        scoped(metric, &self.job_scope(), matchers)
    }

    /// A histogram's bucket bounds after the config's overrides.
    pub(crate) fn bounds(&self, metric: &'static Metric) -> &[f64] {
        catalogue::bounds_of(metric, &self.buckets)
    }

    /// The `le` matcher of `bound` of `metric`, or `None` when it is not one of its bounds, so
    /// no expression can name a bucket that does not exist. An integral bound matches both
    /// spellings, `1` (Prometheus 2) and `1.0` (Prometheus 3 normalises classic histograms'
    /// `le` to a float), as Pyrra does: `le=~"1(\\.0)?"`.
    pub(crate) fn le(&self, metric: &'static Metric, bound: f64) -> Option<String> {
        let found = self.bounds(metric).iter().find(|b| (*b - bound).abs() <= bound * 1e-9)?;
        Some(le_matcher(*found))
    }

    /// The largest bound of `metric` at or under `seconds`.
    pub(crate) fn bound_at_most(&self, metric: &'static Metric, seconds: f64) -> Option<f64> {
        self.bounds(metric).iter().copied().rfind(|b| *b <= seconds * (1.0 + 1e-9))
    }

    /// The Apdex threshold T: the tightest latency threshold of an objective on HTTP requests,
    /// else [`DEFAULT_APDEX_SECONDS`].
    pub(crate) fn apdex_seconds(&self) -> f64 {
        self.objectives
            .iter()
            .filter(|o| o.covered.is(&Covered::HTTP))
            .filter_map(|o| o.objective.latency_target())
            .map(|l| l.threshold_seconds)
            .fold(None, |min: Option<f64>, t| Some(min.map_or(t, |m| m.min(t))))
            .unwrap_or(DEFAULT_APDEX_SECONDS)
    }

    /// The HTTP histogram's buckets the Apdex rule reads: T and the largest bound at or under
    /// 4T (4T itself when it is one), so no request slower than 4T counts as tolerated.
    pub(crate) fn apdex_bounds(&self) -> Option<(f64, f64)> {
        let t = self.apdex_seconds();
        self.le(&HTTP_REQUEST_DURATION, t)?;
        let tolerated = self.bound_at_most(&HTTP_REQUEST_DURATION, 4.0 * t).filter(|b| *b > t)?;
        Some((t, tolerated))
    }

    /// The link to `alert`'s section of the runbook.
    pub(crate) fn runbook_link(&self, alert: &str) -> String {
        format!("{}#{}", self.runbook_url, alert.to_lowercase())
    }
}

/// `name{scope,matchers}`.
pub(crate) fn scoped(metric: &str, scope: &str, matchers: &[&str]) -> String {
    let mut all = vec![scope.to_owned()];
    all.extend(matchers.iter().filter(|m| !m.is_empty()).map(|m| (*m).to_owned()));
    format!("{metric}{{{}}}", all.join(","))
}

/// A label value inside a PromQL double-quoted string.
pub(crate) fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `le="0.25"`, or `le=~"1(\\.0)?"` for an integral bound (see [`Model::le`]).
pub(crate) fn le_matcher(bound: f64) -> String {
    if bound.fract() == 0.0 { format!("le=~\"{bound}(\\\\.0)?\"") } else { format!("le=\"{bound}\"") }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_bounds_match_both_spellings_of_le() {
        assert_eq!(le_matcher(1.0), "le=~\"1(\\\\.0)?\"");
        assert_eq!(le_matcher(0.25), "le=\"0.25\"");
        assert_eq!(le_matcher(30.0), "le=~\"30(\\\\.0)?\"");
    }
}
