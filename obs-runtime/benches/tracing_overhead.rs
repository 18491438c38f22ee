//! Per-call overhead with tracing on: the macro against hand-written `#[tracing::instrument]`
//! plus hand-written metrics, both under a subscriber with the OpenTelemetry layer and a
//! discarding exporter (simple processor, so every span is built and handed to the exporter on
//! the calling thread, deterministically).
//!
//! Two layer settings for the hand-written code: obs's (no busy/idle, thread, location or target
//! attributes), and tracing-opentelemetry's defaults, which is what a hand-written setup gets.
//! Target: macro / hand-written with the same settings <= 1.0 x. Last, the macro again once a
//! scraper has asked for OpenMetrics, so every sampled call keeps an exemplar: what that costs.
//!
//! `cargo bench -p obs-runtime --bench tracing_overhead`

mod support;

use std::future::Future;
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use metrics::{Counter, Histogram};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

use support::{run, value, work, work_async};

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        black_box(batch);
        std::future::ready(Ok(()))
    }
}

fn dispatch(obs_settings: bool) -> Dispatch {
    let provider = SdkTracerProvider::builder().with_simple_exporter(Discard).build();
    let tracer = provider.tracer("bench");
    if obs_settings {
        Dispatch::new(tracing_subscriber::registry().with(obs_runtime::opentelemetry_layer(tracer, false)))
    } else {
        Dispatch::new(tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer)))
    }
}

/// Measures `call` with `dispatch` as this thread's subscriber.
fn measure(c: &mut Criterion, name: &'static str, dispatch: &Dispatch, call: impl FnMut() -> u64) {
    tracing::dispatcher::with_default(dispatch, || support::measure(c, name, call));
}

struct Handles {
    duration: Histogram,
    total: Counter,
}

fn handles() -> &'static Handles {
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    HANDLES.get_or_init(|| Handles {
        duration: metrics::histogram!("db_query_duration_seconds", "operation" => "SELECT", "table" => "accounts"),
        total: metrics::counter!("db_queries_total", "operation" => "SELECT", "table" => "accounts", "status" => "success"),
    })
}

#[tracing::instrument(
    name = "SELECT accounts",
    skip_all,
    fields(otel.kind = "client", db.system.name = "postgresql", db.operation.name = "SELECT", db.collection.name = "accounts")
)]
#[inline(never)]
fn hand_written(x: u64) -> Result<u64, std::fmt::Error> {
    let handles = handles();
    let start = Instant::now();
    let result = work(x);
    handles.duration.record(start.elapsed().as_secs_f64());
    handles.total.increment(1);
    result
}

#[tracing::instrument(
    name = "SELECT accounts",
    skip_all,
    fields(otel.kind = "client", db.system.name = "postgresql", db.operation.name = "SELECT", db.collection.name = "accounts")
)]
#[inline(never)]
async fn hand_written_async(x: u64) -> Result<u64, std::fmt::Error> {
    let handles = handles();
    let start = Instant::now();
    let result = work_async(x).await;
    handles.duration.record(start.elapsed().as_secs_f64());
    handles.total.increment(1);
    result
}

#[obs_runtime::instrument_db(table = "users")]
fn find_user(x: u64) -> Result<u64, std::fmt::Error> {
    work(x)
}

#[obs_runtime::instrument_db(table = "users")]
async fn find_user_async(x: u64) -> Result<u64, std::fmt::Error> {
    work_async(x).await
}

fn cases(c: &mut Criterion) {
    let obs = dispatch(true);
    let defaults = dispatch(false);
    measure(c, "sync/bare", &obs, || value(work(black_box(7))));
    measure(c, "sync/macro", &obs, || value(find_user(black_box(7))));
    measure(c, "sync/hand_written_obs_layer", &obs, || value(hand_written(black_box(7))));
    measure(c, "sync/hand_written_default_layer", &defaults, || value(hand_written(black_box(7))));
    measure(c, "async/bare", &obs, || value(run(work_async(black_box(7)))));
    measure(c, "async/macro", &obs, || value(run(find_user_async(black_box(7)))));
    measure(c, "async/hand_written_obs_layer", &obs, || value(run(hand_written_async(black_box(7)))));
    measure(c, "async/hand_written_default_layer", &defaults, || value(run(hand_written_async(black_box(7)))));
    // Last, since it stays on: once a scraper has asked for OpenMetrics, every sampled call
    // keeps its trace as its bucket's exemplar.
    let _ = obs_runtime::render_negotiated(Some("application/openmetrics-text"));
    measure(c, "sync/macro_exemplars", &obs, || value(find_user(black_box(7))));
    measure(c, "async/macro_exemplars", &obs, || value(run(find_user_async(black_box(7)))));
}

fn print_ratios() {
    if support::cases().iter().any(|n| support::median_of(n).is_none()) {
        println!("\n(too few samples for ratios: run without --test)");
        return;
    }
    let t = |name: String| support::median_of(&name).unwrap();
    println!("\nWith tracing on (median of criterion samples, this run):");
    for flavour in ["sync", "async"] {
        let bare = t(format!("{flavour}/bare"));
        let macro_ = t(format!("{flavour}/macro")) - bare;
        let same = t(format!("{flavour}/hand_written_obs_layer")) - bare;
        let default = t(format!("{flavour}/hand_written_default_layer")) - bare;
        println!(
            "  {flavour}: macro +{macro_:.0} ns; hand-written, same layer settings +{same:.0} ns; \
             hand-written, tracing-opentelemetry defaults +{default:.0} ns"
        );
        println!(
            "  {flavour}: macro / hand-written (same settings) = {:.2} x (target <= 1.0: {}); macro / hand-written (defaults) = {:.2} x",
            macro_ / same,
            if macro_ / same <= 1.0 { "met" } else { "NOT met" },
            macro_ / default
        );
        let exemplars = t(format!("{flavour}/macro_exemplars")) - bare;
        println!(
            "  {flavour}: macro keeping exemplars (after an OpenMetrics scrape) +{exemplars:.0} ns: the exemplar costs +{:.0} ns per sampled call",
            exemplars - macro_
        );
    }
}

criterion_group! { name = benches; config = support::config(40); targets = cases }

fn main() {
    let _metrics = obs_runtime::MetricsRecorder::builder().install().expect("install obs's recorder");
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratios();
}
