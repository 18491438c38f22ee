//! The traces section: where spans go and how they are sampled and batched (`OTEL_*`,
//! `JAEGER_ENDPOINT`, `OBS_SPAN_DEBUG_ATTRIBUTES`, `OBS_SHUTDOWN_TIMEOUT`,
//! `OBS_TAIL_LATENCY_THRESHOLD`).

use std::time::Duration;

use super::env::{Vars, check_url};
use crate::error::InitError;

/// Where spans are exported (`OTEL_EXPORTER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceExporter {
    /// Jaeger's OTLP/HTTP receiver at `JAEGER_ENDPOINT`.
    Jaeger,
    /// An OpenTelemetry Collector (or any OTLP receiver) at `OTEL_EXPORTER_OTLP_ENDPOINT`.
    Otlp,
    /// The Datadog Agent's OTLP receiver at `OTEL_EXPORTER_OTLP_ENDPOINT`.
    Datadog,
    /// No export: spans still feed the logs' `trace_id`/`span_id`.
    None,
}

impl TraceExporter {
    const NAMES: &[&str] = &["jaeger", "otlp", "datadog", "none"];

    /// The value of `OTEL_EXPORTER` that selects it.
    pub fn name(self) -> &'static str {
        match self {
            TraceExporter::Jaeger => "jaeger",
            TraceExporter::Otlp => "otlp",
            TraceExporter::Datadog => "datadog",
            TraceExporter::None => "none",
        }
    }
}

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// gRPC, usually port 4317.
    Grpc,
    /// Protobuf over HTTP, usually port 4318; `/v1/traces` is appended to the endpoint.
    HttpProtobuf,
}

/// The trace sampler (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// This fraction of traces, by trace id.
    TraceIdRatio(f64),
    /// Follow the parent's decision; sample roots.
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; drop roots.
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; sample this fraction of roots.
    ParentBasedTraceIdRatio(f64),
    /// obs's outcome-aware sampler (`obs_outcome`): every span is recorded and held until its
    /// local root ends; the local trace is exported when any span failed, was cancelled or ran
    /// past `OBS_TAIL_LATENCY_THRESHOLD`, or its parent came sampled, else with this ratio, by
    /// trace id as `traceidratio` decides.
    Outcome(f64),
}

const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
    "obs_outcome",
];

/// The batch span processor's limits (`OTEL_BSP_*`). A full queue drops spans; it never blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, default 2048.
    pub max_queue_size: usize,
    /// `OTEL_BSP_SCHEDULE_DELAY` in ms, default 5000.
    pub schedule_delay: Duration,
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512.
    pub max_export_batch_size: usize,
    /// `OTEL_BSP_EXPORT_TIMEOUT` in ms, default 30000.
    pub export_timeout: Duration,
    /// `OBS_BSP_MAX_QUEUE_BYTES`, default 16 MiB: spans waiting for export, in bytes; past it new
    /// spans are dropped (and counted), so a stalled collector costs bounded memory.
    pub max_queue_bytes: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max_queue_size: 2048,
            schedule_delay: Duration::from_millis(5000),
            max_export_batch_size: 512,
            export_timeout: Duration::from_millis(30_000),
            max_queue_bytes: 16 << 20,
        }
    }
}

/// OpenTelemetry's span limits (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
/// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`), with obs's safe defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanLimitSettings {
    /// Characters kept of any attribute value, event name and status description; default
    /// 1 024 (the spec's is unlimited, which lets one client grow the export queue).
    pub attribute_value_length: usize,
    /// Attributes kept per span; default 128.
    pub attribute_count: u32,
    /// Events kept per span; default 128.
    pub event_count: u32,
}

impl Default for SpanLimitSettings {
    fn default() -> Self {
        Self { attribute_value_length: 1_024, attribute_count: 128, event_count: 128 }
    }
}

/// The traces section of a [`crate::Config`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TraceSettings {
    /// `OTEL_EXPORTER`, default [`TraceExporter::Jaeger`].
    pub exporter: TraceExporter,
    /// `JAEGER_ENDPOINT`, default `http://localhost:4318/v1/traces`.
    pub jaeger_endpoint: String,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; unset, the protocol's localhost default.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`, default gRPC.
    pub otlp_protocol: OtlpProtocol,
    /// `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG`, default parent-based always-on.
    pub sampler: Sampler,
    /// `OTEL_SDK_DISABLED`, default false.
    pub sdk_disabled: bool,
    /// `OTEL_BSP_*`.
    pub batch: BatchSettings,
    /// `OTEL_*_LIMIT`.
    pub limits: SpanLimitSettings,
    /// `OBS_SPAN_DEBUG_ATTRIBUTES`, default false.
    pub debug_attributes: bool,
    /// `OBS_SHUTDOWN_TIMEOUT`, default 5 s: how long dropping the guard may take to flush.
    pub shutdown_timeout: Duration,
    /// `OBS_TAIL_LATENCY_THRESHOLD`, unset by default: with the `obs_outcome` sampler, a local
    /// trace with a span this slow is always kept.
    pub tail_latency_threshold: Option<Duration>,
    /// Whether `JAEGER_ENDPOINT` (or [`crate::Config::jaeger_endpoint`]) was given.
    pub(crate) jaeger_endpoint_set: bool,
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            exporter: TraceExporter::Jaeger,
            jaeger_endpoint: "http://localhost:4318/v1/traces".to_owned(),
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::Grpc,
            sampler: Sampler::ParentBasedAlwaysOn,
            sdk_disabled: false,
            batch: BatchSettings::default(),
            limits: SpanLimitSettings::default(),
            debug_attributes: false,
            shutdown_timeout: Duration::from_secs(5),
            tail_latency_threshold: None,
            jaeger_endpoint_set: false,
        }
    }
}

impl TraceSettings {
    pub(super) fn read(&mut self, vars: &Vars) -> Result<(), InitError> {
        if let Some(exporter) = vars.one_of("OTEL_EXPORTER", TraceExporter::NAMES)? {
            self.exporter = match exporter {
                "jaeger" => TraceExporter::Jaeger,
                "otlp" => TraceExporter::Otlp,
                "datadog" => TraceExporter::Datadog,
                _ => TraceExporter::None,
            };
        }
        if let Some(endpoint) = vars.url("JAEGER_ENDPOINT")? {
            self.jaeger_endpoint = endpoint;
            self.jaeger_endpoint_set = true;
        }
        if let Some(endpoint) = vars.url("OTEL_EXPORTER_OTLP_ENDPOINT")? {
            self.otlp_endpoint = Some(endpoint);
        }
        if let Some(protocol) = vars.one_of("OTEL_EXPORTER_OTLP_PROTOCOL", &["grpc", "http/protobuf"])? {
            self.otlp_protocol = if protocol == "grpc" { OtlpProtocol::Grpc } else { OtlpProtocol::HttpProtobuf };
        }
        if let Some(sampler) = read_sampler(vars)? {
            self.sampler = sampler;
        }
        if let Some(disabled) = vars.bool("OTEL_SDK_DISABLED")? {
            self.sdk_disabled = disabled;
        }
        let batch = &mut self.batch;
        if let Some(n) = vars.positive("OTEL_BSP_MAX_QUEUE_SIZE")? {
            batch.max_queue_size = n;
        }
        if let Some(d) = vars.millis("OTEL_BSP_SCHEDULE_DELAY")? {
            batch.schedule_delay = d;
        }
        if let Some(n) = vars.positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")? {
            batch.max_export_batch_size = n;
        }
        if let Some(d) = vars.millis("OTEL_BSP_EXPORT_TIMEOUT")? {
            batch.export_timeout = d;
        }
        if let Some(n) = vars.positive("OBS_BSP_MAX_QUEUE_BYTES")? {
            batch.max_queue_bytes = n;
        }
        let limits = &mut self.limits;
        if let Some(n) = vars.positive("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")? {
            limits.attribute_value_length = n;
        }
        if let Some(n) = vars.positive("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT")? {
            limits.attribute_count = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = vars.positive("OTEL_SPAN_EVENT_COUNT_LIMIT")? {
            limits.event_count = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(threshold) = vars.duration("OBS_TAIL_LATENCY_THRESHOLD")? {
            self.tail_latency_threshold = Some(threshold);
        }
        if let Some(timeout) = vars.duration("OBS_SHUTDOWN_TIMEOUT")? {
            self.shutdown_timeout = timeout;
        }
        if let Some(debug) = vars.bool("OBS_SPAN_DEBUG_ATTRIBUTES")? {
            self.debug_attributes = debug;
        }
        Ok(())
    }

    /// Checks the endpoints and limits, and rewrites a legacy Jaeger URL (returning the warning
    /// to log once the subscriber is up).
    pub(super) fn validate(&mut self) -> Result<Option<String>, InitError> {
        let batch = &self.batch;
        if batch.max_export_batch_size > batch.max_queue_size {
            return Err(InitError::invalid(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                batch.max_export_batch_size.to_string(),
                format!("at most OTEL_BSP_MAX_QUEUE_SIZE ({})", batch.max_queue_size),
            ));
        }
        check_url("JAEGER_ENDPOINT", &self.jaeger_endpoint)?;
        if let Some(endpoint) = &self.otlp_endpoint {
            check_url("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)?;
        }
        Ok(legacy_jaeger(&self.jaeger_endpoint).map(|rewritten| {
            let warning = format!(
                "JAEGER_ENDPOINT={:?} is Jaeger's legacy Thrift collector; exporting over OTLP/HTTP to {rewritten} instead",
                self.jaeger_endpoint
            );
            self.jaeger_endpoint = rewritten;
            warning
        }))
    }

    /// Where spans are sent, exactly as the exporter will use it; empty for no exporter.
    pub fn endpoint(&self) -> String {
        match self.exporter {
            TraceExporter::Jaeger => self.jaeger_endpoint.clone(),
            TraceExporter::None => String::new(),
            TraceExporter::Otlp | TraceExporter::Datadog => match self.otlp_protocol {
                OtlpProtocol::Grpc => self.otlp_endpoint.clone().unwrap_or_else(|| "http://localhost:4317".to_owned()),
                OtlpProtocol::HttpProtobuf => {
                    let base = self.otlp_endpoint.clone().unwrap_or_else(|| "http://localhost:4318".to_owned());
                    let base = base.trim_end_matches('/');
                    if base.ends_with("/v1/traces") { base.to_owned() } else { format!("{base}/v1/traces") }
                }
            },
        }
    }

    /// The transport spans actually go over: Jaeger's receiver is OTLP/HTTP.
    pub(crate) fn protocol(&self) -> OtlpProtocol {
        match self.exporter {
            TraceExporter::Jaeger => OtlpProtocol::HttpProtobuf,
            _ => self.otlp_protocol,
        }
    }

    /// The variable that names [`Self::endpoint`], for errors.
    /// A WARN line for an exporter sending to its default endpoint, which nobody configured.
    pub(crate) fn default_endpoint_warning(&self) -> Option<String> {
        let defaulted = match self.exporter {
            TraceExporter::Jaeger => !self.jaeger_endpoint_set,
            TraceExporter::Otlp | TraceExporter::Datadog => self.otlp_endpoint.is_none(),
            TraceExporter::None => false,
        };
        (defaulted && !self.sdk_disabled).then(|| {
            format!(
                "{} is not set: spans go to the {} exporter's default, {}. Set it to your collector, or \
                 OTEL_EXPORTER=none to export nothing",
                self.endpoint_variable(),
                self.exporter.name(),
                self.endpoint()
            )
        })
    }

    pub(crate) fn endpoint_variable(&self) -> &'static str {
        match self.exporter {
            TraceExporter::Jaeger => "JAEGER_ENDPOINT",
            _ => "OTEL_EXPORTER_OTLP_ENDPOINT",
        }
    }
}

/// The sampler, when `OTEL_TRACES_SAMPLER` or `OTEL_TRACES_SAMPLER_ARG` is set. The argument is
/// checked even for samplers that ignore it: a set-but-wrong value is never ignored.
fn read_sampler(vars: &Vars) -> Result<Option<Sampler>, InitError> {
    let name = vars.one_of("OTEL_TRACES_SAMPLER", SAMPLERS)?;
    let ratio = match vars.get("OTEL_TRACES_SAMPLER_ARG") {
        None => 1.0,
        Some(arg) => arg
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| InitError::invalid("OTEL_TRACES_SAMPLER_ARG", arg, "a number from 0 to 1"))?,
    };
    Ok(name.map(|name| match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(ratio),
        "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio),
        "obs_outcome" => Sampler::Outcome(ratio),
        _ => Sampler::ParentBasedAlwaysOn,
    }))
}

/// Jaeger's legacy Thrift HTTP collector (`:14268/api/traces`) rewritten to its OTLP/HTTP receiver.
fn legacy_jaeger(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.strip_suffix(":14268")?;
    (path.trim_end_matches('/') == "api/traces").then(|| format!("{scheme}://{host}:4318/v1/traces"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_jaeger_urls_are_rewritten() {
        assert_eq!(legacy_jaeger("http://jaeger:14268/api/traces").as_deref(), Some("http://jaeger:4318/v1/traces"));
        assert_eq!(legacy_jaeger("http://jaeger:4318/v1/traces"), None);
    }
}
