#[obs_runtime::instrument_db(table = "users")]
fn frobnicate_users() {}

fn main() {
    frobnicate_users();
}
