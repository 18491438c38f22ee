//! Queues (feature `queue`): how many jobs wait and how old the oldest is, read from the app's
//! own queue when a scrape or a push asks, so the gauges are right while no worker runs.
//!
//! The app gives a reader: an async function that asks its queue (Redis `LLEN` and the tail
//! job's enqueue time, which [`crate::propagation::TraceContext`] in a job's payload carries).
//! obs calls it before each scrape and push, on the runtime the queue was registered on, and
//! waits for it at most a second: a reader that fails, panics or does not answer in time leaves
//! the queue's gauges out of that scrape and counts `obs_queue_read_failures_total{queue_name,
//! reason}` (`error`, `panic`, `timeout`); the scrape answers anyway.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use obs_runtime::queue::{ObservedQueue, QueueReading};
//!
//! ObservedQueue::new("emails", || async {
//!     Ok::<_, std::io::Error>(QueueReading { depth: 3, oldest_enqueued_at: Some(SystemTime::now()) })
//! })
//! .max_age(Duration::from_secs(600))
//! .register()
//! .unwrap();
//! assert!(obs_runtime::catalogue().queues().iter().any(|q| q.name == "emails"));
//! ```

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::catalogue::{QUEUE_DEPTH, QUEUE_OLDEST_JOB_AGE, QUEUE_READ_FAILURES, QueueEntry, register_queue};
use crate::error::InitError;
use crate::prometheus::sampled::{self, Reading, Refresh, Source};

/// What a queue's reader reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueReading {
    /// Jobs waiting.
    pub depth: u64,
    /// When the oldest waiting job was enqueued; `None` when none waits.
    pub oldest_enqueued_at: Option<SystemTime>,
}

type ReadFuture = Pin<Box<dyn Future<Output = Result<QueueReading, String>> + Send>>;

/// A queue to observe: its name (the `queue_name` label, as `#[queue_job(queue = …)]` names
/// it), its reader, and the age its oldest job must not pass.
#[must_use = "register() it"]
pub struct ObservedQueue {
    name: String,
    read: Arc<dyn Fn() -> ReadFuture + Send + Sync>,
    max_age: Option<Duration>,
}

impl std::fmt::Debug for ObservedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedQueue").field("name", &self.name).field("max_age", &self.max_age).finish()
    }
}

impl ObservedQueue {
    /// The queue `name`, read by `read`.
    pub fn new<F, Fut, E>(name: impl Into<String>, read: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<QueueReading, E>> + Send + 'static,
        E: Display,
    {
        let read = move || -> ReadFuture {
            let reading = read();
            Box::pin(async move { reading.await.map_err(|e| e.to_string()) })
        };
        Self { name: name.into(), read: Arc::new(read), max_age: None }
    }

    /// The age the oldest waiting job must not pass: the generated alerts fire past it.
    pub fn max_age(mut self, limit: Duration) -> Self {
        self.max_age = Some(limit);
        self
    }

    /// Starts reading the queue at every scrape and push. Refused: a name another queue has,
    /// or one that is not a plain label value (ASCII letters, digits and `_ . : / -`).
    pub fn register(self) -> Result<(), InitError> {
        if !crate::catalogue::is_plain_label(&self.name) {
            return Err(InitError::invalid(
                "queue::ObservedQueue name",
                &self.name,
                "a queue name of ASCII letters, digits and _ . : / -, as #[queue_job(queue = …)] names it",
            ));
        }
        let mut entries = queues().entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.iter().any(|e| e.name == self.name) {
            return Err(InitError::invalid(
                "queue::ObservedQueue name",
                &self.name,
                "a name no other observed queue has: each queue is registered once",
            ));
        }
        register_queue(QueueEntry { name: self.name.clone(), max_age: self.max_age });
        let runtime = tokio::runtime::Handle::try_current().ok();
        entries.push(Arc::new(Entry { name: self.name, read: self.read, runtime, last: Mutex::new(None) }));
        Ok(())
    }
}

struct Entry {
    name: String,
    read: Arc<dyn Fn() -> ReadFuture + Send + Sync>,
    /// Where the reader runs: the runtime the app registered the queue on (its clients live
    /// there), else obs's own.
    runtime: Option<tokio::runtime::Handle>,
    /// The latest good reading; `None` after a failed one.
    last: Mutex<Option<QueueReading>>,
}

impl Entry {
    fn set(&self, reading: Option<QueueReading>) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = reading;
    }

    fn failed(&self, reason: &'static str) {
        self.set(None);
        metrics::counter!(QUEUE_READ_FAILURES.name, "queue_name" => self.name.clone(), "reason" => reason).increment(1);
    }
}

#[derive(Default)]
struct Queues {
    entries: Mutex<Vec<Arc<Entry>>>,
}

impl Source for Queues {
    fn read(&self, out: &mut Vec<Reading>) {
        let now = SystemTime::now();
        for entry in self.entries.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let Some(reading) = *entry.last.lock().unwrap_or_else(|e| e.into_inner()) else { continue };
            let labels = || vec![("queue_name", entry.name.clone())];
            out.push(Reading { metric: &QUEUE_DEPTH, labels: labels(), value: reading.depth as f64 });
            let age =
                reading.oldest_enqueued_at.map_or(0.0, |t| now.duration_since(t).unwrap_or_default().as_secs_f64());
            out.push(Reading { metric: &QUEUE_OLDEST_JOB_AGE, labels: labels(), value: age });
        }
    }

    fn refresh(&self, until: tokio::time::Instant) -> Option<Refresh> {
        let entries: Vec<Arc<Entry>> = self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if entries.is_empty() {
            return None;
        }
        // Every reader starts now, each on its own task: a hung one holds up none of the others.
        let started: Vec<_> = entries
            .into_iter()
            .filter_map(|entry| {
                // A reader that panics before its future exists fails that reading only.
                let Ok(reading) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (entry.read)())) else {
                    entry.failed("panic");
                    return None;
                };
                let task = match &entry.runtime {
                    Some(runtime) => runtime.spawn(reading),
                    None => tokio::spawn(reading),
                };
                Some((entry, task))
            })
            .collect();
        Some(Box::pin(async move {
            for (entry, mut task) in started {
                match tokio::time::timeout_at(until, &mut task).await {
                    Ok(Ok(Ok(reading))) => entry.set(Some(reading)),
                    Ok(Ok(Err(_))) => entry.failed("error"),
                    Ok(Err(join)) if join.is_panic() => entry.failed("panic"),
                    Ok(Err(_)) => entry.failed("error"),
                    Err(_) => {
                        task.abort();
                        entry.failed("timeout");
                    }
                }
            }
        }))
    }
}

fn queues() -> &'static Arc<Queues> {
    static QUEUES: OnceLock<Arc<Queues>> = OnceLock::new();
    QUEUES.get_or_init(|| {
        let queues = Arc::new(Queues::default());
        sampled::register(queues.clone());
        queues
    })
}
