//! What `#[queue_job]` records beside the call's outcome: how long the job waited between its
//! enqueue and its start, whether this run is a retry, and whether a failure was its last
//! allowed attempt (the job is given up on, dead-lettered). Only jobs whose attribute names a
//! parent, an attempt or a limit pay for it.

use metrics::{Counter, Histogram, Key, Label};
use tracing::Span;

use super::cache::Cached;
use super::outcome::Outcome;
use super::site::{metadata, site_labels};
use crate::catalogue::{CallSite, QUEUE_JOB_RETRIES, QUEUE_JOB_WAIT, QUEUE_JOBS_DEAD_LETTERED};

/// The span attribute of a job's wait between enqueue and start, in seconds.
pub(crate) const WAIT_FIELD: &str = "job.wait_seconds";

struct Handles {
    wait: Histogram,
    retries: Counter,
    dead_lettered: Counter,
}

/// One `#[queue_job]` call site's job metrics. Lives in a `static` inside the expansion.
#[derive(Debug)]
pub struct JobSite {
    spec: &'static CallSite,
    handles: Cached<Handles>,
}

fn labels(spec: &CallSite) -> Vec<Label> {
    site_labels(spec).into_iter().map(|(k, v)| Label::new(k, v)).collect()
}

/// Registers a queue site's job series at zero, for the first scrape.
pub(crate) fn register_at_zero(spec: &CallSite) {
    let labels = labels(spec);
    metrics::with_recorder(|recorder| {
        let key = |name: &'static str| Key::from_parts(name, labels.clone());
        recorder.register_counter(&key(QUEUE_JOB_RETRIES.name), &metadata()).increment(0);
        recorder.register_counter(&key(QUEUE_JOBS_DEAD_LETTERED.name), &metadata()).increment(0);
        drop(recorder.register_histogram(&key(QUEUE_JOB_WAIT.name), &metadata()));
    });
}

impl JobSite {
    /// Used by the expansions.
    pub const fn new(spec: &'static CallSite) -> Self {
        Self { spec, handles: Cached::new() }
    }

    fn handles(&self) -> Option<&Handles> {
        self.handles.get(|| {
            metrics::with_recorder(|recorder| {
                if super::site::is_noop(recorder) {
                    return None;
                }
                let labels = labels(self.spec);
                let key = |name: &'static str| Key::from_parts(name, labels.clone());
                Some(Handles {
                    wait: recorder.register_histogram(&key(QUEUE_JOB_WAIT.name), &metadata()),
                    retries: recorder.register_counter(&key(QUEUE_JOB_RETRIES.name), &metadata()),
                    dead_lettered: recorder.register_counter(&key(QUEUE_JOBS_DEAD_LETTERED.name), &metadata()),
                })
            })
        })
    }

    /// A run starts: `enqueued_at_ms` (Unix milliseconds, from the payload's trace context)
    /// gives its wait, recorded and put on `span`; an attempt after the first is a retry.
    pub fn started(&self, span: &Span, enqueued_at_ms: Option<u64>, attempt: u32) {
        let handles = self.handles();
        if let Some(enqueued) = enqueued_at_ms {
            // Clocks of producer and consumer hosts may disagree: a wait is never negative.
            let now = crate::clock::unix_millis();
            let seconds = now.saturating_sub(enqueued) as f64 / 1e3;
            if let Some(handles) = handles {
                handles.wait.record(seconds);
            }
            if !span.is_disabled() {
                span.record(WAIT_FIELD, seconds);
            }
        }
        if attempt > 1
            && let Some(handles) = handles
        {
            handles.retries.increment(1);
        }
    }

    /// A run ended with `outcome`: a failure on attempt `max_attempts` or later is the last,
    /// and the job is given up on.
    pub fn finished(&self, outcome: &Outcome<'_>, attempt: u32, max_attempts: u32) {
        if matches!(outcome, Outcome::Error(_))
            && attempt >= max_attempts
            && let Some(handles) = self.handles()
        {
            handles.dead_lettered.increment(1);
        }
    }
}

/// An attempt number as the expansion reads `attempt = …` and `max_attempts = …`: attempts
/// count from 1, so 0, a negative number or one past `u32::MAX` reads as 1, the first.
#[diagnostic::on_unimplemented(
    message = "`attempt = …` and `max_attempts = …` take an integer, counting from 1 for a job's first run, not `{Self}`",
    label = "not an integer attempt number"
)]
pub trait AttemptNumber {
    /// The number, 1 or more.
    fn attempt_number(self) -> u32;
}

macro_rules! attempt_number {
    ($($t:ty),*) => {$(
        impl AttemptNumber for $t {
            #[inline]
            fn attempt_number(self) -> u32 {
                u32::try_from(self).ok().filter(|n| *n >= 1).unwrap_or(1)
            }
        }
    )*};
}
attempt_number!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl<T: AttemptNumber + Copy> AttemptNumber for &T {
    #[inline]
    fn attempt_number(self) -> u32 {
        (*self).attempt_number()
    }
}

/// Used by the expansions: `attempt = …` read as a number from 1.
#[inline]
pub fn attempt(value: impl AttemptNumber) -> u32 {
    value.attempt_number()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_count_from_one() {
        let seventh = 7u8;
        let by_reference: &u8 = &seventh;
        assert_eq!((attempt(0u32), attempt(-3i64), attempt(2usize), attempt(by_reference)), (1, 1, 2, 7));
        assert_eq!(attempt(u64::MAX), 1);
    }
}
