//! obs's `metrics` recorder.
//!
//! Counters and gauges are one atomic each, with their line prefix written at registration
//! (`scalars`). Every histogram lives in obs's fixed-bucket storage (the catalogue's buckets,
//! or the HTTP ones), so it renders as a histogram and its memory never grows with the sample
//! rate. Macro call sites use the fused store of `call_stats`. The metric prefix is applied at
//! registration, and every series carries the global labels (`app`).

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, SharedString, Unit};

use super::call_stats::CallStatsRegistry;
use super::cardinality::{self, CardinalityGuard};
use super::counters::CounterRegistry;
use super::histogram::HistogramRegistry;
use super::scalars::ScalarRegistry;
use crate::catalogue::{self, MetricKind, MetricRename, Names, SERIES_OVERFLOW_TOTAL, Subsystem};
use crate::catalogue::{needs_normalising, normalise_label};
use crate::error::InitError;

static INSTALLED: OnceLock<MetricsHandle> = OnceLock::new();

/// The fused store, once obs's recorder is the global one.
#[inline]
pub(crate) fn call_stats() -> Option<&'static CallStatsRegistry> {
    INSTALLED.get().map(|handle| &handle.shared.call_stats)
}

/// The handle of the installed obs recorder, if any.
pub(crate) fn installed() -> Option<&'static MetricsHandle> {
    INSTALLED.get()
}

/// Builds obs's recorder.
///
/// ```
/// let metrics = obs_runtime::MetricsRecorder::builder()
///     .prefix("shop_")
///     .global_label("app", "shop")
///     .buckets_for("checkout_duration_seconds", &[0.1, 1.0])
///     .install()
///     .expect("the first recorder of this process");
/// metrics::counter!("orders_total").increment(1);
/// metrics::histogram!("checkout_duration_seconds").record(0.4);
/// let text = metrics.render();
/// assert!(text.contains(r#"shop_orders_total{app="shop"} 1"#));
/// assert!(text.contains(r#"shop_checkout_duration_seconds_bucket{app="shop",le="1"} 1"#));
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until it is installed"]
pub struct MetricsRecorderBuilder {
    prefix: String,
    global_labels: Vec<(String, String)>,
    buckets: Vec<(String, Vec<f64>)>,
    renames: Vec<MetricRename>,
    disabled: Vec<String>,
    max_series_per_metric: Option<usize>,
    /// Off when true: the default is on, and `Default` gives false.
    without_error_type_label: bool,
}

impl MetricsRecorderBuilder {
    /// Caps the distinct label sets of each metric (default 2 000). Past the cap, new label
    /// sets are counted in the metric's `overflow="true"` series and in
    /// `obs_series_overflow_total{metric}`.
    pub fn max_series_per_metric(mut self, cap: usize) -> Self {
        self.max_series_per_metric = Some(cap);
        self
    }

    /// Prefixes every metric name, e.g. `gemini_flow_`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Adds a label to every series, e.g. `app`. The value is normalised like any dynamic
    /// label value.
    pub fn global_label(mut self, key: impl Into<String>, value: impl AsRef<str>) -> Self {
        let key = key.into();
        self.global_labels.retain(|(k, _)| *k != key);
        self.global_labels.push((key, normalise_label(value.as_ref())));
        self
    }

    /// Sets the buckets of the histogram `metric` (named without the prefix).
    pub fn buckets_for(mut self, metric: impl Into<String>, bounds: &[f64]) -> Self {
        let metric = metric.into();
        self.buckets.retain(|(m, _)| *m != metric);
        self.buckets.push((metric, bounds.to_vec()));
        self
    }

    /// Renames one of obs's metrics; see [`crate::Config::rename_metric`].
    pub fn rename(mut self, rename: MetricRename) -> Self {
        self.renames.retain(|r| r.metric != rename.metric);
        self.renames.push(rename);
        self
    }

    /// Switches one of obs's metrics off; see [`crate::Config::disable_metric`].
    pub fn disable(mut self, metric: impl Into<String>) -> Self {
        self.disabled.push(metric.into());
        self
    }

    /// Whether the error series of the macros' counters carry `error_type` (default true); see
    /// [`crate::Config::error_type_label`].
    pub fn error_type_label(mut self, on: bool) -> Self {
        self.without_error_type_label = !on;
        self
    }

    /// Builds the recorder without installing it.
    pub fn build(self) -> Result<MetricsRecorder, InitError> {
        let global: Vec<&str> = self.global_labels.iter().map(|(k, _)| k.as_str()).collect();
        let names = Names::new(&self.prefix, &self.renames, &self.disabled, &global)?;
        let mut buckets: Vec<(String, Vec<f64>)> = catalogue::METRICS
            .iter()
            .filter(|metric| metric.kind == MetricKind::Histogram)
            .map(|metric| (metric.name.to_owned(), metric.buckets.to_vec()))
            .collect();
        for (metric, bounds) in self.buckets {
            catalogue::check_buckets(&metric, &bounds)?;
            buckets.retain(|(m, _)| *m != metric);
            buckets.push((metric, bounds));
        }
        let shared = Arc::new(Shared {
            names: names.clone(),
            global_labels: self.global_labels.clone(),
            buckets: buckets.iter().map(|(name, bounds)| (name.clone(), Arc::from(bounds.as_slice()))).collect(),
            scalars: ScalarRegistry::new(self.global_labels.clone()),
            histograms: HistogramRegistry::new(self.global_labels.clone()),
            last_len: AtomicUsize::new(0),
            counters: CounterRegistry::default(),
            guard: CardinalityGuard::new(self.max_series_per_metric.unwrap_or(cardinality::DEFAULT_MAX_SERIES)),
            call_stats: CallStatsRegistry::new(names, !self.without_error_type_label, self.global_labels, buckets),
        });
        Ok(MetricsRecorder { handle: MetricsHandle { shared } })
    }

    /// Builds the recorder and installs it as the process's `metrics` recorder.
    pub fn install(self) -> Result<MetricsHandle, InitError> {
        self.build()?.install()
    }
}

#[derive(Debug)]
struct Shared {
    /// The final names: prefix, renames, metrics switched off.
    names: Names,
    global_labels: Vec<(String, String)>,
    /// Buckets by metric name without the prefix.
    buckets: Vec<(String, Arc<[f64]>)>,
    scalars: ScalarRegistry,
    histograms: HistogramRegistry,
    /// The length of the last exposition: the next one's buffer starts that big.
    last_len: AtomicUsize,
    /// Counters recorded by hand under a macro family's name, rendered in that family's block.
    counters: CounterRegistry,
    call_stats: CallStatsRegistry,
    guard: CardinalityGuard,
}

impl Shared {
    /// The key as the exporter sees it: final name and label names (prefix, renames), label
    /// values normalised so they come back from Prometheus exactly as registered. Borrowed,
    /// without allocating, in the usual case of no prefix, no renames and clean values: naive
    /// code registers on every call.
    fn prefixed<'k>(&self, key: &'k Key) -> Cow<'k, Key> {
        let names = &self.names;
        let clean = key.labels().all(|label| !needs_normalising(label.value()));
        if names.prefix().is_empty() && names.renames_nothing() && clean {
            return Cow::Borrowed(key);
        }
        let labels: Vec<metrics::Label> = key
            .labels()
            .map(|label| {
                let name = names.label(key.name(), label.key());
                match (needs_normalising(label.value()), name == label.key()) {
                    (false, true) => label.clone(),
                    _ => metrics::Label::new(name.to_owned(), normalise_label(label.value())),
                }
            })
            .collect();
        Cow::Owned(Key::from_parts(names.name(key.name()).into_owned(), labels))
    }

    fn prefixed_name(&self, name: KeyName) -> KeyName {
        match self.names.name(name.as_str()) {
            Cow::Borrowed(_) => name,
            Cow::Owned(renamed) => KeyName::from(renamed),
        }
    }

    /// The HELP text of `name`: a rename's, or the one described.
    fn help(&self, name: &KeyName, description: SharedString) -> SharedString {
        self.names.help_of(name.as_str()).map_or(description, |help| SharedString::from(help.to_owned()))
    }

    fn bounds_for(&self, name: &str) -> Arc<[f64]> {
        self.buckets
            .iter()
            .find(|(metric, _)| metric == name)
            .map_or_else(|| Arc::from(catalogue::HTTP_BUCKETS), |(_, bounds)| bounds.clone())
    }
}

/// obs's `metrics` recorder. Install it once per process.
#[derive(Debug)]
pub struct MetricsRecorder {
    handle: MetricsHandle,
}

impl MetricsRecorder {
    /// Starts a builder with DESIGN's defaults.
    pub fn builder() -> MetricsRecorderBuilder {
        MetricsRecorderBuilder::default()
    }

    /// A handle that renders what this recorder holds.
    pub fn handle(&self) -> MetricsHandle {
        self.handle.clone()
    }

    /// Installs this recorder as the process's `metrics` recorder, and makes every call site
    /// of the macros use the fused store on its next call.
    pub fn install(self) -> Result<MetricsHandle, InitError> {
        let handle = self.handle();
        let names = &handle.shared.names;
        let overflow = names.name(SERIES_OVERFLOW_TOTAL.name);
        handle.shared.scalars.describe(&overflow, names.help(&SERIES_OVERFLOW_TOTAL).to_owned());
        metrics::set_global_recorder(self).map_err(|_| InitError::RecorderAlreadyInstalled)?;
        names.install();
        let _ = INSTALLED.set(handle.clone());
        super::generation::bump();
        Ok(handle)
    }
}

impl MetricsRecorder {
    /// The prefixed, normalised key, or its metric's overflow series past the series cap.
    fn admitted<'k>(&self, key: &'k Key) -> Cow<'k, Key> {
        let shared = &self.handle.shared;
        let prefixed = shared.prefixed(key);
        let admitted = shared.guard.admit(&prefixed, || {
            let names = &shared.names;
            let metric = Label::new(
                names.label(SERIES_OVERFLOW_TOTAL.name, "metric").to_owned(),
                names.name(key.name()).into_owned(),
            );
            let overflow = Key::from_parts(names.name(SERIES_OVERFLOW_TOTAL.name).into_owned(), vec![metric]);
            Counter::from_arc(shared.scalars.counter(&overflow))
        });
        if admitted { prefixed } else { Cow::Owned(cardinality::overflow_key(prefixed.name())) }
    }
}

impl metrics::Recorder for MetricsRecorder {
    // The text format has no unit line: names carry it (`_seconds`).
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        let shared = &self.handle.shared;
        let description = shared.help(&key, description);
        shared.scalars.describe(shared.prefixed_name(key).as_str(), description.into_owned());
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        let shared = &self.handle.shared;
        let description = shared.help(&key, description);
        shared.scalars.describe(shared.prefixed_name(key).as_str(), description.into_owned());
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        let shared = &self.handle.shared;
        let description = shared.help(&key, description);
        shared.histograms.describe(shared.prefixed_name(key).as_str().to_owned(), description.into_owned());
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        if super::process::is_exact(key.name()) || self.handle.shared.names.is_disabled(key.name()) {
            return Counter::noop(); // rendered exactly at scrape time, or switched off
        }
        let admitted = self.admitted(key);
        // A macro family's counter recorded by hand: kept here, so the family has one block.
        let counter = if Subsystem::ALL.iter().any(|s| s.family().total.name == key.name()) {
            Counter::from_arc(self.handle.shared.counters.register(&admitted))
        } else {
            Counter::from_arc(self.handle.shared.scalars.counter(&admitted))
        };
        crate::testing::recorder::tee_counter(counter, key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        if super::process::is_exact(key.name()) || self.handle.shared.names.is_disabled(key.name()) {
            return Gauge::noop(); // rendered exactly at scrape time, or switched off
        }
        let gauge = Gauge::from_arc(self.handle.shared.scalars.gauge(&self.admitted(key)));
        crate::testing::recorder::tee_gauge(gauge, key, metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        let shared = &self.handle.shared;
        if shared.names.is_disabled(key.name()) {
            return Histogram::noop();
        }
        let admitted = self.admitted(key);
        let histogram = Histogram::from_arc(shared.histograms.register(&admitted, || shared.bounds_for(key.name())));
        crate::testing::recorder::tee_histogram(histogram, key, metadata)
    }
}

/// Renders what obs's recorder holds, in the Prometheus text format.
#[derive(Clone, Debug)]
pub struct MetricsHandle {
    shared: Arc<Shared>,
}

impl MetricsHandle {
    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        self.render_with(false)
    }

    /// The exposition, with each call-site bucket's and outcome counter's latest exemplar
    /// appended to its sample when `exemplars` is set (for OpenMetrics).
    pub(crate) fn render_with(&self, exemplars: bool) -> String {
        let shared = &self.shared;
        // Sized from the last scrape: the text is written once, without regrowing.
        let mut text = String::with_capacity(shared.last_len.load(Ordering::Relaxed) + 4096);
        shared.scalars.render(&mut text);
        // A name the fused store renders is rendered there only, whatever else recorded it.
        let fused = shared.call_stats.rendered_names();
        shared.histograms.render(&mut text, &fused, exemplars);
        shared.call_stats.render_counters_without_sites(&mut text, &shared.counters, &fused);
        shared.call_stats.render(&mut text, &shared.counters, &shared.histograms, exemplars);
        shared.last_len.store(text.len(), Ordering::Relaxed);
        text
    }

    /// Appends the process metrics obs renders itself (see `process::EXACT`).
    pub(crate) fn render_process(&self, out: &mut String) {
        super::process::render_exact(out, &self.shared.names, &self.shared.global_labels);
    }

    /// Appends the gauges read at render time (pools, queues, the build; see `sampled`).
    pub(crate) fn render_sampled(&self, out: &mut String) {
        super::sampled::render(out, &self.shared.names, &self.shared.global_labels);
    }

    /// Does nothing: obs's series are atomics that need no draining. Kept for code written
    /// against metrics-exporter-prometheus's handle.
    pub fn run_upkeep(&self) {}
}
