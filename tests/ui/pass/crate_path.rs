// `crate = "…"` names the runtime when it is reachable under another path (a renamed
// dependency or a re-export); the real renamed dependency is checked by `tests/renamed`.
mod reexport {
    pub use obs_runtime as obs;
}

#[obs_runtime::instrument_db(table = "users", crate = "crate::reexport::obs")]
fn find_user() -> Result<(), String> {
    Ok(())
}

#[obs_runtime::ws_connection(crate = "crate::reexport::obs")]
fn socket() {}

fn main() {
    let _ = find_user();
    socket();
}

#[derive(Debug, obs_runtime::BoundedKind)]
#[obs(crate = "crate::reexport::obs")]
enum Failure {
    Timeout,
}

const _: fn(&Failure) -> &'static str = <Failure as reexport::obs::BoundedKind>::kind;
