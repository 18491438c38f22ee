//! `#[queue_job]`: job metrics with their status on the duration, the consumer span, job ids,
//! and continuing the producer's trace from a `TraceContext` carried in the job.
#![cfg(feature = "queue")]

use obs_runtime::propagation::TraceContext;
use obs_runtime::testing::{SpanKind, capture, capture_async};
use obs_runtime::{queue_job, traced};
use obs_tests::{CapturedSpans, assert_counted};

struct Job {
    id: u64,
    trace: TraceContext,
    fail: bool,
}

#[queue_job(queue = "sessionReminder", id = job.id, parent = job.trace)]
async fn send_reminder(job: &Job) -> Result<(), String> {
    tokio::task::yield_now().await;
    if job.fail { Err(format!("job {} failed", job.id)) } else { Ok(()) }
}

#[queue_job(queue = "emails", job = "welcomeEmail")]
fn send_welcome() -> bool {
    true
}

#[tokio::test]
async fn completed_and_failed_jobs() {
    let labels = [("queue_name", "sessionReminder"), ("job_name", "send_reminder")];
    let job = Job { id: 17, trace: TraceContext::default(), fail: false };
    let (_, captured) = capture_async(send_reminder(&job)).await;
    assert_counted(&captured, "queue_jobs_total", "queue_job_duration_seconds", &labels, "completed");
    let mut with_status = labels.to_vec();
    with_status.push(("status", "completed"));
    assert_eq!(captured.histogram("queue_job_duration_seconds", &with_status).unwrap().count, 1);
    let span = captured.only_span("queue.sessionReminder");
    assert_eq!(span.kind, SpanKind::Consumer);
    assert_eq!(span.attr("messaging.destination.name"), Some("sessionReminder"));
    assert_eq!(span.attr("messaging.operation.type"), Some("process"));
    assert_eq!(span.attr("messaging.system"), Some("in_process"));
    assert_eq!(span.attr("job.id"), Some("17"));
    assert_eq!(span.parent_span_id, None, "an empty TraceContext starts a new trace");

    let job = Job { id: 18, trace: TraceContext::default(), fail: true };
    let (_, captured) = capture_async(send_reminder(&job)).await;
    assert_counted(&captured, "queue_jobs_total", "queue_job_duration_seconds", &labels, "failed");
}

#[test]
fn job_name_defaults_to_the_fn_and_can_be_set() {
    let (_, captured) = capture(send_welcome);
    assert_counted(
        &captured,
        "queue_jobs_total",
        "queue_job_duration_seconds",
        &[("queue_name", "emails"), ("job_name", "welcomeEmail")],
        "completed",
    );
}

#[traced(name = "enqueue")]
fn enqueue(id: u64) -> Job {
    Job { id, trace: TraceContext::current(), fail: false }
}

#[tokio::test]
async fn the_job_span_continues_the_producer_trace() {
    let ((producer, consumer), captured) = capture_async(async {
        let job = enqueue(5);
        assert!(!job.trace.traceparent.is_empty(), "the producer's context was taken");
        // Run the job on another thread, as a worker would.
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(capture_async(async move { send_reminder(&job).await }))
        });
        let ((result, consumer), _) = (handle.join().unwrap(), ());
        result.unwrap();
        ((), consumer)
    })
    .await;
    let () = producer;
    let producer_span = captured.only_span("enqueue");
    let job_span = consumer.only_span("queue.sessionReminder");
    assert_eq!(job_span.trace_id, producer_span.trace_id, "one trace across threads");
    assert_eq!(job_span.parent_span_id.as_deref(), Some(producer_span.span_id.as_str()));
}
