//! The `tracing-opentelemetry` layer with obs's defaults, shared by the installed subscriber and
//! by `testing::capture`, so what a test captures is what the exporter would send.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// `tracing-opentelemetry`'s layer as obs configures it, around a tracer of your own.
///
/// For obs's own pipeline in a subscriber you compose, use
/// [`Config::install_layer`](crate::Config::install_layer) instead: obs's spans go through
/// obs's span table there, at a third of the cost, and your spans through this same layer.
/// This one is for a tracer from a provider obs did not build.
///
/// `tracing-opentelemetry` adds source location, thread, target and busy/idle timing to every
/// span by default: attributes nobody asked for that cost about a microsecond per span. obs
/// leaves them off unless `debug_attributes` is set (`OBS_SPAN_DEBUG_ATTRIBUTES=true`).
///
/// ```
/// use opentelemetry::trace::TracerProvider as _;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
/// let subscriber = tracing_subscriber::registry()
///     .with(obs_runtime::opentelemetry_layer(provider.tracer("my-app"), false));
/// # drop(subscriber);
/// ```
pub fn opentelemetry_layer<S>(tracer: SdkTracer, debug_attributes: bool) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    lean_layer(tracer, debug_attributes)
}

/// The layer with obs's settings around any tracer (obs's own for `OTEL_EXPORTER=none`).
pub(crate) fn lean_layer<S, T>(tracer: T, debug_attributes: bool) -> OpenTelemetryLayer<S, T>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    T: opentelemetry::trace::Tracer + 'static,
    T::Span: Send + Sync,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(debug_attributes)
        .with_threads(debug_attributes)
        .with_tracked_inactivity(debug_attributes)
        .with_target(debug_attributes)
}
