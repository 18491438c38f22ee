//! The fourth golden signal's alerts: connection pools that make requests wait, time out or
//! hand out connections slowly; queues whose backlog grows, whose oldest job is past its
//! declared limit, or whose jobs are given up on; a process near its file-descriptor limit.
//! A saturated system is the one whose failures errors and latency miss: a stuck worker records
//! no failed job, it records nothing.

use super::alerts::{Alert, Section, Severity, Topic, Watch};
use super::model::{Model, QueueModel};
use super::slo::num;
use crate::catalogue::{
    DB_CLIENT_CONNECTION_PENDING, DB_CLIENT_CONNECTION_TIMEOUTS, DB_CLIENT_CONNECTION_WAIT, QUEUE_DEPTH,
    QUEUE_JOBS_DEAD_LETTERED, QUEUE_OLDEST_JOB_AGE,
};

/// The acquire p95 past which a pool counts as slow to hand out connections.
pub(crate) const SLOW_ACQUIRE_SECONDS: f64 = 0.1;
/// The share of the file-descriptor limit past which a process is near it.
pub(crate) const FDS_NEAR_LIMIT: f64 = 0.8;

fn section(topic: Topic, meaning: String) -> Section {
    Section { meaning, reads: Vec::new(), topic, spans: Vec::new(), mitigation: String::new() }
}

/// Every saturation alert the service's catalogue calls for.
pub(crate) fn alerts(model: &Model) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if !model.pools().is_empty() {
        alerts.extend(pool_alerts(model));
    }
    for queue in &model.queues {
        alerts.extend(queue_alerts(model, queue));
    }
    if let (Some(open), Some(max)) = (
        model.process_metric(&crate::catalogue::PROCESS_OPEN_FDS),
        model.process_metric(&crate::catalogue::PROCESS_MAX_FDS),
    ) {
        let (open, max) = (model.series(&model.name(open), &[]), model.series(&model.name(max), &[]));
        alerts.push(Alert {
            name: "FileDescriptorsNearLimit".into(),
            expr: format!("max by (job, instance) ({open} / {max}) > {}", num(FDS_NEAR_LIMIT)),
            for_: "5m",
            severity: Severity::Ticket,
            labels: Vec::new(),
            summary: "{{ $labels.instance }} of {{ $labels.job }} uses {{ $value | humanizePercentage }} of its file descriptors".into(),
            description: format!(
                "More than {} % of the process's file-descriptor limit is in use: past it, it can accept no connection \
                 and open no file.",
                num(FDS_NEAR_LIMIT * 100.0)
            ),
            watches: Watch::Fds,
            section: section(
                Topic::Process,
                "The process's open file descriptors (sockets, files, pipes) have been above 80 % of its limit \
                 (`ulimit -n`) for 5 minutes."
                    .into(),
            ),
        });
    }
    alerts
}

fn pool_alerts(model: &Model) -> Vec<Alert> {
    let pending = model.series(&model.name(&DB_CLIENT_CONNECTION_PENDING), &[]);
    let bucket = model.series(&format!("{}_bucket", model.name(&DB_CLIENT_CONNECTION_WAIT)), &[]);
    let timeouts = model.series(&model.name(&DB_CLIENT_CONNECTION_TIMEOUTS), &[]);
    let pool = model.label(&DB_CLIENT_CONNECTION_PENDING, "pool");
    vec![
        Alert {
            name: "PoolRequestsWaiting".into(),
            expr: format!("min by (job, instance, {pool}) (min_over_time({pending}[5m])) > 0"),
            for_: "2m",
            severity: Severity::Ticket,
            labels: Vec::new(),
            summary: format!(
                "Pool {{{{ $labels.{pool} }}}} of {{{{ $labels.instance }}}} has had requests waiting for a connection \
                 for 5 minutes, at least {{{{ $value }}}}"
            ),
            description: "Every request for a database connection has had to queue: the pool is saturated, and \
                          queries take longer by the wait."
                .into(),
            watches: Watch::PoolWaiting,
            section: section(
                Topic::Pool,
                "`db_client_connection_pending_requests` of one pool of one instance has not been 0 at any scrape for \
                 5 minutes: every connection is in use and requests queue for the next free one."
                    .into(),
            ),
        },
        Alert {
            name: "PoolAcquireSlow".into(),
            expr: format!(
                "histogram_quantile(0.95, sum by (job, instance, {pool}, le) (rate({bucket}[5m]))) > {}",
                num(SLOW_ACQUIRE_SECONDS)
            ),
            for_: "5m",
            severity: Severity::Ticket,
            labels: Vec::new(),
            summary: format!(
                "Pool {{{{ $labels.{pool} }}}} of {{{{ $labels.instance }}}} takes {{{{ $value | humanizeDuration }}}} to \
                 hand out a connection (p95)"
            ),
            description: format!(
                "The slowest 5 % of requests for a connection waited more than {} s over the last 5 minutes.",
                num(SLOW_ACQUIRE_SECONDS)
            ),
            watches: Watch::PoolSlow,
            section: section(
                Topic::Pool,
                "The 95th percentile of `db_client_connection_wait_seconds` of one pool of one instance has been above \
                 0.1 s for 5 minutes: queries wait that long before they even reach the database."
                    .into(),
            ),
        },
        Alert {
            name: "PoolAcquireTimeouts".into(),
            expr: format!("sum by (job, instance, {pool}) (increase({timeouts}[5m])) > 0"),
            for_: "1m",
            severity: Severity::Ticket,
            labels: Vec::new(),
            summary: format!(
                "Pool {{{{ $labels.{pool} }}}} of {{{{ $labels.instance }}}} gave up on {{{{ $value | humanize }}}} requests \
                 for a connection in 5 minutes"
            ),
            description: "Requests for a connection waited past the pool's acquire timeout and failed \
                          (`pool_timed_out`): the queries behind them failed too."
                .into(),
            watches: Watch::PoolTimeouts,
            section: section(
                Topic::Pool,
                "`db_client_connection_timeouts_total` rose: sqlx gave up on requests for a connection after the \
                 pool's `acquire_timeout`, and the queries failed with `PoolTimedOut`."
                    .into(),
            ),
        },
    ]
}

fn queue_alerts(model: &Model, queue: &QueueModel) -> Vec<Alert> {
    let name = &queue.name;
    let by = model.label(&QUEUE_DEPTH, "queue_name");
    let selector = |metric| model.series(&model.name(metric), &[&model.matcher(metric, "queue_name", "=", name)]);
    let mut alerts = Vec::new();
    if queue.observed {
        let depth = selector(&QUEUE_DEPTH);
        // Every replica reads the same queue: the max is its depth, a sum would multiply it.
        alerts.push(Alert {
            name: "QueueBacklogGrowing".into(),
            expr: format!("max by (job, {by}) ({depth}) > 0 and max by (job, {by}) (deriv({depth}[15m])) > 0"),
            for_: "15m",
            severity: Severity::Ticket,
            labels: vec![("queue_name", name.clone())],
            summary: format!("Queue {name} of {{{{ $labels.job }}}} has {{{{ $value }}}} jobs waiting and growing"),
            description: format!(
                "For 15 minutes the jobs waiting in {name} have kept growing: its workers fall behind."
            ),
            watches: Watch::QueueBacklog(name.clone()),
            section: section(
                Topic::Queue,
                "`queue_depth` of the queue (the largest any instance reads) is above 0 and its trend over 15 \
                 minutes has been upwards for 15 minutes: more jobs arrive than the workers finish."
                    .into(),
            ),
        });
        if let Some(limit) = queue.max_age {
            let age = selector(&QUEUE_OLDEST_JOB_AGE);
            alerts.push(Alert {
                name: "QueueOldestJobTooOld".into(),
                expr: format!("max by (job, {by}) ({age}) > {}", num(limit)),
                for_: "5m",
                severity: Severity::Page,
                labels: vec![("queue_name", name.clone())],
                summary: format!(
                    "The oldest job of queue {name} has waited {{{{ $value | humanizeDuration }}}}, past its {} s limit",
                    num(limit)
                ),
                description: format!(
                    "A job of {name} has been waiting longer than the {} s the service allows: the workers are stuck, \
                     down or far behind, and a stuck worker records no failure.",
                    num(limit)
                ),
                watches: Watch::QueueAge(name.clone(), limit),
                section: section(
                    Topic::Queue,
                    "`queue_oldest_job_age_seconds` of the queue has been above the limit the service declared for it \
                     (`ObservedQueue::max_age`) for 5 minutes."
                        .into(),
                ),
            });
        }
    }
    if queue.has_sites {
        let dead = selector(&QUEUE_JOBS_DEAD_LETTERED);
        let job = model.label(&QUEUE_JOBS_DEAD_LETTERED, "job_name");
        alerts.push(Alert {
            name: "QueueDeadLetters".into(),
            expr: format!("sum by (job, {by}, {job}) (increase({dead}[15m])) > 0"),
            for_: "0m",
            severity: Severity::Ticket,
            labels: vec![("queue_name", name.clone())],
            summary: format!(
                "{{{{ $value | humanize }}}} jobs {{{{ $labels.{job} }}}} of queue {name} were given up on in 15 minutes"
            ),
            description: format!(
                "Jobs of {name} failed on their last allowed attempt: nobody will run them again unless re-enqueued."
            ),
            watches: Watch::QueueDeadLetters(name.clone()),
            section: section(
                Topic::Queue,
                "`queue_jobs_dead_lettered_total` of the queue rose: a job failed on its last attempt \
                 (`max_attempts`), and is given up on."
                    .into(),
            ),
        });
    }
    alerts
}
