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

#[inline(never)]
fn calls_sync(n: u64) {
    for id in 0..n {
        let _ = black_box(find_user(id));
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = obs_runtime::init()?;
    let n = std::env::var("OBS_PROFILE_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    // Warm: the first call of a site resolves and caches its store.
    calls_sync(1);
    calls_async(1);
    calls_sync(n);
    calls_async(n);
    drop(guard);
    Ok(())
}
