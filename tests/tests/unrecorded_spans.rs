//! Obs spans that record nothing (`OTEL_EXPORTER=none`, or a trace the sampler dropped) are
//! ids kept by obs instead of `tracing-opentelemetry` span data (issue 10). They must still
//! nest both ways with the user's own spans, name their trace in log lines and propagation,
//! take a job's parent, and leave every sampled span exactly as exported before.
#![cfg(all(feature = "db", feature = "queue"))]

use obs_runtime::propagation::TraceContext;
use obs_runtime::queue_job;
use obs_runtime::testing::capture_async;
use obs_tests::CapturedSpans as _;
use obs_tests::child::run_in_child;
use obs_tests::collected_spans::{self, exported};
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value;

#[obs_runtime::instrument_db(table = "users")]
fn find_user(id: u64) -> Result<u64, String> {
    tracing::info!("in the lookup");
    // The user's own span inside the obs span, and an obs span inside that.
    tracing::info_span!("user inside obs").in_scope(|| {
        tracing::info!("in the user span");
        count_rows().unwrap();
    });
    Ok(id)
}

#[obs_runtime::instrument_db(table = "rows")]
fn count_rows() -> Result<u64, String> {
    tracing::info!("in the nested lookup");
    Ok(1)
}

/// A user span made an explicit child of the obs span, entered after the call returned.
#[obs_runtime::instrument_db(table = "orders")]
fn load_order() -> Result<tracing::Span, String> {
    tracing::info!("in the order");
    Ok(tracing::info_span!(parent: &tracing::Span::current(), "explicit child"))
}

/// `(trace_id, span_id)` of the line with `message`.
fn ids<'a>(lines: &'a [Value], message: &str) -> (&'a str, &'a str) {
    let line = lines.iter().find(|l| l["message"] == message).unwrap_or_else(|| panic!("no line {message:?}"));
    let id = |key: &str| line[key].as_str().unwrap_or_else(|| panic!("{key} of {line}"));
    (id("trace_id"), id("span_id"))
}

#[test]
fn with_export_off_obs_and_user_spans_nest_both_ways_in_one_trace() {
    let env = [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "json")];
    let Some(stdout) = run_in_child("", &env, || {
        let guard = obs_runtime::init().unwrap();
        tracing::info_span!("request").in_scope(|| {
            tracing::info!("in the request");
            find_user(7).unwrap();
            let child = load_order().unwrap();
            child.in_scope(|| tracing::info!("in the explicit child"));
        });
        drop(guard);
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&stdout);
    let request = ids(&lines, "in the request");
    let names = ["in the lookup", "in the user span", "in the nested lookup", "in the order", "in the explicit child"];
    let mut span_ids = vec![request.1];
    for message in names {
        let (trace, span) = ids(&lines, message);
        assert_eq!(trace, request.0, "{message:?} is in the request's trace: {stdout}");
        span_ids.push(span);
    }
    let distinct: std::collections::BTreeSet<_> = span_ids.iter().collect();
    assert_eq!(distinct.len(), span_ids.len(), "every span has an id of its own: {span_ids:?}");
    let line = |m: &str| lines.iter().find(|l| l["message"] == m).unwrap();
    assert_eq!(line("in the nested lookup")["span"], "SELECT rows");
    assert_eq!(line("in the user span")["span"], "user inside obs");
}

#[obs_runtime::instrument_db(table = "users")]
fn get_carried() -> Result<(TraceContext, String), String> {
    let here = TraceContext::current();
    let mut headers = http::HeaderMap::new();
    obs_runtime::propagation::inject(&mut headers);
    let header = headers.get("traceparent").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    tracing::info!(traceparent = %here.traceparent, "carrying");
    Ok((here, header))
}

#[test]
fn with_export_off_propagation_carries_the_obs_span_and_attach_moves_it() {
    let env = [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "json")];
    let Some(stdout) = run_in_child("", &env, || {
        let guard = obs_runtime::init().unwrap();
        let (here, header) = get_carried().unwrap();
        assert_eq!(here.traceparent, header, "TraceContext and inject agree");
        get_moved().unwrap();
        drop(guard);
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&stdout);
    let (trace, span) = ids(&lines, "carrying");
    let line = lines.iter().find(|l| l["message"] == "carrying").unwrap();
    assert_eq!(line["fields"]["traceparent"], format!("00-{trace}-{span}-01"), "the call's own span, sampled");
    let (trace, _) = ids(&lines, "moved");
    assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736", "attach moved the running obs span: {stdout}");
}

#[obs_runtime::instrument_db(table = "users")]
fn get_moved() -> Result<(), String> {
    let parent = TraceContext {
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        tracestate: String::new(),
        enqueued_at_ms: None,
    };
    parent.attach(&tracing::Span::current());
    tracing::info!("moved");
    Ok(())
}

struct Job {
    trace: TraceContext,
}

#[queue_job(queue = "reports", parent = job.trace)]
async fn build_report(job: &Job) -> Result<TraceContext, String> {
    tracing::info_span!("user step").in_scope(|| Ok(TraceContext::current()))
}

#[tokio::test]
async fn a_job_under_an_unsampled_parent_is_dropped_in_the_parents_trace() {
    let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    let job =
        Job { trace: TraceContext { traceparent: unsampled.into(), tracestate: "k=v".into(), enqueued_at_ms: None } };
    let (carried, captured) = capture_async(build_report(&job)).await;
    let carried = carried.unwrap();
    let fields: Vec<&str> = carried.traceparent.split('-').collect();
    assert_eq!(fields[1], "4bf92f3577b34da6a3ce929d0e0e4736", "the parent's trace: {carried:?}");
    assert_ne!(fields[2], "00f067aa0ba902b7", "a span of its own");
    assert_eq!(fields[3], "00", "not sampled, as the parent decided");
    assert_eq!(carried.tracestate, "k=v", "the parent's trace state goes on");
    assert!(captured.spans.is_empty(), "nothing exported: {:?}", captured.spans);
    let labels = [("queue_name", "reports"), ("job_name", "build_report")];
    obs_tests::assert_counted(&captured, "queue_jobs_total", "queue_job_duration_seconds", &labels, "completed");

    let sampled = Job {
        trace: TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: String::new(),
            enqueued_at_ms: None,
        },
    };
    let (_, captured) = capture_async(build_report(&sampled)).await;
    let job_span = captured.only_span("queue.reports");
    assert_eq!(job_span.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(job_span.parent_span_id.as_deref(), Some("00f067aa0ba902b7"), "a sampled parent: exported under it");
    let user = captured.only_span("user step");
    assert_eq!(user.parent_span_id.as_deref(), Some(job_span.span_id.as_str()));
}

#[test]
fn under_a_ratio_only_the_sampled_requests_calls_are_exported_and_whole() {
    let env = [
        ("PROMETHEUS_ENABLED", "false"),
        ("LOG_LEVEL", "off"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
    ];
    let Some(stdout) = run_in_child("", &env, || {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let guard = collected_spans::install();
        let (mut sampled, mut dropped) = (Vec::new(), 0);
        for _ in 0..40 {
            let request = tracing::info_span!("request");
            let context = request.context().span().span_context().clone();
            request.in_scope(|| count_rows().unwrap());
            match context.is_sampled() {
                true => sampled.push(context.trace_id()),
                false => dropped += 1,
            }
        }
        guard.tracer_provider().unwrap().force_flush().unwrap();
        let exported = exported();
        let calls: Vec<&SpanData> = exported.iter().filter(|s| s.name == "SELECT rows").collect();
        let requests: Vec<&SpanData> = exported.iter().filter(|s| s.name == "request").collect();
        assert!(!sampled.is_empty() && dropped > 0, "both decisions: {} sampled, {dropped} dropped", sampled.len());
        assert_eq!(calls.len(), sampled.len(), "a call per sampled request, none from a dropped one");
        for call in calls {
            let request = requests.iter().find(|r| r.span_context.trace_id() == call.span_context.trace_id());
            let request = request.expect("the call's request was exported");
            assert_eq!(call.parent_span_id, request.span_context.span_id(), "the call is the request's child");
            let attribute =
                |key: &str| call.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string());
            assert_eq!(attribute("db.collection.name").as_deref(), Some("rows"), "{:?}", call.attributes);
            assert_eq!(attribute("db.operation.name").as_deref(), Some("SELECT"));
        }
        println!("sampled {} of 40", sampled.len());
        drop(guard);
    }) else {
        return;
    };
    assert!(stdout.contains("sampled "), "{stdout}");
}

#[obs_runtime::instrument_db(table = "users")]
async fn find_user_async() -> Result<(), String> {
    tracing::info!("before the move");
    // Parked once, so the second poll can happen on another thread.
    let mut parked = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut parked, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
    tracing::info!("after the move");
    Ok(())
}

#[test]
fn with_export_off_a_call_polled_on_another_thread_keeps_its_span() {
    let env = [("PROMETHEUS_ENABLED", "false"), ("OTEL_EXPORTER", "none"), ("LOG_FORMAT", "json")];
    let Some(stdout) = run_in_child("", &env, || {
        let guard = obs_runtime::init().unwrap();
        let mut call = Box::pin(find_user_async());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending(), "parked after the first line");
        // The span was opened and first entered here; the rest of the call runs elsewhere.
        let done = std::thread::spawn(move || {
            call.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        });
        assert!(done.join().unwrap().is_ready());
        drop(guard);
    }) else {
        return;
    };
    let lines = obs_tests::json_lines(&stdout);
    let (before, after) = (ids(&lines, "before the move"), ids(&lines, "after the move"));
    assert_eq!(before, after, "one span across threads: {stdout}");
    let line = lines.iter().find(|l| l["message"] == "after the move").unwrap();
    assert_eq!(line["span"], "SELECT users");
}
