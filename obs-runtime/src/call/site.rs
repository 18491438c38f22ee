//! Per-call-site metric handles, resolved once and cached.
//!
//! Every expansion owns one `static Site`. The first call registers the site's series with the
//! installed recorder (one counter per status, one histogram or one per status) and caches the
//! handles (see [`super::cache`]); later calls load one pointer and compare a generation, so the
//! warm path does no hashing, locking or allocation.
//!
//! A call made before any recorder is installed resolves against `metrics`' no-op recorder; its
//! handles are not cached, so the first call after installation registers for real.

use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder};

use super::cache::Cached;
use crate::catalogue::{self, CallSite, Family, METADATA_TARGET, Series, Status};
use crate::prometheus::call_stats::CallStats;

/// The constant labels of a call site, in order, without `status`. A Stellar site that names
/// no network gets the runtime's default.
pub(crate) fn site_labels(site: &CallSite) -> Vec<(&'static str, String)> {
    site.labels(super::network::default_network())
}

/// Registers the series of every catalogued call site with obs's recorder, each status at
/// zero, so the first scrape has every series an alert may name before any call happened. The
/// calls later find their store registered and share it.
pub(crate) fn register_catalogued_series() {
    let Some(registry) = crate::prometheus::call_stats() else { return };
    for site in catalogue::catalogue().sites() {
        match site.kind() {
            catalogue::SiteKind::Calls(subsystem) => {
                let family = subsystem.family();
                registry.stats_for(family, site_labels(site), site.can_be_cancelled());
                if subsystem == catalogue::Subsystem::Queue {
                    super::job::register_at_zero(site);
                }
            }
            catalogue::SiteKind::Connections => metrics::gauge!(catalogue::WS_CONNECTIONS.name).increment(0.0),
            catalogue::SiteKind::Span => {}
        }
    }
}

/// What a call site records into.
enum Target {
    /// obs's recorder is installed: counter and histogram fused, see `prometheus::call_stats`.
    Fused(&'static CallStats),
    /// Any other recorder: ordinary `metrics` handles, one counter per status.
    Metrics { counters: [Counter; 3], durations: [Histogram; 3] },
}

/// One instrumented call site. Lives in a `static` inside the expansion.
#[derive(Debug)]
pub struct Site {
    spec: &'static CallSite,
    family: &'static Family,
    target: Cached<Target>,
    /// The latency threshold of the site's objective in nanoseconds; `u64::MAX` without one.
    slow_after_nanos: u64,
}

impl Site {
    /// Used by the expansions.
    ///
    /// # Panics
    ///
    /// At compile time (it runs in a `static`'s initializer) when `spec` records no metrics.
    pub const fn new(spec: &'static CallSite) -> Self {
        let family = match spec.kind() {
            catalogue::SiteKind::Calls(subsystem) => subsystem.family(),
            _ => panic!("a Site needs a call site with metrics"),
        };
        let slow_after_nanos = match spec.objective_of() {
            Some(objective) => match objective.latency_target() {
                Some(target) => (target.threshold_seconds * 1e9) as u64,
                None => u64::MAX,
            },
            None => u64::MAX,
        };
        Self { spec, family, target: Cached::new(), slow_after_nanos }
    }

    /// Whether a call of `nanos` missed the latency threshold of the site's objective.
    #[inline]
    pub(crate) fn is_slow(&self, nanos: u64) -> bool {
        nanos > self.slow_after_nanos
    }

    pub(crate) fn spec(&self) -> &'static CallSite {
        self.spec
    }

    pub(crate) fn family(&self) -> &'static Family {
        self.family
    }

    /// Records one finished call in the installed recorder.
    #[inline]
    pub(crate) fn record(&self, status: Status, nanos: u64, error_kind: Option<&'static str>) {
        match self.target.get(|| self.resolve()) {
            Some(Target::Fused(stats)) => {
                stats.record(status, nanos);
                // Other recorders keep the error series without `error_type`.
                if let Some(kind) = error_kind {
                    stats.count_error(kind);
                }
            }
            Some(Target::Metrics { counters, durations }) => {
                let i = status.index();
                durations[i].record(nanos as f64 * 1e-9);
                counters[i].increment(1);
            }
            None => {}
        }
    }

    /// Keeps `exemplar` for this call in the fused store (other recorders have no place for it).
    #[cold]
    pub(crate) fn keep_exemplar(
        &self,
        status: Status,
        error_kind: Option<&'static str>,
        nanos: u64,
        exemplar: crate::prometheus::exemplar::Exemplar,
    ) {
        if let Some(Target::Fused(stats)) = self.target.get(|| self.resolve()) {
            stats.keep(status, error_kind, nanos, exemplar);
        }
    }

    fn resolve(&self) -> Option<Target> {
        let family = self.family;
        if let Some(registry) = crate::prometheus::call_stats() {
            return Some(Target::Fused(registry.stats_for(
                family,
                site_labels(self.spec),
                self.spec.can_be_cancelled(),
            )));
        }
        metrics::with_recorder(|recorder| {
            if is_noop(recorder) {
                return None;
            }
            let site: Vec<Label> =
                site_labels(self.spec).into_iter().map(|(name, value)| Label::new(name, value)).collect();
            let key = |series: Series, status: Status| {
                let mut labels = site.clone();
                labels.extend(family.status_label(series, status).map(|(k, v)| Label::new(k, v)));
                let metric = if series == Series::Total { family.total } else { family.duration };
                Key::from_parts(metric.name, labels)
            };
            let meta = metadata();
            let counters = Status::ALL.map(|s| recorder.register_counter(&key(Series::Total, s), &meta));
            let durations = Status::ALL.map(|s| recorder.register_histogram(&key(Series::Duration, s), &meta));
            Some(Target::Metrics { counters, durations })
        })
    }
}

/// Whether handles from `recorder` must not be cached: `metrics` hands out its `NoopRecorder`,
/// a zero-sized type, until a recorder is installed, and a capture's own recorder lives only
/// as long as the capture (the capture sees the call through the timer anyway).
pub(crate) fn is_noop(recorder: &dyn Recorder) -> bool {
    std::mem::size_of_val(recorder) == 0 || crate::testing::recorder::recording_locally()
}

pub(crate) fn metadata() -> Metadata<'static> {
    Metadata::new(METADATA_TARGET, Level::INFO, Some(module_path!()))
}

/// The `active_websocket_connections` gauge of one `#[ws_connection]` site.
#[derive(Debug)]
pub struct GaugeSite {
    gauge: Cached<metrics::Gauge>,
}

impl GaugeSite {
    /// Used by the expansions.
    pub const fn new() -> Self {
        Self { gauge: Cached::new() }
    }

    #[inline]
    pub(crate) fn add(&self, delta: f64) {
        let resolve = || {
            metrics::with_recorder(|recorder| {
                (!is_noop(recorder))
                    .then(|| recorder.register_gauge(&Key::from_name(catalogue::WS_CONNECTIONS.name), &metadata()))
            })
        };
        if let Some(gauge) = self.gauge.get(resolve) {
            gauge.increment(delta);
        }
    }
}

impl Default for GaugeSite {
    fn default() -> Self {
        Self::new()
    }
}
