//! The promtool cases of the saturation alerts: a pool whose requests always wait, one slow to
//! hand out connections, one whose requests time out; a growing backlog, a job older than its
//! queue's limit, jobs given up on; a process near its file-descriptor limit. Each with series
//! that leave it quiet: a busy pool that is sometimes free, a steady backlog, a young job.

use super::series::{Input, Values, durations, series};
use super::{Case, INSTANCE, single};
use crate::catalogue::{
    DB_CLIENT_CONNECTION_PENDING, DB_CLIENT_CONNECTION_TIMEOUTS, DB_CLIENT_CONNECTION_WAIT, QUEUE_DEPTH,
    QUEUE_JOBS_DEAD_LETTERED, QUEUE_OLDEST_JOB_AGE, Subsystem,
};
use crate::ops::alerts::{Alert, Watch};
use crate::ops::model::Model;

/// The labels besides `job` the alert's expression gives for the cases' series.
pub(super) fn labels(model: &Model, watch: &Watch) -> Vec<(String, String)> {
    let pool = || (model.label(&DB_CLIENT_CONNECTION_PENDING, "pool").to_owned(), pool_name(model));
    match watch {
        Watch::PoolWaiting | Watch::PoolSlow | Watch::PoolTimeouts => {
            vec![("instance".to_owned(), INSTANCE.to_owned()), pool()]
        }
        Watch::QueueBacklog(queue) | Watch::QueueAge(queue, _) => {
            vec![(model.label(&QUEUE_DEPTH, "queue_name").to_owned(), queue.clone())]
        }
        Watch::QueueDeadLetters(queue) => vec![
            (model.label(&QUEUE_JOBS_DEAD_LETTERED, "queue_name").to_owned(), queue.clone()),
            (model.label(&QUEUE_JOBS_DEAD_LETTERED, "job_name").to_owned(), job_name(model, queue)),
        ],
        Watch::Fds | Watch::TargetDown => vec![("instance".to_owned(), INSTANCE.to_owned())],
        _ => Vec::new(),
    }
}

fn pool_name(model: &Model) -> String {
    model.pools().first().cloned().unwrap_or_else(|| "main".to_owned())
}

/// The job name of the queue's first site.
fn job_name(model: &Model, queue: &str) -> String {
    let site = model.catalogue.sites_of(Subsystem::Queue).find(|s| s.label_values().first() == Some(&queue));
    site.and_then(|s| s.label_values().get(1)).map_or_else(|| "job".to_owned(), |j| (*j).to_owned())
}

fn gauge(model: &Model, metric: &'static crate::catalogue::Metric, labels: &[(&str, String)], values: Values) -> Input {
    Input { series: series(model, metric, "", labels), values }
}

pub(super) fn cases(model: &Model, alerts: &[Alert], index: usize) -> Vec<Case> {
    let alert = &alerts[index];
    let one = |comment: &str, inputs, eval, value| single(comment, inputs, alert, index, eval, value);
    let pool = || vec![("pool", pool_name(model))];
    let with_instance = |mut labels: Vec<(&'static str, String)>| {
        labels.insert(0, ("instance", INSTANCE.to_owned()));
        labels
    };
    match &alert.watches {
        Watch::PoolWaiting => vec![
            one(
                "three requests always wait for a connection: fires.",
                vec![gauge(model, &DB_CLIENT_CONNECTION_PENDING, &with_instance(pool()), Values::Constant(3.0))],
                10,
                Some(3.0),
            ),
            one(
                "a busy pool that is free every other scrape: quiet.",
                vec![gauge(
                    model,
                    &DB_CLIENT_CONNECTION_PENDING,
                    &with_instance(pool()),
                    Values::Alternating(0.0, 2.0),
                )],
                10,
                None,
            ),
        ],
        Watch::PoolSlow => vec![
            one(
                "every wait between 0.1 s and the next bucket: fires.",
                durations(model, &DB_CLIENT_CONNECTION_WAIT, &with_instance(pool()), 0.1, 0.0, 60.0, false),
                20,
                Some(0.1 + (next_bound(model, 0.1) - 0.1) * 0.95),
            ),
            one(
                "every wait under 5 ms: quiet.",
                durations(model, &DB_CLIENT_CONNECTION_WAIT, &with_instance(pool()), 0.005, 60.0, 60.0, false),
                20,
                None,
            ),
        ],
        Watch::PoolTimeouts => vec![
            one(
                "a request times out every minute: fires.",
                vec![gauge(model, &DB_CLIENT_CONNECTION_TIMEOUTS, &with_instance(pool()), Values::Rising(1.0))],
                10,
                Some(5.0),
            ),
            one(
                "none times out: quiet.",
                vec![gauge(model, &DB_CLIENT_CONNECTION_TIMEOUTS, &with_instance(pool()), Values::Constant(0.0))],
                10,
                None,
            ),
        ],
        Watch::QueueBacklog(queue) => {
            let labels = vec![("queue_name", queue.clone())];
            vec![
                one(
                    "two more jobs wait every minute: fires.",
                    vec![gauge(model, &QUEUE_DEPTH, &labels, Values::Rising(2.0))],
                    30,
                    Some(60.0),
                ),
                one(
                    "five jobs wait, steadily: quiet.",
                    vec![gauge(model, &QUEUE_DEPTH, &labels, Values::Constant(5.0))],
                    30,
                    None,
                ),
            ]
        }
        Watch::QueueAge(queue, limit) => {
            let labels = vec![("queue_name", queue.clone())];
            vec![
                one(
                    "the oldest job is a minute past the limit: pages.",
                    vec![gauge(model, &QUEUE_OLDEST_JOB_AGE, &labels, Values::Constant(limit + 60.0))],
                    10,
                    Some(limit + 60.0),
                ),
                one(
                    "the oldest job is half the limit old: quiet.",
                    vec![gauge(model, &QUEUE_OLDEST_JOB_AGE, &labels, Values::Constant(limit / 2.0))],
                    10,
                    None,
                ),
            ]
        }
        Watch::QueueDeadLetters(queue) => {
            let labels = vec![("queue_name", queue.clone()), ("job_name", job_name(model, queue))];
            vec![
                one(
                    "a job is given up on every minute: fires.",
                    vec![gauge(model, &QUEUE_JOBS_DEAD_LETTERED, &labels, Values::Rising(1.0))],
                    20,
                    Some(15.0),
                ),
                one(
                    "none is: quiet.",
                    vec![gauge(model, &QUEUE_JOBS_DEAD_LETTERED, &labels, Values::Constant(0.0))],
                    20,
                    None,
                ),
            ]
        }
        Watch::Fds => {
            let fds = |open: f64| {
                [&crate::catalogue::PROCESS_OPEN_FDS, &crate::catalogue::PROCESS_MAX_FDS]
                    .into_iter()
                    .zip([open, 1000.0])
                    .filter_map(|(metric, value)| {
                        let metric = model.process_metric(metric)?;
                        Some(gauge(model, metric, &[("instance", INSTANCE.to_owned())], Values::Constant(value)))
                    })
                    .collect::<Vec<_>>()
            };
            vec![
                one("900 of 1 000 file descriptors open: fires.", fds(900.0), 10, Some(0.9)),
                one("100 of 1 000 open: quiet.", fds(100.0), 10, None),
            ]
        }
        _ => Vec::new(),
    }
}

/// The bound above `bound` of the pool wait histogram.
fn next_bound(model: &Model, bound: f64) -> f64 {
    model.bounds(&DB_CLIENT_CONNECTION_WAIT).iter().copied().find(|b| *b > bound * (1.0 + 1e-9)).unwrap_or(bound)
}
