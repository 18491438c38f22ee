//! Functions instrumented through a renamed dependency.

/// A query instrumented with `crate = "my_obs"`.
#[my_obs::instrument_db(table = "renamed", crate = "my_obs")]
pub fn find_renamed(id: u32) -> Result<u32, std::fmt::Error> {
    Ok(id)
}

/// An internal span through the renamed path.
#[my_obs::traced(crate = "my_obs")]
pub async fn traced_renamed() -> u8 {
    3
}
