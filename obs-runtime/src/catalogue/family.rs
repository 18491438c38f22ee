//! The macros' metric pairs: which histogram and counter a subsystem's call sites feed, and
//! which of the two carries the `status` label.

use super::{
    DB_QUERIES_TOTAL, DB_QUERY_DURATION, Metric, QUEUE_JOB_DURATION, QUEUE_JOBS_TOTAL, REDIS_CALL_DURATION,
    REDIS_CALLS_TOTAL, STELLAR_CALL_DURATION, STELLAR_CALLS_TOTAL,
};

/// How an instrumented call ended. The discriminant indexes [`Family::statuses`] and the
/// per-status handle arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Status {
    /// Returned normally, or `ok_if` said so.
    Success = 0,
    /// Returned `Err`, panicked, or `error_if` said so.
    Error = 1,
    /// An async call whose future was dropped before it completed.
    Cancelled = 2,
}

impl Status {
    pub(crate) const ALL: [Status; 3] = [Status::Success, Status::Error, Status::Cancelled];

    #[inline]
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Which family of metrics a macro call site feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsystem {
    /// `#[instrument_db]`: values are `[operation, table]`.
    Db,
    /// `#[instrument_redis]`: values are `[command]`.
    Redis,
    /// `#[queue_job]`: values are `[queue_name, job_name]`.
    Queue,
    /// `#[stellar_call]`: values are `[operation]` or `[operation, network]`; without a network
    /// the runtime's default (`STELLAR_NETWORK`) is used.
    Stellar,
}

/// The metric pair of a subsystem: a duration histogram and an outcome counter.
#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) duration: &'static Metric,
    pub(crate) total: &'static Metric,
    /// The `status` value of each [`Status`], by its index.
    pub(crate) statuses: [&'static str; 3],
}

const CALL_STATUSES: [&str; 3] = ["success", "error", "cancelled"];
const JOB_STATUSES: [&str; 3] = ["completed", "failed", "cancelled"];

/// Which series of a family a label set is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Series {
    Total,
    Duration,
}

impl Family {
    /// The label names a call site gives values for: the counter's, without `status` and
    /// `error_type`.
    pub(crate) fn site_labels(&self) -> &'static [&'static str] {
        let labels = self.total.labels;
        &labels[..labels.len() - 2]
    }

    /// Whether the duration histogram carries `status` too (jobs), or one histogram sums
    /// every outcome.
    pub(crate) fn status_on_duration(&self) -> bool {
        self.duration.labels.last() == Some(&"status")
    }

    /// The one answer to "which labels go on which series": `series` carries the site's
    /// constant labels, then this `status` label when it returns one.
    pub(crate) fn status_label(&self, series: Series, status: Status) -> Option<(&'static str, &'static str)> {
        (series == Series::Total || self.status_on_duration()).then(|| ("status", self.statuses[status.index()]))
    }
}

impl Subsystem {
    pub(crate) const ALL: [Subsystem; 4] = [Subsystem::Db, Subsystem::Redis, Subsystem::Queue, Subsystem::Stellar];

    /// The family of this subsystem: a `static`, so every caller (const or not, in any crate)
    /// gets the same address, which the fused store compares.
    pub(crate) const fn family(self) -> &'static Family {
        match self {
            Subsystem::Db => &DB,
            Subsystem::Redis => &REDIS,
            Subsystem::Queue => &QUEUE,
            Subsystem::Stellar => &STELLAR,
        }
    }
}

static DB: Family = Family { duration: &DB_QUERY_DURATION, total: &DB_QUERIES_TOTAL, statuses: CALL_STATUSES };
static REDIS: Family = Family { duration: &REDIS_CALL_DURATION, total: &REDIS_CALLS_TOTAL, statuses: CALL_STATUSES };
static QUEUE: Family = Family { duration: &QUEUE_JOB_DURATION, total: &QUEUE_JOBS_TOTAL, statuses: JOB_STATUSES };
static STELLAR: Family =
    Family { duration: &STELLAR_CALL_DURATION, total: &STELLAR_CALLS_TOTAL, statuses: CALL_STATUSES };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_carries_status_and_only_job_durations_do() {
        let queue = Subsystem::Queue.family();
        assert_eq!(queue.site_labels(), ["queue_name", "job_name"]);
        assert_eq!(queue.status_label(Series::Duration, Status::Error), Some(("status", "failed")));
        let db = Subsystem::Db.family();
        assert_eq!(db.site_labels(), ["operation", "table"]);
        assert_eq!(db.status_label(Series::Duration, Status::Cancelled), None);
        assert_eq!(db.status_label(Series::Total, Status::Cancelled), Some(("status", "cancelled")));
    }
}
