//! Queues: depth and the oldest job's age read through the app's reader at every scrape, a
//! reader that fails, panics or hangs (the scrape answers within its deadline, the gauges are
//! left out of it and a counter says why), names a registration refuses; and what
//! `#[queue_job]` records of a job run: its wait since enqueue, retries and give-ups.
#![cfg(feature = "queue")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use obs_runtime::propagation::TraceContext;
use obs_runtime::queue::{ObservedQueue, QueueReading};
use obs_tests::child::run_in_child;

const ENV: &[(&str, &str)] = &[
    ("PROMETHEUS_PORT", "0"),
    ("PROMETHEUS_HOST", "127.0.0.1"),
    ("OTEL_EXPORTER", "none"),
    ("OTEL_SERVICE_NAME", "queues"),
];

#[test]
fn a_queue_is_read_at_every_scrape_and_a_failing_reader_never_holds_a_scrape() {
    let output = run_in_child("readers", ENV, || {
        let runtime = obs_tests::runtime();
        runtime.block_on(async {
            let guard = obs_runtime::init().unwrap();
            let depth = Arc::new(AtomicU64::new(5));
            let read = depth.clone();
            ObservedQueue::new("emails", move || {
                let depth = read.load(Ordering::Relaxed);
                async move {
                    let oldest = SystemTime::now() - Duration::from_secs(60);
                    Ok::<_, std::io::Error>(QueueReading { depth, oldest_enqueued_at: Some(oldest) })
                }
            })
            .register()
            .unwrap();
            ObservedQueue::new("broken", || async { Err::<QueueReading, _>("the broker refused".to_owned()) })
                .register()
                .unwrap();
            ObservedQueue::new("panicking", || async {
                panic!("a reader that panics");
                #[allow(unreachable_code)]
                Ok::<_, String>(QueueReading { depth: 1, oldest_enqueued_at: None })
            })
            .register()
            .unwrap();
            ObservedQueue::new("hanging", || async {
                std::future::pending::<()>().await;
                Ok::<_, String>(QueueReading { depth: 1, oldest_enqueued_at: None })
            })
            .register()
            .unwrap();
            // A scrape waits for the readers one second at most: timed here against what a
            // scrape without readers takes on this machine now.
            let started = Instant::now();
            let text = obs_tests::scrape(&guard);
            let took = started.elapsed();
            assert!(took < Duration::from_secs(3), "a hung reader held the scrape for {took:?}");
            let series = |name: &str, queue: &str| format!("{name}{{app=\"queues\",queue_name=\"{queue}\"}}");
            assert_eq!(obs_tests::sample_value(&text, &series("queue_depth", "emails")), Some(5.0), "{text}");
            let age = obs_tests::sample_value(&text, &series("queue_oldest_job_age_seconds", "emails")).unwrap();
            assert!((59.0..120.0).contains(&age), "{age}");
            for (queue, reason) in [("broken", "error"), ("panicking", "panic"), ("hanging", "timeout")] {
                assert_eq!(
                    obs_tests::sample_value(&text, &series("queue_depth", queue)),
                    None,
                    "{queue} is left out:\n{text}"
                );
                let failures = format!(
                    "obs_queue_read_failures_total{{app=\"queues\",queue_name=\"{queue}\",reason=\"{reason}\"}}"
                );
                assert_eq!(obs_tests::sample_value(&text, &failures), Some(1.0), "{failures}:\n{text}");
            }
            // Read again at the next scrape: the gauge follows the queue, not the first reading.
            depth.store(2, Ordering::Relaxed);
            assert_eq!(
                obs_tests::sample_value(&obs_tests::scrape(&guard), &series("queue_depth", "emails")),
                Some(2.0)
            );
            println!("readers checked");
        });
    });
    if let Some(output) = output {
        assert!(output.contains("readers checked"), "{output}");
    }
}

#[test]
fn a_queue_name_taken_or_not_a_label_is_refused() {
    let reader = || async { Ok::<_, String>(QueueReading { depth: 0, oldest_enqueued_at: None }) };
    ObservedQueue::new("refused_twice", reader).register().unwrap();
    let error = ObservedQueue::new("refused_twice", reader).register().unwrap_err().to_string();
    assert!(error.contains("a name no other observed queue has"), "{error}");
    let error = ObservedQueue::new("two words", reader).register().unwrap_err().to_string();
    assert!(error.contains("\"two words\" is not valid: expected a queue name of ASCII letters"), "{error}");
}

#[derive(Clone)]
struct Job {
    trace: TraceContext,
    attempt: u32,
}

#[obs_runtime::queue_job(queue = "runs", job = "deliver", parent = job.trace, attempt = job.attempt, max_attempts = 3)]
async fn deliver(job: Job, fail: bool) -> Result<(), String> {
    if fail { Err("bounced".to_owned()) } else { Ok(()) }
}

#[obs_runtime::queue_job(queue = "runs", job = "zeroth", attempt = attempt)]
async fn zeroth(attempt: i64) {}

#[test]
fn a_job_run_records_its_wait_its_retries_and_its_give_up() {
    let output = run_in_child("runs", ENV, || {
        let runtime = obs_tests::runtime();
        runtime.block_on(async {
            let guard = obs_tests::collected_spans::install();
            let enqueued = TraceContext::current();
            let two_seconds_ago = enqueued.enqueued_at_ms.unwrap() - 2_000;
            let trace = TraceContext { enqueued_at_ms: Some(two_seconds_ago), ..enqueued };
            let job = |attempt| Job { trace: trace.clone(), attempt };
            deliver(job(1), true).await.unwrap_err();
            deliver(job(2), true).await.unwrap_err();
            deliver(job(3), true).await.unwrap_err(); // the last allowed attempt: given up
            deliver(job(3), false).await.unwrap(); // succeeded on it: not given up
            zeroth(0).await; // read as the first attempt: no retry
            let text = obs_tests::scrape(&guard);
            let series = |name: &str, job: &str| format!("{name}{{app=\"queues\",queue_name=\"runs\",job_name=\"{job}\"}}");
            assert_eq!(obs_tests::sample_value(&text, &series("queue_job_retries_total", "deliver")), Some(3.0), "{text}");
            assert_eq!(obs_tests::sample_value(&text, &series("queue_jobs_dead_lettered_total", "deliver")), Some(1.0), "{text}");
            assert_eq!(obs_tests::sample_value(&text, &series("queue_job_retries_total", "zeroth")), Some(0.0), "{text}");
            let bucket = |le: &str| {
                let name = format!("queue_job_wait_seconds_bucket{{app=\"queues\",queue_name=\"runs\",job_name=\"deliver\",le=\"{le}\"}}");
                obs_tests::sample_value(&text, &name)
            };
            // Four runs, each enqueued two seconds before it started.
            assert_eq!((bucket("1"), bucket("5"), bucket("+Inf")), (Some(0.0), Some(4.0), Some(4.0)), "{text}");
            drop(guard);
            // The runs' spans carry their attempt and their wait.
            let spans = obs_tests::collected_spans::exported();
            let runs: Vec<(String, f64)> = spans
                .iter()
                .filter(|s| s.name == "queue.runs")
                .filter_map(|s| {
                    let get = |key: &str| s.attributes.iter().find(|a| a.key.as_str() == key).map(|a| a.value.to_string());
                    Some((get("job.attempt")?, get("job.wait_seconds")?.parse().ok()?))
                })
                .collect();
            assert_eq!(runs.len(), 4, "{runs:?}");
            assert!(runs.iter().all(|(_, wait)| (2.0..5.0).contains(wait)), "{runs:?}");
            assert_eq!(runs.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["1", "2", "3", "3"]);
            println!("runs checked");
        });
    });
    if let Some(output) = output {
        assert!(output.contains("runs checked"), "{output}");
    }
}
