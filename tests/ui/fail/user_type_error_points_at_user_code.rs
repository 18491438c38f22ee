// The body keeps its spans: a type error inside it points at the user's code.
#[obs_runtime::instrument_db(table = "users")]
fn find_user(id: u32) -> Result<String, std::io::Error> {
    Ok(id)
}

fn main() {
    let _ = find_user(1);
}
