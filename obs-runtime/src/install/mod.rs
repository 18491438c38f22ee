//! Installing everything a `Config` describes: metrics first, then traces and logs, then the
//! start-up log lines, in an order that fails before it changes anything global where it can.

mod background;
mod guard;

use crate::telemetry::trace_context::StrictTraceContext;
use opentelemetry::global;

pub(crate) use background::BackgroundRuntime;
pub use guard::ObsGuard;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{Config, TraceExporter};
use crate::error::InitError;
use crate::prometheus::{MetricsRecorder, process, scrape};
use crate::telemetry::{self, Startup, TracingLayer};

/// Installs obs from the environment: the Prometheus recorder and scrape server, the `tracing`
/// subscriber with JSON logs, and OpenTelemetry export. See `docs/configuration.md` for every
/// variable. Keep the guard alive for as long as the app runs.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _obs = obs_runtime::init()?;
///     // … serve requests …
///     Ok(())
/// }
/// ```
pub fn init() -> Result<ObsGuard, InitError> {
    Config::from_env()?.install()
}

impl Config {
    /// Installs everything configured. See [`init`].
    pub fn install(self) -> Result<ObsGuard, InitError> {
        let mut started = start(self)?;
        if started.config.logs.install_subscriber {
            telemetry::install(started.parts())?;
        }
        started.startup.iter().for_each(Startup::log);
        Ok(started.finish())
    }

    /// Installs everything configured but the global `tracing` subscriber, and returns obs's
    /// tracing as a layer for a subscriber you compose with your own layers and filters: obs's
    /// spans, exported as under [`init`], with your spans beside them in the same traces, the
    /// request ids and obs's log lines (see [`TracingLayer`]). The metrics, scrape server,
    /// export and propagation are installed as [`install`](Config::install) does.
    ///
    /// ```no_run
    /// use tracing_subscriber::layer::SubscriberExt as _;
    /// use tracing_subscriber::util::SubscriberInitExt as _;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (obs, _guard) = obs_runtime::Config::from_env()?.install_layer()?;
    /// tracing_subscriber::registry()
    ///     .with(tracing_subscriber::EnvFilter::new("info,my_app::batch=debug"))
    ///     .with(tracing_subscriber::fmt::layer().pretty().with_writer(std::io::stderr))
    ///     .with(obs.without_log_lines())
    ///     .init();
    /// # Ok(()) }
    /// ```
    pub fn install_layer<S>(self) -> Result<(TracingLayer<S>, ObsGuard), InitError>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let mut started = start(self)?;
        let traced = started.provider.is_some();
        let layers = telemetry::layers(started.parts())?;
        let layer = TracingLayer::new(layers, traced, std::mem::take(&mut started.startup));
        Ok((layer, started.finish()))
    }
}

/// What install started before the subscriber: everything but the tracing layers.
struct Started {
    config: Config,
    runtime: BackgroundRuntime,
    provider: Option<SdkTracerProvider>,
    output: Option<telemetry::SpanOutput>,
    local_spans: bool,
    scrape_addr: Option<std::net::SocketAddr>,
    stop_scrape: Option<tokio::sync::oneshot::Sender<()>>,
    pusher: Option<crate::push::Pusher>,
    probe: Option<tokio::task::AbortHandle>,
    startup: Vec<Startup>,
}

impl Started {
    /// What the tracing layers are made of; the span output goes to the first caller.
    fn parts(&mut self) -> telemetry::Parts<'_> {
        telemetry::Parts {
            service: &self.config.service,
            logs: &self.config.logs,
            traces: &self.config.traces,
            provider: self.provider.as_ref(),
            output: self.output.take(),
            local_spans: self.local_spans,
        }
    }

    /// The guard that flushes it all, with the clock warmed up.
    fn finish(self) -> ObsGuard {
        crate::clock::warm_up();
        ObsGuard {
            scrape_addr: self.scrape_addr,
            runtime: self.runtime,
            provider: self.provider,
            pusher: self.pusher,
            probe: self.probe,
            stop_scrape: self.stop_scrape,
            shutdown_timeout: self.config.traces.shutdown_timeout,
            config: self.config,
        }
    }
}

/// Checks the config, then installs the metrics, scrape server, push, export pipeline and
/// propagation, in an order that fails before anything global changes where it can.
fn start(mut config: Config) -> Result<Started, InitError> {
    config.validate()?;
    // Objectives last: the builder may still add the bucket bound a threshold needs.
    let metrics = &config.metrics;
    let buckets = metrics.buckets_by_catalogue_name();
    let objectives = metrics.objectives_by_catalogue_name();
    crate::catalogue::check_objectives(&crate::catalogue::catalogue(), &objectives, &buckets)?;
    let runtime = BackgroundRuntime::start()?;
    let (metrics, traces, service) = (&config.metrics, &config.traces, &config.service);

    // Bind first: a taken port is reported before anything global is installed.
    let listener = match metrics.enabled && metrics.scrape.serve {
        true => Some(scrape::bind(&metrics.scrape.host, metrics.scrape.port)?),
        false => None,
    };
    let app_exporter = config.span_exporter.as_ref().and_then(|exporter| exporter.take());
    let exporter_name = if app_exporter.is_some() { "app" } else { traces.exporter.name() };
    // With nothing exported, the subscriber's spans are made for their ids only.
    let (pipeline, local_spans) = match (traces.exporter, traces.sdk_disabled, app_exporter) {
        (_, true, _) => (None, false),
        (_, false, Some(exporter)) => {
            let health = telemetry::ExportHealth::new("the app's span exporter".to_owned(), "Config::span_exporter");
            (Some(telemetry::otlp::pipeline(exporter, health, service, traces)), false)
        }
        (TraceExporter::None, false, None) => {
            let provider = telemetry::otlp::local_provider(service, traces);
            (Some(telemetry::otlp::Pipeline { provider, output: None }), true)
        }
        _ => {
            let _enter = runtime.enter();
            (Some(telemetry::otlp::provider(service, traces)?), false)
        }
    };
    let (provider, output) = pipeline.map_or((None, None), |p| (Some(p.provider), p.output));

    crate::call::network::set_default_network(&metrics.stellar_network);
    let mut scrape_addr = None;
    let mut stop_scrape = None;
    if metrics.enabled {
        let mut recorder = MetricsRecorder::builder()
            .prefix(metrics.prefix.clone())
            .max_series_per_metric(metrics.max_series_per_metric)
            .error_type_label(metrics.error_type_label);
        if metrics.app_label {
            recorder = recorder.global_label("app", &service.name);
        }
        for (metric, bounds) in buckets {
            recorder = recorder.buckets_for(metric, &bounds);
        }
        for rename in &metrics.renames {
            recorder = recorder.rename(rename.clone());
        }
        for metric in &metrics.disabled {
            recorder = recorder.disable(metric.clone());
        }
        recorder.install()?;
        crate::prometheus::build_info::set(service.version.as_deref(), service.revision.as_deref());
        crate::catalogue::describe_all();
        crate::call::site::register_catalogued_series();
    }
    // Pushes read the recorder's exposition: without the recorder there is nothing to push.
    let pusher = match metrics.enabled && metrics.push.enabled {
        true => Some(crate::push::spawn(&runtime, &metrics.push, telemetry::otlp::resource_attributes(service))?),
        false => None,
    };
    crate::page::install(crate::page::Context {
        service: service.name.clone(),
        version: service.version.clone().unwrap_or_else(|| "unknown".to_owned()),
        revision: service.revision.clone().unwrap_or_else(|| "unknown".to_owned()),
        started: std::time::Instant::now(),
        family_objectives: metrics.objectives_by_catalogue_name(),
    });
    scrape::serve_also(scrape::Extra { paths: crate::page::PATHS, respond: crate::page::respond });
    if let Some(listener) = listener {
        scrape_addr = Some(listener.local_addr().map_err(InitError::Runtime)?);
        stop_scrape = Some(scrape::spawn(&runtime, listener, metrics.scrape.clone())?);
    }

    global::set_text_map_propagator(StrictTraceContext);
    if let Some(provider) = &provider {
        global::set_tracer_provider(provider.clone());
    }

    // Logged once the subscriber exists: by `install` right after it, to a composed one once
    // it is registered.
    let mut startup: Vec<Startup> = config.warnings.iter().cloned().map(Startup::Warn).collect();
    startup.extend(service.default_name_warning().map(Startup::Warn));
    if config.span_exporter.is_none() {
        startup.extend(traces.default_endpoint_warning().map(Startup::Warn));
    }
    if pusher.is_some() {
        let push = &metrics.push;
        startup.push(Startup::Info(format!(
            "pushing metrics over OTLP every {:?} to {}",
            push.interval,
            push.endpoint()
        )));
    }
    if let Some(addr) = scrape_addr {
        let scrape = &metrics.scrape;
        startup.push(Startup::Info(format!(
            "Prometheus scrape target: http://{}:{}{}",
            scrape.host,
            addr.port(),
            scrape.endpoint
        )));
    }
    startup.push(Startup::Info(match &provider {
        Some(_) if exporter_name == "app" => {
            "OpenTelemetry tracing started (exporter=app, endpoint=the app's own exporter)".to_owned()
        }
        Some(_) if traces.exporter == TraceExporter::None => {
            "OpenTelemetry tracing started (exporter=none, endpoint=none): spans are not exported".to_owned()
        }
        Some(_) => format!(
            "OpenTelemetry tracing started (exporter={}, endpoint={})",
            traces.exporter.name(),
            traces.endpoint()
        ),
        None => "OpenTelemetry tracing disabled (OTEL_SDK_DISABLED=true)".to_owned(),
    }));
    let probe = match tokio::runtime::Handle::try_current() {
        Ok(app_runtime) if metrics.enabled => Some(process::spawn_scheduler_probe(&app_runtime)),
        Ok(_) => None,
        Err(_) => {
            startup.push(Startup::Info(
                "obs was installed outside a Tokio runtime: tokio_scheduler_lag_seconds is not measured".to_owned(),
            ));
            None
        }
    };
    Ok(Started { runtime, provider, output, local_spans, scrape_addr, stop_scrape, pusher, probe, startup, config })
}
