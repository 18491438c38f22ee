//! Session reminders as background jobs: an in-process queue by default, a Redis list when
//! `REDIS_URL` is set. The producer puts its trace context into each job (which also says when
//! it was enqueued), so a job's span continues the request that enqueued it and obs records how
//! long it waited. Each attempt is one run: a failed run goes back on the queue with its attempt
//! number raised, up to [`ATTEMPTS`], after which the job is given up on (dead-lettered). obs
//! reads the queue's depth and its oldest job's age at every scrape.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use obs_runtime::propagation::TraceContext;
use obs_runtime::queue::{ObservedQueue, QueueReading};
use obs_runtime::queue_job;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

const REDIS_QUEUE: &str = "mentorsmind:queue:sessionReminder";
/// The queue's name in obs's metrics, as `#[queue_job(queue = …)]` names it.
pub const QUEUE_NAME: &str = "sessionReminder";
/// The runs a job gets before it is given up on.
pub const ATTEMPTS: u32 = 3;
/// How long a reminder may wait before it is late: the oldest job's age alerts past it.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// A reminder to send before a session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReminderJob {
    /// The job id.
    pub id: String,
    /// The session it reminds of.
    pub session_id: String,
    /// Where the reminder goes.
    pub email: String,
    /// The trace of the request that enqueued it, and when.
    pub trace: TraceContext,
    /// This run's attempt, from 1.
    #[serde(default = "first")]
    pub attempt: u32,
}

fn first() -> u32 {
    1
}

/// Where producers put jobs.
#[derive(Clone, Debug)]
pub enum Queue {
    /// A channel to the worker in this process, and the enqueue times of the jobs in it.
    InProcess(mpsc::UnboundedSender<ReminderJob>, Waiting),
    /// A Redis list, shared by every instance.
    Redis(RedisQueue),
}

/// The enqueue times (Unix ms) of the in-process queue's jobs, oldest first.
pub type Waiting = Arc<Mutex<VecDeque<u64>>>;

/// The Redis side of [`Queue::Redis`].
#[derive(Clone)]
pub struct RedisQueue(redis::aio::ConnectionManager);

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisQueue")
    }
}

/// Where the worker takes jobs from.
#[derive(Debug)]
pub enum Source {
    /// The in-process channel.
    InProcess(mpsc::UnboundedReceiver<ReminderJob>, Waiting),
    /// The Redis list, through a connection of its own (BRPOP blocks it).
    Redis(RedisWorker),
}

impl Queue {
    /// An in-process queue and its worker's source.
    pub fn in_process() -> (Self, Source) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let waiting = Waiting::default();
        (Queue::InProcess(sender, waiting.clone()), Source::InProcess(receiver, waiting))
    }

    /// A Redis-list queue and its worker's source.
    pub async fn redis(
        client: &redis::Client,
        connection: redis::aio::ConnectionManager,
    ) -> redis::RedisResult<(Self, Source)> {
        let mut worker = client.get_multiplexed_async_connection().await?;
        // The client gives up on an answer after 500 ms by default, but BRPOP waits up to
        // BRPOP_WAIT on an idle queue: without more time every idle wait would be an error.
        worker.set_response_timeout(BRPOP_WAIT + Duration::from_secs(2));
        Ok((Queue::Redis(RedisQueue(connection)), Source::Redis(RedisWorker(worker))))
    }

    /// Enqueues `job`.
    pub async fn push(&self, job: ReminderJob) -> Result<(), String> {
        match self {
            Queue::InProcess(sender, waiting) => {
                let enqueued = job.trace.enqueued_at_ms.unwrap_or_default();
                waiting.lock().unwrap_or_else(|e| e.into_inner()).push_back(enqueued);
                sender.send(job).map_err(|_| "the job worker has stopped".to_owned())
            }
            Queue::Redis(RedisQueue(redis)) => {
                let payload = serde_json::to_string(&job).map_err(|e| e.to_string())?;
                redis.clone().lpush::<_, _, ()>(REDIS_QUEUE, payload).await.map_err(|e| format!("enqueue failed: {e}"))
            }
        }
    }

    /// Lets obs read the queue's depth and its oldest job at every scrape: the channel's own
    /// count, or Redis's `LLEN` and the tail job (the oldest: jobs go in at the head).
    pub fn observe(&self) -> Result<(), obs_runtime::InitError> {
        let observed = match self.clone() {
            Queue::InProcess(_, waiting) => ObservedQueue::new(QUEUE_NAME, move || {
                let waiting = waiting.clone();
                async move {
                    let waiting = waiting.lock().unwrap_or_else(|e| e.into_inner());
                    let oldest = waiting.front().map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(*ms));
                    Ok::<_, String>(QueueReading { depth: waiting.len() as u64, oldest_enqueued_at: oldest })
                }
            }),
            Queue::Redis(RedisQueue(redis)) => ObservedQueue::new(QUEUE_NAME, move || {
                let mut redis = redis.clone();
                async move {
                    let depth: u64 = redis.llen(REDIS_QUEUE).await?;
                    let tail: Option<String> = redis.lindex(REDIS_QUEUE, -1).await?;
                    let oldest = tail
                        .and_then(|payload| serde_json::from_str::<ReminderJob>(&payload).ok())
                        .and_then(|job| job.trace.enqueued_at());
                    Ok::<_, redis::RedisError>(QueueReading { depth, oldest_enqueued_at: oldest })
                }
            }),
        };
        observed.max_age(MAX_AGE).register()
    }
}

/// How long the worker's BRPOP waits on an empty queue before asking again.
const BRPOP_WAIT: Duration = Duration::from_secs(1);

/// The worker's own Redis connection.
pub struct RedisWorker(redis::aio::MultiplexedConnection);

impl std::fmt::Debug for RedisWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisWorker")
    }
}

/// Runs jobs until `stop` turns true and the queue is drained (in-process) or the current job
/// is done (Redis); a failed run goes back on `queue` for its next attempt.
pub async fn work(source: Source, queue: Queue, mut stop: watch::Receiver<bool>) {
    match source {
        Source::InProcess(mut receiver, waiting) => {
            let taken = |waiting: &Waiting| {
                waiting.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            };
            loop {
                tokio::select! {
                    job = receiver.recv() => match job {
                        Some(job) => {
                            taken(&waiting);
                            run(job, &queue).await;
                        }
                        None => return,
                    },
                    _ = stop.changed() => {
                        // Drain what was already accepted, then stop: no more retries.
                        receiver.close();
                        while let Some(job) = receiver.recv().await {
                            taken(&waiting);
                            let _ = send_session_reminder(job).await;
                        }
                        return;
                    }
                }
            }
        }
        Source::Redis(RedisWorker(mut redis)) => {
            // An outage is logged once when it starts and once when it ends, not per retry.
            let mut unavailable = false;
            while !*stop.borrow() {
                let popped: redis::RedisResult<Option<(String, String)>> =
                    redis.brpop(REDIS_QUEUE, BRPOP_WAIT.as_secs_f64()).await;
                if popped.is_ok() && std::mem::take(&mut unavailable) {
                    tracing::info!("the Redis queue is available again");
                }
                match popped {
                    Ok(Some((_, payload))) => match serde_json::from_str::<ReminderJob>(&payload) {
                        Ok(job) => run(job, &queue).await,
                        Err(e) => tracing::warn!(error = %e, "dropping a malformed job"),
                    },
                    Ok(None) => {}
                    Err(e) => {
                        if !std::mem::replace(&mut unavailable, true) {
                            tracing::warn!(error = %e, "the Redis queue is unavailable; retrying until it answers");
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        }
    }
}

/// One run of `job`; a failure goes back on the queue for the next attempt, until the last.
async fn run(job: ReminderJob, queue: &Queue) {
    let Err(error) = send_session_reminder(job.clone()).await else { return };
    if job.attempt >= ATTEMPTS {
        tracing::error!(job.id = %job.id, %error, "reminder given up after {ATTEMPTS} attempts");
        return;
    }
    tracing::warn!(job.id = %job.id, attempt = job.attempt, %error, "reminder not delivered; retrying");
    tokio::time::sleep(Duration::from_millis(20 * u64::from(job.attempt))).await;
    let retry = ReminderJob { attempt: job.attempt + 1, ..job };
    if let Err(e) = queue.push(retry).await {
        tracing::error!(error = %e, "a retry could not be enqueued");
    }
}

/// One attempt at a reminder: `completed`, or `failed`; failed on its last attempt it is given
/// up on (`queue_jobs_dead_lettered_total`), a later attempt is a retry
/// (`queue_job_retries_total`), and the time since its enqueue is `queue_job_wait_seconds`.
#[queue_job(
    queue = "sessionReminder",
    job = "sendSessionReminder",
    id = job.id,
    parent = job.trace,
    attempt = job.attempt,
    max_attempts = ATTEMPTS,
    objective = super::objectives::REMINDERS
)]
async fn send_session_reminder(job: ReminderJob) -> Result<(), String> {
    deliver(&job.email, job.attempt).await
}

/// Stands in for a mail provider: addresses at `bounce.invalid` always bounce; those at
/// `flaky.invalid` fail their first attempt.
async fn deliver(email: &str, attempt: u32) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(3)).await;
    if email.ends_with("@bounce.invalid") || (email.ends_with("@flaky.invalid") && attempt == 1) {
        Err(format!("mailbox {email} unavailable"))
    } else {
        Ok(())
    }
}
