//! Saturation rows: a row per connection pool and per queue, the process's file descriptors,
//! and the deploy marks of `build_info`.

use serde_json::{Value, json};

use super::{Layout, RATE, Target, scoped};
use crate::catalogue::{
    BUILD_INFO, DB_CLIENT_CONNECTION_PENDING, DB_CLIENT_CONNECTION_TIMEOUTS, DB_CLIENT_CONNECTION_WAIT,
    DB_CLIENT_CONNECTIONS, DB_CLIENT_CONNECTIONS_MAX, QUEUE_DEPTH, QUEUE_JOB_RETRIES, QUEUE_JOB_WAIT,
    QUEUE_JOBS_DEAD_LETTERED, QUEUE_OLDEST_JOB_AGE,
};
use crate::ops::model::{Model, QueueModel};

fn target(expr: String, legend: &str) -> Target {
    (expr, legend.to_owned())
}

/// A row per observed pool: connections used against the maximum, requests waiting, the wait's
/// p95 and the timeouts, per instance.
pub(super) fn pools(layout: &mut Layout, model: &Model) {
    for pool in model.pools() {
        let of = |metric: &crate::catalogue::Metric, extra: &str| {
            let matcher = model.matcher(metric, "pool", "=", pool);
            let extra = if extra.is_empty() { matcher } else { format!("{matcher},{extra}") };
            scoped(&model.name(metric), &extra)
        };
        let state = model.label(&DB_CLIENT_CONNECTIONS, "state");
        layout.row(&format!("Connection pool {pool}"));
        layout.panel(
            &format!("{pool}: connections used and maximum"),
            "short",
            &[
                target(
                    format!("sum by (instance) ({})", of(&DB_CLIENT_CONNECTIONS, &format!("{state}=\"used\""))),
                    "used {{instance}}",
                ),
                target(
                    format!("sum by (instance) ({})", of(&DB_CLIENT_CONNECTIONS, &format!("{state}=\"idle\""))),
                    "idle {{instance}}",
                ),
                target(format!("max by (instance) ({})", of(&DB_CLIENT_CONNECTIONS_MAX, "")), "max {{instance}}"),
            ],
        );
        layout.panel(
            &format!("{pool}: requests waiting for a connection"),
            "short",
            &[target(format!("sum by (instance) ({})", of(&DB_CLIENT_CONNECTION_PENDING, "")), "{{instance}}")],
        );
        let bucket = format!("{}_bucket", model.name(&DB_CLIENT_CONNECTION_WAIT));
        let bucket = scoped(&bucket, &model.matcher(&DB_CLIENT_CONNECTION_WAIT, "pool", "=", pool));
        layout.panel(
            &format!("{pool}: wait for a connection p95"),
            "s",
            &[target(
                format!("histogram_quantile(0.95, sum by (instance, le) (rate({bucket}[{RATE}])))"),
                "{{instance}}",
            )],
        );
        layout.panel(
            &format!("{pool}: acquire timeouts"),
            "ops",
            &[target(
                format!("sum by (instance) (rate({}[{RATE}]))", of(&DB_CLIENT_CONNECTION_TIMEOUTS, "")),
                "{{instance}}",
            )],
        );
    }
}

/// A row per queue: its depth and oldest job where the app observes it, the wait from enqueue
/// to start, retries and give-ups where `#[queue_job]` sites run it.
pub(super) fn queues(layout: &mut Layout, model: &Model) {
    for queue in &model.queues {
        queue_row(layout, model, queue);
    }
}

fn queue_row(layout: &mut Layout, model: &Model, queue: &QueueModel) {
    let name = &queue.name;
    let of = |metric: &crate::catalogue::Metric, suffix: &str| {
        scoped(&format!("{}{suffix}", model.name(metric)), &model.matcher(metric, "queue_name", "=", name))
    };
    layout.row(&format!("Queue {name}"));
    if queue.observed {
        // Every instance reads the same queue: the largest reading is the queue's.
        layout.panel(
            &format!("{name}: jobs waiting"),
            "short",
            &[target(format!("max({})", of(&QUEUE_DEPTH, "")), "depth")],
        );
        let mut age = vec![target(format!("max({})", of(&QUEUE_OLDEST_JOB_AGE, "")), "oldest job")];
        if let Some(limit) = queue.max_age {
            age.push(target(format!("vector({})", crate::ops::slo::num(limit)), "limit"));
        }
        layout.panel(&format!("{name}: age of the oldest job"), "s", &age);
    }
    if queue.has_sites {
        let job = model.label(&QUEUE_JOB_WAIT, "job_name");
        layout.panel(
            &format!("{name}: wait from enqueue to start p95"),
            "s",
            &[target(
                format!(
                    "histogram_quantile(0.95, sum by ({job}, le) (rate({}[{RATE}])))",
                    of(&QUEUE_JOB_WAIT, "_bucket")
                ),
                &format!("{{{{{job}}}}}"),
            )],
        );
        let job = model.label(&QUEUE_JOB_RETRIES, "job_name");
        layout.panel(
            &format!("{name}: retries and jobs given up on"),
            "ops",
            &[
                target(
                    format!("sum by ({job}) (rate({}[{RATE}]))", of(&QUEUE_JOB_RETRIES, "")),
                    &format!("retries {{{{{job}}}}}"),
                ),
                target(
                    format!("sum by ({job}) (rate({}[{RATE}]))", of(&QUEUE_JOBS_DEAD_LETTERED, "")),
                    &format!("given up {{{{{job}}}}}"),
                ),
            ],
        );
    }
}

/// The process's file descriptors against its limit.
pub(super) fn fds(layout: &mut Layout, model: &Model) {
    if let (Some(open), Some(max)) = (
        model.process_metric(&crate::catalogue::PROCESS_OPEN_FDS),
        model.process_metric(&crate::catalogue::PROCESS_MAX_FDS),
    ) {
        layout.panel(
            "File descriptors used of the limit",
            "percentunit",
            &[target(format!("{} / {}", scoped(&model.name(open), ""), scoped(&model.name(max), "")), "{{instance}}")],
        );
    }
}

/// A mark where a version or revision starts running: a `build_info` series that was not
/// there five minutes before.
pub(super) fn deploys(model: &Model) -> Option<Value> {
    if !model.records(&BUILD_INFO) {
        return None;
    }
    let info = scoped(&model.name(&BUILD_INFO), "");
    let (version, revision) = (model.label(&BUILD_INFO, "version"), model.label(&BUILD_INFO, "revision"));
    let expr =
        format!("count by ({version}, {revision}) ({info}) unless count by ({version}, {revision}) ({info} offset 5m)");
    Some(json!({
        "name": "Deploys", "enable": true, "iconColor": "rgb(115, 191, 105)",
        "datasource": {"type": "prometheus", "uid": super::DATASOURCE},
        "expr": expr, "step": "1m",
        "titleFormat": format!("deploy {{{{{version}}}}}"), "textFormat": format!("revision {{{{{revision}}}}}"),
    }))
}
