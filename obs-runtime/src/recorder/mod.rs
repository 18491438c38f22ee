//! obs's `metrics` recorder: metrics-exporter-prometheus underneath, with the metric prefix
//! applied where the exporter's bucket matchers can see it, DESIGN's buckets for every
//! histogram, the `app` label on every series, and the fused store for macro call sites.

mod buckets;
pub(crate) mod call_stats;

use std::sync::{Arc, OnceLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::InitError;
use call_stats::CallStatsRegistry;

static INSTALLED: OnceLock<Arc<CallStatsRegistry>> = OnceLock::new();

/// The fused store, once obs's recorder is the global one.
#[inline]
pub(crate) fn call_stats() -> Option<&'static CallStatsRegistry> {
    INSTALLED.get().map(|registry| &**registry)
}

/// Builds obs's recorder.
///
/// ```
/// let metrics = obs_runtime::MetricsRecorder::builder()
///     .prefix("shop_")
///     .global_label("app", "shop")
///     .buckets_for("db_query_duration_seconds", &[0.01, 0.1, 1.0])
///     .install()
///     .expect("the first recorder of this process");
/// metrics::counter!("orders_total").increment(1);
/// assert!(metrics.render().contains(r#"shop_orders_total{app="shop"} 1"#));
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until it is installed"]
pub struct MetricsRecorderBuilder {
    prefix: String,
    global_labels: Vec<(String, String)>,
    buckets: Vec<(String, Vec<f64>)>,
}

impl MetricsRecorderBuilder {
    /// Prefixes every metric name, e.g. `gemini_flow_`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Adds a label to every series, e.g. `app`.
    pub fn global_label(mut self, key: impl Into<String>, value: impl AsRef<str>) -> Self {
        let key = key.into();
        self.global_labels.retain(|(k, _)| *k != key);
        self.global_labels
            .push((key, crate::normalise_label(value.as_ref())));
        self
    }

    /// Sets the buckets of the histogram `metric` (named without the prefix).
    pub fn buckets_for(mut self, metric: impl Into<String>, bounds: &[f64]) -> Self {
        let metric = metric.into();
        self.buckets.retain(|(m, _)| *m != metric);
        self.buckets.push((metric, bounds.to_vec()));
        self
    }

    /// Builds the recorder without installing it.
    pub fn build(self) -> Result<MetricsRecorder, InitError> {
        let mut buckets: Vec<(String, Vec<f64>)> = buckets::DEFAULTS
            .iter()
            .map(|(name, bounds)| ((*name).to_owned(), bounds.to_vec()))
            .collect();
        for (metric, bounds) in self.buckets {
            buckets::check(&metric, &bounds)?;
            buckets.retain(|(m, _)| *m != metric);
            buckets.push((metric, bounds));
        }
        let mut exporter = PrometheusBuilder::new();
        for (key, value) in &self.global_labels {
            exporter = exporter.add_global_label(key, value);
        }
        for (metric, bounds) in &buckets {
            // The matcher sees the final name, so it must include the prefix.
            exporter = exporter
                .set_buckets_for_metric(Matcher::Full(format!("{}{metric}", self.prefix)), bounds)
                .map_err(|e| {
                    InitError::invalid(
                        format!("buckets for {metric}"),
                        format!("{bounds:?}"),
                        e.to_string(),
                    )
                })?;
        }
        let inner = exporter.build_recorder();
        let handle = inner.handle();
        let call_stats = Arc::new(CallStatsRegistry::new(
            self.prefix.clone(),
            self.global_labels,
            buckets,
        ));
        Ok(MetricsRecorder {
            inner,
            prefix: self.prefix,
            handle: MetricsHandle {
                prometheus: handle,
                call_stats,
            },
        })
    }

    /// Builds the recorder and installs it as the process's `metrics` recorder.
    pub fn install(self) -> Result<MetricsHandle, InitError> {
        self.build()?.install()
    }
}

/// obs's `metrics` recorder. Install it once per process.
#[derive(Debug)]
pub struct MetricsRecorder {
    inner: PrometheusRecorder,
    prefix: String,
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
        let call_stats = handle.call_stats.clone();
        metrics::set_global_recorder(self).map_err(|_| InitError::RecorderAlreadyInstalled)?;
        let _ = INSTALLED.set(call_stats);
        crate::clock::warm_up();
        crate::site::invalidate_handles();
        Ok(handle)
    }

    fn prefixed(&self, key: &Key) -> Key {
        if self.prefix.is_empty() {
            return key.clone();
        }
        Key::from_parts(
            format!("{}{}", self.prefix, key.name()),
            key.labels().cloned().collect::<Vec<_>>(),
        )
    }

    fn prefixed_name(&self, name: KeyName) -> KeyName {
        if self.prefix.is_empty() {
            name
        } else {
            KeyName::from(format!("{}{}", self.prefix, name.as_str()))
        }
    }
}

impl metrics::Recorder for MetricsRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner
            .describe_counter(self.prefixed_name(key), unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner
            .describe_gauge(self.prefixed_name(key), unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner
            .describe_histogram(self.prefixed_name(key), unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.inner.register_counter(&self.prefixed(key), metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.inner.register_gauge(&self.prefixed(key), metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.inner.register_histogram(&self.prefixed(key), metadata)
    }
}

/// Renders what obs's recorder holds, in the Prometheus text format.
#[derive(Clone, Debug)]
pub struct MetricsHandle {
    prometheus: PrometheusHandle,
    call_stats: Arc<CallStatsRegistry>,
}

impl MetricsHandle {
    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut text = self.prometheus.render();
        self.call_stats.render(&mut text);
        text
    }

    /// Drains recorded histogram samples into their buckets, which keeps the exporter's memory
    /// bounded. The scrape server runs it periodically.
    pub fn run_upkeep(&self) {
        self.prometheus.run_upkeep();
    }
}
