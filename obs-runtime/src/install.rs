//! Installing everything a `Config` describes, in an order that fails before it changes
//! anything global where it can.

use opentelemetry::global;
use opentelemetry_sdk::propagation::TraceContextPropagator;

use crate::config::{Config, TraceExporter};
use crate::{InitError, MetricsRecorder, ObsGuard, default_metrics, scrape, telemetry};

/// obs's own runtime: the scrape server, and the gRPC exporter's connections. Dropped from any
/// context, also inside the app's async code when `install` fails half-way, without blocking.
#[derive(Debug)]
pub(crate) struct BackgroundRuntime(Option<tokio::runtime::Runtime>);

impl BackgroundRuntime {
    fn start() -> Result<Self, InitError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("obs")
            .enable_all()
            .build()
            .map(|runtime| Self(Some(runtime)))
            .map_err(InitError::Runtime)
    }
}

impl std::ops::Deref for BackgroundRuntime {
    type Target = tokio::runtime::Runtime;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for BackgroundRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

pub(crate) fn install(mut config: Config) -> Result<ObsGuard, InitError> {
    config.validate()?;
    let runtime = BackgroundRuntime::start()?;

    // Bind first: a taken port is reported before anything global is installed.
    let listener = match config.prometheus_enabled {
        true => Some(scrape::bind(&config.prometheus_host, config.prometheus_port)?),
        false => None,
    };
    let provider = match (config.exporter, config.sdk_disabled) {
        (_, true) => None,
        (TraceExporter::None, false) => Some(telemetry::otlp::local_provider(&config)),
        _ => {
            let _enter = runtime.enter();
            Some(telemetry::otlp::provider(&config)?)
        }
    };

    crate::stellar::set_default_network(&config.stellar_network);
    let mut scrape_addr = None;
    let mut stop_scrape = None;
    if let Some(listener) = listener {
        let mut recorder = MetricsRecorder::builder()
            .prefix(config.prefix.clone())
            .global_label("app", &config.service_name)
            .max_series_per_metric(config.max_series_per_metric);
        for (metric, bounds) in &config.buckets {
            recorder = recorder.buckets_for(metric.clone(), bounds);
        }
        recorder.install()?;
        default_metrics::describe();
        scrape_addr = Some(listener.local_addr().map_err(InitError::Runtime)?);
        let settings = scrape::Settings {
            endpoint: config.prometheus_endpoint.clone(),
            bearer_token: config.bearer_token.clone(),
        };
        stop_scrape = Some(scrape::spawn(&runtime, listener, settings)?);
    }

    global::set_text_map_propagator(TraceContextPropagator::new());
    if let Some(provider) = &provider {
        global::set_tracer_provider(provider.clone());
    }
    if config.install_subscriber {
        telemetry::install(&config, provider.as_ref())?;
    }

    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    if let Some(addr) = scrape_addr {
        tracing::info!(
            "Prometheus scrape target: http://{}:{}{}",
            config.prometheus_host,
            addr.port(),
            config.prometheus_endpoint
        );
    }
    match &provider {
        Some(_) if config.exporter == TraceExporter::None => {
            tracing::info!("OpenTelemetry tracing started (exporter=none, endpoint=none): spans are not exported")
        }
        Some(_) => tracing::info!(
            "OpenTelemetry tracing started (exporter={}, endpoint={})",
            config.exporter_name(),
            config.trace_endpoint()
        ),
        None => {
            tracing::info!("OpenTelemetry tracing disabled (OTEL_SDK_DISABLED=true)")
        }
    }
    let probe = match tokio::runtime::Handle::try_current() {
        Ok(app_runtime) if config.prometheus_enabled => Some(default_metrics::spawn_scheduler_probe(&app_runtime)),
        Ok(_) => None,
        Err(_) => {
            tracing::info!("obs was installed outside a Tokio runtime: tokio_scheduler_lag_seconds is not measured");
            None
        }
    };
    crate::clock::warm_up();
    Ok(ObsGuard { scrape_addr, runtime, provider, probe, stop_scrape, shutdown_timeout: config.shutdown_timeout })
}
