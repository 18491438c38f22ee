//! Every histogram registered through obs's recorder: fixed buckets, counted atomically.
//!
//! metrics-exporter-prometheus keeps every sample until upkeep drains it (memory grows with
//! the sample rate) and renders a histogram without configured buckets as a summary. Here each
//! series is a fixed array of bucket counters and a sum: memory is fixed at registration,
//! nothing needs draining, and every histogram renders as a histogram.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{HistogramFn, Key};

use super::exemplar::{self, Slot};
use super::text::{escape_help, labels_body, write_histogram};

/// One histogram series.
#[derive(Debug)]
pub(crate) struct BucketHistogram {
    bounds: Arc<[f64]>,
    /// The `le` label of each bucket, `+Inf` last, formatted once.
    les: Box<[String]>,
    /// One more than `bounds`: the last counts values above every bound (`+Inf`).
    buckets: Box<[AtomicU64]>,
    /// The sum as `f64` bits, updated with compare-and-swap.
    sum: AtomicU64,
    /// Each bucket's latest exemplar: a value recorded inside a sampled span, once a scraper
    /// has asked for OpenMetrics.
    exemplars: Box<[Slot]>,
}

impl BucketHistogram {
    fn new(bounds: Arc<[f64]>) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        let les = bounds.iter().map(f64::to_string).chain(["+Inf".to_owned()]).collect();
        let exemplars = (0..=bounds.len()).map(|_| Slot::default()).collect();
        Self { bounds, les, buckets, sum: AtomicU64::new(0f64.to_bits()), exemplars }
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
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + value).to_bits()));
        if exemplar::wanted()
            && let Some(exemplar) = exemplar::of_span(&tracing::Span::current(), value)
        {
            self.exemplars[bucket].store(exemplar);
        }
    }
}

/// One histogram series as the fused store merges it.
#[derive(Debug)]
pub(crate) struct HistogramSnapshot {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) les: Box<[String]>,
    pub(crate) buckets: Vec<u64>,
    pub(crate) sum: f64,
}

#[derive(Debug)]
struct Series {
    key: Key,
    histogram: Arc<BucketHistogram>,
}

/// The histograms of one recorder, by final (prefixed) key.
#[derive(Debug, Default)]
pub(crate) struct HistogramRegistry {
    /// By key: naive code registers on every call, so this lookup must not be a scan.
    series: Mutex<HashMap<Key, Series>>,
    help: Mutex<Vec<(String, String)>>,
}

impl HistogramRegistry {
    pub(crate) fn register(&self, key: &Key, bounds: impl FnOnce() -> Arc<[f64]>) -> Arc<BucketHistogram> {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = series.get(key) {
            return existing.histogram.clone();
        }
        let histogram = Arc::new(BucketHistogram::new(bounds()));
        series.insert(key.clone(), Series { key: key.clone(), histogram: histogram.clone() });
        histogram
    }

    pub(crate) fn describe(&self, name: String, help: String) {
        let mut all = self.help.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(n, _)| *n != name);
        all.push((name, help));
    }

    /// Every series of the histogram `name` (final name): labels, `le` values, per-bucket
    /// counts (not cumulative) and sum. For the fused store, which renders that family.
    pub(crate) fn series_of(&self, name: &str) -> Vec<HistogramSnapshot> {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        series
            .values()
            .filter(|s| s.key.name() == name)
            .map(|s| HistogramSnapshot {
                labels: super::text::key_labels(&s.key),
                les: s.histogram.les.clone(),
                buckets: s.histogram.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
                sum: f64::from_bits(s.histogram.sum.load(Ordering::Relaxed)),
            })
            .collect()
    }

    /// Appends the exposition of every histogram but those named in `skip` to `out`;
    /// `global_labels` come first. With `exemplars` (OpenMetrics), each bucket carries its
    /// latest exemplar.
    pub(crate) fn render(
        &self,
        out: &mut String,
        global_labels: &[(String, String)],
        skip: &[String],
        exemplars: bool,
    ) {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let help = self.help.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut order: Vec<&Series> = series.values().filter(|s| !skip.iter().any(|n| n == s.key.name())).collect();
        order.sort_by(|a, b| a.key.name().cmp(b.key.name()));
        let mut current: Option<&str> = None;
        for s in order {
            let name = s.key.name();
            if current != Some(name) {
                let description = help.iter().find(|(n, _)| n == name).map_or(name, |(_, h)| h.as_str());
                let _ = writeln!(out, "# HELP {name} {}", escape_help(description));
                let _ = writeln!(out, "# TYPE {name} histogram");
                current = Some(name);
            }
            let mut labels: Vec<(&str, String)> = global_labels.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            for label in s.key.labels() {
                labels.retain(|(k, _)| *k != label.key());
                labels.push((label.key(), label.value().to_owned()));
            }
            let buckets: Vec<u64> = s.histogram.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
            let sum = f64::from_bits(s.histogram.sum.load(Ordering::Relaxed));
            let suffixes: Vec<Option<String>> = match exemplars {
                true => s.histogram.exemplars.iter().map(|slot| slot.load().and_then(|e| e.suffix(e.value))).collect(),
                false => Vec::new(),
            };
            write_histogram(out, name, &labels_body(&labels), &s.histogram.les, &buckets, sum, &suffixes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets_sum_and_count() {
        let registry = HistogramRegistry::default();
        let h = registry.register(&Key::from_parts("lat_seconds", vec![metrics::Label::new("path", "/a")]), || {
            Arc::from(&[0.1, 1.0][..])
        });
        for v in [0.05, 0.1, 0.5, 7.0] {
            h.record(v);
        }
        h.record(f64::NAN);
        registry.describe("lat_seconds".into(), "Latency.".into());
        let mut text = String::new();
        registry.render(&mut text, &[("app".into(), "svc".into())], &[], false);
        let expected = "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"0.1\"} 2\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"1\"} 3\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"+Inf\"} 4\n\
            lat_seconds_sum{app=\"svc\",path=\"/a\"} 7.65\n\
            lat_seconds_count{app=\"svc\",path=\"/a\"} 4\n";
        assert_eq!(text, expected);
    }
}
