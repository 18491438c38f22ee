//! The `tracing-opentelemetry` layer with obs's defaults, shared by the installed subscriber and
//! by `testing::capture`, so what a test captures is what the exporter would send.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// `tracing-opentelemetry` adds source location, thread, target and busy/idle timing to every
/// span by default: attributes nobody asked for that cost ~1 µs per span. obs leaves them off
/// unless `debug_attributes` is set.
pub(crate) fn layer<S>(
    tracer: SdkTracer,
    debug_attributes: bool,
) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(debug_attributes)
        .with_threads(debug_attributes)
        .with_tracked_inactivity(debug_attributes)
        .with_target(debug_attributes)
}
