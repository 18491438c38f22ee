// A local item called `obs_runtime` must not capture the expansion's paths.
mod obs_runtime {
    pub mod __private {}
}

#[::obs_runtime::instrument_db(table = "users")]
fn find_user() -> Result<(), String> {
    Ok(())
}

#[::obs_runtime::queue_job(queue = "jobs")]
async fn run_job() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = find_user();
    let _ = run_job();
}
