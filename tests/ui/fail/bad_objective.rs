use std::time::Duration;

use obs_runtime::Objective;

// A success target above 100 % cannot be met: the const does not compile.
const IMPOSSIBLE: Objective = Objective::new("checkout", 120.0);

// A latency percentile of 0 means nothing.
const NO_PERCENTILE: Objective = Objective::new("search", 99.0).latency(Duration::from_millis(500), 0.0);

// `objective` takes the path of an Objective, not a value.
#[obs_runtime::instrument_redis(command = "get", objective = "checkout")]
fn cached() -> Option<String> {
    None
}

fn main() {
    let _ = (IMPOSSIBLE, NO_PERCENTILE, cached());
}
