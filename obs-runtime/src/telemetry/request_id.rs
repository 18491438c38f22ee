//! The `request_id` of the request being handled, kept on its span for the JSON log lines.

use tracing::Subscriber;
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::Layer;
use tracing_subscriber::registry::LookupSpan;

const REQUEST_ID: &str = "request_id";

/// Stored in a span's extensions: the request id recorded on it.
#[derive(Clone, Debug)]
pub(crate) struct RequestId(pub(crate) String);

/// Keeps the `request_id` field of a span in its extensions, for the JSON log lines.
pub(crate) struct RequestIdLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for RequestIdLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        // A callsite's fields are static: most spans have no `request_id` and cost one scan of
        // their field names, no visit; an annotated fn's never has one, known without the scan.
        if super::spans::is_obs_span(attrs.metadata()) || attrs.metadata().fields().field(REQUEST_ID).is_none() {
            return;
        }
        let mut visitor = RequestIdVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(request_id), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if ctx.metadata(id).is_none_or(|meta| meta.fields().field(REQUEST_ID).is_none()) {
            return;
        }
        let mut visitor = RequestIdVisitor(None);
        values.record(&mut visitor);
        if let (Some(request_id), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().replace(RequestId(request_id));
        }
    }
}

struct RequestIdVisitor(Option<String>);

impl tracing::field::Visit for RequestIdVisitor {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == REQUEST_ID {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == REQUEST_ID {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}
