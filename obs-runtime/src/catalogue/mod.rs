//! Every metric obs emits, one row each: name, type, HELP, unit, label names, status values and
//! default buckets. Every other module names metrics through this table, and `docs/metrics.md`
//! is generated from it (a test fails when the two drift).
//!
//! The macros' metrics come in pairs, a duration histogram and an outcome counter; a
//! [`Family`] ties a pair to its subsystem and says which of the pair carries the `status`
//! label ([`Family::labels`]).
//!
//! Beside the metrics, [`sites`] is the catalogue of call sites: what the binary instruments,
//! gathered at link time, with the objectives they serve; [`label`] the rule every dynamic
//! label value follows, and [`span_fields`] the attributes obs adds to its own spans.

mod checks;
mod docs;
mod family;
mod label;
mod names;
mod objective;
mod process;
mod rename;
mod saturation;
mod sites;
mod span_fields;

use metrics::Unit;

pub(crate) use checks::{Covered, bounds_of, check_objectives, family_named};
pub(crate) use docs::markdown as metrics_markdown;
pub use family::Subsystem;
pub(crate) use family::{Family, Series, Status};
pub(crate) use label::needs_normalising;
pub use label::{MAX_LABEL_CHARS, normalise_label};
pub(crate) use names::{Names, metric_named};
pub(crate) use objective::DEFAULT_PERIOD_DAYS;
pub use objective::{LatencyTarget, Objective};
pub(crate) use process::*;
pub use rename::MetricRename;
pub(crate) use rename::{ENV as RENAMES_VARIABLE, SYNTAX as RENAMES_SYNTAX};
pub(crate) use saturation::*;
pub(crate) use sites::is_plain_label;
#[cfg(feature = "http")]
pub(crate) use sites::note_router_layered;
#[cfg(feature = "reqwest")]
pub(crate) use sites::register_client;
#[cfg(feature = "sqlx")]
pub(crate) use sites::register_pool;
#[cfg(feature = "queue")]
pub(crate) use sites::register_queue;
#[cfg(feature = "http")]
pub(crate) use sites::register_route;
pub(crate) use sites::router_layered;
pub use sites::{CALL_SITES, CallSite, Catalogue, QueueEntry, Route, SiteKind, catalogue};
pub(crate) use span_fields::{CANCELLED_FIELD, SLOW_FIELD};

/// The label of a call site's error series that says which kind of error it was (the span's
/// `error.type`); see `prometheus::error_kinds`.
pub(crate) const ERROR_TYPE_LABEL: &str = "error_type";

/// The metadata target of obs's own call sites: recorders know their registrations by it.
pub(crate) const METADATA_TARGET: &str = "obs";

/// What kind of series a metric is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric obs emits.
#[derive(Debug)]
pub(crate) struct Metric {
    /// The name without any prefix.
    pub(crate) name: &'static str,
    pub(crate) kind: MetricKind,
    pub(crate) help: &'static str,
    /// The base unit, when the metric has one.
    pub(crate) unit: Option<Unit>,
    /// Label names in exposition order, without the global `app` label.
    pub(crate) labels: &'static [&'static str],
    /// Default bucket bounds, for histograms.
    pub(crate) buckets: &'static [f64],
    /// Who records it, for `docs/metrics.md`.
    pub(crate) source: &'static str,
}

impl Metric {
    const fn new(name: &'static str, kind: MetricKind, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self { name, kind, help, unit: None, labels, buckets: &[], source: "" }
    }

    const fn unit(mut self, unit: Unit) -> Self {
        self.unit = Some(unit);
        self
    }

    const fn buckets(mut self, buckets: &'static [f64]) -> Self {
        self.buckets = buckets;
        self
    }

    const fn source(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }
}

use MetricKind::{Counter, Gauge, Histogram};

/// DESIGN §3's buckets for HTTP requests, and for any histogram without buckets of its own.
pub(crate) const HTTP_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Database and Redis calls: millisecond resolution at the bottom.
const FAST_CALL_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Jobs and remote APIs: up to a minute.
const SLOW_CALL_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

const LAYER: &str = "`http::ObsLayer`";
const SCHEDULER: &str = "scheduler probe (`init()` inside a Tokio runtime)";

pub(crate) const HTTP_REQUESTS_TOTAL: Metric = Metric::new(
    "http_requests_total",
    Counter,
    "HTTP requests served, by method, route template and status code.",
    &["method", "path", "status_code"],
)
.source(LAYER);
pub(crate) const HTTP_REQUEST_DURATION: Metric = Metric::new(
    "http_request_duration_seconds",
    Histogram,
    "Time to serve an HTTP request in seconds, by method, route template and status code.",
    &["method", "path", "status_code"],
)
.unit(Unit::Seconds)
.buckets(HTTP_BUCKETS)
.source(LAYER);
pub(crate) const HTTP_REQUESTS_IN_FLIGHT: Metric = Metric::new(
    "http_requests_in_flight",
    Gauge,
    "HTTP requests being served, by method and route template.",
    &["method", "path"],
)
.source(LAYER);
pub(crate) const HTTP_CLIENT_REQUEST_DURATION: Metric = Metric::new(
    "http_client_request_duration_seconds",
    Histogram,
    "Time for an outgoing HTTP request to get its response head, in seconds, by method, server and status code.",
    &["method", "server_address", "status_code"],
)
.unit(Unit::Seconds)
.buckets(HTTP_BUCKETS)
.source("`client::SendTraced` (feature `reqwest`)");
pub(crate) const ERRORS_TOTAL: Metric = Metric::new(
    "errors_total",
    Counter,
    "Errors by type and route: 5xx responses and errors handlers record.",
    &["type", "path"],
)
.source("`http::ObsLayer` (5xx) and `record_error`");

pub(crate) const DB_QUERY_DURATION: Metric = Metric::new(
    "db_query_duration_seconds",
    Histogram,
    "Duration of database queries in seconds, by operation and table.",
    &["operation", "table"],
)
.unit(Unit::Seconds)
.buckets(FAST_CALL_BUCKETS)
.source("`#[instrument_db]`");
pub(crate) const DB_QUERIES_TOTAL: Metric = Metric::new(
    "db_queries_total",
    Counter,
    "Database queries by operation, table and outcome; errors also by error type.",
    &["operation", "table", "status", ERROR_TYPE_LABEL],
)
.source("`#[instrument_db]`");
pub(crate) const REDIS_CALL_DURATION: Metric = Metric::new(
    "redis_call_duration_seconds",
    Histogram,
    "Duration of Redis calls in seconds, by command.",
    &["command"],
)
.unit(Unit::Seconds)
.buckets(FAST_CALL_BUCKETS)
.source("`#[instrument_redis]`");
pub(crate) const REDIS_CALLS_TOTAL: Metric = Metric::new(
    "redis_calls_total",
    Counter,
    "Redis calls by command and outcome; errors also by error type.",
    &["command", "status", ERROR_TYPE_LABEL],
)
.source("`#[instrument_redis]`");
pub(crate) const QUEUE_JOB_DURATION: Metric = Metric::new(
    "queue_job_duration_seconds",
    Histogram,
    "Duration of background jobs in seconds, by queue, job and outcome.",
    &["queue_name", "job_name", "status"],
)
.unit(Unit::Seconds)
.buckets(SLOW_CALL_BUCKETS)
.source("`#[queue_job]`");
pub(crate) const QUEUE_JOBS_TOTAL: Metric = Metric::new(
    "queue_jobs_total",
    Counter,
    "Background jobs by queue, job and outcome; failures also by error type.",
    &["queue_name", "job_name", "status", ERROR_TYPE_LABEL],
)
.source("`#[queue_job]`");
pub(crate) const STELLAR_CALL_DURATION: Metric = Metric::new(
    "stellar_api_call_duration_seconds",
    Histogram,
    "Duration of Stellar Horizon calls in seconds, by operation and network.",
    &["operation", "network"],
)
.unit(Unit::Seconds)
.buckets(SLOW_CALL_BUCKETS)
.source("`#[stellar_call]`");
pub(crate) const STELLAR_CALLS_TOTAL: Metric = Metric::new(
    "stellar_api_calls_total",
    Counter,
    "Stellar Horizon calls by operation, network and outcome; errors also by error type.",
    &["operation", "network", "status", ERROR_TYPE_LABEL],
)
.source("`#[stellar_call]`");

pub(crate) const WS_CONNECTIONS: Metric =
    Metric::new("active_websocket_connections", Gauge, "WebSocket connections whose handler is running.", &[])
        .source("`#[ws_connection]`");
pub(crate) const WS_MESSAGES_TOTAL: Metric = Metric::new(
    "websocket_messages_total",
    Counter,
    "WebSocket messages by direction (inbound, outbound) and type.",
    &["direction", "type"],
)
.source("`ws::message_received`, `ws::message_sent`");

pub(crate) const SCHEDULER_LAG: Metric = Metric::new(
    "tokio_scheduler_lag_seconds",
    Gauge,
    "How late the Tokio scheduler woke a periodic probe task, in seconds: the analogue of Node's event-loop lag.",
    &[],
)
.unit(Unit::Seconds)
.source(SCHEDULER);
pub(crate) const TOKIO_WORKERS: Metric =
    Metric::new("tokio_workers", Gauge, "Worker threads of the Tokio runtime obs was installed in.", &[])
        .source(SCHEDULER);
pub(crate) const TOKIO_ALIVE_TASKS: Metric =
    Metric::new("tokio_alive_tasks", Gauge, "Tasks alive in the Tokio runtime obs was installed in.", &[])
        .source(SCHEDULER);
pub(crate) const TOKIO_GLOBAL_QUEUE_DEPTH: Metric =
    Metric::new("tokio_global_queue_depth", Gauge, "Tasks waiting in the Tokio runtime's global queue.", &[])
        .source(SCHEDULER);

pub(crate) const SERIES_OVERFLOW_TOTAL: Metric = Metric::new(
    "obs_series_overflow_total",
    Counter,
    "Label sets turned away by obs's per-metric series cap (OBS_MAX_SERIES_PER_METRIC), by metric; \
     their samples are counted in the metric's overflow=\"true\" series.",
    &["metric"],
)
.source("obs's recorder");

pub(crate) const SPANS_DROPPED_TOTAL: Metric = Metric::new(
    "obs_spans_dropped_total",
    Counter,
    "Finished spans not exported because the export queue was full, in spans (OTEL_BSP_MAX_QUEUE_SIZE) or in bytes (OBS_BSP_MAX_QUEUE_BYTES), by reason.",
    &["reason"],
)
.source("the span export queue");

pub(crate) const SPANS_EXPORT_FAILURES_TOTAL: Metric = Metric::new(
    "obs_spans_export_failures_total",
    Counter,
    "Batches of spans the exporter could not deliver, by reason (unreachable, timeout, rejected, other); logged once at WARN, and at INFO when export recovers.",
    &["reason"],
)
.source("the span exporter");

pub(crate) const TRACES_DECIDED_EARLY_TOTAL: Metric = Metric::new(
    "obs_traces_decided_early_total",
    Counter,
    "Local traces the obs_outcome sampler decided before their root ended, because a memory bound was hit (a trace's spans or bytes, or all held traces), by reason.",
    &["reason"],
)
.source("the `obs_outcome` trace sampler");

/// Every metric obs emits outside the process collector, in `docs/metrics.md`'s order.
pub(crate) const METRICS: &[&Metric] = &[
    &HTTP_REQUESTS_TOTAL,
    &HTTP_REQUEST_DURATION,
    &HTTP_REQUESTS_IN_FLIGHT,
    &HTTP_CLIENT_REQUEST_DURATION,
    &ERRORS_TOTAL,
    &DB_QUERY_DURATION,
    &DB_QUERIES_TOTAL,
    &REDIS_CALL_DURATION,
    &REDIS_CALLS_TOTAL,
    &QUEUE_JOB_DURATION,
    &QUEUE_JOBS_TOTAL,
    &STELLAR_CALL_DURATION,
    &STELLAR_CALLS_TOTAL,
    &WS_CONNECTIONS,
    &WS_MESSAGES_TOTAL,
    &SCHEDULER_LAG,
    &TOKIO_WORKERS,
    &TOKIO_ALIVE_TASKS,
    &TOKIO_GLOBAL_QUEUE_DEPTH,
    &DB_CLIENT_CONNECTIONS,
    &DB_CLIENT_CONNECTIONS_MAX,
    &DB_CLIENT_CONNECTION_PENDING,
    &DB_CLIENT_CONNECTION_WAIT,
    &DB_CLIENT_CONNECTION_TIMEOUTS,
    &QUEUE_DEPTH,
    &QUEUE_OLDEST_JOB_AGE,
    &QUEUE_JOB_WAIT,
    &QUEUE_JOB_RETRIES,
    &QUEUE_JOBS_DEAD_LETTERED,
    &BUILD_INFO,
    &SERIES_OVERFLOW_TOTAL,
    &SPANS_DROPPED_TOTAL,
    &SPANS_EXPORT_FAILURES_TOTAL,
    &TRACES_DECIDED_EARLY_TOTAL,
    &QUEUE_READ_FAILURES,
];

/// Every metric obs emits, the process metrics last.
pub(crate) fn all() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().copied().chain(PROCESS.iter().copied())
}

/// Describes every metric (HELP and unit) to the installed recorder.
pub(crate) fn describe_all() {
    for metric in all() {
        let (name, help) = (metric.name, metric.help);
        match (metric.kind, metric.unit) {
            (Counter, Some(unit)) => metrics::describe_counter!(name, unit, help),
            (Counter, None) => metrics::describe_counter!(name, help),
            (Gauge, Some(unit)) => metrics::describe_gauge!(name, unit, help),
            (Gauge, None) => metrics::describe_gauge!(name, help),
            (Histogram, Some(unit)) => metrics::describe_histogram!(name, unit, help),
            (Histogram, None) => metrics::describe_histogram!(name, help),
        }
    }
}

/// Buckets must be finite, non-negative and strictly increasing to render as a valid histogram
/// (a bound of 0 counts empty things: a workflow with no nodes).
pub(crate) fn check_buckets(metric: &str, bounds: &[f64]) -> Result<(), crate::error::InitError> {
    let valid = !bounds.is_empty()
        && bounds.iter().all(|b| b.is_finite() && *b >= 0.0)
        && bounds.windows(2).all(|w| w[0] < w[1]);
    if valid {
        Ok(())
    } else {
        Err(crate::error::InitError::invalid(
            format!("buckets for {metric}"),
            format!("{bounds:?}"),
            "at least one finite, non-negative, strictly increasing bound",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_histograms_have_buckets() {
        let all: Vec<&Metric> = all().collect();
        for (i, metric) in all.iter().enumerate() {
            assert!(all[..i].iter().all(|m| m.name != metric.name), "{} twice", metric.name);
            assert_eq!(metric.kind == Histogram, !metric.buckets.is_empty(), "{}", metric.name);
            assert!(metric.help.ends_with('.'), "{}", metric.name);
            if metric.kind == Histogram {
                check_buckets(metric.name, metric.buckets).unwrap();
            }
        }
    }
}
