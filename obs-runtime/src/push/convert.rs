//! The scrape, as OTLP: obs's own Prometheus text exposition read back into OTLP metrics, so a
//! push carries exactly the numbers a scrape at the same moment shows, under the same names
//! and labels, for every recorder path (macro sites, hand-recorded series, process metrics).
//!
//! Counters become cumulative monotonic sums, histograms explicit-bucket histograms with the
//! exposition's buckets (de-cumulated), gauges gauges. The parser reads what obs writes: one
//! `# TYPE` per family before its samples, label values escaped as the text format says.

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, Sum, metric,
    number_data_point,
};

use crate::prometheus::read::{Labels, sample};

/// One family of the exposition, as OTLP.
struct Family {
    name: String,
    help: String,
    kind: Kind,
    numbers: Vec<NumberDataPoint>,
    histograms: Vec<(Labels, HistogramDataPoint)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
    Other,
}

/// The metrics of `text` (obs's Prometheus exposition), stamped with `start` (when the
/// cumulative series began) and `now`, in Unix nanoseconds.
pub(crate) fn metrics_of(text: &str, start: u64, now: u64) -> Vec<Metric> {
    let mut families: Vec<Family> = Vec::new();
    let mut helps: Vec<(&str, &str)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((name, help)) = rest.split_once(' ') {
                helps.push((name, help));
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let Some((name, kind)) = rest.split_once(' ') else { continue };
            let kind = match kind.trim() {
                "counter" => Kind::Counter,
                "gauge" => Kind::Gauge,
                "histogram" => Kind::Histogram,
                _ => Kind::Other,
            };
            let help = helps.iter().rev().find(|(n, _)| *n == name).map_or("", |(_, h)| h);
            families.push(Family {
                name: name.to_owned(),
                help: unescape_help(help),
                kind,
                numbers: Vec::new(),
                histograms: Vec::new(),
            });
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let (Some(family), Some((name, labels, value))) = (families.last_mut(), sample(line)) else { continue };
            family.add(name, labels, value, start, now);
        }
    }
    families.into_iter().filter_map(Family::into_metric).collect()
}

impl Family {
    fn add(&mut self, name: &str, mut labels: Labels, value: f64, start: u64, now: u64) {
        match self.kind {
            Kind::Counter | Kind::Gauge if name == self.name => self.numbers.push(NumberDataPoint {
                attributes: attributes(&labels),
                start_time_unix_nano: if self.kind == Kind::Counter { start } else { 0 },
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsDouble(value)),
                ..Default::default()
            }),
            Kind::Histogram => {
                let Some(suffix) = name.strip_prefix(self.name.as_str()) else { return };
                let le = labels.iter().position(|(k, _)| k == "le").map(|i| labels.remove(i).1);
                let point = match self.histograms.iter().position(|(l, _)| *l == labels) {
                    Some(i) => &mut self.histograms[i].1,
                    None => {
                        let point = HistogramDataPoint {
                            attributes: attributes(&labels),
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            ..Default::default()
                        };
                        self.histograms.push((labels, point));
                        &mut self.histograms.last_mut().expect("just pushed").1
                    }
                };
                match (suffix, le) {
                    ("_bucket", Some(le)) => {
                        // Cumulative in the exposition, per bucket in OTLP.
                        let below: u64 = point.bucket_counts.iter().sum();
                        point.bucket_counts.push((value as u64).saturating_sub(below));
                        if le != "+Inf"
                            && let Ok(bound) = le.parse::<f64>()
                        {
                            point.explicit_bounds.push(bound);
                        }
                    }
                    ("_sum", None) => point.sum = Some(value),
                    ("_count", None) => point.count = value as u64,
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn into_metric(self) -> Option<Metric> {
        let data = match self.kind {
            Kind::Counter => metric::Data::Sum(Sum {
                data_points: self.numbers,
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
            Kind::Gauge => metric::Data::Gauge(Gauge { data_points: self.numbers }),
            Kind::Histogram => metric::Data::Histogram(Histogram {
                data_points: self.histograms.into_iter().map(|(_, point)| point).collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
            Kind::Other => return None,
        };
        let unit = if self.name.ends_with("_seconds") || self.name.ends_with("_seconds_total") { "s" } else { "" };
        Some(Metric {
            name: self.name,
            description: self.help,
            unit: unit.to_owned(),
            data: Some(data),
            ..Default::default()
        })
    }
}

pub(crate) fn attributes(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels.iter().map(|(k, v)| string_attribute(k, v)).collect()
}

pub(crate) fn string_attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_owned())) }),
        ..Default::default()
    }
}

fn unescape_help(help: &str) -> String {
    help.replace("\\n", "\n").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP calls_total Calls.
# TYPE calls_total counter
calls_total{op=\"a \\\"quoted\\\" \\\\ value\",status=\"ok\"} 3
# TYPE up gauge
up 1
# HELP took_seconds Time.
# TYPE took_seconds histogram
took_seconds_bucket{op=\"a\",le=\"0.1\"} 1
took_seconds_bucket{op=\"a\",le=\"1\"} 3
took_seconds_bucket{op=\"a\",le=\"+Inf\"} 4
took_seconds_sum{op=\"a\"} 7.5
took_seconds_count{op=\"a\"} 4
";

    #[test]
    fn counters_gauges_and_histograms_keep_their_numbers() {
        let metrics = metrics_of(TEXT, 10, 20);
        assert_eq!(metrics.len(), 3);
        let Some(metric::Data::Sum(sum)) = &metrics[0].data else { panic!("a sum: {:?}", metrics[0]) };
        assert!(sum.is_monotonic);
        assert_eq!(metrics[0].description, "Calls.");
        let point = &sum.data_points[0];
        assert_eq!(point.value, Some(number_data_point::Value::AsDouble(3.0)));
        assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (10, 20));
        assert_eq!(point.attributes[0], string_attribute("op", "a \"quoted\" \\ value"));
        let Some(metric::Data::Gauge(gauge)) = &metrics[1].data else { panic!("a gauge") };
        assert_eq!(gauge.data_points[0].value, Some(number_data_point::Value::AsDouble(1.0)));
        let Some(metric::Data::Histogram(histogram)) = &metrics[2].data else { panic!("a histogram") };
        let point = &histogram.data_points[0];
        assert_eq!(point.explicit_bounds, [0.1, 1.0]);
        assert_eq!(point.bucket_counts, [1, 2, 1]);
        assert_eq!((point.count, point.sum), (4, Some(7.5)));
        assert_eq!(point.attributes, [string_attribute("op", "a")]);
        assert_eq!(metrics[2].unit, "s");
    }
}
