//! The warm path of an instrumented call allocates nothing: counted by a global allocator,
//! with obs's recorder installed and no tracing subscriber, sync and async. And a scrape
//! allocates the same whether the recorder holds 1 000 series or 10 000. Under `init()`, what
//! a warm call allocates on its own thread is counted per setup and held to today's figures.
#![cfg(all(feature = "db", feature = "queue", feature = "ws"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use obs_runtime::{MetricsRecorder, instrument_db, queue_job, ws_connection};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[instrument_db(table = "users")]
fn find_user(id: u64) -> Result<u64, std::fmt::Error> {
    if id == 0 { Err(std::fmt::Error) } else { Ok(id) }
}

#[queue_job(queue = "jobs")]
async fn run_job(id: u64) -> Result<u64, std::fmt::Error> {
    Ok(id)
}

#[ws_connection]
fn socket() {}

fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("never waits"),
    }
}

#[test]
fn warm_calls_allocate_nothing() {
    let metrics = MetricsRecorder::builder().install().expect("the only recorder of this binary");
    // Warm every call site: the first call resolves and caches its store.
    find_user(1).unwrap();
    find_user(0).unwrap_err();
    poll_once(run_job(1)).unwrap();
    socket();

    let allocations = allocations_during(|| {
        for id in 0..1_000 {
            let _ = std::hint::black_box(find_user(id));
            let _ = std::hint::black_box(poll_once(run_job(id)));
            socket();
        }
    });
    assert_eq!(allocations, 0, "allocations in 3 000 warm calls");
    // And they were all counted.
    let text = metrics.render();
    assert!(text.contains(r#"db_queries_total{operation="SELECT",table="users",status="success"} 1000"#), "{text}");
    assert!(
        text.contains(r#"queue_jobs_total{queue_name="jobs",job_name="run_job",status="completed"} 1001"#),
        "{text}"
    );
}

/// A recorder (not installed) holding `n` series: half counters, half histograms, three labels
/// each and the global `app`, every one recorded into.
fn recorder_with_series(n: usize) -> obs_runtime::MetricsHandle {
    use metrics::{Key, Label, Level, Metadata, Recorder as _};
    let recorder = MetricsRecorder::builder().global_label("app", "svc").max_series_per_metric(n).build().unwrap();
    let meta = Metadata::new("hot_path", Level::INFO, None);
    for i in 0..n / 2 {
        let labels =
            vec![Label::new("method", "GET"), Label::new("path", format!("/r/{i}")), Label::new("code", "200")];
        recorder.register_counter(&Key::from_parts("requests_total", labels.clone()), &meta).increment(i as u64);
        recorder.register_histogram(&Key::from_parts("request_seconds", labels), &meta).record(0.01 * i as f64);
    }
    recorder.handle()
}

#[test]
fn a_scrape_allocates_nothing_per_series() {
    let allocations_of_a_render = |n: usize| {
        let handle = recorder_with_series(n);
        let first = handle.render(); // sizes the buffer the next render starts with
        let mut second = String::new();
        let allocations = allocations_during(|| second = handle.render());
        assert_eq!(first.len(), second.len(), "nothing recorded in between");
        assert_eq!(second.matches("requests_total{").count(), n / 2, "every counter rendered");
        assert_eq!(second.matches("request_seconds_count{").count(), n / 2, "every histogram rendered");
        allocations
    };
    let (small, large) = (allocations_of_a_render(1_000), allocations_of_a_render(10_000));
    assert_eq!(small, large, "allocations of a render: {small} at 1 000 series, {large} at 10 000");
    assert!(large <= 32, "a render allocates its buffer and a few per metric name, not {large}");
}

/// Spans handed to it are dropped on the batch processor's thread.
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

/// The setups of issue 10: (a) export on, to `Discard`; (b) `OTEL_EXPORTER=none`; (c) the SDK
/// off; (d) a ratio sampler, calls inside a trace it dropped. With each, the most a warm call
/// (sync or async) may allocate on the calling thread. (b), (c) and (d) allocate nothing: an
/// obs span that records nothing is ids in a table that keeps its room. (a) pays at most 1 for
/// the exported span: its attribute list, which the exported `SpanData` owns (obs's own
/// attribute values are interned), and none when a list the exporting thread handed back is at
/// hand, as it is once batches flow. Through `tracing-opentelemetry` it was 9 (2026-12-03): the
/// builder's list, each value as a `String`, the span's data in its extensions, the SDK span.
/// A setup's name, its environment, and the most a warm call may allocate under it.
type Setup = (&'static str, &'static [(&'static str, &'static str)], u64);

const SETUPS: [Setup; 4] = [
    ("a", &[], 1),
    ("b", &[("OTEL_EXPORTER", "none")], 0),
    ("c", &[("OTEL_SDK_DISABLED", "true")], 0),
    ("d", &[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")], 0),
];

#[test]
fn warm_calls_under_init_allocate_only_what_their_span_needs() {
    for (setup, env, most) in SETUPS {
        let mut env = env.to_vec();
        env.extend([("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("LOG_LEVEL", "off")]);
        let Some(output) = obs_tests::child::run_in_child(setup, &env, || count_under_init(setup)) else {
            continue;
        };
        // libtest may print the test's name on the same line first.
        let count = output.lines().find_map(|l| l.split_once("allocations per call: ")).expect("the child's count").1;
        let per_call: u64 = count.trim().parse().expect("a whole number");
        println!("({setup}) {per_call} allocations per warm call");
        assert!(per_call <= most, "({setup}) a warm call allocates {per_call} times, at most {most} expected");
    }
}

fn count_under_init(setup: &str) {
    let mut config = obs_runtime::Config::from_env().unwrap();
    if setup != "b" && setup != "c" {
        config = config.span_exporter(Discard);
    }
    let guard = config.install().unwrap();
    let dropped_parent = (setup == "d").then(|| {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        std::iter::repeat_with(|| tracing::info_span!("request"))
            .find(|span| !span.context().span().span_context().is_sampled())
            .expect("a trace the ratio dropped")
    });
    let _entered = dropped_parent.as_ref().map(tracing::Span::enter);
    for id in 1..10 {
        find_user(id).unwrap();
        poll_once(run_job(id)).unwrap();
    }
    const CALLS: u64 = 1_000;
    let allocations = allocations_during(|| {
        for id in 1..=CALLS {
            let _ = std::hint::black_box(find_user(id));
            let _ = std::hint::black_box(poll_once(run_job(id)));
        }
    });
    // Whole calls: a share of a batch's allocation must not round a real one away.
    println!("allocations per call: {}", allocations.div_ceil(2 * CALLS));
    drop(_entered);
    drop(guard);
}
