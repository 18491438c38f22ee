//! JSON log lines that carry the trace: `trace_id` and `span_id` of the span an event happens
//! in, and the `request_id` of the request being handled, so logs and traces join up; and who
//! wrote them (`service`, `version`, `environment`), so a log query can select a service the
//! way a trace search does. Levels are lowercase words (`| json | level="error"`). With the
//! Datadog exporter, `dd.trace_id` and `dd.span_id` carry the ids in Datadog's decimal form.
//!
//! A layer of its own rather than `tracing_subscriber::fmt`'s with a custom format: the fmt
//! layer formats every span's fields into a `String` kept in the span's extensions (two
//! allocations and a formatting pass per instrumented call) that these lines never print. This
//! one does nothing until an event is logged.

use std::fmt;
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::request_id::RequestId;
use crate::config::ServiceSettings;

/// One JSON object per event, a line on standard output.
#[derive(Debug, Default)]
pub(crate) struct JsonWithTrace {
    /// `service`, `version` and `environment`, as the resource names them; absent ones left out.
    identity: Vec<(&'static str, Value)>,
    /// Whether to add Datadog's `dd.trace_id` and `dd.span_id`.
    datadog: bool,
}

impl JsonWithTrace {
    pub(crate) fn new(service: &ServiceSettings, datadog: bool) -> Self {
        let identity = [("service", Some(service.name.clone())), ("version", service.version.clone())]
            .into_iter()
            .chain([("environment", service.environment().map(str::to_owned))])
            .filter_map(|(key, value)| Some((key, Value::String(value?))))
            .collect();
        Self { identity, datadog }
    }
}

/// Datadog's form of an id: the low 64 bits, in decimal.
fn datadog_id(bytes: &[u8]) -> String {
    let low: [u8; 8] = bytes[bytes.len() - 8..].try_into().unwrap_or_default();
    u64::from_be_bytes(low).to_string()
}

impl<S> Layer<S> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Ok(mut text) = self.line(event, &ctx) else { return };
        text.push('\n');
        // One write per line, so lines from threads never interleave; a closed stdout loses
        // the line and nothing else.
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
}

impl JsonWithTrace {
    fn line<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> Result<String, fmt::Error>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut line = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        line.insert("timestamp".into(), Value::String(timestamp));
        let meta = event.metadata();
        line.insert("level".into(), Value::String(meta.level().as_str().to_ascii_lowercase()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        let mut fields = JsonVisitor(Map::new());
        event.record(&mut fields);
        let mut fields = fields.0;
        if let Some(message) = fields.remove("message") {
            line.insert("message".into(), message);
        }
        if !fields.is_empty() {
            line.insert("fields".into(), Value::Object(fields));
        }
        if let Some(scope) = ctx.event_scope(event) {
            let spans: Vec<_> = scope.collect();
            if let Some(innermost) = spans.first() {
                line.insert("span".into(), Value::String(innermost.name().to_owned()));
                let id = innermost.id();
                let span_context =
                    tracing::dispatcher::get_default(|dispatch| super::spans::span_context(&id, dispatch));
                if let Some(span_context) = span_context {
                    if span_context.is_valid() {
                        let (trace_id, span_id) = (span_context.trace_id(), span_context.span_id());
                        line.insert("trace_id".into(), Value::String(trace_id.to_string()));
                        line.insert("span_id".into(), Value::String(span_id.to_string()));
                        if self.datadog {
                            line.insert("dd.trace_id".into(), Value::String(datadog_id(&trace_id.to_bytes())));
                            line.insert("dd.span_id".into(), Value::String(datadog_id(&span_id.to_bytes())));
                        }
                    }
                }
            }
            if let Some(request_id) = spans.iter().find_map(|span| span.extensions().get::<RequestId>().cloned()) {
                line.insert("request_id".into(), Value::String(request_id.0));
            }
        }
        for (key, value) in &self.identity {
            line.insert((*key).into(), value.clone());
        }
        serde_json::to_string(&line).map_err(|_| fmt::Error)
    }
}

struct JsonVisitor(Map<String, Value>);

impl Visit for JsonVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().to_owned(), Value::String(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datadog_ids_are_the_low_64_bits_in_decimal() {
        // Datadog's own example: 128-bit trace id 0x…e457b5a2e4d86bd1 -> 16453819474850114513.
        let trace = u128::from_str_radix("0000000000000000e457b5a2e4d86bd1", 16).unwrap().to_be_bytes();
        assert_eq!(datadog_id(&trace), "16453819474850114513");
        let high_bits_ignored = u128::from_str_radix("5b8efff798038103e457b5a2e4d86bd1", 16).unwrap().to_be_bytes();
        assert_eq!(datadog_id(&high_bits_ignored), "16453819474850114513");
        assert_eq!(datadog_id(&1u64.to_be_bytes()), "1");
    }
}
