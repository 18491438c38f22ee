// All mistakes of one attribute are reported together, and the function is still emitted: the
// call in `main` resolves (no "cannot find function" error).
#[obs_runtime::instrument_db(tabel = "users", operation = 7, name = "", fields(otel.kind = "server"))]
fn frobnicate(id: u32) -> u32 {
    id
}

fn main() {
    let _: u32 = frobnicate(1);
}
