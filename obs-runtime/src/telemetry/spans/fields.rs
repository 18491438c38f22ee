//! `tracing` fields as OpenTelemetry data, for recorded spans: the conversions
//! `tracing-opentelemetry` 0.34 makes with its default semantic-convention settings, so a
//! recorded span carries exactly what that layer would have exported.
//!
//! Span fields: `otel.name`, `otel.kind`, `otel.status_code` and `otel.status_description` set
//! the span's name, kind and status; booleans, floats and signed integers keep their type;
//! everything else (unsigned integers included, as there) is text; an error value adds
//! `exception.message`, `exception.stacktrace` (its source chain) and `{field}.chain`.
//! Event fields: `message` names the event; a nameless event's `error` field makes it an
//! `exception` event and the span's status; an error value also goes on the span.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Key, KeyValue, StringValue, Value};
use tracing::Metadata;
use tracing::field::{Field, Visit};

use super::interned;

const SPAN_NAME_FIELD: &str = "otel.name";
const SPAN_KIND_FIELD: &str = "otel.kind";
const SPAN_STATUS_CODE_FIELD: &str = "otel.status_code";
const SPAN_STATUS_DESCRIPTION_FIELD: &str = "otel.status_description";
const EXCEPTION_EVENT: &str = "exception";
const EXCEPTION_MESSAGE: &str = "exception.message";
const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";

/// What fields change on a span: its name, kind and status, and attributes to add.
#[derive(Default)]
pub(crate) struct Updates {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) kind: Option<SpanKind>,
    pub(crate) status: Option<Status>,
    pub(crate) attributes: Option<Vec<KeyValue>>,
}

impl Updates {
    fn push(&mut self, attribute: KeyValue) {
        self.attributes.get_or_insert_with(Vec::new).push(attribute);
    }
}

/// A span's fields, at open or recorded later.
pub(crate) struct SpanFields<'a>(pub(crate) &'a mut Updates);

impl Visit for SpanFields<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push(KeyValue::new(field.name(), value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push(KeyValue::new(field.name(), value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push(KeyValue::new(field.name(), value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let name = field.name();
        if !name.starts_with("otel.") {
            let value = match interned::interns(name).then(|| interned::kept(value)).flatten() {
                Some(kept) => Value::from(kept),
                None => Value::from(value.to_owned()),
            };
            return self.0.push(KeyValue::new(name, value));
        }
        match name {
            SPAN_NAME_FIELD => self.0.name = Some(value.to_owned().into()),
            SPAN_KIND_FIELD => self.0.kind = span_kind(value),
            SPAN_STATUS_CODE_FIELD => self.0.status = Some(status(value)),
            SPAN_STATUS_DESCRIPTION_FIELD => self.0.status = Some(Status::error(value.to_owned())),
            name => self.0.push(KeyValue::new(name, value.to_owned())),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            SPAN_NAME_FIELD => self.0.name = Some(format!("{value:?}").into()),
            SPAN_KIND_FIELD => self.0.kind = span_kind(&format!("{value:?}")),
            SPAN_STATUS_CODE_FIELD => self.0.status = Some(status(&format!("{value:?}"))),
            SPAN_STATUS_DESCRIPTION_FIELD => self.0.status = Some(Status::error(format!("{value:?}"))),
            name => self.0.push(KeyValue::new(Key::new(name), Value::String(format!("{value:?}").into()))),
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let (message, chain) = error_parts(value);
        self.0.push(KeyValue::new(EXCEPTION_MESSAGE, Value::from(message.clone())));
        self.0.push(KeyValue::new(EXCEPTION_STACKTRACE, Value::Array(chain.clone().into())));
        self.0.push(KeyValue::new(field.name(), Value::String(message.into())));
        self.0.push(KeyValue::new(format!("{}.chain", field.name()), Value::Array(chain.into())));
    }
}

/// An event's fields: its name, attributes and what it changes on its span.
pub(crate) struct EventFields {
    name: String,
    attributes: Vec<KeyValue>,
    span: Option<Updates>,
}

impl EventFields {
    pub(crate) fn new(meta: &'static Metadata<'static>) -> Self {
        let attributes = vec![
            KeyValue::new(Key::new("level"), Value::String(meta.level().as_str().into())),
            KeyValue::new(Key::new("target"), Value::String(meta.target().into())),
        ];
        Self { name: String::new(), attributes, span: None }
    }

    /// The event's name (its metadata's when no field named it), attributes and span updates.
    pub(crate) fn into_parts(
        self,
        meta: &'static Metadata<'static>,
    ) -> (Cow<'static, str>, Vec<KeyValue>, Option<Updates>) {
        let name = match self.name.is_empty() {
            true => Cow::Borrowed(meta.name()),
            false => Cow::Owned(self.name),
        };
        (name, self.attributes, self.span)
    }

    fn field(&mut self, field: &Field, value: impl FnOnce() -> Value, text: impl FnOnce() -> String) {
        if field.name() == "message" {
            self.name = text();
        } else {
            self.attributes.push(KeyValue::new(field.name(), value()));
        }
    }

    /// A nameless event's `error` field: an exception, and the span's status.
    fn exception(&mut self, debug: String) {
        self.span.get_or_insert_with(Updates::default).status = Some(Status::error(debug.clone()));
        self.name = EXCEPTION_EVENT.to_owned();
        self.attributes.push(KeyValue::new(EXCEPTION_MESSAGE, debug));
    }
}

impl Visit for EventFields {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, || value.into(), || value.to_string());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, || value.into(), || value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, || value.into(), || value.to_string());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "error" if self.name.is_empty() => self.exception(format!("{value:?}")),
            _ => self.field(field, || value.to_owned().into(), || value.to_owned()),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "error" if self.name.is_empty() => self.exception(format!("{value:?}")),
            _ => self.field(field, || format!("{value:?}").into(), || format!("{value:?}")),
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let (message, chain) = error_parts(value);
        self.attributes.push(KeyValue::new(EXCEPTION_MESSAGE, Value::String(message.clone().into())));
        self.attributes.push(KeyValue::new(EXCEPTION_STACKTRACE, Value::Array(chain.clone().into())));
        let span = self.span.get_or_insert_with(Updates::default);
        span.push(KeyValue::new(EXCEPTION_MESSAGE, Value::String(message.clone().into())));
        span.push(KeyValue::new(EXCEPTION_STACKTRACE, Value::Array(chain.clone().into())));
        self.attributes.push(KeyValue::new(field.name(), Value::String(message.into())));
        self.attributes.push(KeyValue::new(format!("{}.chain", field.name()), Value::Array(chain.into())));
    }
}

/// An error's text and the texts of its sources, outermost first.
fn error_parts(error: &(dyn std::error::Error + 'static)) -> (String, Vec<StringValue>) {
    let mut chain = Vec::new();
    let mut next = error.source();
    while let Some(source) = next {
        chain.push(source.to_string().into());
        next = source.source();
    }
    (error.to_string(), chain)
}

fn span_kind(text: &str) -> Option<SpanKind> {
    // obs's expansions write the kinds in lower case.
    match text {
        "client" => return Some(SpanKind::Client),
        "consumer" => return Some(SpanKind::Consumer),
        "internal" => return Some(SpanKind::Internal),
        _ => {}
    }
    [
        ("server", SpanKind::Server),
        ("client", SpanKind::Client),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
    ]
    .into_iter()
    .find_map(|(name, kind)| text.eq_ignore_ascii_case(name).then_some(kind))
}

fn status(text: &str) -> Status {
    match text {
        _ if text.eq_ignore_ascii_case("ok") => Status::Ok,
        _ if text.eq_ignore_ascii_case("error") => Status::error(""),
        _ => Status::Unset,
    }
}
