//! Regression: a body that is one expression (`{ if … { … } else { … } }`) was nested inside
//! the expansion's block as `{ hint { body } }`, and rustc's `unused_braces` blamed the user's
//! braces ("unnecessary braces around block return value"), found by scripts/compile-time.
#![deny(warnings)]

#[obs_runtime::instrument_db(table = "orders", operation = "SELECT")]
pub fn find(id: u64) -> Result<u64, String> { if id == 0 { Err("no row".into()) } else { Ok(id) } }

#[obs_runtime::instrument_db(table = "orders", operation = "SELECT")]
pub async fn load(id: u64) -> Result<u64, String> { if id == 0 { Err("no row".into()) } else { Ok(id) } }

#[obs_runtime::traced]
pub fn pick(id: u64) -> u64 { match id { 0 => 1, n => n } }

#[obs_runtime::traced]
pub async fn tuple(id: u64) -> (u64, u64) { (id, id) }

fn main() {
    let _ = find(1);
    let _ = load(1);
    let _ = pick(2);
    let _ = tuple(3);
}
