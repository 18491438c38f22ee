#[obs_runtime::instrument_db(table = "users", table = "accounts")]
fn find_user() {}

fn main() {
    find_user();
}
