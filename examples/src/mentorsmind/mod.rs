//! mentorsmind: the reference service. A mentoring-platform backend (users, sessions with
//! reminder jobs, Stellar payments, WebSocket notifications) instrumented with obs, runnable on
//! embedded defaults (SQLite, in-process queue) or against PostgreSQL and Redis.

mod cache;
pub mod db;
mod demo;
pub mod horizon;
pub mod jobs;
mod notify;
pub mod objectives;
mod routes;
pub mod settings;

use std::process::ExitCode;
use std::time::Duration;

use tokio::sync::watch;

pub use settings::Settings;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct App {
    db: db::Db,
    cache: cache::Cache,
    queue: jobs::Queue,
    horizon: horizon::Horizon,
    notifier: notify::Notifier,
}

/// Runs the service until SIGINT or SIGTERM.
pub fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("mentorsmind: {e}");
            return ExitCode::from(2);
        }
    };
    if settings.print_catalogue {
        print_catalogue();
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a Tokio runtime");
    if settings.ops_out {
        // What the generated monitoring covers joins the catalogue as the service builds it:
        // its outgoing client, its pool, its queue, its routes (in `write_ops`).
        let _runtime = runtime.enter();
        drop(horizon::Horizon::new(settings.horizon_url.clone(), settings.horizon_timeout));
        let pool = db::Db::unconnected(&settings.database_url);
        let queued = pool.and_then(|pool| Ok((pool, jobs::Queue::in_process().0.observe()?)));
        if let Err(e) = queued {
            eprintln!("mentorsmind: {e}");
            return ExitCode::FAILURE;
        }
        return write_ops();
    }
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mentorsmind: {e}");
            ExitCode::FAILURE
        }
    }
}

/// obs's settings for this service, which the environment may still override.
fn obs_config() -> Result<obs_runtime::Config, obs_runtime::InitError> {
    obs_runtime::Config::default()
        .service_name("mentorsmind")
        .service_version(env!("CARGO_PKG_VERSION"))
        .service_revision(env!("OBS_EXAMPLES_REVISION"))
        .with_env()
}

/// `--catalogue`: what this binary instruments, one JSON line per call site.
fn print_catalogue() {
    drop(routes::routes());
    let catalogue = obs_runtime::catalogue();
    for site in catalogue.sites() {
        let (file, line) = site.location();
        let line = serde_json::json!({
            "kind": format!("{:?}", site.kind()),
            "metrics": site.metric_names(),
            "cancellable": site.can_be_cancelled(),
            "label_names": site.label_names(),
            "label_values": site.label_values(),
            "span": site.span_name(),
            "function": site.function(),
            "file": file,
            "line": line,
            "objective": site.objective_of().map(|o| o.name()),
        });
        println!("{line}");
    }
    for route in catalogue.routes() {
        println!("{}", serde_json::json!({"route": route.path, "objective": route.objective.map(|o| o.name())}));
    }
}

/// Where the service's generated runbook is published: every alert links to its section there.
pub const RUNBOOK_URL: &str = "https://mentorsmind.example/docs/ops/runbook.md";

/// `--ops-out DIR`: the monitoring generated from this binary's call sites and routes, through
/// obs's flag handler (it reads DIR and prints the files written). Without connecting or serving:
/// the routes are built here, and `main` built the client, pool and queue before.
fn write_ops() -> ExitCode {
    drop(routes::routes());
    let written = obs_config().map_err(|e| e.to_string()).and_then(|config| {
        obs_runtime::ops::Ops::new(&config).runbook_url(RUNBOOK_URL).write_if_requested().map_err(|e| e.to_string())
    });
    match written {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mentorsmind: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let obs = obs_config()?.install()?;

    let db = db::Db::connect(&settings.database_url).await.map_err(|e| format!("cannot open the database: {e}"))?;
    let backend = if settings.database_url.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" };
    let (cache, queue, source) = match &settings.redis_url {
        Some(url) => {
            let client = redis::Client::open(url.as_str())?;
            let connection = redis::aio::ConnectionManager::new(client.clone())
                .await
                .map_err(|e| format!("cannot reach Redis at {url}: {e}"))?;
            let (queue, source) = jobs::Queue::redis(&client, connection.clone()).await?;
            tracing::info!("storage: {backend}; cache and job queue: Redis");
            (cache::Cache::redis(connection), queue, source)
        }
        None => {
            let (queue, source) = jobs::Queue::in_process();
            tracing::info!("storage: {backend}; no REDIS_URL, so no cache and an in-process job queue");
            (cache::Cache::disabled(), queue, source)
        }
    };
    queue.observe()?;
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(jobs::work(source, queue.clone(), stopped.clone()));
    let horizon = horizon::Horizon::new(settings.horizon_url.clone(), settings.horizon_timeout);
    let app = App { db: db.clone(), cache, queue, horizon, notifier: notify::Notifier::default() };

    let listener = tokio::net::TcpListener::bind(("0.0.0.0", settings.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", settings.port))?;
    let port = listener.local_addr()?.port();
    tracing::info!(port, "mentorsmind listening on http://127.0.0.1:{port}");
    let demo = settings.demo_traffic.then(|| tokio::spawn(demo::drive(port, stopped)));

    let service = routes::router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(obs_runtime::shutdown_signal()).await?;

    tracing::info!("shutting down: draining jobs and flushing telemetry");
    let _ = stop.send(true);
    if let Some(demo) = demo {
        demo.abort();
    }
    if tokio::time::timeout(Duration::from_secs(10), worker).await.is_err() {
        tracing::warn!("the job worker did not finish within 10 s");
    }
    db.close().await;
    drop(obs);
    Ok(())
}
