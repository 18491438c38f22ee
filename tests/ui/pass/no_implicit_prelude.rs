// Expansions name only absolute paths, so they compile without the prelude.
#![no_implicit_prelude]

#[::obs_runtime::instrument_db(table = "users", fields(user.id = id))]
fn find_user(id: u64) -> ::std::result::Result<u64, ::std::io::Error> {
    ::std::result::Result::Ok(id)
}

#[::obs_runtime::instrument_redis(command = "get")]
async fn cache_get() -> ::std::option::Option<u8> {
    ::std::option::Option::None
}

#[::obs_runtime::queue_job(queue = "mail", id = 7)]
async fn send_mail() {}

#[::obs_runtime::stellar_call(operation = "loadAccount")]
fn load_account() -> u8 {
    1
}

#[::obs_runtime::traced]
fn plain() {}

#[::obs_runtime::ws_connection]
async fn socket() {}

fn main() {
    let _ = find_user(1);
    let _ = cache_get();
    let _ = send_mail();
    let _ = load_account();
    plain();
    let _ = socket();
}
