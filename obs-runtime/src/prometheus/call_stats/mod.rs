//! The fused store of one macro call site's series, used while obs's own recorder is installed;
//! its exposition is in `render`.
//!
//! A call's counter and duration histogram always move together, so obs keeps them as one
//! fixed-bucket histogram per status: the counter of a status is that histogram's count. A call
//! costs one bucket `fetch_add` and one `fetch_add` of integer nanoseconds into the sum: no
//! allocation, no lock, no clock read of its own, and memory fixed at registration, so no upkeep
//! is needed to keep it bounded.

mod render;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::error_kinds::ErrorKinds;
use super::exemplar::{self, Exemplar, Slot};
use crate::catalogue::{Family, Names, Status};

/// One status's histogram: a count per bucket (the last is `+Inf`) and the sum in nanoseconds.
#[derive(Debug)]
struct PerStatus {
    buckets: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

/// The series of one label set of one family: shared by every call site with those labels.
#[derive(Debug)]
pub(crate) struct CallStats {
    family: &'static Family,
    labels: Vec<(&'static str, String)>,
    bounds_nanos: Box<[u64]>,
    /// The `le` label of each bucket, `+Inf` last, formatted once.
    les: Box<[String]>,
    statuses: [PerStatus; 3],
    /// Whether an async site feeds it: only a future can be dropped half-way, so a store fed by
    /// sync functions alone has no `cancelled` series.
    cancellable: AtomicBool,
    /// The latest exemplar of each status's buckets, status-major.
    exemplars: Box<[Slot]>,
    /// The error count again, by `error_type`.
    errors: ErrorKinds,
}

impl CallStats {
    fn new(family: &'static Family, labels: Vec<(&'static str, String)>, bounds: &[f64]) -> Self {
        let per_status = || PerStatus {
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        };
        Self {
            family,
            labels,
            bounds_nanos: bounds.iter().map(|b| (b * 1e9).round() as u64).collect(),
            les: bounds.iter().map(f64::to_string).chain(["+Inf".to_owned()]).collect(),
            statuses: [per_status(), per_status(), per_status()],
            cancellable: AtomicBool::new(false),
            exemplars: (0..3 * (bounds.len() + 1)).map(|_| Slot::default()).collect(),
            errors: ErrorKinds::default(),
        }
    }

    /// Keeps `exemplar` for the bucket a call of `nanos` with `status` landed in, and for its
    /// error kind.
    #[cold]
    pub(crate) fn keep(&self, status: Status, error_kind: Option<&'static str>, nanos: u64, exemplar: Exemplar) {
        self.exemplars[status.index() * self.les.len() + self.bucket_of(nanos)].store(exemplar);
        if let Some(kind) = error_kind {
            self.errors.keep(kind, exemplar);
        }
    }

    /// Counts a failed call (already [`record`](Self::record)ed) under its `error_type`.
    #[cold]
    pub(crate) fn count_error(&self, kind: &'static str) {
        self.errors.count(kind);
    }

    /// The latest exemplar of each bucket over `statuses`.
    fn bucket_exemplars(&self, statuses: &[Status]) -> Vec<Option<Exemplar>> {
        let n = self.les.len();
        (0..n).map(|i| exemplar::latest(statuses.iter().map(|s| self.exemplars[s.index() * n + i].load()))).collect()
    }

    /// Whether `status` has a series: `cancelled` only where a call can be cancelled (or was,
    /// through another recorder path).
    fn shows(&self, status: Status) -> bool {
        status != Status::Cancelled
            || self.cancellable.load(Ordering::Relaxed)
            || self.statuses[status.index()].buckets.iter().any(|b| b.load(Ordering::Relaxed) > 0)
    }

    #[inline]
    pub(crate) fn record(&self, status: Status, nanos: u64) {
        let stats = &self.statuses[status.index()];
        stats.buckets[self.bucket_of(nanos)].fetch_add(1, Ordering::Relaxed);
        stats.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The bucket a duration lands in: bucket `i` counts values <= bound `i`; past the last
    /// bound is `+Inf`.
    #[inline]
    fn bucket_of(&self, nanos: u64) -> usize {
        self.bounds_nanos.partition_point(|bound| *bound < nanos)
    }
}

/// Every fused series, for registration and rendering.
#[derive(Debug)]
pub(crate) struct CallStatsRegistry {
    names: Names,
    /// Whether error series carry `error_type` (`OBS_ERROR_TYPE_LABEL`).
    error_type_label: bool,
    global_labels: Vec<(String, String)>,
    buckets: Vec<(String, Vec<f64>)>,
    stats: Mutex<Vec<&'static CallStats>>,
}

impl CallStatsRegistry {
    pub(crate) fn new(
        names: Names,
        error_type_label: bool,
        global_labels: Vec<(String, String)>,
        buckets: Vec<(String, Vec<f64>)>,
    ) -> Self {
        Self { names, error_type_label, global_labels, buckets, stats: Mutex::new(Vec::new()) }
    }

    /// The store of `family`'s series with these constant labels, created on first use; a
    /// `cancellable` (async) site gives it a `cancelled` series. Called once per call site and
    /// generation, never per call.
    pub(crate) fn stats_for(
        &self,
        family: &'static Family,
        labels: Vec<(&'static str, String)>,
        cancellable: bool,
    ) -> &'static CallStats {
        let mut all = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = all.iter().find(|s| std::ptr::eq(s.family, family) && s.labels == labels) {
            if cancellable {
                existing.cancellable.store(true, Ordering::Relaxed);
            }
            return existing;
        }
        let bounds = self
            .buckets
            .iter()
            .find(|(name, _)| name == family.duration.name)
            .map_or(&[][..], |(_, bounds)| bounds.as_slice());
        // Leaked on purpose: call sites hold plain references, and there is one per label set.
        let stats: &'static CallStats = Box::leak(Box::new(CallStats::new(family, labels, bounds)));
        stats.cancellable.store(cancellable, Ordering::Relaxed);
        all.push(stats);
        stats
    }

    fn families(&self) -> Vec<&'static Family> {
        let all = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let mut families: Vec<&'static Family> = Vec::new();
        for stats in all.iter() {
            if !families.iter().any(|f| std::ptr::eq(*f, stats.family)) {
                families.push(stats.family);
            }
        }
        families
    }
}
