//! The exposition of the fused store: one block per metric name, the call sites' series merged
//! with series recorded by hand under the same name and labels, the error series split by
//! `error_type`, and each bucket's latest exemplar over OpenMetrics.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::super::counters::CounterRegistry;
use super::super::exemplar;
use super::super::histogram::HistogramRegistry;
use super::super::text::{labels_body, same_labels, write_histogram};
use super::{CallStats, CallStatsRegistry};
use crate::catalogue::{ERROR_TYPE_LABEL, Family, Metric, Series, Status, Subsystem};

impl CallStatsRegistry {
    /// The final names of the families this store renders: the standalone renders skip them.
    pub(crate) fn rendered_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for family in self.families() {
            names.push(self.names.name(family.total.name).into_owned());
            names.push(self.names.name(family.duration.name).into_owned());
        }
        names
    }

    /// Hand-recorded counters of macro families that no call site of this process feeds yet:
    /// one block each, with the family's HELP.
    pub(crate) fn render_counters_without_sites(
        &self,
        out: &mut String,
        counters: &CounterRegistry,
        rendered: &[String],
    ) {
        for subsystem in Subsystem::ALL {
            let family = subsystem.family();
            let name = self.names.name(family.total.name).into_owned();
            if rendered.contains(&name) {
                continue;
            }
            if !counters.series_of(&name).is_empty() {
                self.render_counter(out, family, &[], counters, false);
            }
        }
    }

    /// Appends the exposition of every fused family to `out`, one block per metric name: the
    /// call sites' series, merged with series recorded by hand under the same name and labels
    /// (`counters`, `histograms`), then the hand-recorded series of other label sets.
    /// With `exemplars` (OpenMetrics), each bucket and outcome counter carries its latest
    /// exemplar.
    pub(crate) fn render(
        &self,
        out: &mut String,
        counters: &CounterRegistry,
        histograms: &HistogramRegistry,
        exemplars: bool,
    ) {
        let all = self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for family in self.families() {
            let members: Vec<&CallStats> = all.iter().copied().filter(|s| std::ptr::eq(s.family, family)).collect();
            self.render_counter(out, family, &members, counters, exemplars);
            self.render_histogram(out, family, &members, histograms, exemplars);
        }
    }

    fn render_counter(
        &self,
        out: &mut String,
        family: &Family,
        members: &[&CallStats],
        counters: &CounterRegistry,
        exemplars: bool,
    ) {
        let name = self.names.name(family.total.name);
        let _ = writeln!(out, "# HELP {name} {}", self.names.help(family.total));
        let _ = writeln!(out, "# TYPE {name} counter");
        let mut by_hand = counters.series_of(&name);
        for stats in members {
            for status in Status::ALL.into_iter().filter(|s| stats.shows(*s)) {
                let mut count: u64 =
                    stats.statuses[status.index()].buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum();
                // A counter's exemplar: the latest call of its status, counted as 1.
                let exemplar = exemplars
                    .then(|| exemplar::latest(stats.bucket_exemplars(&[status]).into_iter()))
                    .flatten()
                    .map(|e| e.suffix(1.0))
                    .unwrap_or_default();
                let status_label = family.status_label(Series::Total, status);
                let pairs = self.own_labels(family.total, stats, status_label);
                let kinds =
                    if status == Status::Error && self.error_type_label { stats.errors.counts() } else { Vec::new() };
                if !kinds.is_empty() {
                    // The error series split by kind; their sum is the error count, so a query
                    // that sums by `status` means what it did. Before the first error, the one
                    // series above at 0 stands for them all.
                    let label = self.names.label(family.total.name, ERROR_TYPE_LABEL);
                    for (kind, count, kind_exemplar) in kinds {
                        let exemplar = kind_exemplar.filter(|_| exemplars).map(|e| e.suffix(1.0)).unwrap_or_default();
                        let mut pairs = pairs.clone();
                        pairs.push((label, kind));
                        let _ = writeln!(out, "{name}{{{}}} {count}{exemplar}", self.with_globals(&pairs));
                    }
                    continue;
                }
                if let Some(i) = by_hand.iter().position(|(labels, _)| same_labels(&pairs, labels)) {
                    count += by_hand.swap_remove(i).1;
                }
                let _ = writeln!(out, "{name}{{{}}} {count}{exemplar}", self.with_globals(&pairs));
            }
        }
        for (labels, count) in by_hand {
            let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let _ = writeln!(out, "{name}{{{}}} {count}", self.with_globals(&pairs));
        }
    }

    fn render_histogram(
        &self,
        out: &mut String,
        family: &Family,
        members: &[&CallStats],
        histograms: &HistogramRegistry,
        exemplars: bool,
    ) {
        let name = self.names.name(family.duration.name);
        let _ = writeln!(out, "# HELP {name} {}", self.names.help(family.duration));
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut by_hand = histograms.series_of(&name);
        let mut write = |out: &mut String,
                         pairs: &[(&str, &str)],
                         les: &[String],
                         mut buckets: Vec<u64>,
                         mut sum: f64,
                         suffixes: &[Option<String>]| {
            let same = by_hand.iter().position(|h| same_labels(pairs, &h.labels) && *h.les == *les);
            if let Some(extra) = same.map(|i| by_hand.swap_remove(i)) {
                buckets.iter_mut().zip(&extra.buckets).for_each(|(b, e)| *b += e);
                sum += extra.sum;
            }
            let exemplar =
                |i: usize, out: &mut String| out.push_str(suffixes.get(i).and_then(Option::as_deref).unwrap_or(""));
            write_histogram(out, &name, &self.with_globals(pairs), les, buckets, sum, exemplar);
        };
        for stats in members {
            let suffixes = |statuses: &[Status]| -> Vec<Option<String>> {
                if !exemplars {
                    return Vec::new();
                }
                stats.bucket_exemplars(statuses).into_iter().map(|e| e.map(|e| e.suffix(e.value))).collect()
            };
            let load = |statuses: &[Status]| -> (Vec<u64>, f64) {
                let buckets = (0..stats.les.len())
                    .map(|i| {
                        statuses.iter().map(|s| stats.statuses[s.index()].buckets[i].load(Ordering::Relaxed)).sum()
                    })
                    .collect();
                let nanos: u64 =
                    statuses.iter().map(|s| stats.statuses[s.index()].sum_nanos.load(Ordering::Relaxed)).sum();
                (buckets, nanos as f64 / 1e9)
            };
            if family.status_on_duration() {
                // One histogram per status: the status is a label of the duration too.
                for status in Status::ALL.into_iter().filter(|s| stats.shows(*s)) {
                    let (buckets, sum) = load(&[status]);
                    let pairs = self.own_labels(family.duration, stats, family.status_label(Series::Duration, status));
                    write(out, &pairs, &stats.les, buckets, sum, &suffixes(&[status]));
                }
            } else {
                // One histogram for all statuses: their sum.
                let (buckets, sum) = load(&Status::ALL);
                let pairs = self.own_labels(family.duration, stats, None);
                write(out, &pairs, &stats.les, buckets, sum, &suffixes(&Status::ALL));
            }
        }
        for extra in by_hand {
            let pairs: Vec<(&str, &str)> = extra.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (labels, buckets) = (self.with_globals(&pairs), extra.buckets.iter().copied());
            write_histogram(out, &name, &labels, &extra.les, buckets, extra.sum, |_, _| {});
        }
    }

    /// A member's labels and its status label as `metric` exposes them (renamed), without the
    /// global labels.
    fn own_labels<'a>(
        &'a self,
        metric: &Metric,
        stats: &'a CallStats,
        status: Option<(&'a str, &'a str)>,
    ) -> Vec<(&'a str, &'a str)> {
        let pairs = stats.labels.iter().map(|(k, v)| (*k, v.as_str())).chain(status);
        pairs.map(|(k, v)| (self.names.label(metric.name, k), v)).collect()
    }

    fn with_globals(&self, pairs: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, String)> = self.global_labels.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        all.extend(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())));
        labels_body(&all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Names;

    #[test]
    fn buckets_are_cumulative_and_sum_is_exact() {
        let family = Subsystem::Db.family();
        let site = || vec![("operation", "SELECT".to_owned()), ("table", "users".to_owned())];
        let registry = CallStatsRegistry::new(
            Names::new("app_", &[], &[], &[]).unwrap(),
            true,
            vec![("app".into(), "svc".into())],
            vec![("db_query_duration_seconds".into(), vec![0.001, 0.01])],
        );
        let stats = registry.stats_for(family, site(), false);
        assert!(std::ptr::eq(stats, registry.stats_for(family, site(), true)), "one store per label set");
        stats.record(Status::Success, 500_000); // 0.5 ms
        stats.record(Status::Success, 1_000_000); // exactly 1 ms: le="0.001"
        stats.record(Status::Error, 5_000_000);
        stats.record(Status::Cancelled, 2_000_000_000);
        let mut text = String::new();
        registry.render(&mut text, &CounterRegistry::default(), &HistogramRegistry::default(), false);
        let labels = r#"app="svc",operation="SELECT",table="users""#;
        for line in [
            format!("app_db_queries_total{{{labels},status=\"success\"}} 2"),
            format!("app_db_queries_total{{{labels},status=\"error\"}} 1"),
            format!("app_db_queries_total{{{labels},status=\"cancelled\"}} 1"),
            format!("app_db_query_duration_seconds_bucket{{{labels},le=\"0.001\"}} 2"),
            format!("app_db_query_duration_seconds_bucket{{{labels},le=\"0.01\"}} 3"),
            format!("app_db_query_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 4"),
            format!("app_db_query_duration_seconds_sum{{{labels}}} 2.0065"),
            format!("app_db_query_duration_seconds_count{{{labels}}} 4"),
            "# TYPE app_db_query_duration_seconds histogram".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn error_series_split_by_kind_once_an_error_has_one() {
        let family = Subsystem::Redis.family();
        let registry = CallStatsRegistry::new(Names::default(), true, Vec::new(), Vec::new());
        let stats = registry.stats_for(family, vec![("command", "get".to_owned())], false);
        let render = || {
            let mut text = String::new();
            registry.render(&mut text, &CounterRegistry::default(), &HistogramRegistry::default(), false);
            text
        };
        let zero = r#"redis_calls_total{command="get",status="error"} 0"#;
        assert!(render().lines().any(|l| l == zero), "before any error, the error series at 0:\n{}", render());
        for kind in ["timeout", "timeout", "connection_refused"] {
            stats.record(Status::Error, 1_000);
            stats.count_error(kind);
        }
        let text = render();
        assert!(!text.contains(r#"status="error"} "#), "{text}");
        for line in [
            r#"redis_calls_total{command="get",status="error",error_type="timeout"} 2"#,
            r#"redis_calls_total{command="get",status="error",error_type="connection_refused"} 1"#,
            r#"redis_calls_total{command="get",status="success"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
