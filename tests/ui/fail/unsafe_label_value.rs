#[obs_runtime::instrument_db(table = "")]
fn find_empty() {}

#[obs_runtime::instrument_db(table = "user\"s")]
fn find_quote() {}

#[obs_runtime::instrument_db(table = "user\\s")]
fn find_backslash() {}

#[obs_runtime::instrument_redis(command = "hash get")]
fn space() {}

#[obs_runtime::queue_job(queue = "line\nbreak")]
fn control() {}

fn main() {
    find_empty();
    find_quote();
    find_backslash();
    space();
    control();
}
