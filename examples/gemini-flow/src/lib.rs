//! gemini-flow: obs's second reference service, a workflow-automation backend (workflows, a key-value store, editor sessions, a
//! WebSocket of workflow events) instrumented with obs and configured to expose exactly the
//! metric set its team already has dashboards for: prefix `gemini_flow_`, `route` instead of
//! `path`, `db_operation_*` by `collection`, `websocket_connections_active`, their business
//! metrics and buckets, no `app` label, and `/metrics` on the app's own port 3001.

pub mod business;
mod demo;
mod events;
pub mod objectives;
mod routes;
pub mod settings;
pub mod store;

use std::process::ExitCode;

use obs_runtime::{Config, InitError, MetricRename};
use tokio::sync::watch;

pub use settings::Settings;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct App {
    store: store::Store,
    events: events::Events,
}

/// The team's names for obs's metrics: each entry is also one entry of `OBS_METRIC_RENAMES`
/// (the README shows the variable).
pub fn renames() -> Vec<MetricRename> {
    vec![
        MetricRename::new("http_requests_total").label("path", "route").help("Total number of HTTP requests"),
        MetricRename::new("http_request_duration_seconds")
            .label("path", "route")
            .help("Duration of HTTP requests in seconds"),
        MetricRename::new("db_query_duration_seconds")
            .to("db_operation_duration_seconds")
            .label("table", "collection")
            .help("Duration of database operations in seconds"),
        MetricRename::new("db_queries_total")
            .to("db_operations_total")
            .label("table", "collection")
            .help("Total number of database operations"),
        MetricRename::new("active_websocket_connections")
            .to("websocket_connections_active")
            .help("Number of active WebSocket connections"),
        MetricRename::new("websocket_messages_total").help("Total number of WebSocket messages"),
        MetricRename::new("errors_total").help("Total number of errors"),
    ]
}

/// obs's metrics the team's set does not have (`OBS_METRICS_DISABLED`).
pub const DISABLED: &[&str] = &[
    "http_requests_in_flight",
    "tokio_scheduler_lag_seconds",
    "tokio_workers",
    "tokio_alive_tasks",
    "tokio_global_queue_depth",
    "build_info",
];

/// The team's buckets, by the names they expose.
pub const BUCKETS: &[(&str, &[f64])] = &[
    ("http_request_duration_seconds", &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0]),
    ("db_operation_duration_seconds", &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0]),
    (business::WORKFLOW_NODES, business::WORKFLOW_NODE_BUCKETS),
];

/// obs's settings for this service, which the environment may still override.
pub fn obs_config() -> Result<Config, InitError> {
    let mut config = Config::default()
        .service_name("gemini-flow")
        .service_version(env!("CARGO_PKG_VERSION"))
        .prefix("gemini_flow_")
        .app_label(false)
        // The team's `db_operations_total` has no error kind label.
        .error_type_label(false)
        .scrape_server(false);
    for rename in renames() {
        config = config.rename_metric(rename);
    }
    for metric in DISABLED {
        config = config.disable_metric(*metric);
    }
    for (metric, bounds) in BUCKETS {
        config = config.buckets_for(*metric, bounds);
    }
    // The store's operations, all of them: a dependency's objective, by the team's name.
    config = config.objective_for("db_operations_total", objectives::WORKFLOW_STORE);
    config.with_env()
}

/// Runs the service until SIGINT or SIGTERM.
pub fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("gemini-flow: {e}");
            return ExitCode::from(2);
        }
    };
    if settings.ops_out {
        return write_ops();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a Tokio runtime");
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemini-flow: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the team publishes the generated runbook: alerts link to its sections.
pub const RUNBOOK_URL: &str = "https://gemini-flow.example/ops/runbook.md";

/// `--ops-out DIR`: the monitoring generated from this binary's call sites and routes, under
/// the team's names (its `metrics.md` lists every metric as this service exposes it), through
/// obs's flag handler (it reads DIR and prints the files written), without serving.
fn write_ops() -> ExitCode {
    drop(routes::routes());
    let written = obs_config().map_err(|e| e.to_string()).and_then(|config| {
        // The team's Prometheus scrapes the app's own port 3001 (`PORT` moves it).
        let port = Settings::load().map(|s| s.port).unwrap_or(3001);
        obs_runtime::ops::Ops::new(&config)
            .scrape_at(port, "/metrics")
            .runbook_url(RUNBOOK_URL)
            // The Service's port for the app, which serves `/metrics` too.
            .kubernetes(obs_runtime::ops::Kubernetes::default().port_name("http"))
            .write_if_requested()
            .map_err(|e| e.to_string())
    });
    match written {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemini-flow: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let obs = obs_config()?.install()?;
    let store = store::Store::open(settings.store_file.clone())?;
    business::describe(store.workflow_count());
    tracing::info!(file = %settings.store_file.display(), "workflow store opened");
    let app = App { store, events: events::Events::default() };

    let listener = tokio::net::TcpListener::bind(("0.0.0.0", settings.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", settings.port))?;
    let port = listener.local_addr()?.port();
    tracing::info!(port, "gemini-flow listening on http://127.0.0.1:{port} (metrics at /metrics)");
    let (stop, stopped) = watch::channel(false);
    let demo = settings.demo_traffic.then(|| tokio::spawn(demo::drive(port, stopped)));

    let service = routes::router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(obs_runtime::shutdown_signal()).await?;

    tracing::info!("shutting down: flushing telemetry");
    let _ = stop.send(true);
    if let Some(demo) = demo {
        demo.abort();
    }
    drop(obs);
    Ok(())
}
