//! The process metrics, named as the process collector (metrics-process) and every Prometheus
//! client name them; obs gives their HELP and unit from here, and the generated monitoring and
//! the exact renderer name them through these rows.

use metrics::Unit;

use super::Metric;
use super::MetricKind::{Counter, Gauge};

const PROCESS_COLLECTOR: &str = "process collector, refreshed at every scrape";

pub(crate) const PROCESS_CPU_SECONDS_TOTAL: Metric =
    Metric::new("process_cpu_seconds_total", Counter, "Total user and system CPU time spent in seconds.", &[])
        .unit(Unit::Seconds)
        .source(PROCESS_COLLECTOR);
pub(crate) const PROCESS_OPEN_FDS: Metric =
    Metric::new("process_open_fds", Gauge, "Number of open file descriptors.", &[])
        .unit(Unit::Count)
        .source(PROCESS_COLLECTOR);
pub(crate) const PROCESS_MAX_FDS: Metric =
    Metric::new("process_max_fds", Gauge, "Maximum number of open file descriptors.", &[])
        .unit(Unit::Count)
        .source(PROCESS_COLLECTOR);
pub(crate) const PROCESS_VIRTUAL_MEMORY_BYTES: Metric =
    Metric::new("process_virtual_memory_bytes", Gauge, "Virtual memory size in bytes.", &[])
        .unit(Unit::Bytes)
        .source(PROCESS_COLLECTOR);
pub(crate) const PROCESS_VIRTUAL_MEMORY_MAX_BYTES: Metric =
    Metric::new("process_virtual_memory_max_bytes", Gauge, "Maximum amount of virtual memory available in bytes.", &[])
        .unit(Unit::Bytes)
        .source(PROCESS_COLLECTOR);
pub(crate) const PROCESS_RESIDENT_MEMORY_BYTES: Metric =
    Metric::new("process_resident_memory_bytes", Gauge, "Resident memory size in bytes.", &[])
        .unit(Unit::Bytes)
        .source(PROCESS_COLLECTOR);
pub(crate) const PROCESS_START_TIME_SECONDS: Metric =
    Metric::new("process_start_time_seconds", Gauge, "Start time of the process since unix epoch in seconds.", &[])
        .unit(Unit::Seconds)
        .source(PROCESS_COLLECTOR);
pub(crate) const PROCESS_THREADS: Metric =
    Metric::new("process_threads", Gauge, "Number of OS threads in the process.", &[])
        .unit(Unit::Count)
        .source(PROCESS_COLLECTOR);

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
