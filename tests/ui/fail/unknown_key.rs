#[obs_runtime::instrument_db(tabel = "users")]
fn find_user() {}

#[obs_runtime::ws_connection(name = "socket")]
fn socket() {}

fn main() {
    find_user();
    socket();
}
