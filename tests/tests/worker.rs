//! The reference service's job worker against a real Redis (issue 13): an idle queue logs
//! nothing, and an outage (`CLIENT PAUSE`) logs one warning when it starts and one line when it
//! ends. A binary of its own: pausing Redis must not disturb other tests.
#![cfg(feature = "e2e")]

use std::time::Duration;

use obs_tests::service::Service;

fn redis_url() -> String {
    std::env::var("OBS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/3".to_owned())
}

#[test]
fn an_idle_worker_is_quiet_and_an_outage_is_logged_once_each_way() {
    let directory = std::env::temp_dir().join(format!("obs-worker-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("worker.sqlite").display());
    let redis = redis_url();
    let service = Service::start(
        env!("CARGO_BIN_EXE_mentorsmind-under-test"),
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("REDIS_URL", redis.as_str()),
            ("OTEL_EXPORTER", "none"),
            ("LOG_LEVEL", "info"),
        ],
    );
    // Several of the worker's 1 s waits on an empty queue: none is an error.
    std::thread::sleep(Duration::from_millis(3_500));
    assert!(
        service.lines_with("Redis queue").is_empty(),
        "an idle queue logs nothing: {:?}",
        service.lines_with("Redis")
    );

    // An outage longer than the worker's response timeout (3 s), then recovery.
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut admin = client.get_connection().unwrap();
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(6_000).arg("ALL").query(&mut admin).unwrap();
    std::thread::sleep(Duration::from_millis(10_000));
    let down = service.lines_with("the Redis queue is unavailable");
    let up = service.lines_with("the Redis queue is available again");
    assert_eq!(down.len(), 1, "one warning when the outage starts: {down:?}");
    assert_eq!(down[0]["level"], "warn");
    assert_eq!(up.len(), 1, "one line when it ends: {up:?}");
    let status = service.terminate(Duration::from_secs(15));
    assert!(status.success(), "graceful shutdown: {status}");
    let _ = std::fs::remove_dir_all(&directory);
}
