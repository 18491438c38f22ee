//! Every histogram registered through obs's recorder: fixed buckets, counted atomically.
//!
//! metrics-exporter-prometheus keeps every sample until upkeep drains it (memory grows with
//! the sample rate) and renders a histogram without configured buckets as a summary. Here each
//! series is a fixed array of bucket counters and a sum: memory is fixed at registration,
//! nothing needs draining, and every histogram renders as a histogram.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{HistogramFn, Key};

/// One histogram series.
#[derive(Debug)]
pub(crate) struct BucketHistogram {
    bounds: Arc<[f64]>,
    /// One more than `bounds`: the last counts values above every bound (`+Inf`).
    buckets: Box<[AtomicU64]>,
    /// The sum as `f64` bits, updated with compare-and-swap.
    sum: AtomicU64,
}

impl BucketHistogram {
    fn new(bounds: Arc<[f64]>) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds,
            buckets,
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }
}

impl HistogramFn for BucketHistogram {
    fn record(&self, value: f64) {
        if value.is_nan() {
            return;
        }
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }
}

#[derive(Debug)]
struct Series {
    key: Key,
    histogram: Arc<BucketHistogram>,
}

/// The histograms of one recorder, by final (prefixed) key.
#[derive(Debug, Default)]
pub(crate) struct HistogramRegistry {
    series: Mutex<Vec<Series>>,
    help: Mutex<Vec<(String, String)>>,
}

impl HistogramRegistry {
    pub(crate) fn register(
        &self,
        key: Key,
        bounds: impl FnOnce() -> Arc<[f64]>,
    ) -> Arc<BucketHistogram> {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = series.iter().find(|s| s.key == key) {
            return existing.histogram.clone();
        }
        let histogram = Arc::new(BucketHistogram::new(bounds()));
        series.push(Series {
            key,
            histogram: histogram.clone(),
        });
        histogram
    }

    pub(crate) fn describe(&self, name: String, help: String) {
        let mut all = self.help.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(n, _)| *n != name);
        all.push((name, help));
    }

    /// Appends the exposition of every histogram to `out`; `global_labels` come first.
    pub(crate) fn render(&self, out: &mut String, global_labels: &[(String, String)]) {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let help = self.help.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut names: Vec<&str> = series.iter().map(|s| s.key.name()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let description = help
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, h)| h.as_str());
            let _ = writeln!(
                out,
                "# HELP {name} {}",
                escape_help(if description.is_empty() {
                    name
                } else {
                    description
                })
            );
            let _ = writeln!(out, "# TYPE {name} histogram");
            for s in series.iter().filter(|s| s.key.name() == name) {
                let mut labels: Vec<(&str, String)> = global_labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                for label in s.key.labels() {
                    labels.retain(|(k, _)| *k != label.key());
                    labels.push((label.key(), label.value().to_owned()));
                }
                let h = &s.histogram;
                let mut cumulative = 0;
                for (i, bound) in h.bounds.iter().map(Some).chain([None]).enumerate() {
                    cumulative += h.buckets[i].load(Ordering::Relaxed);
                    let le = bound.map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {cumulative}",
                        label_set(&labels, Some(&le))
                    );
                }
                let sum = f64::from_bits(h.sum.load(Ordering::Relaxed));
                let _ = writeln!(out, "{name}_sum{} {sum}", label_set(&labels, None));
                let _ = writeln!(out, "{name}_count{} {cumulative}", label_set(&labels, None));
            }
        }
    }
}

/// `{k="v",…}` with Prometheus text-format escaping, `le` last when given.
pub(crate) fn label_set(labels: &[(&str, String)], le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_value(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// Label values: `\`, `"` and newline escaped, as the text format specifies.
pub(crate) fn escape_value(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// HELP text: `\` and newline escaped.
pub(crate) fn escape_help(help: &str) -> String {
    help.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets_sum_and_count() {
        let registry = HistogramRegistry::default();
        let h = registry.register(
            Key::from_parts("lat_seconds", vec![metrics::Label::new("path", "/a")]),
            || Arc::from(&[0.1, 1.0][..]),
        );
        for v in [0.05, 0.1, 0.5, 7.0] {
            h.record(v);
        }
        h.record(f64::NAN);
        registry.describe("lat_seconds".into(), "Latency.".into());
        let mut text = String::new();
        registry.render(&mut text, &[("app".into(), "svc".into())]);
        let expected = "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"0.1\"} 2\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"1\"} 3\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"+Inf\"} 4\n\
            lat_seconds_sum{app=\"svc\",path=\"/a\"} 7.65\n\
            lat_seconds_count{app=\"svc\",path=\"/a\"} 4\n";
        assert_eq!(text, expected);
    }
}
