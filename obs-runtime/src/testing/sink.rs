//! Where instrumented calls report while a capture is active: one sink per capture, found
//! through a thread-local that costs one relaxed load while no capture exists anywhere.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::captured::MetricValue;
use crate::catalogue::{Family, Series, Status};

/// How many captures exist right now, in any thread. While zero, instrumented calls skip the
/// thread-local lookup entirely.
pub(super) static ACTIVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    pub(super) static CURRENT: RefCell<Option<Arc<Sink>>> = const { RefCell::new(None) };
}

/// The capture active on this thread, if any.
#[inline]
pub(crate) fn current_sink() -> Option<Arc<Sink>> {
    if ACTIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    CURRENT.with(|current| current.borrow().clone())
}

pub(super) type SeriesKey = (String, Vec<(String, String)>);

/// Where instrumented calls report while a capture is active.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    series: Mutex<BTreeMap<SeriesKey, MetricValue>>,
}

impl Sink {
    pub(super) fn series(&self) -> MutexGuard<'_, BTreeMap<SeriesKey, MetricValue>> {
        self.series.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One finished call of a site of `family` with these constant labels.
    pub(crate) fn record_call(
        &self,
        family: &Family,
        site: Vec<(&'static str, String)>,
        status: Status,
        error_kind: Option<&'static str>,
        seconds: f64,
    ) {
        let labels = |series: Series| -> Vec<(String, String)> {
            let status = family.status_label(series, status).map(|(k, v)| (k, v.to_owned()));
            // The counter's error series by kind, as obs's recorder exposes them by default.
            let kind = error_kind
                .filter(|_| series == Series::Total)
                .map(|kind| (crate::catalogue::ERROR_TYPE_LABEL, crate::normalise_label(kind)));
            site.iter().cloned().chain(status).chain(kind).map(|(k, v)| (k.to_owned(), v)).collect()
        };
        let mut series = self.series();
        match series.entry((family.total.name.to_owned(), labels(Series::Total))).or_insert(MetricValue::Counter(0)) {
            MetricValue::Counter(n) => *n += 1,
            other => debug_assert!(false, "{other:?} is not a counter"),
        }
        match series
            .entry((family.duration.name.to_owned(), labels(Series::Duration)))
            .or_insert(MetricValue::Histogram { count: 0, sum: 0.0 })
        {
            MetricValue::Histogram { count, sum } => {
                *count += 1;
                *sum += seconds;
            }
            other => debug_assert!(false, "{other:?} is not a histogram"),
        }
    }

    pub(crate) fn add_gauge(&self, name: &str, delta: f64) {
        self.gauge(name, Vec::new(), |value| *value += delta);
    }

    /// A plain `metrics` counter moved by `delta` (or set, for `absolute`).
    pub(super) fn counter(&self, name: &str, labels: Vec<(String, String)>, update: impl FnOnce(&mut u64)) {
        if let MetricValue::Counter(n) =
            self.series().entry((name.to_owned(), labels)).or_insert(MetricValue::Counter(0))
        {
            update(n);
        }
    }

    /// A gauge changed by `update`, from 0 where the capture first saw it.
    pub(super) fn gauge(&self, name: &str, labels: Vec<(String, String)>, update: impl FnOnce(&mut f64)) {
        if let MetricValue::Gauge(value) =
            self.series().entry((name.to_owned(), labels)).or_insert(MetricValue::Gauge(0.0))
        {
            update(value);
        }
    }

    /// A plain `metrics` histogram observation.
    pub(super) fn observe(&self, name: &str, labels: Vec<(String, String)>, value: f64) {
        if let MetricValue::Histogram { count, sum } =
            self.series().entry((name.to_owned(), labels)).or_insert(MetricValue::Histogram { count: 0, sum: 0.0 })
        {
            *count += 1;
            *sum += value;
        }
    }
}
