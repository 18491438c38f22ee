#[obs_runtime::instrument_db(table = 42)]
fn find_user() {}

#[obs_runtime::instrument_redis(command = get)]
fn cache_get() {}

#[obs_runtime::queue_job(queue = "jobs", error_if = "is_bad")]
fn run_job() {}

fn main() {
    find_user();
    cache_get();
    run_job();
}
