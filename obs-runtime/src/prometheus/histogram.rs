//! Every histogram registered through obs's recorder: fixed buckets, counted atomically.
//!
//! metrics-exporter-prometheus keeps every sample until upkeep drains it (memory grows with
//! the sample rate) and renders a histogram without configured buckets as a summary. Here each
//! series is a fixed array of bucket counters and a sum: memory is fixed at registration,
//! nothing needs draining, and every histogram renders as a histogram. Each series' label set
//! (escaped, global labels merged) is written once at registration and series are kept by name,
//! so a scrape sorts nothing and allocates nothing per series.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{HistogramFn, Key};

use super::exemplar::{self, Slot};
use super::text::{escape_help, merged_labels_body, sanitize_metric_name, write_histogram};

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

    fn bucket_counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed))
    }

    fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
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
    /// `k="v",…`: the global labels, then the key's.
    labels: Box<str>,
    histogram: Arc<BucketHistogram>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By key: naive code registers on every call, so this lookup must not be a scan.
    by_key: HashMap<Key, Arc<BucketHistogram>>,
    /// By final name, for the exposition; each name's series in registration order.
    by_name: BTreeMap<String, Vec<Series>>,
    help: HashMap<String, String>,
}

/// The histograms of one recorder, by final (prefixed) key.
#[derive(Debug, Default)]
pub(crate) struct HistogramRegistry {
    global_labels: Vec<(String, String)>,
    inner: Mutex<Inner>,
}

impl HistogramRegistry {
    /// A registry whose series all carry `global_labels` first.
    pub(crate) fn new(global_labels: Vec<(String, String)>) -> Self {
        Self { global_labels, inner: Mutex::default() }
    }

    pub(crate) fn register(&self, key: &Key, bounds: impl FnOnce() -> Arc<[f64]>) -> Arc<BucketHistogram> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = inner.by_key.get(key) {
            return existing.clone();
        }
        let histogram = Arc::new(BucketHistogram::new(bounds()));
        inner.by_key.insert(key.clone(), histogram.clone());
        let labels = merged_labels_body(&self.global_labels, key).into_boxed_str();
        let series = Series { key: key.clone(), labels, histogram: histogram.clone() };
        inner.by_name.entry(sanitize_metric_name(key.name()).into_owned()).or_default().push(series);
        histogram
    }

    pub(crate) fn describe(&self, name: String, help: String) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.help.insert(sanitize_metric_name(&name).into_owned(), help);
    }

    /// Every series of the histogram `name` (final name): labels, `le` values, per-bucket
    /// counts (not cumulative) and sum. For the fused store, which renders that family.
    pub(crate) fn series_of(&self, name: &str) -> Vec<HistogramSnapshot> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(series) = inner.by_name.get(name) else { return Vec::new() };
        series
            .iter()
            .map(|s| HistogramSnapshot {
                labels: super::text::key_labels(&s.key),
                les: s.histogram.les.clone(),
                buckets: s.histogram.bucket_counts().collect(),
                sum: s.histogram.sum(),
            })
            .collect()
    }

    /// Appends the exposition of every histogram but those named in `skip` to `out`. With
    /// `exemplars` (OpenMetrics), each bucket carries its latest exemplar.
    pub(crate) fn render(&self, out: &mut String, skip: &[String], exemplars: bool) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (name, series) in inner.by_name.iter().filter(|(name, _)| !skip.contains(name)) {
            let description = inner.help.get(name).map_or(name.as_str(), String::as_str);
            let _ = writeln!(out, "# HELP {name} {}", escape_help(description));
            let _ = writeln!(out, "# TYPE {name} histogram");
            for s in series {
                let h = &s.histogram;
                let exemplar = |bucket: usize, out: &mut String| {
                    if exemplars && let Some(e) = h.exemplars[bucket].load() {
                        e.write_suffix(out, e.value);
                    }
                };
                write_histogram(out, name, &s.labels, &h.les, h.bucket_counts(), h.sum(), exemplar);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets_sum_and_count() {
        let registry = HistogramRegistry::new(vec![("app".into(), "svc".into())]);
        let h = registry.register(&Key::from_parts("lat_seconds", vec![metrics::Label::new("path", "/a")]), || {
            Arc::from(&[0.1, 1.0][..])
        });
        for v in [0.05, 0.1, 0.5, 7.0] {
            h.record(v);
        }
        h.record(f64::NAN);
        registry.describe("lat_seconds".into(), "Latency.".into());
        let mut text = String::new();
        registry.render(&mut text, &[], false);
        let expected = "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"0.1\"} 2\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"1\"} 3\n\
            lat_seconds_bucket{app=\"svc\",path=\"/a\",le=\"+Inf\"} 4\n\
            lat_seconds_sum{app=\"svc\",path=\"/a\"} 7.65\n\
            lat_seconds_count{app=\"svc\",path=\"/a\"} 4\n";
        assert_eq!(text, expected);
    }
}
