//! Per-call overhead of the macros against a bare call, the hand-written ideal (handles in a
//! `static OnceLock`, `Instant`, record, increment) and naive per-call `metrics::histogram!` /
//! `counter!` lookups, with the Prometheus recorder installed and no tracing subscriber.
//!
//! Two configurations, one per run (a process has one recorder):
//! - default: obs's recorder (`MetricsRecorder`, metrics-exporter-prometheus underneath), as
//!   `obs_runtime::init()` installs it. Hand-written and naive code record through its
//!   ordinary `metrics` handles; the macros through their fused call-site store.
//! - `OBS_BENCH_RECORDER=exporter`: metrics-exporter-prometheus's own recorder, installed by
//!   hand; the macros then fall back to the same `metrics` handles as hand-written code.
//! - `OBS_BENCH_RECORDER=renamed`: obs's recorder with a prefix and every macro family renamed
//!   (names, label names, HELP), as a team with its own names runs it: renames apply at
//!   registration, so the ratios should match the default run's.
//!
//! Criterion measures each case; at the end the bench prints each case's overhead over the bare
//! call and the ratio of each macro's overhead to the hand-written ideal's, all from this one
//! run. Target: ≤ 0.75 × the hand-written ideal, and never above 1.10 ×.
//!
//! `cargo bench -p obs-runtime --bench overhead`

#[allow(dead_code)]
mod support;

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use metrics::{Counter, Histogram};
use obs_runtime::{instrument_db, instrument_redis, queue_job, stellar_call, ws_connection};
use support::{measure, median, run, value as unwrap, work, work_async};

struct Handles {
    duration: Histogram,
    total: Counter,
}

fn ideal_handles() -> &'static Handles {
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    HANDLES.get_or_init(|| Handles {
        duration: metrics::histogram!("ideal_duration_seconds", "operation" => "SELECT", "table" => "users"),
        total: metrics::counter!("ideal_total", "operation" => "SELECT", "table" => "users", "status" => "success"),
    })
}

#[inline(never)]
fn hand_written(x: u64) -> Result<u64, std::fmt::Error> {
    let handles = ideal_handles();
    let start = Instant::now();
    let result = work(x);
    handles.duration.record(start.elapsed().as_secs_f64());
    handles.total.increment(1);
    result
}

#[inline(never)]
async fn hand_written_async(x: u64) -> Result<u64, std::fmt::Error> {
    let handles = ideal_handles();
    let start = Instant::now();
    let result = work_async(x).await;
    handles.duration.record(start.elapsed().as_secs_f64());
    handles.total.increment(1);
    result
}

#[inline(never)]
fn naive(x: u64) -> Result<u64, std::fmt::Error> {
    let start = Instant::now();
    let result = work(x);
    metrics::histogram!("naive_duration_seconds", "operation" => "SELECT", "table" => "users")
        .record(start.elapsed().as_secs_f64());
    let status = if result.is_ok() { "success" } else { "error" };
    metrics::counter!("naive_total", "operation" => "SELECT", "table" => "users", "status" => status).increment(1);
    result
}

#[instrument_db(table = "users")]
fn find_user(x: u64) -> Result<u64, std::fmt::Error> {
    work(x)
}

#[instrument_db(table = "users")]
async fn find_user_async(x: u64) -> Result<u64, std::fmt::Error> {
    work_async(x).await
}

#[instrument_redis(command = "get")]
fn cache_get(x: u64) -> Result<u64, std::fmt::Error> {
    work(x)
}

#[instrument_redis(command = "get")]
async fn cache_get_async(x: u64) -> Result<u64, std::fmt::Error> {
    work_async(x).await
}

#[queue_job(queue = "bench")]
fn run_job(x: u64) -> Result<u64, std::fmt::Error> {
    work(x)
}

#[queue_job(queue = "bench")]
async fn run_job_async(x: u64) -> Result<u64, std::fmt::Error> {
    work_async(x).await
}

#[stellar_call(operation = "loadAccount")]
fn load_account(x: u64) -> Result<u64, std::fmt::Error> {
    work(x)
}

#[stellar_call(operation = "loadAccount")]
async fn load_account_async(x: u64) -> Result<u64, std::fmt::Error> {
    work_async(x).await
}

#[ws_connection]
fn ws_handler(x: u64) -> Result<u64, std::fmt::Error> {
    work(x)
}

fn sync_cases(c: &mut Criterion) {
    measure(c, "sync/bare", || unwrap(work(black_box(7))));
    measure(c, "sync/hand_written", || unwrap(hand_written(black_box(7))));
    measure(c, "sync/naive_macros", || unwrap(naive(black_box(7))));
    measure(c, "sync/instrument_db", || unwrap(find_user(black_box(7))));
    measure(c, "sync/instrument_redis", || unwrap(cache_get(black_box(7))));
    measure(c, "sync/queue_job", || unwrap(run_job(black_box(7))));
    measure(c, "sync/stellar_call", || unwrap(load_account(black_box(7))));
    measure(c, "sync/ws_connection", || unwrap(ws_handler(black_box(7))));
}

fn async_cases(c: &mut Criterion) {
    measure(c, "async/bare", || unwrap(run(work_async(black_box(7)))));
    measure(c, "async/hand_written", || unwrap(run(hand_written_async(black_box(7)))));
    measure(c, "async/instrument_db", || unwrap(run(find_user_async(black_box(7)))));
    measure(c, "async/instrument_redis", || unwrap(run(cache_get_async(black_box(7)))));
    measure(c, "async/queue_job", || unwrap(run(run_job_async(black_box(7)))));
    measure(c, "async/stellar_call", || unwrap(run(load_account_async(black_box(7)))));
}

fn print_ratios(exporter_only: bool) {
    let names = support::cases();
    if names.iter().any(|n| support::median_of(n).is_none()) {
        println!("\n(too few samples for ratios: run without --test)");
        return;
    }
    let t = |name: &str| support::median_of(name).unwrap();
    println!("\nPer-call overhead over the bare call (median of criterion samples, this run):");
    let mut worst: f64 = 0.0;
    let mut worst_macro_ratio_flavour = Vec::new();
    for flavour in ["sync", "async"] {
        let bare = t(&format!("{flavour}/bare"));
        let ideal = t(&format!("{flavour}/hand_written")) - bare;
        println!("  {flavour}: bare call {bare:.1} ns; hand-written ideal +{ideal:.1} ns");
        for name in names.iter().filter(|n| n.starts_with(flavour) && !n.ends_with("/bare")) {
            let overhead = t(name) - bare;
            let ratio = overhead / ideal;
            let is_macro = !name.ends_with("hand_written") && !name.ends_with("naive_macros");
            if is_macro {
                worst = worst.max(ratio);
                worst_macro_ratio_flavour.push((flavour, ratio));
            }
            println!("    {name:<28} +{overhead:>7.1} ns   {ratio:>5.2} x hand-written");
        }
    }
    let mean_macro = |flavour: &str| {
        let ratios: Vec<f64> =
            worst_macro_ratio_flavour.iter().filter(|(f, _)| *f == flavour).map(|(_, r)| *r).collect();
        median(&ratios)
    };
    let (sync, asynch) = (mean_macro("sync"), mean_macro("async"));
    // 0.75 x is the target with obs's recorder (what `init()` installs); with any other
    // recorder the macros share its handles with hand-written code and must stay under 1.10 x.
    let met = if exporter_only { worst <= 1.10 } else { sync <= 0.75 && asynch <= 0.75 && worst <= 1.10 };
    println!(
        "\nMacro overhead / hand-written ideal: sync {sync:.2} x, async {asynch:.2} x (median over macros); \
         worst {worst:.2} x. Target for this recorder: {}: {}",
        if exporter_only { "never above 1.10 x" } else { "<= 0.75 x, never above 1.10 x" },
        if met { "met" } else { "NOT met" }
    );
}

criterion_group! { name = benches; config = support::config(60); targets = sync_cases, async_cases }

fn main() {
    let exporter_only = std::env::var("OBS_BENCH_RECORDER").is_ok_and(|v| v == "exporter");
    let renamed = std::env::var("OBS_BENCH_RECORDER").is_ok_and(|v| v == "renamed");
    let upkeep: Box<dyn Fn() + Send> = if exporter_only {
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("install the Prometheus recorder");
        Box::new(move || handle.run_upkeep())
    } else {
        let mut builder = obs_runtime::MetricsRecorder::builder();
        if renamed {
            builder = builder.prefix("team_");
            for (metric, to, label) in [
                ("db_queries_total", "db_operations_total", ("table", "collection")),
                ("db_query_duration_seconds", "db_operation_duration_seconds", ("table", "collection")),
                ("redis_calls_total", "cache_calls_total", ("command", "op")),
                ("redis_call_duration_seconds", "cache_call_duration_seconds", ("command", "op")),
                ("queue_jobs_total", "jobs_total", ("queue_name", "queue")),
                ("queue_job_duration_seconds", "job_duration_seconds", ("queue_name", "queue")),
                ("stellar_api_calls_total", "horizon_calls_total", ("network", "net")),
                ("stellar_api_call_duration_seconds", "horizon_call_duration_seconds", ("network", "net")),
            ] {
                let rename = obs_runtime::MetricRename::new(metric).to(to).label(label.0, label.1).help("Renamed.");
                builder = builder.rename(rename);
            }
        }
        let handle = builder.install().expect("install obs's recorder");
        Box::new(move || handle.run_upkeep())
    };
    println!(
        "recorder: {}",
        if exporter_only {
            "metrics-exporter-prometheus (macros use metrics handles)"
        } else if renamed {
            "obs with every macro family renamed (macros use the fused call-site store)"
        } else {
            "obs (macros use the fused call-site store)"
        }
    );
    // Upkeep drains histogram samples as the scrape server does, so memory stays flat.
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            upkeep();
        }
    });
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios(exporter_only);
}
