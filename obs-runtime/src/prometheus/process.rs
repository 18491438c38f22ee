//! The metrics every service gets: `process_*` and the Tokio scheduler's health. Their names and
//! HELP texts are the catalogue's.

use std::sync::OnceLock;
use std::time::Duration;

use crate::catalogue::{SCHEDULER_LAG, TOKIO_ALIVE_TASKS, TOKIO_GLOBAL_QUEUE_DEPTH, TOKIO_WORKERS};

/// How often the scheduler probe wakes.
const PROBE_PERIOD: Duration = Duration::from_millis(250);

fn process() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// Refreshes `process_*`; called before every render.
pub(crate) fn collect() {
    process().collect();
}

/// Measures how late `runtime` wakes a task that sleeps for a fixed period, and reads the
/// runtime's stable gauges. Stops when the returned handle is aborted.
pub(crate) fn spawn_scheduler_probe(runtime: &tokio::runtime::Handle) -> tokio::task::AbortHandle {
    let lag = metrics::gauge!(SCHEDULER_LAG.name);
    let workers = metrics::gauge!(TOKIO_WORKERS.name);
    let alive = metrics::gauge!(TOKIO_ALIVE_TASKS.name);
    let queued = metrics::gauge!(TOKIO_GLOBAL_QUEUE_DEPTH.name);
    runtime
        .spawn(async move {
            loop {
                let due = tokio::time::Instant::now() + PROBE_PERIOD;
                tokio::time::sleep_until(due).await;
                lag.set(tokio::time::Instant::now().saturating_duration_since(due).as_secs_f64());
                let stats = tokio::runtime::Handle::current().metrics();
                workers.set(stats.num_workers() as f64);
                alive.set(stats.num_alive_tasks() as f64);
                queued.set(stats.global_queue_depth() as f64);
            }
        })
        .abort_handle()
}
