//! The metrics every service gets: `process_*` and the Tokio scheduler's health. Their names and
//! HELP texts are the catalogue's.

use std::sync::OnceLock;
use std::time::Duration;

use std::fmt::Write as _;

use super::text::labels_body;
use crate::catalogue::{
    self, Metric, Names, SCHEDULER_LAG, TOKIO_ALIVE_TASKS, TOKIO_GLOBAL_QUEUE_DEPTH, TOKIO_WORKERS,
};

/// Process metrics obs renders itself, exactly: the process collector records CPU seconds
/// through an integer counter and the start time as whole seconds, which makes `rate()` over
/// CPU a staircase. Their registrations are discarded (see the recorder).
pub(crate) const EXACT: [&Metric; 2] = [&catalogue::PROCESS_CPU_SECONDS_TOTAL, &catalogue::PROCESS_START_TIME_SECONDS];

/// Whether `name` is one of [`EXACT`], whose registrations the recorder discards.
pub(crate) fn is_exact(name: &str) -> bool {
    EXACT.iter().any(|metric| metric.name == name)
}

/// Appends the exact CPU seconds and start time, read now, to `out`.
pub(crate) fn render_exact(out: &mut String, names: &Names, global_labels: &[(String, String)]) {
    let labels: Vec<(&str, String)> = global_labels.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let labels = labels_body(&labels);
    let braced = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
    let read = metrics_process::collector::collect();
    let values = [read.cpu_seconds_total, start_time_seconds().or(read.start_time_seconds.map(|s| s as f64))];
    for (metric, value) in EXACT.into_iter().zip(values) {
        let name = metric.name;
        let Some(value) = value else { continue };
        if names.is_disabled(name) {
            continue;
        }
        let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
        let exposed = names.name(name);
        let _ = writeln!(out, "# HELP {exposed} {}", names.help(metric));
        let _ = writeln!(out, "# TYPE {exposed} {kind}");
        let _ = writeln!(out, "{exposed}{braced} {value}");
    }
}

/// Boot time plus the process's start in clock ticks: the fraction the collector drops.
#[cfg(target_os = "linux")]
fn start_time_seconds() -> Option<f64> {
    let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
    let boot = procfs::boot_time_secs().ok()?;
    Some(boot as f64 + stat.starttime as f64 / procfs::ticks_per_second() as f64)
}

#[cfg(not(target_os = "linux"))]
fn start_time_seconds() -> Option<f64> {
    None
}

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
