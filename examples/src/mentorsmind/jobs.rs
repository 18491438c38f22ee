//! Session reminders as background jobs: an in-process queue by default, a Redis list when
//! `REDIS_URL` is set. The producer puts its trace context into each job, so a job's span
//! continues the request that enqueued it; a job that keeps failing is retried a bounded number
//! of times and then counted once as `failed`.

use std::time::Duration;

use obs_runtime::propagation::TraceContext;
use obs_runtime::queue_job;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

const REDIS_QUEUE: &str = "mentorsmind:queue:sessionReminder";
const ATTEMPTS: u32 = 3;

/// A reminder to send before a session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReminderJob {
    /// The job id.
    pub id: String,
    /// The session it reminds of.
    pub session_id: String,
    /// Where the reminder goes.
    pub email: String,
    /// The trace of the request that enqueued it.
    pub trace: TraceContext,
}

/// Where producers put jobs.
#[derive(Clone, Debug)]
pub enum Queue {
    /// A channel to the worker in this process.
    InProcess(mpsc::UnboundedSender<ReminderJob>),
    /// A Redis list, shared by every instance.
    Redis(RedisQueue),
}

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
    InProcess(mpsc::UnboundedReceiver<ReminderJob>),
    /// The Redis list, through a connection of its own (BRPOP blocks it).
    Redis(RedisWorker),
}

impl Queue {
    /// An in-process queue and its worker's source.
    pub fn in_process() -> (Self, Source) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Queue::InProcess(sender), Source::InProcess(receiver))
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
            Queue::InProcess(sender) => sender.send(job).map_err(|_| "the job worker has stopped".to_owned()),
            Queue::Redis(RedisQueue(redis)) => {
                let payload = serde_json::to_string(&job).map_err(|e| e.to_string())?;
                redis.clone().lpush::<_, _, ()>(REDIS_QUEUE, payload).await.map_err(|e| format!("enqueue failed: {e}"))
            }
        }
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
/// is done (Redis).
pub async fn work(source: Source, mut stop: watch::Receiver<bool>) {
    match source {
        Source::InProcess(mut receiver) => {
            loop {
                tokio::select! {
                    job = receiver.recv() => match job {
                        Some(job) => { let _ = send_session_reminder(job).await; }
                        None => return,
                    },
                    _ = stop.changed() => {
                        // Drain what was already accepted, then stop.
                        receiver.close();
                        while let Some(job) = receiver.recv().await {
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
                        Ok(job) => {
                            let _ = send_session_reminder(job).await;
                        }
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

/// One job, counted once whatever its retries: `completed`, or `failed` after the last attempt.
#[queue_job(
    queue = "sessionReminder",
    job = "sendSessionReminder",
    id = job.id,
    parent = job.trace,
    objective = super::objectives::REMINDERS
)]
async fn send_session_reminder(job: ReminderJob) -> Result<(), String> {
    let mut attempt = 1;
    loop {
        match deliver(&job.email).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(attempt, error = %e, "reminder not delivered; retrying");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => return Err(format!("reminder not delivered after {ATTEMPTS} attempts: {e}")),
        }
    }
}

/// Stands in for a mail provider: addresses at `bounce.invalid` always bounce.
async fn deliver(email: &str) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(3)).await;
    if email.ends_with("@bounce.invalid") { Err(format!("mailbox {email} unavailable")) } else { Ok(()) }
}
