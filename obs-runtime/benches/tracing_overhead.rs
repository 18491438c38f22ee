//! Per-call overhead with tracing on, under exactly what `init()` installs: one process per
//! setup (the subscriber is global), each measuring a bare call, the hand-written ideal (cached
//! handles, `Instant`, record, increment: no span) and the macro, so every ratio comes from one
//! process's run.
//!
//! - (a) OTLP export on: a discarding exporter behind obs's real batch processor
//!   (`Config::span_exporter`); also hand-written `#[tracing::instrument(skip_all, fields(..))]`
//!   plus cached metrics under tracing-opentelemetry with obs's lean settings and the same
//!   provider (`ObsGuard::tracer_provider`), and the macro once exemplars are kept;
//! - (b) `OTEL_EXPORTER=none`; (c) `OTEL_SDK_DISABLED=true`;
//! - (d) `parentbased_traceidratio` at 0.1, calls inside a trace the ratio dropped; also the
//!   hand-written peer under the same subscriber, and the macro under a bare registry with a
//!   layer that does nothing inside a request span of its own: what the `tracing` registry
//!   alone costs a span with a parent (creation, enter, exit, close and the parent's
//!   reference), which no layer can avoid;
//! - (e) `LOG_LEVEL=warn`, export as in (a): spans must still be exported;
//! - (f) composed as an app with its own subscriber does: a registry with an `EnvFilter`, a
//!   `fmt` layer writing to a sink (without ANSI colours, as for a file or a pipe) and obs's
//!   layer (`Config::install_layer`), export as in (a); the hand-written peer under the same
//!   registry with tracing-opentelemetry's layer instead. The `fmt` layer formats every span's
//!   fields into a string of its own, the same work for both: with colours on, that alone is
//!   two thirds of a call's instructions (callgrind, `profile_call` with OBS_PROFILE_COMPOSED).
//!
//! In (a), also fastrace 0.7 doing the same work: one root span per call with the same three
//! attributes, reported to a reporter that discards them, plus the same cached metrics.
//!
//! Each setup also measures the macro against the ideal in turns (`support::turns`): a bare
//! call, the ideal and the macro timed back to back within every sample, the ratio the median
//! of the samples' ratios, which cancels the machine's drift over the seconds between the
//! separate cases.
//!
//! `cargo bench -p obs-runtime --bench tracing_overhead` (one setup: `-- --setup b`)

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::hint::black_box;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::Criterion;
use metrics::{Counter, Histogram};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tracing::Dispatch;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt;

use support::turns::InTurns;
use support::{run, value, work, work_async};

/// Spans the discarding exporter was handed.
static EXPORTED: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        EXPORTED.fetch_add(batch.len() as u64, Ordering::Relaxed);
        black_box(batch);
        std::future::ready(Ok(()))
    }
}

/// One way to install obs, run in a process of its own.
struct Setup {
    key: &'static str,
    what: &'static str,
    env: &'static [(&'static str, &'static str)],
    /// Whether spans go to the discarding exporter (`Config::span_exporter`).
    discard: bool,
}

const SETUPS: &[Setup] = &[
    Setup { key: "a", what: "(a) OTLP export on", env: &[], discard: true },
    Setup { key: "b", what: "(b) OTEL_EXPORTER=none", env: &[("OTEL_EXPORTER", "none")], discard: false },
    Setup { key: "c", what: "(c) OTEL_SDK_DISABLED=true", env: &[("OTEL_SDK_DISABLED", "true")], discard: false },
    Setup {
        key: "d",
        what: "(d) ratio 0.1, dropped trace",
        env: &[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")],
        discard: true,
    },
    Setup { key: "e", what: "(e) LOG_LEVEL=warn", env: &[("LOG_LEVEL", "warn")], discard: true },
    Setup { key: "f", what: "(f) composed, export on", env: &[], discard: true },
];

/// The app's own filter in the composed setup.
const APP_FILTER: &str = "info";

/// fastrace's spans, discarded once reported, counted like the exporter's.
struct DiscardReports;

impl fastrace::collector::Reporter for DiscardReports {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        FASTRACE_REPORTED.fetch_add(spans.len() as u64, Ordering::Relaxed);
        black_box(spans);
    }
}

static FASTRACE_REPORTED: AtomicU64 = AtomicU64::new(0);

/// The span fastrace reports for a call: a root, with the macro's three attributes.
fn fastrace_root() -> fastrace::Span {
    fastrace::Span::root("SELECT users", fastrace::collector::SpanContext::random()).with_properties(|| {
        [("db.system.name", "postgresql"), ("db.operation.name", "SELECT"), ("db.collection.name", "users")]
    })
}

#[inline(never)]
fn with_fastrace(x: u64) -> Result<u64, std::fmt::Error> {
    let root = fastrace_root();
    let _guard = root.set_local_parent();
    ideal(x)
}

#[inline(never)]
async fn with_fastrace_async(x: u64) -> Result<u64, std::fmt::Error> {
    use fastrace::future::FutureExt as _;
    ideal_async(x).in_span(fastrace_root()).await
}

/// A layer that does nothing: under a bare registry it leaves what `tracing` itself costs.
struct Nothing;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Nothing {}

struct Handles {
    duration: Histogram,
    total: Counter,
}

fn handles() -> &'static Handles {
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    HANDLES.get_or_init(|| Handles {
        duration: metrics::histogram!("db_query_duration_seconds", "operation" => "SELECT", "table" => "users"),
        total: metrics::counter!("db_queries_total", "operation" => "SELECT", "table" => "users", "status" => "success"),
    })
}

/// The hand-written ideal: what a careful engineer writes for the metrics, no span.
#[inline(never)]
fn ideal(x: u64) -> Result<u64, std::fmt::Error> {
    let handles = handles();
    let start = Instant::now();
    let result = work(x);
    handles.duration.record(start.elapsed().as_secs_f64());
    handles.total.increment(1);
    result
}

#[inline(never)]
async fn ideal_async(x: u64) -> Result<u64, std::fmt::Error> {
    let handles = handles();
    let start = Instant::now();
    let result = work_async(x).await;
    handles.duration.record(start.elapsed().as_secs_f64());
    handles.total.increment(1);
    result
}

/// The macro's span written by hand: its name, kind and three attributes.
#[tracing::instrument(
    name = "SELECT users",
    skip_all,
    fields(otel.kind = "client", db.system.name = "postgresql", db.operation.name = "SELECT", db.collection.name = "users")
)]
#[inline(never)]
fn hand_written(x: u64) -> Result<u64, std::fmt::Error> {
    ideal(x)
}

/// The macro's span written by hand: its name, kind and three attributes.
#[tracing::instrument(
    name = "SELECT users",
    skip_all,
    fields(otel.kind = "client", db.system.name = "postgresql", db.operation.name = "SELECT", db.collection.name = "users")
)]
#[inline(never)]
async fn hand_written_async(x: u64) -> Result<u64, std::fmt::Error> {
    ideal_async(x).await
}

#[obs_runtime::instrument_db(table = "users")]
fn find_user(x: u64) -> Result<u64, std::fmt::Error> {
    work(x)
}

#[obs_runtime::instrument_db(table = "users")]
async fn find_user_async(x: u64) -> Result<u64, std::fmt::Error> {
    work_async(x).await
}

fn case(setup: &str, name: &str) -> &'static str {
    Box::leak(format!("{setup}/{name}").into_boxed_str())
}

/// Bare, ideal and macro, sync and async, under the global subscriber.
fn common(c: &mut Criterion, setup: &str, suffix: &str) {
    let m = |name: &str| case(setup, &format!("{name}{suffix}"));
    support::measure(c, m("sync/bare"), || value(work(black_box(7))));
    support::measure(c, m("sync/ideal"), || value(ideal(black_box(7))));
    support::measure(c, m("sync/macro"), || value(find_user(black_box(7))));
    support::measure(c, m("async/bare"), || value(run(work_async(black_box(7)))));
    support::measure(c, m("async/ideal"), || value(run(ideal_async(black_box(7)))));
    support::measure(c, m("async/macro"), || value(run(find_user_async(black_box(7)))));
    support::turns::measure(
        c,
        m("sync/in_turns"),
        || value(work(black_box(7))),
        || value(ideal(black_box(7))),
        || value(find_user(black_box(7))),
    );
    support::turns::measure(
        c,
        m("async/in_turns"),
        || value(run(work_async(black_box(7)))),
        || value(run(ideal_async(black_box(7)))),
        || value(run(find_user_async(black_box(7)))),
    );
}

/// The app's own layers in (f): its filter and a `fmt` layer writing to a sink (no colours, as
/// for a file), then `layer`.
macro_rules! composed {
    ($layer:expr) => {
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(APP_FILTER))
            .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(std::io::sink))
            .with($layer)
    };
}

/// One setup, in this process: installs obs as `init()` would with the setup's environment,
/// or as an app composing its own subscriber in (f).
fn child(setup: &str, discard: bool) {
    let mut config = obs_runtime::Config::from_env().expect("the setup's environment is valid");
    if discard {
        config = config.span_exporter(Discard);
    }
    let guard = if setup == "f" {
        let (obs, guard) = config.install_layer().expect("install obs");
        tracing::subscriber::set_global_default(composed!(obs.without_log_lines())).expect("the app's subscriber");
        guard
    } else {
        config.install().expect("install obs")
    };
    let mut c = support::config(40);
    match setup {
        "d" => {
            // A request span whose trace the ratio dropped, like 9 in 10 requests.
            let parent = std::iter::repeat_with(|| tracing::info_span!("request"))
                .find(|span| !span.context().span().span_context().is_sampled())
                .expect("a dropped trace");
            parent.in_scope(|| {
                common(&mut c, setup, "");
                support::measure(&mut c, case(setup, "sync/hand_written"), || value(hand_written(black_box(7))));
                support::measure(&mut c, case(setup, "async/hand_written"), || {
                    value(run(hand_written_async(black_box(7))))
                });
                // The estimator's own bias, where the ratio is closest to its target: the ideal
                // in turns against itself reads 1.00x when the order of the turns favours none.
                support::turns::measure(
                    &mut c,
                    case(setup, "sync/ideal_in_turns"),
                    || value(work(black_box(7))),
                    || value(ideal(black_box(7))),
                    || value(ideal(black_box(7))),
                );
            });
            let floor = Dispatch::new(tracing_subscriber::registry().with(Nothing));
            tracing::dispatcher::with_default(&floor, || {
                tracing::info_span!("request").in_scope(|| {
                    support::measure(&mut c, case(setup, "sync/registry"), || value(find_user(black_box(7))));
                    support::measure(&mut c, case(setup, "async/registry"), || {
                        value(run(find_user_async(black_box(7))))
                    });
                })
            });
        }
        "a" => {
            common(&mut c, setup, "");
            let provider = guard.tracer_provider().expect("export is on");
            let hand = Dispatch::new(
                tracing_subscriber::registry().with(obs_runtime::opentelemetry_layer(provider.tracer("hand"), false)),
            );
            tracing::dispatcher::with_default(&hand, || {
                support::measure(&mut c, case(setup, "sync/hand_written"), || value(hand_written(black_box(7))));
                support::measure(&mut c, case(setup, "async/hand_written"), || {
                    value(run(hand_written_async(black_box(7))))
                });
            });
            fastrace::set_reporter(DiscardReports, fastrace::collector::Config::default());
            support::measure(&mut c, case(setup, "sync/fastrace"), || value(with_fastrace(black_box(7))));
            support::measure(&mut c, case(setup, "async/fastrace"), || value(run(with_fastrace_async(black_box(7)))));
            fastrace::flush();
            // Last, since it stays on: once a scraper has asked for OpenMetrics, every sampled
            // call keeps its trace as its bucket's exemplar.
            let _ = obs_runtime::render_negotiated(Some("application/openmetrics-text"));
            common(&mut c, setup, "_exemplars");
        }
        "f" => {
            common(&mut c, setup, "");
            let provider = guard.tracer_provider().expect("export is on");
            let hand = Dispatch::new(composed!(obs_runtime::opentelemetry_layer(provider.tracer("hand"), false)));
            tracing::dispatcher::with_default(&hand, || {
                support::measure(&mut c, case(setup, "sync/hand_written"), || value(hand_written(black_box(7))));
                support::measure(&mut c, case(setup, "async/hand_written"), || {
                    value(run(hand_written_async(black_box(7))))
                });
            });
        }
        _ => common(&mut c, setup, ""),
    }
    // A span the batch queue had no room for is dropped on the calling thread, which costs less
    // than handing it on: counted, so each run says what share of its calls did not export.
    let (_, text) = obs_runtime::render_negotiated(None);
    let dropped: f64 = text
        .lines()
        .filter(|line| line.starts_with("obs_spans_dropped_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    drop(guard); // flushes: every span made is counted
    let mut out = String::new();
    out.push_str(&format!("dropped {setup} {dropped}\n"));
    for name in support::cases() {
        if let Some(median) = support::median_of(name) {
            out.push_str(&format!("median {name} {median}\n"));
        }
    }
    for name in support::turns::cases() {
        if let Some(figures) = support::turns::figures(name) {
            out.push_str(&figures.to_line(name));
        }
    }
    out.push_str(&format!("exported {setup} {}\n", EXPORTED.load(Ordering::Relaxed)));
    std::fs::write(std::env::var("OBS_BENCH_RESULTS").expect("set by the parent"), out).expect("write results");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Ok(setup) = std::env::var("OBS_BENCH_SETUP") {
        let discard = SETUPS.iter().any(|s| s.key == setup && s.discard);
        return child(&setup, discard);
    }
    let only = args.iter().position(|a| a == "--setup").and_then(|i| args.get(i + 1)).cloned();
    let passed: Vec<&String> = args.iter().filter(|a| Some(*a) != only.as_ref() && *a != "--setup").collect();
    let mut medians = BTreeMap::new();
    let mut exported = BTreeMap::new();
    let mut in_turns = BTreeMap::new();
    let results = std::env::temp_dir().join(format!("obs-tracing-bench-{}", std::process::id()));
    for Setup { key, env, .. } in SETUPS.iter().filter(|s| only.as_deref().is_none_or(|o| o == s.key)) {
        let status = Command::new(std::env::current_exe().expect("this bench"))
            .args(&passed)
            .env("OBS_BENCH_SETUP", key)
            .env("OBS_BENCH_RESULTS", &results)
            .env("PROMETHEUS_PORT", "0")
            .env("PROMETHEUS_HOST", "127.0.0.1")
            .envs(env.iter().copied())
            .status()
            .expect("run a setup");
        assert!(status.success(), "setup {key} failed: {status}");
        for line in std::fs::read_to_string(&results).expect("the setup's results").lines() {
            if let Some((name, figures)) = InTurns::from_line(line) {
                in_turns.insert(name.to_owned(), figures);
                continue;
            }
            match line.split(' ').collect::<Vec<_>>()[..] {
                ["median", name, ns] => {
                    medians.insert(name.to_owned(), ns.parse::<f64>().unwrap());
                }
                // A setup's two counts come on two lines, in either order.
                ["exported", setup, n] => {
                    exported.entry(setup.to_owned()).or_insert((0, 0)).0 = n.parse::<u64>().unwrap();
                }
                ["dropped", setup, n] => {
                    exported.entry(setup.to_owned()).or_insert((0, 0)).1 = n.parse::<f64>().unwrap() as u64;
                }
                _ => {}
            }
        }
    }
    let _ = std::fs::remove_file(&results);
    // (e) must change nothing about spans: they are still exported with logs at warn.
    if let Some((n, _)) = exported.get("e") {
        assert!(*n > 0, "LOG_LEVEL=warn exported no span");
    }
    print_ratios(&medians, &in_turns, &exported);
}

fn print_ratios(
    medians: &BTreeMap<String, f64>,
    in_turns: &BTreeMap<String, InTurns>,
    exported: &BTreeMap<String, (u64, u64)>,
) {
    if medians.is_empty() {
        println!("\n(too few samples for ratios: run without --test)");
        return;
    }
    let t = |name: String| medians.get(&name).copied();
    println!("\nPer-call overhead over a bare call under what init() installs (medians, one process per setup):");
    for flavour in ["sync", "async"] {
        for Setup { key, what, .. } in SETUPS {
            let (Some(bare), Some(ideal), Some(obs)) = (
                t(format!("{key}/{flavour}/bare")),
                t(format!("{key}/{flavour}/ideal")),
                t(format!("{key}/{flavour}/macro")),
            ) else {
                continue;
            };
            let (ideal, obs) = (ideal - bare, obs - bare);
            print!("  {flavour:5} {what:30} obs +{obs:7.0} ns = {:5.2}x ideal (+{ideal:.0} ns)", obs / ideal);
            if let Some(InTurns { ratio, reference, subject, samples }) =
                in_turns.get(&format!("{key}/{flavour}/in_turns"))
            {
                print!(
                    "; in turns +{subject:.0} ns vs +{reference:.0} ns: {ratio:.2}x ideal (median of {samples} samples' ratios)"
                );
            }
            if let Some(itself) = in_turns.get(&format!("{key}/{flavour}/ideal_in_turns")) {
                print!("; the ideal against itself in turns {:.2}x", itself.ratio);
            }
            if let Some(hand) = t(format!("{key}/{flavour}/hand_written")) {
                let hand = hand - bare;
                print!("; hand-written tracing::instrument + metrics +{hand:.0} ns: obs/hand = {:.2}x", obs / hand);
            }
            if let Some(fastrace) = t(format!("{key}/{flavour}/fastrace")) {
                let fastrace = fastrace - bare;
                print!("; fastrace root span + metrics +{fastrace:.0} ns: obs/fastrace = {:.2}x", obs / fastrace);
            }
            if let Some(registry) = t(format!("{key}/{flavour}/registry")) {
                let registry = registry - bare;
                print!("; the macro under a bare registry +{registry:.0} ns = {:.2}x ideal", registry / ideal);
            }
            if let Some(exemplars) = t(format!("{key}/{flavour}/macro_exemplars")) {
                print!("; keeping exemplars +{:.0} ns", exemplars - bare);
            }
            match exported.get(*key) {
                Some((n, dropped)) if *n > 0 => {
                    let share = 100.0 * *dropped as f64 / (*n + *dropped) as f64;
                    print!(" [{n} spans exported, {dropped} ({share:.2} %) dropped for want of queue room]");
                }
                _ => {}
            }
            println!();
        }
    }
    println!(
        "  targets: (a) obs/hand <= 0.4x; (b) <= 3x ideal; (c) <= 2x; (d) <= 3x; (e) as (a); (f) obs/hand <= 0.5x"
    );
}
