//! What a capture returns: the series and the finished spans, with queries for tests.

use std::collections::BTreeMap;

use opentelemetry::trace::{SpanKind as OtelKind, Status as OtelStatus};
use opentelemetry_sdk::trace::SpanData;

/// The value of one captured series.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    /// A counter's total.
    Counter(u64),
    /// A histogram's number of observations and their sum.
    Histogram {
        /// Observations.
        count: u64,
        /// Sum of the observed values.
        sum: f64,
    },
    /// A gauge's value, relative to where it stood when the capture began.
    Gauge(f64),
}

/// One captured series.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedMetric {
    /// The metric name, without any `METRICS_PREFIX`.
    pub name: String,
    /// Label pairs in the order they were registered.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: MetricValue,
}

impl CapturedMetric {
    fn matches(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name == name && labels.iter().all(|(k, v)| self.labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }
}

/// A histogram summed over the series that matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramSample {
    /// Observations.
    pub count: u64,
    /// Sum of the observed values, in the metric's unit.
    pub sum: f64,
}

/// The OpenTelemetry span kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// `internal`
    Internal,
    /// `server`
    Server,
    /// `client`
    Client,
    /// `producer`
    Producer,
    /// `consumer`
    Consumer,
}

/// The OpenTelemetry span status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpanStatus {
    /// Not set: the default, and what a successful call leaves.
    Unset,
    /// Explicitly OK.
    Ok,
    /// Error, with its description.
    Error(String),
}

/// An event recorded on a span, such as `exception`.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedEvent {
    /// The event name.
    pub name: String,
    /// Its attributes, as text.
    pub attributes: BTreeMap<String, String>,
}

/// A finished span, as the OpenTelemetry exporter would receive it.
#[derive(Clone, Debug, PartialEq)]
pub struct CapturedSpan {
    /// The span name.
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// Its attributes, as text.
    pub attributes: BTreeMap<String, String>,
    /// Its status.
    pub status: SpanStatus,
    /// Its events, in order.
    pub events: Vec<CapturedEvent>,
    /// The trace id, as 32 hex digits.
    pub trace_id: String,
    /// The span id, as 16 hex digits.
    pub span_id: String,
    /// The parent's span id, if the span has a parent.
    pub parent_span_id: Option<String>,
}

impl CapturedSpan {
    /// The attribute `key`, as text.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    pub(super) fn from_otel(span: SpanData) -> Self {
        let text = |kvs: &[opentelemetry::KeyValue]| -> BTreeMap<String, String> {
            kvs.iter().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect()
        };
        let parent = span.parent_span_id;
        Self {
            name: span.name.into_owned(),
            kind: match span.span_kind {
                OtelKind::Server => SpanKind::Server,
                OtelKind::Client => SpanKind::Client,
                OtelKind::Producer => SpanKind::Producer,
                OtelKind::Consumer => SpanKind::Consumer,
                OtelKind::Internal => SpanKind::Internal,
            },
            attributes: text(&span.attributes),
            status: match span.status {
                OtelStatus::Unset => SpanStatus::Unset,
                OtelStatus::Ok => SpanStatus::Ok,
                OtelStatus::Error { description } => SpanStatus::Error(description.into_owned()),
            },
            events: span
                .events
                .events
                .iter()
                .map(|e| CapturedEvent { name: e.name.to_string(), attributes: text(&e.attributes) })
                .collect(),
            trace_id: span.span_context.trace_id().to_string(),
            span_id: span.span_context.span_id().to_string(),
            parent_span_id: (parent != opentelemetry::trace::SpanId::INVALID).then(|| parent.to_string()),
        }
    }
}

/// Everything a capture saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Captured {
    /// Every series recorded, sorted by name and labels.
    pub metrics: Vec<CapturedMetric>,
    /// Every span that finished inside the capture, in the order they finished.
    pub spans: Vec<CapturedSpan>,
}

impl Captured {
    /// The sum of the counters named `name` whose labels include all of `labels`; 0 when none.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.metrics
            .iter()
            .filter(|m| m.matches(name, labels))
            .filter_map(|m| match m.value {
                MetricValue::Counter(n) => Some(n),
                _ => None,
            })
            .sum()
    }

    /// The histograms named `name` whose labels include all of `labels`, summed; `None` when none.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<HistogramSample> {
        self.metrics
            .iter()
            .filter(|m| m.matches(name, labels))
            .filter_map(|m| match m.value {
                MetricValue::Histogram { count, sum } => Some(HistogramSample { count, sum }),
                _ => None,
            })
            .reduce(|a, b| HistogramSample { count: a.count + b.count, sum: a.sum + b.sum })
    }

    /// The gauge named `name` with exactly these labels, relative to the start of the capture.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.metrics.iter().find(|m| m.matches(name, labels) && m.labels.len() == labels.len()).and_then(|m| {
            match m.value {
                MetricValue::Gauge(v) => Some(v),
                _ => None,
            }
        })
    }

    /// The series named `name`.
    pub fn series(&self, name: &str) -> impl Iterator<Item = &CapturedMetric> + use<'_> {
        let name = name.to_owned();
        self.metrics.iter().filter(move |m| m.name == name)
    }

    /// The first finished span named `name`.
    pub fn span(&self, name: &str) -> Option<&CapturedSpan> {
        self.spans.iter().find(|s| s.name == name)
    }

    /// Every finished span named `name`.
    pub fn spans_named(&self, name: &str) -> impl Iterator<Item = &CapturedSpan> + use<'_> {
        let name = name.to_owned();
        self.spans.iter().filter(move |s| s.name == name)
    }
}
