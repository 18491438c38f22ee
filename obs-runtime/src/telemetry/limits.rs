//! Span memory bounded in bytes, not only in spans.
//!
//! The SDK limits how many attributes and events a span keeps, but not how long their values
//! are, and its batch queue is bounded in spans: a client sending 30 000-character paths with a
//! stalled collector filled 2 048 queue slots with 46 KB spans each. Here every finished span
//! has its attribute values, event names and event attribute values and status description cut
//! to `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` characters (on a char boundary), and the spans handed
//! to the batch processor but not yet exported are kept under a byte budget (and under the
//! queue size, so the processor never drops on its own); a span past either is dropped and
//! counted in `obs_spans_dropped_total{reason}`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use super::attribute_lists;
use crate::catalogue::SPANS_DROPPED_TOTAL;

/// Spans handed on and not yet exported, shared by the processor and the exporter wrappers.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    spans: AtomicUsize,
    bytes: AtomicUsize,
}

/// Truncates each finished span and hands it to `inner` while the in-flight budget allows.
#[derive(Debug)]
pub(crate) struct Limited<P> {
    pub(crate) inner: P,
    pub(crate) value_length: usize,
    pub(crate) max_spans: usize,
    pub(crate) max_bytes: usize,
    pub(crate) in_flight: Arc<InFlight>,
    /// `obs_spans_dropped_total` by reason (`queue_full`, `queue_bytes`), looked up at the
    /// first drop: drops come in floods while a collector stalls, and each would otherwise
    /// register the series again.
    pub(crate) dropped: [OnceLock<metrics::Counter>; 2],
}

impl<P> Limited<P> {
    fn count_drop(&self, queue_full: bool) {
        let (handle, reason) = match queue_full {
            true => (&self.dropped[0], "queue_full"),
            false => (&self.dropped[1], "queue_bytes"),
        };
        handle.get_or_init(|| metrics::counter!(SPANS_DROPPED_TOTAL.name, "reason" => reason)).increment(1);
    }
}

impl<P: SpanProcessor> SpanProcessor for Limited<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        let size = truncate_and_estimate(&mut span, self.value_length);
        let spans = self.in_flight.spans.fetch_add(1, Ordering::AcqRel);
        let bytes = self.in_flight.bytes.fetch_add(size, Ordering::AcqRel);
        if spans >= self.max_spans || bytes + size > self.max_bytes {
            self.in_flight.spans.fetch_sub(1, Ordering::AcqRel);
            self.in_flight.bytes.fetch_sub(size, Ordering::AcqRel);
            self.count_drop(spans >= self.max_spans);
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The exporter, releasing each batch from the in-flight budget once its export is over,
/// whatever the outcome.
#[derive(Debug)]
pub(crate) struct Accounted<E> {
    pub(crate) inner: E,
    pub(crate) in_flight: Arc<InFlight>,
    /// Says once when batches stop reaching the collector, and when they reach it again.
    pub(crate) health: super::export_health::ExportHealth,
}

impl<E: SpanExporter> SpanExporter for Accounted<E> {
    fn export(&self, mut batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        attribute_lists::hand_back(&mut batch);
        let (spans, bytes) = (batch.len(), batch.iter_mut().map(estimate).sum::<usize>());
        let exported = self.inner.export(batch);
        async move {
            let result = exported.await;
            self.in_flight.spans.fetch_sub(spans, Ordering::AcqRel);
            self.in_flight.bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.health.observe(&result);
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Cuts every value a client or an error can make long, and says about how many bytes the span
/// then holds: one pass over its attributes, where cutting and then measuring
/// took two, each matching every value again (callgrind: 250 instructions per exported span).
pub(crate) fn truncate_and_estimate(span: &mut SpanData, limit: usize) -> usize {
    truncate_cow(&mut span.name, limit);
    let mut size = 256 + span.name.len() + span.links.links.len() * 64;
    size += span.attributes.iter_mut().map(|kv| truncated_size(kv, limit)).sum::<usize>();
    for event in span.events.events.iter_mut() {
        truncate_cow(&mut event.name, limit);
        size += event.name.len() + 48 + event.attributes.iter_mut().map(|kv| truncated_size(kv, limit)).sum::<usize>();
    }
    if let Status::Error { description } = &mut span.status {
        truncate_cow(description, limit);
        size += description.len();
    }
    size
}

/// Cuts an attribute's value to `limit` characters; its size after, as a span's size counts it.
fn truncated_size(kv: &mut KeyValue, limit: usize) -> usize {
    let value = match &mut kv.value {
        Value::String(s) => truncated_len(s, limit),
        Value::Array(Array::String(values)) => values.iter_mut().map(|s| truncated_len(s, limit) + 24).sum(),
        _ => 16,
    };
    kv.key.as_str().len() + value + 32
}

fn truncated_len(text: &mut StringValue, limit: usize) -> usize {
    if let Some(cut) = cut(text.as_str(), limit) {
        *text = StringValue::from(cut.to_owned());
    }
    text.as_str().len()
}

fn truncate_cow(text: &mut Cow<'static, str>, limit: usize) {
    if let Some(cut) = cut(text, limit) {
        *text = Cow::Owned(cut.to_owned());
    }
}

/// `text`'s first `limit` characters, when it has more.
fn cut(text: &str, limit: usize) -> Option<&str> {
    // Bytes first: a text no longer in bytes than the limit in characters is within it.
    if text.len() <= limit {
        return None;
    }
    text.char_indices().nth(limit).map(|(end, _)| &text[..end])
}

/// About how many bytes a finished span holds: [`truncate_and_estimate`] with no limit, so the
/// formula is written once (no text is longer than `usize::MAX`: nothing is cut).
pub(crate) fn estimate(span: &mut SpanData) -> usize {
    truncate_and_estimate(span, usize::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::SystemTime;

    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    /// A finished span with `attributes` and nothing else.
    pub(crate) fn span_data(attributes: Vec<KeyValue>) -> SpanData {
        SpanData {
            span_context: SpanContext::NONE,
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed("s"),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    #[test]
    fn values_are_cut_on_a_char_boundary() {
        assert_eq!(cut("héllo", 2), Some("hé"));
        assert_eq!(cut("héllo", 5), None);
        assert_eq!(cut(&"ü".repeat(2_000), 1_024).map(|s| s.chars().count()), Some(1_024));
        let mut kv = KeyValue::new("url.path", "x".repeat(30_000));
        assert_eq!(truncated_size(&mut kv, 1_024), "url.path".len() + 1_024 + 32);
        assert_eq!(kv.value.as_str().len(), 1_024);
    }

    #[test]
    fn a_span_is_measured_as_it_is_after_cutting() {
        let long = "ü".repeat(3_000);
        let mut span = span_data(vec![
            KeyValue::new("url.path", long.clone()),
            KeyValue::new("db.collection.name", "users"),
            KeyValue::new("n", 7_i64),
            KeyValue::new("chain", Value::Array(vec![StringValue::from(long.clone()), "short".into()].into())),
        ]);
        span.name = long.clone().into();
        span.events.events.push(opentelemetry::trace::Event::new(
            long.clone(),
            std::time::SystemTime::UNIX_EPOCH,
            vec![KeyValue::new("exception.message", long.clone())],
            0,
        ));
        span.status = Status::error(long);
        let size = truncate_and_estimate(&mut span, 100);
        assert_eq!(size, estimate(&mut span), "the size is the cut span's");
        assert_eq!(span.name.chars().count(), 100);
        assert_eq!(span.attributes[0].value.as_str().chars().count(), 100);
        assert_eq!(span.attributes[1].value.as_str(), "users");
        let Value::Array(Array::String(chain)) = &span.attributes[3].value else { panic!("an array") };
        assert_eq!((chain[0].as_str().chars().count(), chain[1].as_str()), (100, "short"));
        assert_eq!(span.events.events[0].name.chars().count(), 100);
        assert_eq!(span.events.events[0].attributes[0].value.as_str().chars().count(), 100);
        let Status::Error { description } = &span.status else { panic!("an error") };
        assert_eq!(description.chars().count(), 100);
    }
}
