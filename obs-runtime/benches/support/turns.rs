//! Ratios measured in turns: within each criterion sample, a bare call, the reference (the
//! hand-written ideal) and the subject (the macro) each run as many iterations back to back,
//! and the sample's ratio is `(subject - bare) / (reference - bare)`.
//!
//! Separate criterion benchmarks time each case for about two seconds, one after the other:
//! on a shared machine whose speed drifts over seconds, a ratio of two such medians moves by
//! ±15 % from run to run. A sample's three runs lie within milliseconds of each other, so a
//! drift that slows one slows all three, and the median of the per-sample ratios is left with
//! noise shorter than a sample. The order of the three changes from one sample to the next,
//! so that none always runs first, or after the same case.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// Per-call times of each sample, in nanoseconds: bare, reference, subject.
static SAMPLES: Mutex<BTreeMap<&'static str, Vec<[f64; 3]>>> = Mutex::new(BTreeMap::new());

/// The orders the three cases run in within a sample: bare (0), reference (1), subject (2).
const ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 0, 2]];

/// Benchmarks `subject` as `name` (criterion reports the subject's time), timing `bare` and
/// `reference` for as many iterations in the same sample, for [`figures`].
pub fn measure(
    c: &mut Criterion,
    name: &'static str,
    mut bare: impl FnMut() -> u64,
    mut reference: impl FnMut() -> u64,
    mut subject: impl FnMut() -> u64,
) {
    let mut turn = 0usize;
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut times = [Duration::ZERO; 3];
            // Each of the six orders in turn: none always goes first or follows the same case.
            turn = (turn + 1) % ORDERS.len();
            for which in ORDERS[turn] {
                times[which] = match which {
                    0 => time(iters, &mut bare),
                    1 => time(iters, &mut reference),
                    _ => time(iters, &mut subject),
                };
            }
            let per_call = times.map(|t| t.as_nanos() as f64 / iters as f64);
            SAMPLES.lock().unwrap().entry(name).or_default().push(per_call);
            times[2]
        })
    });
}

/// The names of every case measured in turns.
pub fn cases() -> Vec<&'static str> {
    SAMPLES.lock().unwrap().keys().copied().collect()
}

/// `iters` calls of `call`, timed.
#[inline(always)]
fn time(iters: u64, call: &mut impl FnMut() -> u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(call());
    }
    start.elapsed()
}

/// What `name`'s measured samples say, medians over the samples; `None` when the run was too
/// short to say (`--test`).
pub fn figures(name: &str) -> Option<InTurns> {
    let samples = SAMPLES.lock().unwrap();
    let measured = super::measured(samples.get(name)?, super::SAMPLE_SIZE.load(Ordering::Relaxed))?;
    let over_bare = |i: usize| super::median(&measured.iter().map(|s| s[i] - s[0]).collect::<Vec<_>>());
    let ratios: Vec<f64> =
        measured.iter().map(|[bare, reference, subject]| (subject - bare) / (reference - bare)).collect();
    Some(InTurns {
        ratio: super::median(&ratios),
        reference: over_bare(1),
        subject: over_bare(2),
        samples: ratios.len(),
    })
}

/// A case measured in turns.
#[derive(Clone, Copy, Debug)]
pub struct InTurns {
    /// The median of the samples' `(subject - bare) / (reference - bare)`.
    pub ratio: f64,
    /// The median of the samples' reference time over bare, in ns.
    pub reference: f64,
    /// The median of the samples' subject time over bare, in ns.
    pub subject: f64,
    pub samples: usize,
}

impl InTurns {
    /// Case `name`'s figures as a line of a setup's results, read back by [`InTurns::from_line`].
    pub fn to_line(self, name: &str) -> String {
        format!("turns {name} {} {} {} {}\n", self.ratio, self.reference, self.subject, self.samples)
    }

    /// A line written by [`InTurns::to_line`]: the case's name and its figures.
    pub fn from_line(line: &str) -> Option<(&str, InTurns)> {
        let ["turns", name, ratio, reference, subject, samples] = line.split(' ').collect::<Vec<_>>()[..] else {
            return None;
        };
        let number = |x: &str| x.parse::<f64>().ok();
        let figures = InTurns {
            ratio: number(ratio)?,
            reference: number(reference)?,
            subject: number(subject)?,
            samples: samples.parse().ok()?,
        };
        Some((name, figures))
    }
}
