//! The smallest useful obs setup: install the recorder, annotate functions, read the metrics.
//!
//! `cargo run -p obs-examples --example quickstart`, and
//! `cargo expand -p obs-examples --example quickstart` to read what the attributes generate.

use std::time::Duration;

use obs_runtime::{instrument_db, instrument_redis, queue_job};

#[derive(Debug)]
struct NotFound(u64);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "user {} not found", self.0)
    }
}

impl std::error::Error for NotFound {}

/// `operation = "SELECT"` is inferred from the `find_` prefix.
#[instrument_db(table = "users")]
async fn find_user(id: u64) -> Result<String, NotFound> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    if id == 5 { Err(NotFound(id)) } else { Ok(format!("user-{id}")) }
}

#[instrument_redis(command = "get")]
async fn cached_name(id: u64) -> Option<String> {
    id.is_multiple_of(2).then(|| format!("user-{id}"))
}

#[queue_job(queue = "sessionReminder")]
async fn send_reminder(user: String) -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if user.ends_with('3') { Err(format!("mail to {user} bounced")) } else { Ok(()) }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let metrics = obs_runtime::MetricsRecorder::builder().global_label("app", "quickstart").install()?;

    for id in 1..=8 {
        let name = match cached_name(id).await {
            Some(name) => name,
            None => match find_user(id).await {
                Ok(name) => name,
                Err(e) => {
                    eprintln!("lookup failed: {e}");
                    continue;
                }
            },
        };
        let _ = send_reminder(name).await;
    }
    // A query abandoned by its caller is counted as `cancelled`, with the time it ran.
    let _ = tokio::time::timeout(Duration::from_micros(100), find_user(99)).await;

    println!("{}", metrics.render());
    Ok(())
}
