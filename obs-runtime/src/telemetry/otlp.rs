//! The OpenTelemetry tracer provider: OTLP exporter, batch processor, sampler and resource.

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler as SdkSampler, SdkTracerProvider, SpanExporter, SpanLimits,
};

use std::sync::Arc;

use super::export_health::ExportHealth;
use super::limits::{Accounted, InFlight, Limited};
use super::spans::{SharedProcessor, SpanOutput};
use crate::config::{OtlpProtocol, Sampler, ServiceSettings, TraceSettings};
use crate::error::InitError;

/// The tracer provider, and where obs's own exported spans go: the provider's processors,
/// shared, except under the tail sampler, whose processor needs the SDK's spans.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) provider: SdkTracerProvider,
    pub(crate) output: Option<SpanOutput>,
}

/// The name of the tracer obs's spans come from (their instrumentation scope).
pub(crate) const TRACER_NAME: &str = "obs";

/// Builds the provider. Must run inside the obs runtime: the gRPC exporter's connection tasks
/// are spawned on whatever runtime is current, and that must never be the app's.
pub(crate) fn provider(service: &ServiceSettings, traces: &TraceSettings) -> Result<Pipeline, InitError> {
    let endpoint = traces.endpoint();
    let variable = traces.endpoint_variable();
    let built = match traces.protocol() {
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(traces.batch.export_timeout)
            .build(),
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(traces.batch.export_timeout)
            .build(),
    };
    let exporter = built.map_err(|e| {
        InitError::invalid(variable, endpoint.clone(), format!("an endpoint the OTLP exporter accepts ({e})"))
    })?;
    Ok(pipeline(exporter, ExportHealth::new(endpoint, variable), service, traces))
}

/// obs's pipeline in front of `exporter`: the batch processor bounded in spans and bytes, the
/// span limits, the sampler (with the tail sampler's processor for `obs_outcome`) and the
/// resource. The OTLP exporter and an app's own ([`crate::Config::span_exporter`]) share it.
pub(crate) fn pipeline<E>(
    exporter: E,
    health: ExportHealth,
    service: &ServiceSettings,
    traces: &TraceSettings,
) -> Pipeline
where
    E: SpanExporter + 'static,
{
    // The export timeout (OTEL_BSP_EXPORT_TIMEOUT) is the exporter's, set above: the
    // thread-based processor takes none of its own.
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(traces.batch.max_queue_size)
        .with_max_export_batch_size(traces.batch.max_export_batch_size)
        .with_scheduled_delay(traces.batch.schedule_delay)
        .build();
    // Bounded in bytes as well as spans: see `limits`.
    let in_flight = Arc::new(InFlight::default());
    let exporter = Accounted { inner: exporter, in_flight: in_flight.clone(), health };
    let processor = Limited {
        inner: BatchSpanProcessor::builder(exporter).with_batch_config(batch).build(),
        value_length: traces.limits.attribute_value_length,
        max_spans: traces.batch.max_queue_size,
        max_bytes: traces.batch.max_queue_bytes,
        in_flight,
        dropped: Default::default(),
    };
    let resource = resource(service);
    let limits = SpanLimits {
        max_attributes_per_span: traces.limits.attribute_count,
        max_events_per_span: traces.limits.event_count,
        ..SpanLimits::default()
    };
    let (builder, output) = match traces.sampler {
        // Held, then exported or dropped whole, by outcome: see `tail`.
        Sampler::Outcome(ratio) => {
            let tail =
                super::tail::TailSampling::new(processor, ratio, traces.tail_latency_threshold, Default::default());
            (SdkTracerProvider::builder().with_span_processor(tail), None)
        }
        _ => {
            let shared = SharedProcessor::new(processor, &resource);
            let output = SpanOutput::new(shared.clone(), TRACER_NAME, limits);
            (SdkTracerProvider::builder().with_span_processor(shared), Some(output))
        }
    };
    let provider = builder
        .with_max_attributes_per_span(limits.max_attributes_per_span)
        .with_max_events_per_span(limits.max_events_per_span)
        .with_sampler(sampler(traces.sampler))
        .with_resource(resource)
        .build();
    Pipeline { provider, output }
}

/// A provider that exports nothing (`OTEL_EXPORTER=none`): spans still get trace and span ids,
/// so log lines keep naming their trace and propagation keeps working.
pub(crate) fn local_provider(service: &ServiceSettings, traces: &TraceSettings) -> SdkTracerProvider {
    SdkTracerProvider::builder().with_sampler(sampler(traces.sampler)).with_resource(resource(service)).build()
}

pub(crate) fn sampler(sampler: Sampler) -> SdkSampler {
    match sampler {
        Sampler::AlwaysOn => SdkSampler::AlwaysOn,
        Sampler::AlwaysOff => SdkSampler::AlwaysOff,
        Sampler::TraceIdRatio(ratio) => SdkSampler::TraceIdRatioBased(ratio),
        Sampler::ParentBasedAlwaysOn => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOn)),
        Sampler::ParentBasedAlwaysOff => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOff)),
        Sampler::ParentBasedTraceIdRatio(ratio) => {
            SdkSampler::ParentBased(Box::new(SdkSampler::TraceIdRatioBased(ratio)))
        }
        // Every span recorded and sampled; the tail processor decides what is exported.
        Sampler::Outcome(_) => SdkSampler::AlwaysOn,
    }
}

fn resource(service: &ServiceSettings) -> Resource {
    let attributes = resource_attributes(service).into_iter().filter(|(k, _)| k != "service.name");
    Resource::builder_empty()
        .with_service_name(service.name.clone())
        .with_attributes(attributes.map(|(k, v)| KeyValue::new(k, v)))
        .build()
}

/// The service's resource attributes as text, `service.name` first: what spans and pushed
/// metrics say about who sent them.
pub(crate) fn resource_attributes(service: &ServiceSettings) -> Vec<(String, String)> {
    let mut attributes = vec![("service.name".to_owned(), service.name.clone())];
    attributes.extend(
        service
            .resource
            .iter()
            .filter(|(k, _)| k != "service.name" && k != "service.version")
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    if let Some(version) = &service.version {
        attributes.push(("service.version".to_owned(), version.clone()));
    }
    attributes.push(("telemetry.sdk.language".to_owned(), "rust".to_owned()));
    attributes
}
