//! The monotonic clock the expansions time calls with.
//!
//! `std::time::Instant::now()` is a vDSO `clock_gettime` (~25 ns here); reading the TSC is a
//! few ns. `quanta` only uses the TSC where the CPU reports it invariant and falls back to the
//! OS monotonic clock otherwise, so the cheaper path never trades correctness for speed.

use std::sync::OnceLock;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

#[inline]
fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Calibrates the clock now, so the first instrumented call does not pay for it.
pub(crate) fn warm_up() {
    let _ = clock();
}

/// A raw timestamp; only meaningful to [`nanos_since`].
#[inline]
pub(crate) fn now() -> u64 {
    clock().raw()
}

/// Nanoseconds elapsed since a timestamp from [`now`].
#[inline]
pub(crate) fn nanos_since(start: u64) -> u64 {
    let clock = clock();
    clock.delta_as_nanos(start, clock.raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_sleep_in_seconds() {
        let start = now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let secs = nanos_since(start) as f64 * 1e-9;
        assert!((0.019..1.0).contains(&secs), "measured {secs} s for a 20 ms sleep");
    }
}
