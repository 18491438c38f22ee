#[obs_runtime::instrument_db]
fn find_user() {}

#[obs_runtime::instrument_redis]
fn cache_get() {}

#[obs_runtime::queue_job]
fn run_job() {}

#[obs_runtime::stellar_call(network = "testnet")]
fn load_account() {}

fn main() {
    find_user();
    cache_get();
    run_job();
    load_account();
}
