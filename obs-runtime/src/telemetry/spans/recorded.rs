//! Recorded obs spans: an annotated fn's span that will be exported, built by obs itself and
//! handed, when it closes, to the same processor chain the provider's spans end in.
//!
//! `tracing-opentelemetry` turns a `tracing` span into a span builder and a lock in the
//! registry's extensions, starts an SDK span from it on the first enter, makes that the current
//! context, and ends it at close: most of an exported annotated call's cost. A recorded span is
//! the finished span's data from the start (name, kind, parent, times, attributes, events,
//! status) in obs's span table, and becomes the processor's `SpanData` at close. What it holds
//! is what `tracing-opentelemetry` (with obs's settings, `layer::lean_layer`) and the SDK's
//! span would have made of the same calls: the same attribute conversions (`fields`), the same
//! status rules and span limits; `tests` holds the two side by side.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Event as OtelEvent, Link, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanEvents, SpanLimits, SpanLinks, SpanProcessor};
use tracing::Event;
use tracing::span::{Attributes, Record};

use super::fields::{EventFields, SpanFields, Updates};
use crate::clock::wall_now;
use crate::telemetry::attribute_lists;

/// A span processor shared by the provider and obs's span layer, so that obs's recorded spans
/// and every other span end in one chain (limits, batching, export).
#[derive(Clone, Debug)]
pub(crate) struct SharedProcessor(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    processor: Box<dyn SpanProcessor>,
    /// Set at shutdown: the provider stops making spans then, and so does obs.
    shut: AtomicBool,
}

impl SharedProcessor {
    /// Shares `processor`, giving it `resource` now: the provider hands its resource to each
    /// processor through `&mut`, which a shared one no longer offers.
    pub(crate) fn new<P: SpanProcessor + 'static>(mut processor: P, resource: &Resource) -> Self {
        processor.set_resource(resource);
        Self(Arc::new(Shared { processor: Box::new(processor), shut: AtomicBool::new(false) }))
    }
}

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.0.processor.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.0.processor.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.processor.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shut.store(true, Ordering::Release);
        self.0.processor.shutdown_with_timeout(timeout)
    }

    /// Given at [`SharedProcessor::new`].
    fn set_resource(&mut self, _resource: &Resource) {}
}

/// Where recorded spans go, and what the provider would have put on them: its processor chain,
/// the scope of obs's tracer and the span limits.
#[derive(Clone, Debug)]
pub(crate) struct SpanOutput {
    processor: SharedProcessor,
    scope: InstrumentationScope,
    pub(crate) limits: SpanLimits,
}

impl SpanOutput {
    pub(crate) fn new(processor: SharedProcessor, tracer_name: &'static str, limits: SpanLimits) -> Self {
        Self { processor, scope: InstrumentationScope::builder(tracer_name).build(), limits }
    }

    /// Hands a closed span on, as the SDK's span does at its end (nothing after shutdown).
    pub(crate) fn export(&self, context: SpanContext, span: Recorded) {
        if self.processor.0.shut.load(Ordering::Acquire) {
            return;
        }
        self.processor.on_end(span.finish(context, self.scope.clone()));
    }
}

/// An event read for a recorded span, before the span's entry is locked (reading runs the
/// app's `Debug` and `Display`, which may log).
pub(crate) struct SpanEvent {
    name: Cow<'static, str>,
    attributes: Vec<KeyValue>,
    updates: Option<Updates>,
    error: bool,
}

impl SpanEvent {
    pub(crate) fn read(event: &Event<'_>) -> Self {
        let meta = event.metadata();
        let mut fields = EventFields::new(meta);
        event.record(&mut fields);
        let (name, attributes, updates) = fields.into_parts(meta);
        Self { name, attributes, updates, error: *meta.level() == tracing::Level::ERROR }
    }
}

/// The data of one recorded span while it is open.
#[derive(Debug)]
pub(crate) struct Recorded {
    name: Cow<'static, str>,
    kind: SpanKind,
    parent_span_id: SpanId,
    parent_span_is_remote: bool,
    start: SystemTime,
    /// The last exit, which `tracing-opentelemetry` takes as the end; else the close.
    end: Option<SystemTime>,
    attributes: Vec<KeyValue>,
    dropped_attributes: u32,
    events: SpanEvents,
    links: SpanLinks,
    status: Status,
}

/// What a recorded span's attributes say, read before the span is kept: reading runs the app's
/// `Debug` and `Display`, which may log, so it happens outside the table's lock. Inside it,
/// [`Opened::into_span`] writes the span straight into its entry: built first and moved in,
/// the span was copied through memory twice per call (`perf`: `memcpy` under the insertion).
pub(crate) struct Opened {
    name: Cow<'static, str>,
    kind: SpanKind,
    start: SystemTime,
    attributes: Vec<KeyValue>,
    dropped_attributes: u32,
    status: Status,
}

/// What a recorded span keeps of its parent, taken while the parent is borrowed: its span id
/// (invalid for a new trace) and whether it is remote.
#[derive(Clone, Copy)]
pub(crate) struct ParentIds {
    span_id: SpanId,
    remote: bool,
}

impl ParentIds {
    pub(crate) fn of(parent: Option<&SpanContext>) -> Self {
        Self {
            span_id: parent.map_or(SpanId::INVALID, SpanContext::span_id),
            remote: parent.is_some_and(SpanContext::is_remote),
        }
    }
}

impl Opened {
    /// The span under `parent`.
    #[inline(always)]
    pub(crate) fn into_span(self, parent: ParentIds) -> Recorded {
        let Self { name, kind, start, attributes, dropped_attributes, status } = self;
        Recorded {
            name,
            kind,
            parent_span_id: parent.span_id,
            parent_span_is_remote: parent.remote,
            start,
            end: None,
            attributes,
            dropped_attributes,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
        }
    }
}

impl Recorded {
    /// Reads a span opened with `attrs`.
    pub(crate) fn read(attrs: &Attributes<'_>, limits: &SpanLimits) -> Opened {
        // Room for the fields recorded later (an error, a slow call) too.
        let list = attribute_lists::list(attrs.fields().len());
        let mut updates = Updates { attributes: Some(list), ..Updates::default() };
        attrs.record(&mut SpanFields(&mut updates));
        let mut attributes = updates.attributes.take().unwrap_or_default();
        let dropped_attributes = attributes.len().saturating_sub(limits.max_attributes_per_span as usize);
        attributes.truncate(limits.max_attributes_per_span as usize);
        Opened {
            name: updates.name.unwrap_or(Cow::Borrowed(attrs.metadata().name())),
            kind: updates.kind.unwrap_or(SpanKind::Internal),
            start: wall_now(),
            attributes,
            dropped_attributes: dropped_attributes as u32,
            status: updates.status.unwrap_or_default(),
        }
    }

    pub(crate) fn exited(&mut self) {
        self.end = Some(wall_now());
    }

    /// What `values` change on a span. Read before the span's entry is locked: reading runs
    /// the app's `Debug` and `Display`, which may log.
    pub(crate) fn fields(values: &Record<'_>) -> Updates {
        let mut updates = Updates::default();
        values.record(&mut SpanFields(&mut updates));
        updates
    }

    /// An event inside the span, read by [`SpanEvent::read`]: an OpenTelemetry event named by
    /// its message, with its level and target; an ERROR one marks the span failed.
    pub(crate) fn event(&mut self, event: SpanEvent, limits: &SpanLimits) {
        let SpanEvent { name, mut attributes, updates, error } = event;
        if error {
            self.set_status(Status::error(""));
        }
        if let Some(updates) = updates {
            self.record(updates, limits);
        }
        if self.events.len() >= limits.max_events_per_span as usize {
            self.events.dropped_count += 1;
            return;
        }
        let dropped = attributes.len().saturating_sub(limits.max_attributes_per_event as usize);
        attributes.truncate(limits.max_attributes_per_event as usize);
        let event = OtelEvent::new(name, wall_now(), attributes, dropped as u32);
        self.events.events.push(event);
    }

    /// A span this one follows from.
    pub(crate) fn link(&mut self, follows: SpanContext, limits: &SpanLimits) {
        if self.links.len() >= limits.max_links_per_span as usize {
            self.links.dropped_count += 1;
            return;
        }
        self.links.links.push(Link::with_context(follows));
    }

    /// Fields recorded on the open span, read by [`Recorded::fields`]: `tracing-opentelemetry`
    /// has started its span by then (an annotated fn's span is entered as it opens), so they
    /// change its status and add attributes, and no longer rename it.
    pub(crate) fn record(&mut self, updates: Updates, limits: &SpanLimits) {
        if let Some(status) = updates.status {
            self.set_status(status);
        }
        for attribute in updates.attributes.into_iter().flatten() {
            if self.attributes.len() < limits.max_attributes_per_span as usize {
                self.attributes.push(attribute);
            } else {
                self.dropped_attributes += 1;
            }
        }
    }

    /// As the SDK's span: Ok > Error > Unset, and a status never goes down.
    fn set_status(&mut self, status: Status) {
        if status > self.status {
            self.status = status;
        }
    }

    fn finish(self, span_context: SpanContext, scope: InstrumentationScope) -> SpanData {
        SpanData {
            span_context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_span_is_remote,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start,
            // Reckoned from two readings of the wall clock (another thread's, or after the 20 ms
            // re-reading), a span of a few microseconds could end before it starts.
            end_time: self.end.unwrap_or_else(wall_now).max(self.start),
            attributes: self.attributes,
            dropped_attributes_count: self.dropped_attributes,
            events: self.events,
            links: self.links,
            status: self.status,
            instrumentation_scope: scope,
        }
    }

    /// Moves the span under `parent` (`TraceContext::attach` after it opened).
    pub(crate) fn reparent(&mut self, parent: &SpanContext) {
        self.parent_span_id = parent.span_id();
        self.parent_span_is_remote = parent.is_remote();
    }
}
