//! What the live page shows, computed from the exposition's samples and the catalogue: every
//! call site with its calls, errors by kind, p50 and p95 since start and latest exemplar; the
//! routes; the objectives' ratios since start against their targets; pools, queues, and obs's
//! own export and series-cap counters.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Context;
use super::samples::Sample;
use crate::catalogue::{
    self, Catalogue, Covered, DB_CLIENT_CONNECTION_PENDING, DB_CLIENT_CONNECTIONS, DB_CLIENT_CONNECTIONS_MAX,
    ERROR_TYPE_LABEL, HTTP_REQUESTS_TOTAL, Metric, Names, QUEUE_DEPTH, QUEUE_OLDEST_JOB_AGE, SERIES_OVERFLOW_TOTAL,
    SPANS_DROPPED_TOTAL, SPANS_EXPORT_FAILURES_TOTAL, Status, TRACES_DECIDED_EARLY_TOTAL,
};
use crate::ops::objectives::{self, ObjectiveModel, Sli};

/// Everything the page shows, as `/obs.json` returns it.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    pub(crate) service: String,
    pub(crate) version: String,
    pub(crate) revision: String,
    pub(crate) uptime_seconds: f64,
    pub(crate) sites: Vec<SiteFigures>,
    pub(crate) routes: Vec<RouteFigures>,
    pub(crate) objectives: Vec<ObjectiveFigures>,
    pub(crate) pools: Vec<Gauges>,
    pub(crate) queues: Vec<Gauges>,
    /// obs's own counters: spans dropped, traces decided early, label sets over the cap.
    pub(crate) pipeline: Vec<Counted>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SiteFigures {
    pub(crate) function: String,
    pub(crate) kind: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) objective: Option<String>,
    pub(crate) calls: f64,
    pub(crate) errors: BTreeMap<String, f64>,
    pub(crate) p50_seconds: Option<f64>,
    pub(crate) p95_seconds: Option<f64>,
    pub(crate) exemplar_trace_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RouteFigures {
    pub(crate) path: String,
    pub(crate) objective: Option<String>,
    pub(crate) requests: f64,
    pub(crate) per_second: f64,
    pub(crate) error_ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ObjectiveFigures {
    pub(crate) name: String,
    pub(crate) sli: &'static str,
    pub(crate) target: f64,
    pub(crate) events: f64,
    /// The share of bad events since start; `None` before the first event.
    pub(crate) bad_ratio: Option<f64>,
}

/// A pool's or a queue's gauges, by what they measure.
#[derive(Debug, Serialize)]
pub(crate) struct Gauges {
    pub(crate) name: String,
    pub(crate) values: BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Counted {
    pub(crate) metric: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The samples of one metric, under the service's names.
struct Selection<'a> {
    samples: &'a [Sample],
    names: &'a Names,
}

impl<'a> Selection<'a> {
    /// Samples of `metric` (with `suffix`) whose labels (catalogue names) have these values.
    fn of(
        &self,
        metric: &'a Metric,
        suffix: &'a str,
        labels: &'a [(&'static str, String)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        let name = format!("{}{suffix}", self.names.name(metric.name));
        let names = self.names;
        let wanted: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (names.label(metric.name, k), v.as_str())).collect();
        self.samples.iter().filter(move |s| s.name == name && wanted.iter().all(|(k, v)| s.label(k) == Some(*v)))
    }

    fn sum(&self, metric: &'a Metric, suffix: &'a str, labels: &'a [(&'static str, String)]) -> f64 {
        // Summed from +0.0: an empty `Iterator::sum` of floats is -0.0, which prints as "-0".
        self.of(metric, suffix, labels).map(|s| s.value).fold(0.0, |a, b| a + b)
    }
}

/// The `q` quantile of cumulative `(bound, count)` buckets, interpolated as Prometheus does.
fn quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> Option<f64> {
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut lower, mut below) = (0.0, 0.0);
    for (bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(lower);
            }
            let inside = count - below;
            return Some(if inside > 0.0 { lower + (bound - lower) * (rank - below) / inside } else { bound });
        }
        (lower, below) = (bound, count);
    }
    None
}

fn buckets(selection: &Selection<'_>, metric: &'static Metric, labels: &[(&'static str, String)]) -> Vec<(f64, f64)> {
    let mut summed: Vec<(f64, f64)> = Vec::new();
    for sample in selection.of(metric, "_bucket", labels) {
        let Some(le) =
            sample.label("le").and_then(|le| if le == "+Inf" { Some(f64::INFINITY) } else { le.parse().ok() })
        else {
            continue;
        };
        match summed.iter_mut().find(|(bound, _)| *bound == le) {
            Some((_, count)) => *count += sample.value,
            None => summed.push((le, sample.value)),
        }
    }
    summed
}

fn site(selection: &Selection<'_>, site: &catalogue::CallSite, network: &str) -> Option<SiteFigures> {
    let subsystem = site.subsystem()?;
    let family = subsystem.family();
    let labels = site.labels(network);
    let calls = selection.sum(family.total, "", &labels);
    let mut errors = BTreeMap::new();
    let mut bad = labels.clone();
    bad.push(("status", family.statuses[Status::Error.index()].to_owned()));
    let kind_label = selection.names.label(family.total.name, ERROR_TYPE_LABEL);
    for sample in selection.of(family.total, "", &bad) {
        let kind = sample.label(kind_label).unwrap_or("error").to_owned();
        *errors.entry(kind).or_insert(0.0) += sample.value;
    }
    errors.retain(|_, count| *count > 0.0);
    let durations = buckets(selection, family.duration, &labels);
    let exemplar = selection
        .of(family.duration, "_bucket", &labels)
        .chain(selection.of(family.total, "", &labels))
        .filter_map(|s| s.exemplar.clone())
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(trace, _)| trace);
    let (file, line) = site.location();
    Some(SiteFigures {
        function: site.function(),
        kind: format!("{subsystem:?}"),
        labels: labels.into_iter().map(|(k, v)| (selection.names.label(family.total.name, k).to_owned(), v)).collect(),
        file: file.to_owned(),
        line,
        objective: site.objective_of().map(|o| o.name().to_owned()),
        calls,
        errors,
        p50_seconds: quantile(0.5, durations.clone()),
        p95_seconds: quantile(0.95, durations),
        exemplar_trace_id: exemplar,
    })
}

fn objective(selection: &Selection<'_>, model: &ObjectiveModel, sli: Sli) -> ObjectiveFigures {
    let covered: &Covered = &model.covered;
    let mut events = 0.0;
    let mut bad = 0.0;
    for member in &model.members {
        events += selection.sum(covered.total, "", &member.labels);
        match (sli, model.objective.latency_target()) {
            (Sli::Latency, Some(latency)) => {
                let all = buckets(selection, covered.duration, &member.labels);
                let total = all.iter().map(|(_, c)| *c).fold(0.0, f64::max);
                let fast = all.iter().filter(|(b, _)| *b <= latency.threshold_seconds * (1.0 + 1e-9)).map(|(_, c)| *c);
                bad += total - fast.fold(0.0, f64::max);
            }
            _ => {
                for sample in selection.of(covered.total, "", &member.labels) {
                    let failed = match covered.family {
                        None => sample
                            .label(selection.names.label(covered.total.name, "status_code"))
                            .is_some_and(|c| c.starts_with('5')),
                        Some(family) => {
                            sample.label(selection.names.label(covered.total.name, "status"))
                                == Some(family.statuses[Status::Error.index()])
                        }
                    };
                    if failed {
                        bad += sample.value;
                    }
                }
            }
        }
    }
    ObjectiveFigures {
        name: model.name().to_owned(),
        sli: sli.label(),
        target: model.target(sli),
        events,
        bad_ratio: (events > 0.0).then(|| bad / events),
    }
}

fn gauges(
    selection: &Selection<'_>,
    metrics: &[(&'static Metric, &str)],
    key: &'static str,
    names: &[String],
) -> Vec<Gauges> {
    names
        .iter()
        .map(|name| {
            let labels = [(key, name.clone())];
            let mut values = BTreeMap::new();
            for (metric, column) in metrics {
                let state = selection.names.label(metric.name, "state");
                for sample in selection.of(metric, "", &labels) {
                    let column = sample.label(state).map_or_else(|| (*column).to_owned(), |s| format!("{column}_{s}"));
                    values.insert(column, sample.value);
                }
            }
            Gauges { name: name.clone(), values }
        })
        .collect()
}

/// The page of a service with `context`, read from `samples` and `catalogue`.
pub(crate) fn page(context: &Context, catalogue: &Catalogue, samples: &[Sample], names: &Names) -> Page {
    let selection = Selection { samples, names };
    let network = crate::call::network::default_network().to_string();
    let sites = catalogue.sites().iter().filter_map(|s| site(&selection, s, &network)).collect();
    let uptime = context.started.elapsed().as_secs_f64();
    let routes = catalogue
        .routes()
        .iter()
        .map(|route| {
            let labels = [("path", route.path.clone())];
            let requests = selection.sum(&HTTP_REQUESTS_TOTAL, "", &labels);
            let code = names.label(HTTP_REQUESTS_TOTAL.name, "status_code");
            let failed: f64 = selection
                .of(&HTTP_REQUESTS_TOTAL, "", &labels)
                .filter(|s| s.label(code).is_some_and(|c| c.starts_with('5')))
                .map(|s| s.value)
                .fold(0.0, |a, b| a + b);
            RouteFigures {
                path: route.path.clone(),
                objective: route.objective.map(|o| o.name().to_owned()),
                requests,
                per_second: if uptime > 0.0 { requests / uptime } else { 0.0 },
                error_ratio: (requests > 0.0).then(|| failed / requests),
            }
        })
        .collect();
    let models = objectives::build(catalogue, &context.family_objectives, &network).unwrap_or_default();
    let objectives =
        models.iter().flat_map(|m| m.slis().into_iter().map(|sli| objective(&selection, m, sli))).collect();
    let pool_metrics = [
        (&DB_CLIENT_CONNECTIONS, "connections"),
        (&DB_CLIENT_CONNECTIONS_MAX, "max"),
        (&DB_CLIENT_CONNECTION_PENDING, "pending"),
    ];
    let queue_names: Vec<String> = catalogue.queues().iter().map(|q| q.name.clone()).collect();
    let queue_metrics = [(&QUEUE_DEPTH, "depth"), (&QUEUE_OLDEST_JOB_AGE, "oldest_job_age_seconds")];
    let mut pipeline = Vec::new();
    for metric in
        [&SPANS_DROPPED_TOTAL, &SPANS_EXPORT_FAILURES_TOTAL, &TRACES_DECIDED_EARLY_TOTAL, &SERIES_OVERFLOW_TOTAL]
    {
        for sample in selection.of(metric, "", &[]) {
            let labels = sample.labels.iter().filter(|(k, _)| k != "app").cloned().collect();
            pipeline.push(Counted { metric: sample.name.clone(), labels, value: sample.value });
        }
    }
    Page {
        service: context.service.clone(),
        version: context.version.clone(),
        revision: context.revision.clone(),
        uptime_seconds: uptime,
        sites,
        routes,
        objectives,
        pools: gauges(&selection, &pool_metrics, "pool", catalogue.pools()),
        queues: gauges(&selection, &queue_metrics, "queue_name", &queue_names),
        pipeline,
    }
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_interpolate_in_their_bucket_as_prometheus_does() {
        let buckets = vec![(0.1, 0.0), (1.0, 100.0), (f64::INFINITY, 100.0)];
        assert_eq!(quantile(0.5, buckets.clone()), Some(0.55));
        assert!((quantile(0.95, buckets).unwrap() - 0.955).abs() < 1e-9);
        assert_eq!(quantile(0.5, vec![(1.0, 0.0), (f64::INFINITY, 0.0)]), None);
    }
}
