//! The reference service's saturation signals end to end, on the real PostgreSQL and Redis
//! under its demo traffic: its pool, its Redis queue's depth and oldest job, a retry and a job
//! given up on, the waits from enqueue, and what build is running.
#![cfg(feature = "e2e")]

use std::time::{Duration, Instant};

use obs_tests::horizon_stub::HorizonStub;
use obs_tests::service::Service;

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");

fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(prefix).and_then(|rest| rest.rsplit(' ').next()?.parse().ok()))
}

#[test]
fn the_reference_service_reports_its_pool_queue_retries_give_ups_and_build() {
    let horizon = HorizonStub::start();
    let redis = format!("redis://127.0.0.1:6379/{}", 1 + (std::process::id() + 7) % 15);
    let service = Service::start_with_args(
        EXE,
        &["--demo-traffic"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
            ("REDIS_URL", redis.as_str()),
            ("STELLAR_HORIZON_URL", horizon.url.as_str()),
            ("OTEL_EXPORTER", "none"),
        ],
    );
    let metrics = service.metrics.strip_prefix("http://").unwrap().to_owned();
    let (addr, path) = metrics.split_once('/').unwrap();
    let scrape = || obs_tests::raw_get(addr.parse().unwrap(), &format!("/{path}"), "").2;
    let job = "queue_name=\"sessionReminder\",job_name=\"sendSessionReminder\"";
    let retries = format!("queue_job_retries_total{{app=\"mentorsmind\",{job}}}");
    let given_up = format!("queue_jobs_dead_lettered_total{{app=\"mentorsmind\",{job}}}");
    // The demo's 5th round enqueues a reminder that fails once, its 7th one that always fails.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text = scrape();
    while value(&text, &retries).unwrap_or(0.0) < 3.0 || value(&text, &given_up).unwrap_or(0.0) < 1.0 {
        assert!(Instant::now() < deadline, "no retry and give-up within a minute:\n{text}");
        std::thread::sleep(Duration::from_millis(250));
        text = scrape();
    }
    let queue = "{app=\"mentorsmind\",queue_name=\"sessionReminder\"}";
    assert!(value(&text, &format!("queue_depth{queue}")).is_some(), "{text}");
    assert!(value(&text, &format!("queue_oldest_job_age_seconds{queue}")).is_some(), "{text}");
    let waits = value(&text, &format!("queue_job_wait_seconds_count{{app=\"mentorsmind\",{job}}}")).unwrap();
    assert!(waits >= 4.0, "every run's wait is recorded: {waits}");
    for state in ["idle", "used"] {
        let series = format!("db_client_connections{{app=\"mentorsmind\",pool=\"main\",state=\"{state}\"}}");
        assert!(value(&text, &series).is_some(), "{series}:\n{text}");
    }
    assert_eq!(value(&text, "db_client_connections_max{app=\"mentorsmind\",pool=\"main\"}"), Some(8.0));
    assert!(value(&text, "db_client_connection_wait_seconds_count{app=\"mentorsmind\",pool=\"main\"}").unwrap() > 0.0);
    let build = text.lines().find(|l| l.starts_with("build_info{")).expect("build_info");
    assert!(build.contains("version=\"0.1.0\"") && !build.contains("revision=\"unknown\""), "{build}");
    let shown: Vec<&str> = text
        .lines()
        .filter(|l| {
            ["db_client_", "queue_depth", "queue_oldest", "queue_job_retries", "queue_jobs_dead", "build_info"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    println!("{}", shown.join("\n"));
    service.terminate(Duration::from_secs(15));
}
