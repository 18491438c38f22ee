//! Where an annotated call's time goes: `init()` with this process's environment, then one
//! `#[instrument_db]` fn called `OBS_PROFILE_CALLS` times (default 100 000), sync then async.
//! Instruction counts repeat on a noisy machine, seconds do not:
//!
//! ```sh
//! cargo build --release -p obs-runtime --example profile_call
//! OTEL_EXPORTER=none PROMETHEUS_PORT=0 valgrind --tool=callgrind \
//!     --toggle-collect='profile_call::calls*' "$CARGO_TARGET_DIR/release/examples/profile_call"
//! callgrind_annotate --inclusive=yes callgrind.out.* | head -60
//! ```
//!
//! `OBS_PROFILE_DISCARD=1` exports to an exporter that drops each batch, as setup (a) of the
//! `tracing_overhead` bench does (an unreachable collector would leave spans to be dropped on
//! the calling thread once the queue is full). `OBS_PROFILE_DROPPED=1` makes the calls inside a request whose trace the sampler dropped.
//! `profile_call::calls_ideal` is the hand-written ideal's share, for ratios in one run.
//! `OBS_PROFILE_COMPOSED=1` installs obs as setup (f) does: `Config::install_layer` under the
//! app's own registry with an `EnvFilter` and a `fmt` layer writing to a sink (and the hand-written
//! peer, with `OBS_PROFILE_HAND`, under the same two layers).
//! `OBS_PROFILE_TIME=1` prints each loop's wall time per call, for a quick A/B between two
//! builds run alternately (the criterion benches are the figures to quote).
//! With `OBS_PROFILE_HAND=1` the same calls are hand-written instead (`#[tracing::instrument]`
//! plus cached metric handles) under a registry with only the OpenTelemetry layer obs
//! configures, on the provider `init()` built: the peer of setup (a) in the `tracing_overhead`
//! bench.

use std::hint::black_box;
use std::task::{Context, Poll, Waker};

#[obs_runtime::instrument_db(table = "users")]
fn find_user(id: u64) -> Result<u64, std::fmt::Error> {
    Ok(black_box(id))
}

#[obs_runtime::instrument_db(table = "users")]
async fn find_user_async(id: u64) -> Result<u64, std::fmt::Error> {
    Ok(black_box(id))
}

/// What a careful engineer writes by hand: a `tracing` span with the same attributes, and the
/// metric handles looked up once.
#[tracing::instrument(
    name = "SELECT users",
    skip_all,
    fields(otel.kind = "client", db.system.name = "postgresql", db.operation.name = "SELECT", db.collection.name = "users")
)]
fn hand_written(id: u64) -> Result<u64, std::fmt::Error> {
    ideal(id)
}

/// The hand-written ideal: no span, the metric handles looked up once, a timer.
fn ideal(id: u64) -> Result<u64, std::fmt::Error> {
    static HANDLES: std::sync::OnceLock<(metrics::Histogram, metrics::Counter)> = std::sync::OnceLock::new();
    let (duration, total) = HANDLES.get_or_init(|| {
        (
            metrics::histogram!("db_query_duration_seconds", "operation" => "SELECT", "table" => "users"),
            metrics::counter!("db_queries_total", "operation" => "SELECT", "table" => "users", "status" => "success"),
        )
    });
    let start = std::time::Instant::now();
    let result = Ok(black_box(id));
    duration.record(start.elapsed().as_secs_f64());
    total.increment(1);
    result
}

#[inline(never)]
fn calls_sync(n: u64) {
    for id in 0..n {
        let _ = black_box(find_user(id));
    }
}

#[inline(never)]
fn calls_ideal(n: u64) {
    for id in 0..n {
        let _ = black_box(ideal(id));
    }
}

#[inline(never)]
fn calls_hand(n: u64) {
    for id in 0..n {
        let _ = black_box(hand_written(id));
    }
}

#[inline(never)]
fn calls_async(n: u64) {
    let mut cx = Context::from_waker(Waker::noop());
    for id in 0..n {
        let mut call = std::pin::pin!(find_user_async(id));
        assert!(matches!(call.as_mut().poll(&mut cx), Poll::Ready(Ok(_))), "never waits");
    }
}

/// Setup (a)'s exporter in the `tracing_overhead` bench: takes each batch and drops it on the
/// batch processor's thread, so no span is dropped on the calling thread for want of room.
#[derive(Debug)]
struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        drop(batch);
        std::future::ready(Ok(()))
    }
}

/// Setup (f)'s app layers: its filter and a `fmt` layer writing to a sink, then `layer`.
macro_rules! composed {
    ($layer:expr) => {
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info"))
            .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(std::io::sink))
            .with($layer)
    };
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use tracing_subscriber::layer::SubscriberExt as _;
    let mut config = obs_runtime::Config::from_env()?;
    if std::env::var_os("OBS_PROFILE_DISCARD").is_some() {
        config = config.span_exporter(Discard);
    }
    let composed = std::env::var_os("OBS_PROFILE_COMPOSED").is_some();
    let guard = if composed {
        let (obs, guard) = config.install_layer()?;
        tracing::subscriber::set_global_default(composed!(obs.without_log_lines()))?;
        guard
    } else {
        config.install()?
    };
    let n = std::env::var("OBS_PROFILE_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    if std::env::var_os("OBS_PROFILE_HAND").is_some() {
        use opentelemetry::trace::TracerProvider as _;
        let provider = guard.tracer_provider().ok_or("OBS_PROFILE_HAND needs span export on")?;
        let tracer = provider.tracer("hand");
        let hand = match composed {
            true => tracing::Dispatch::new(composed!(obs_runtime::opentelemetry_layer(tracer, false))),
            false => tracing::Dispatch::new(
                tracing_subscriber::registry().with(obs_runtime::opentelemetry_layer(tracer, false)),
            ),
        };
        tracing::dispatcher::with_default(&hand, || {
            calls_hand(1);
            calls_hand(n);
        });
        drop(guard);
        return Ok(());
    }
    // Setup (d): inside a request whose trace the sampler dropped, as with
    // OTEL_TRACES_SAMPLER=parentbased_traceidratio.
    let dropped = std::env::var_os("OBS_PROFILE_DROPPED").map(|_| {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        std::iter::repeat_with(|| tracing::info_span!("request"))
            .take(10_000)
            .find(|span| !span.context().span().span_context().is_sampled())
            .ok_or("OBS_PROFILE_DROPPED needs a sampler that drops some traces")
    });
    let _entered = dropped.transpose()?.map(tracing::Span::entered);
    // Warm: the first call of a site resolves and caches its store.
    calls_sync(1);
    calls_async(1);
    let timed = |name: &str, calls: fn(u64)| {
        let start = std::time::Instant::now();
        calls(n);
        if std::env::var_os("OBS_PROFILE_TIME").is_some() {
            println!("{name} {:.1} ns/call", start.elapsed().as_nanos() as f64 / n as f64);
        }
    };
    timed("sync", calls_sync);
    timed("async", calls_async);
    calls_ideal(1);
    timed("ideal", calls_ideal);
    if std::env::var_os("OBS_PROFILE_TIME").is_some() {
        // Spans the batch queue had no room for were dropped on this thread: cheaper than export.
        let (_, text) = obs_runtime::render_negotiated(None);
        text.lines().filter(|line| line.starts_with("obs_spans_dropped_total")).for_each(|line| println!("{line}"));
    }
    drop(guard);
    Ok(())
}
