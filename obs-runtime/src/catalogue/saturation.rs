//! The fourth golden signal's metrics: connection pools, queues, and what the build is. Pools'
//! and queues' gauges are read when a scrape or a push renders, not on any call path. Their
//! HELP texts name the OpenTelemetry semantic convention each follows.

use metrics::Unit;

use super::Metric;
use super::MetricKind::{Counter, Gauge, Histogram};

const POOL: &str = "`db::observe_pool` (feature `sqlx`)";
const QUEUE_READER: &str = "`queue::ObservedQueue`, read at every scrape and push";
const QUEUE_JOB: &str = "`#[queue_job]`";

/// Waiting for a connection: from a fraction of a millisecond to sqlx's 30-second default
/// acquire timeout.
const ACQUIRE_BUCKETS: &[f64] = &[0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Waiting in a queue: seconds to an hour.
const QUEUE_WAIT_BUCKETS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0];

pub(crate) const DB_CLIENT_CONNECTIONS: Metric = Metric::new(
    "db_client_connections",
    Gauge,
    "Connections of a database pool by state, idle or used (db.client.connection.count).",
    &["pool", "state"],
)
.source(POOL);
pub(crate) const DB_CLIENT_CONNECTIONS_MAX: Metric = Metric::new(
    "db_client_connections_max",
    Gauge,
    "The most connections a database pool opens (db.client.connection.max).",
    &["pool"],
)
.source(POOL);
pub(crate) const DB_CLIENT_CONNECTION_PENDING: Metric = Metric::new(
    "db_client_connection_pending_requests",
    Gauge,
    "Requests waiting for a connection of a database pool (db.client.connection.pending_requests).",
    &["pool"],
)
.source(POOL);
pub(crate) const DB_CLIENT_CONNECTION_WAIT: Metric = Metric::new(
    "db_client_connection_wait_seconds",
    Histogram,
    "Time to get a connection from a database pool in seconds (db.client.connection.wait_time).",
    &["pool"],
)
.unit(Unit::Seconds)
.buckets(ACQUIRE_BUCKETS)
.source(POOL);
pub(crate) const DB_CLIENT_CONNECTION_TIMEOUTS: Metric = Metric::new(
    "db_client_connection_timeouts_total",
    Counter,
    "Requests for a connection that a database pool could not serve in time (db.client.connection.timeouts).",
    &["pool"],
)
.source(POOL);

pub(crate) const QUEUE_DEPTH: Metric =
    Metric::new("queue_depth", Gauge, "Jobs waiting in a queue, as the app's reader reports it.", &["queue_name"])
        .source(QUEUE_READER);
pub(crate) const QUEUE_OLDEST_JOB_AGE: Metric = Metric::new(
    "queue_oldest_job_age_seconds",
    Gauge,
    "How long the oldest waiting job of a queue has waited, in seconds; 0 when none waits.",
    &["queue_name"],
)
.unit(Unit::Seconds)
.source(QUEUE_READER);
pub(crate) const QUEUE_JOB_WAIT: Metric = Metric::new(
    "queue_job_wait_seconds",
    Histogram,
    "Time from a job's enqueue to its start in seconds, by queue and job (its payload's TraceContext says when).",
    &["queue_name", "job_name"],
)
.unit(Unit::Seconds)
.buckets(QUEUE_WAIT_BUCKETS)
.source(QUEUE_JOB);
pub(crate) const QUEUE_JOB_RETRIES: Metric = Metric::new(
    "queue_job_retries_total",
    Counter,
    "Job runs that were a retry (attempt 2 or later), by queue and job.",
    &["queue_name", "job_name"],
)
.source(QUEUE_JOB);
pub(crate) const QUEUE_JOBS_DEAD_LETTERED: Metric = Metric::new(
    "queue_jobs_dead_lettered_total",
    Counter,
    "Jobs given up on: failed on their last allowed attempt, by queue and job.",
    &["queue_name", "job_name"],
)
.source(QUEUE_JOB);
pub(crate) const QUEUE_READ_FAILURES: Metric = Metric::new(
    "obs_queue_read_failures_total",
    Counter,
    "Scrapes or pushes whose queue reader failed (error, panic, or no answer within its deadline), by queue and reason; the queue's gauges are left out of that one.",
    &["queue_name", "reason"],
)
.source(QUEUE_READER);

pub(crate) const BUILD_INFO: Metric = Metric::new(
    "build_info",
    Gauge,
    "Always 1: the service's version, its source revision and the compiler that built it.",
    &["version", "revision", "rust_version"],
)
.source("`init()` and `Config::install`");
