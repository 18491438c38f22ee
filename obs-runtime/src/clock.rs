//! The monotonic clock the expansions time calls with, and the wall clock obs's own spans
//! are stamped with.
//!
//! `std::time::Instant::now()` is a vDSO `clock_gettime` (~25 ns here); reading the TSC is a
//! few ns. `quanta` only uses the TSC where the CPU reports it invariant and falls back to the
//! OS monotonic clock otherwise, so the cheaper path never trades correctness for speed.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

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

/// How long a thread reckons the wall clock from one reading of it: short enough that a step
/// of the system clock (NTP) shows in span timestamps within it.
const WALL_READ_EVERY_NANOS: u64 = 20_000_000;

thread_local! {
    /// This thread's last reading of the wall clock, with the TSC at that moment.
    static WALL: Cell<Option<(u64, SystemTime)>> = const { Cell::new(None) };
}

/// The wall-clock time, as `SystemTime::now()` reads it, for the start, end and events of the
/// spans obs builds: the system clock is read once per thread every 20 ms and the TSC counts
/// from there (two vDSO `clock_gettime`s were 4 % of an exported call's time, `perf`).
pub(crate) fn wall_now() -> SystemTime {
    let clock = clock();
    let raw = clock.raw();
    WALL.try_with(|wall| {
        if let Some((at, read)) = wall.get() {
            let since = clock.delta_as_nanos(at, raw);
            if since < WALL_READ_EVERY_NANOS
                && let Some(now) = read.checked_add(Duration::from_nanos(since))
            {
                return now;
            }
        }
        let read = SystemTime::now();
        wall.set(Some((raw, read)));
        read
    })
    .unwrap_or_else(|_| SystemTime::now())
}

/// Now, in Unix milliseconds: when a job was enqueued, and how long it waited.
pub(crate) fn unix_millis() -> u64 {
    SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_follows_the_system_clock() {
        let until = std::time::Instant::now() + Duration::from_millis(120);
        let mut reads = 0u32;
        while std::time::Instant::now() < until {
            let (before, now, after) = (SystemTime::now(), wall_now(), SystemTime::now());
            // Reckoned from a reading up to 20 ms old: off by the TSC's calibration over that
            // span at most, far below a millisecond.
            let slack = Duration::from_millis(1);
            assert!(now + slack >= before && now <= after + slack, "{now:?} outside {before:?}..{after:?}");
            reads += 1;
        }
        assert!(reads > 100, "too few reads to cross a re-reading: {reads}");
    }

    #[test]
    fn measures_a_sleep_in_seconds() {
        let start = now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let secs = nanos_since(start) as f64 * 1e-9;
        assert!((0.019..1.0).contains(&secs), "measured {secs} s for a 20 ms sleep");
    }
}
