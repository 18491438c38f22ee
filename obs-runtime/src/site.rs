//! Per-call-site metric handles, resolved once and cached.
//!
//! Every expansion owns one `static Site`. The first call registers the site's series with the
//! installed recorder (one counter per status, one histogram or one per status) and caches the
//! handles behind an `AtomicPtr`; later calls load that pointer and compare a generation number,
//! so the warm path does no hashing, locking or allocation.
//!
//! Two rules keep the cache honest:
//! - a call made before any recorder is installed resolves against `metrics`' no-op recorder; its
//!   handles are not cached, so the first call after installation registers for real;
//! - installing through obs bumps the generation, so handles cached for an older recorder or
//!   an older default label (the Stellar network) are resolved again.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder};

use crate::recorder::call_stats::CallStats;
use crate::status::Status;

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Makes every call site resolve its handles again on its next call.
pub(crate) fn invalidate_handles() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Which family of metrics a call site feeds.
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

#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) duration: &'static str,
    pub(crate) duration_help: &'static str,
    pub(crate) total: &'static str,
    pub(crate) total_help: &'static str,
    pub(crate) labels: &'static [&'static str],
    pub(crate) statuses: [&'static str; 3],
    pub(crate) status_on_duration: bool,
}

const CALL_STATUSES: [&str; 3] = ["success", "error", "cancelled"];

impl Subsystem {
    pub(crate) const fn family(self) -> &'static Family {
        match self {
            Subsystem::Db => &Family {
                duration: "db_query_duration_seconds",
                duration_help: "Duration of database queries in seconds, by operation and table.",
                total: "db_queries_total",
                total_help: "Database queries by operation, table and outcome.",
                labels: &["operation", "table"],
                statuses: CALL_STATUSES,
                status_on_duration: false,
            },
            Subsystem::Redis => &Family {
                duration: "redis_call_duration_seconds",
                duration_help: "Duration of Redis calls in seconds, by command.",
                total: "redis_calls_total",
                total_help: "Redis calls by command and outcome.",
                labels: &["command"],
                statuses: CALL_STATUSES,
                status_on_duration: false,
            },
            Subsystem::Queue => &Family {
                duration: "queue_job_duration_seconds",
                duration_help: "Duration of background jobs in seconds, by queue, job and outcome.",
                total: "queue_jobs_total",
                total_help: "Background jobs by queue, job and outcome.",
                labels: &["queue_name", "job_name"],
                statuses: ["completed", "failed", "cancelled"],
                status_on_duration: true,
            },
            Subsystem::Stellar => &Family {
                duration: "stellar_api_call_duration_seconds",
                duration_help: "Duration of Stellar Horizon calls in seconds, by operation and network.",
                total: "stellar_api_calls_total",
                total_help: "Stellar Horizon calls by operation, network and outcome.",
                labels: &["operation", "network"],
                statuses: CALL_STATUSES,
                status_on_duration: false,
            },
        }
    }
}

/// What a call site measures: its subsystem and its constant label values, in the order of the
/// subsystem's label names.
#[derive(Debug)]
pub struct SiteSpec {
    subsystem: Subsystem,
    values: &'static [&'static str],
}

impl SiteSpec {
    /// Used by the expansions.
    pub const fn new(subsystem: Subsystem, values: &'static [&'static str]) -> Self {
        Self { subsystem, values }
    }

    pub(crate) fn family(&self) -> &'static Family {
        self.subsystem.family()
    }

    /// The constant labels of this site, in order, without `status`.
    pub(crate) fn labels(&self) -> Vec<(&'static str, String)> {
        let names = self.family().labels;
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let value = match self.values.get(i) {
                    Some(value) => (*value).to_owned(),
                    None => crate::stellar::default_network().to_owned(),
                };
                (*name, value)
            })
            .collect()
    }
}

/// A value resolved once per generation, then read with one atomic load and a compare.
///
/// Values are leaked on purpose: readers hold plain references. There is at most one per site
/// per generation, and generations change only when obs installs a recorder.
struct Cached<T> {
    current: AtomicPtr<Generational<T>>,
}

struct Generational<T> {
    generation: u64,
    value: T,
}

impl<T> std::fmt::Debug for Cached<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached").field("resolved", &!self.current.load(Ordering::Relaxed).is_null()).finish()
    }
}

impl<T: 'static> Cached<T> {
    const fn new() -> Self {
        Self { current: AtomicPtr::new(std::ptr::null_mut()) }
    }

    /// The value of the current generation; `resolve` runs when there is none yet. `None` from
    /// `resolve` is not cached, so the next call tries again.
    #[inline]
    fn get(&self, resolve: impl FnOnce() -> Option<T>) -> Option<&T> {
        let current = self.current.load(Ordering::Acquire);
        if !current.is_null() {
            // SAFETY: non-null pointers here come from `Box::leak` in `refresh` and are never freed.
            let current = unsafe { &*current };
            if current.generation == GENERATION.load(Ordering::Relaxed) {
                return Some(&current.value);
            }
        }
        self.refresh(resolve)
    }

    #[cold]
    #[inline(never)]
    fn refresh(&self, resolve: impl FnOnce() -> Option<T>) -> Option<&T> {
        let generation = GENERATION.load(Ordering::Acquire);
        let leaked: &'static Generational<T> = Box::leak(Box::new(Generational { generation, value: resolve()? }));
        self.current.store(std::ptr::from_ref(leaked).cast_mut(), Ordering::Release);
        Some(&leaked.value)
    }
}

/// What a call site records into.
enum Target {
    /// obs's recorder is installed: counter and histogram fused, see `recorder::call_stats`.
    Fused(&'static CallStats),
    /// Any other recorder: ordinary `metrics` handles, one counter per status.
    Metrics { counters: [Counter; 3], durations: [Histogram; 3] },
}

/// One instrumented call site. Lives in a `static` inside the expansion.
#[derive(Debug)]
pub struct Site {
    spec: &'static SiteSpec,
    target: Cached<Target>,
}

impl Site {
    /// Used by the expansions.
    pub const fn new(spec: &'static SiteSpec) -> Self {
        Self { spec, target: Cached::new() }
    }

    pub(crate) fn spec(&self) -> &'static SiteSpec {
        self.spec
    }

    /// Records one finished call in the installed recorder.
    #[inline]
    pub(crate) fn record(&self, status: Status, nanos: u64) {
        match self.target.get(|| self.resolve()) {
            Some(Target::Fused(stats)) => stats.record(status, nanos),
            Some(Target::Metrics { counters, durations }) => {
                let i = status.index();
                durations[i].record(nanos as f64 * 1e-9);
                counters[i].increment(1);
            }
            None => {}
        }
    }

    fn resolve(&self) -> Option<Target> {
        if let Some(registry) = crate::recorder::call_stats() {
            return Some(Target::Fused(registry.stats_for(self.spec)));
        }
        metrics::with_recorder(|recorder| {
            if is_noop(recorder) {
                return None;
            }
            let family = self.spec.family();
            let labels: Vec<Label> =
                self.spec.labels().into_iter().map(|(name, value)| Label::new(name, value)).collect();
            let with_status = |status: Status| {
                let mut labels = labels.clone();
                labels.push(Label::new("status", family.statuses[status.index()]));
                labels
            };
            let meta = metadata();
            let counters =
                Status::ALL.map(|s| recorder.register_counter(&Key::from_parts(family.total, with_status(s)), &meta));
            let durations = if family.status_on_duration {
                Status::ALL
                    .map(|s| recorder.register_histogram(&Key::from_parts(family.duration, with_status(s)), &meta))
            } else {
                let one = recorder.register_histogram(&Key::from_parts(family.duration, labels.clone()), &meta);
                [one.clone(), one.clone(), one]
            };
            Some(Target::Metrics { counters, durations })
        })
    }
}

/// `metrics` hands out its `NoopRecorder`, a zero-sized type, until a recorder is installed.
/// Handles registered with it are dead, so they must not be cached.
fn is_noop(recorder: &dyn Recorder) -> bool {
    std::mem::size_of_val(recorder) == 0
}

fn metadata() -> Metadata<'static> {
    Metadata::new("obs", Level::INFO, Some(module_path!()))
}

/// The `active_websocket_connections` gauge of one `#[ws_connection]` site.
#[derive(Debug)]
pub struct GaugeSite {
    gauge: Cached<metrics::Gauge>,
}

pub(crate) const WS_GAUGE: &str = "active_websocket_connections";

impl GaugeSite {
    /// Used by the expansions.
    pub const fn new() -> Self {
        Self { gauge: Cached::new() }
    }

    #[inline]
    pub(crate) fn add(&self, delta: f64) {
        let resolve = || {
            metrics::with_recorder(|recorder| {
                (!is_noop(recorder)).then(|| recorder.register_gauge(&Key::from_name(WS_GAUGE), &metadata()))
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
