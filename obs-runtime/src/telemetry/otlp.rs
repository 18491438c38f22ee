//! The OpenTelemetry tracer provider: OTLP exporter, batch processor, sampler and resource.

use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler as SdkSampler, SdkTracerProvider};

use crate::InitError;
use crate::config::{Config, OtlpProtocol, Sampler};

/// Builds the provider. Must run inside the obs runtime: the gRPC exporter's connection tasks
/// are spawned on whatever runtime is current, and that must never be the app's.
pub(crate) fn provider(config: &Config) -> Result<SdkTracerProvider, InitError> {
    let endpoint = config.trace_endpoint();
    let variable = match config.exporter {
        crate::config::TraceExporter::Jaeger => "JAEGER_ENDPOINT",
        _ => "OTEL_EXPORTER_OTLP_ENDPOINT",
    };
    let built = match config.trace_protocol() {
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(config.batch.export_timeout)
            .build(),
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(config.batch.export_timeout)
            .build(),
    };
    let exporter = built
        .map_err(|e| InitError::invalid(variable, endpoint, format!("an endpoint the OTLP exporter accepts ({e})")))?;
    // The export timeout (OTEL_BSP_EXPORT_TIMEOUT) is the exporter's, set above: the
    // thread-based processor takes none of its own.
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(config.batch.max_queue_size)
        .with_max_export_batch_size(config.batch.max_export_batch_size)
        .with_scheduled_delay(config.batch.schedule_delay)
        .build();
    let processor = BatchSpanProcessor::builder(exporter).with_batch_config(batch).build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler(config.sampler))
        .with_resource(resource(config))
        .build())
}

/// A provider that exports nothing (`OTEL_EXPORTER=none`): spans still get trace and span ids,
/// so log lines keep naming their trace and propagation keeps working.
pub(crate) fn local_provider(config: &Config) -> SdkTracerProvider {
    SdkTracerProvider::builder().with_sampler(sampler(config.sampler)).with_resource(resource(config)).build()
}

fn sampler(sampler: Sampler) -> SdkSampler {
    match sampler {
        Sampler::AlwaysOn => SdkSampler::AlwaysOn,
        Sampler::AlwaysOff => SdkSampler::AlwaysOff,
        Sampler::TraceIdRatio(ratio) => SdkSampler::TraceIdRatioBased(ratio),
        Sampler::ParentBasedAlwaysOn => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOn)),
        Sampler::ParentBasedAlwaysOff => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOff)),
        Sampler::ParentBasedTraceIdRatio(ratio) => {
            SdkSampler::ParentBased(Box::new(SdkSampler::TraceIdRatioBased(ratio)))
        }
    }
}

fn resource(config: &Config) -> Resource {
    let mut attributes: Vec<KeyValue> = config
        .resource
        .iter()
        .filter(|(k, _)| k != "service.name" && k != "service.version")
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    if let Some(version) = &config.service_version {
        attributes.push(KeyValue::new("service.version", version.clone()));
    }
    Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(attributes)
        .with_attribute(KeyValue::new("telemetry.sdk.language", "rust"))
        .build()
}
