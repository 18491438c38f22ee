//! Instrumented functions the runtime tests share: a query that fails for every tenth user, a
//! job that bounces for every seventh, and a traced checkout around the query.

use std::time::Duration;

/// `SELECT users`: fails for multiples of 10.
#[obs_runtime::instrument_db(table = "users")]
pub async fn find_user(id: u64) -> Result<u64, String> {
    if id.is_multiple_of(10) { Err(format!("user {id} not found")) } else { Ok(id) }
}

/// `SELECT users` that takes `id % 5` milliseconds: a spread of durations for the buckets.
#[obs_runtime::instrument_db(table = "users")]
pub async fn find_user_slowly(id: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(id % 5)).await;
    if id.is_multiple_of(10) { Err(format!("user {id} not found")) } else { Ok(id) }
}

/// A `sessionReminder` job that fails for multiples of 7.
#[obs_runtime::queue_job(queue = "sessionReminder")]
pub async fn remind(id: u64) -> Result<(), String> {
    if id.is_multiple_of(7) { Err("bounced".into()) } else { Ok(()) }
}

/// A `checkout` span with the query as its child.
#[obs_runtime::traced(name = "checkout")]
pub async fn checkout(id: u64) -> Result<u64, String> {
    find_user(id).await
}
