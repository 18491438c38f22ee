//! The metrics every service gets: `process_*` and the Tokio scheduler's health.

use std::sync::OnceLock;
use std::time::Duration;

/// How often the scheduler probe wakes.
const PROBE_PERIOD: Duration = Duration::from_millis(250);

fn process() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// HELP text for every metric the runtime emits outside the macros' fused store.
pub(crate) fn describe() {
    process().describe();
    metrics::describe_gauge!(
        "tokio_scheduler_lag_seconds",
        metrics::Unit::Seconds,
        "How late the Tokio scheduler woke a periodic probe task, in seconds: the analogue of Node's event-loop lag."
    );
    metrics::describe_gauge!("tokio_workers", "Worker threads of the Tokio runtime obs was installed in.");
    metrics::describe_gauge!("tokio_alive_tasks", "Tasks alive in the Tokio runtime obs was installed in.");
    metrics::describe_gauge!("tokio_global_queue_depth", "Tasks waiting in the Tokio runtime's global queue.");
    metrics::describe_gauge!(crate::site::WS_GAUGE, "WebSocket connections whose handler is running.");
    metrics::describe_counter!(
        "websocket_messages_total",
        "WebSocket messages by direction (inbound, outbound) and type."
    );
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests served, by method, route template and status code."
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to serve an HTTP request in seconds, by method, route template and status code."
    );
    metrics::describe_gauge!("http_requests_in_flight", "HTTP requests being served, by method and route template.");
    metrics::describe_counter!("errors_total", "Errors by type and route: 5xx responses and errors handlers record.");
}

/// Refreshes `process_*`; called before every render.
pub(crate) fn collect() {
    process().collect();
}

/// Measures how late `runtime` wakes a task that sleeps for a fixed period, and reads the
/// runtime's stable gauges. Stops when the returned handle is aborted.
pub(crate) fn spawn_scheduler_probe(runtime: &tokio::runtime::Handle) -> tokio::task::AbortHandle {
    let lag = metrics::gauge!("tokio_scheduler_lag_seconds");
    let workers = metrics::gauge!("tokio_workers");
    let alive = metrics::gauge!("tokio_alive_tasks");
    let queued = metrics::gauge!("tokio_global_queue_depth");
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
