//! The process metrics, named as the process collector (metrics-process) and every Prometheus
//! client name them; obs gives their HELP and unit from here, and the generated monitoring and
//! the exact renderer name them through these rows.

use metrics::Unit;

use super::Metric;
use super::MetricKind::{self, Counter, Gauge};

/// A row for a metric the process collector refreshes at every scrape: no labels of its own.
const fn collected(name: &'static str, kind: MetricKind, help: &'static str, unit: Unit) -> Metric {
    Metric::new(name, kind, help, &[]).unit(unit).source("process collector, refreshed at every scrape")
}

pub(crate) const PROCESS_CPU_SECONDS_TOTAL: Metric =
    collected("process_cpu_seconds_total", Counter, "Total user and system CPU time spent in seconds.", Unit::Seconds);
pub(crate) const PROCESS_OPEN_FDS: Metric =
    collected("process_open_fds", Gauge, "Number of open file descriptors.", Unit::Count);
pub(crate) const PROCESS_MAX_FDS: Metric =
    collected("process_max_fds", Gauge, "Maximum number of open file descriptors.", Unit::Count);
pub(crate) const PROCESS_VIRTUAL_MEMORY_BYTES: Metric =
    collected("process_virtual_memory_bytes", Gauge, "Virtual memory size in bytes.", Unit::Bytes);
pub(crate) const PROCESS_VIRTUAL_MEMORY_MAX_BYTES: Metric = collected(
    "process_virtual_memory_max_bytes",
    Gauge,
    "Maximum amount of virtual memory available in bytes.",
    Unit::Bytes,
);
pub(crate) const PROCESS_RESIDENT_MEMORY_BYTES: Metric =
    collected("process_resident_memory_bytes", Gauge, "Resident memory size in bytes.", Unit::Bytes);
pub(crate) const PROCESS_START_TIME_SECONDS: Metric = collected(
    "process_start_time_seconds",
    Gauge,
    "Start time of the process since unix epoch in seconds.",
    Unit::Seconds,
);
pub(crate) const PROCESS_THREADS: Metric =
    collected("process_threads", Gauge, "Number of OS threads in the process.", Unit::Count);

/// Every process metric, in `docs/metrics.md`'s order.
pub(crate) const PROCESS: &[&Metric] = &[
    &PROCESS_CPU_SECONDS_TOTAL,
    &PROCESS_OPEN_FDS,
    &PROCESS_MAX_FDS,
    &PROCESS_VIRTUAL_MEMORY_BYTES,
    &PROCESS_VIRTUAL_MEMORY_MAX_BYTES,
    &PROCESS_RESIDENT_MEMORY_BYTES,
    &PROCESS_START_TIME_SECONDS,
    &PROCESS_THREADS,
];
