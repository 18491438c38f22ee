//! What the overhead benchmarks share: the measured call, the timing loop that keeps every
//! sample for the ratios, and a poll loop for futures that never wait.

use std::collections::BTreeMap;
use std::future::Future;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::Criterion;

pub mod turns;

/// Per-iteration times of every case, in nanoseconds, one entry per call of its routine.
static SAMPLES: Mutex<BTreeMap<&'static str, Vec<f64>>> = Mutex::new(BTreeMap::new());

/// The sample size [`config`] gave criterion. Criterion calls a routine through its warm-up
/// too, with 1, 2, 4, … iterations, before the `sample_size` calls it measures: only those
/// last calls are samples.
static SAMPLE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// Benchmarks `call` as `name` and keeps its per-iteration times for [`median_of`].
pub fn measure(c: &mut Criterion, name: &'static str, mut call: impl FnMut() -> u64) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(call());
            }
            let elapsed = start.elapsed();
            SAMPLES.lock().unwrap().entry(name).or_default().push(elapsed.as_nanos() as f64 / iters as f64);
            elapsed
        })
    });
}

/// The median per-call time of case `name` in ns; `None` when the run was too short to say
/// (`cargo bench -- --test` runs each case once).
pub fn median_of(name: &str) -> Option<f64> {
    let samples = SAMPLES.lock().unwrap();
    let values = samples.get(name)?;
    Some(median(measured(values, SAMPLE_SIZE.load(Ordering::Relaxed))?))
}

/// The samples criterion measured among a routine's per-call times: the last `sample_size`,
/// or `None` when there are too few for a median (`cargo bench -- --test` calls each once).
fn measured<T>(values: &[T], sample_size: usize) -> Option<&[T]> {
    let measured = &values[values.len().saturating_sub(sample_size)..];
    (measured.len() >= 10).then_some(measured)
}

/// The names of every measured case, in order.
pub fn cases() -> Vec<&'static str> {
    SAMPLES.lock().unwrap().keys().copied().collect()
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The work being instrumented: a call the optimiser cannot remove.
#[inline(never)]
pub fn work(x: u64) -> Result<u64, std::fmt::Error> {
    Ok(black_box(x).wrapping_mul(31))
}

#[inline(never)]
pub async fn work_async(x: u64) -> Result<u64, std::fmt::Error> {
    Ok(black_box(x).wrapping_mul(31))
}

pub fn value(result: Result<u64, std::fmt::Error>) -> u64 {
    result.unwrap_or_default()
}

/// Polls a future that completes without waiting, without any executor overhead.
#[inline(always)]
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("benchmarked futures never wait"),
    }
}

/// Short enough for a shared 2-core machine, long enough for stable medians.
pub fn config(sample_size: usize) -> Criterion {
    // What criterion will use: this, unless the command line says otherwise.
    let args: Vec<String> = std::env::args().collect();
    let given = args.iter().position(|a| a == "--sample-size").and_then(|i| args.get(i + 1)?.parse().ok());
    SAMPLE_SIZE.store(given.unwrap_or(sample_size), Ordering::Relaxed);
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(sample_size)
        .configure_from_args()
}
