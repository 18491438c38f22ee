//! Outcome-aware sampling (`OTEL_TRACES_SAMPLER=obs_outcome`): at ratio 0.1, every failed,
//! cancelled or slow trace (past the configured threshold or its objective's) reaches the
//! collector whole, a binomial share of the rest does, and
//! no trace arrives in part.
#![cfg(all(feature = "db", feature = "queue"))]

use std::collections::BTreeMap;
use std::time::Duration;

use obs_runtime::propagation::TraceContext;
use obs_runtime::{Objective, instrument_db, queue_job, traced};
use obs_tests::child::{is_child, run_in_child};
use obs_tests::otlp_receiver::{OtlpReceiver, ReceivedSpan};

const REQUESTS: u64 = 1_000;
const SLOW: u64 = 5;
const CANCELLED: u64 = 10;
const OVER_OBJECTIVE: u64 = 4;
const SAMPLED_PARENTS: u64 = 20;

/// Deletes should take under 25 ms; the 30 ms ones below miss it (and stay under the
/// configured 50 ms threshold, so only the objective can keep them).
const DELETES: Objective = Objective::new("deletes", 99.0).latency(Duration::from_millis(25), 95.0);

#[instrument_db(table = "orders", operation = "SELECT")]
async fn lookup(id: u64) -> Result<u64, String> {
    // One in twenty fails: 5 %.
    if id.is_multiple_of(20) { Err(format!("order {id} not found")) } else { Ok(id) }
}

#[instrument_db(table = "orders", operation = "UPDATE")]
async fn stuck(id: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_secs(5)).await;
    Ok(id)
}

#[instrument_db(table = "orders", operation = "DELETE", objective = DELETES)]
async fn delete(id: u64) -> Result<u64, String> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    Ok(id)
}

#[traced(name = "over_objective_request")]
async fn over_objective_request(id: u64) -> Result<u64, String> {
    let order = delete(id).await?;
    Ok(render(order).await)
}

/// A job whose producer sampled its trace: kept whatever the ratio says.
#[queue_job(queue = "exports", parent = parent)]
async fn export_job(parent: TraceContext) -> Result<(), String> {
    render(1).await;
    Ok(())
}

#[traced(name = "render")]
async fn render(id: u64) -> u64 {
    id * 2
}

#[traced(name = "request")]
async fn request(id: u64) -> Result<u64, String> {
    let order = lookup(id).await?;
    Ok(render(order).await)
}

#[traced(name = "slow_request")]
async fn slow_request(id: u64) -> Result<u64, String> {
    let order = lookup(id * 20 + 1).await?;
    tokio::time::sleep(Duration::from_millis(80)).await;
    Ok(render(order).await)
}

#[traced(name = "cancelled_request")]
async fn cancelled_request(id: u64) -> u64 {
    // The update is dropped half-way: its span says `obs.cancelled`.
    let _ = tokio::time::timeout(Duration::from_millis(1), stuck(id)).await;
    render(id).await
}

#[test]
fn failed_cancelled_and_slow_traces_are_kept_whole_and_a_tenth_of_the_rest() {
    let receiver = (!is_child()).then(OtlpReceiver::start);
    let endpoint = receiver.as_ref().map(OtlpReceiver::grpc_endpoint).unwrap_or_default();
    let env = [
        ("PROMETHEUS_ENABLED", "false"),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_TRACES_SAMPLER", "obs_outcome"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ("OBS_TAIL_LATENCY_THRESHOLD", "50ms"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("LOG_LEVEL", "off"),
    ];
    let _ = run_in_child("", &env, || {
        let runtime = obs_tests::runtime();
        runtime.block_on(async {
            let guard = obs_runtime::init().unwrap();
            for id in 1..=REQUESTS {
                let _ = request(id).await;
            }
            for id in 1..=SLOW {
                let _ = slow_request(id).await;
            }
            for id in 1..=CANCELLED {
                cancelled_request(id).await;
            }
            for id in 1..=OVER_OBJECTIVE {
                let _ = over_objective_request(id).await;
            }
            for id in 1..=SAMPLED_PARENTS {
                // Low bits near the top: the ratio alone would drop every one of these traces.
                let traceparent = format!("00-{:016x}{:016x}-{:016x}-01", 0x1234 + id, u64::MAX - id, 0x77 + id);
                let _ = export_job(TraceContext { traceparent, tracestate: String::new(), enqueued_at_ms: None }).await;
            }
            drop(guard);
        });
    });
    let Some(receiver) = receiver else { return };
    let spans = receiver.wait_for(Duration::from_secs(2), |_| false);
    let mut traces: BTreeMap<&str, Vec<&ReceivedSpan>> = BTreeMap::new();
    for span in &spans {
        traces.entry(span.trace_id.as_str()).or_default().push(span);
    }
    let mut kept: BTreeMap<&str, (usize, usize)> = BTreeMap::new(); // root name → (failed, ok)
    for (trace, spans) in &traces {
        // The local root: the span whose parent is not in this trace here (none, or remote).
        let local = |s: &&&ReceivedSpan| spans.iter().any(|p| p.span_id == s.parent_span_id);
        let roots: Vec<&&ReceivedSpan> = spans.iter().filter(|s| !local(s)).collect();
        assert_eq!(roots.len(), 1, "trace {trace} has one local root: {spans:#?}");
        let root = roots[0];
        let children: Vec<&&ReceivedSpan> = spans.iter().filter(|s| local(s)).collect();
        // Whole: the root and both children, each a child of the root.
        let expected_children = match root.name.as_str() {
            "request" if spans.iter().any(|s| s.status == "error") => 1,
            "queue.exports" => 1,
            _ => 2,
        };
        assert_eq!(children.len(), expected_children, "trace {trace} arrived whole: {spans:#?}");
        assert!(children.iter().all(|c| c.parent_span_id == root.span_id), "parent links of {trace}: {spans:#?}");
        let failed = spans.iter().any(|s| s.status == "error");
        let entry = kept.entry(root.name.as_str()).or_default();
        if failed {
            entry.0 += 1
        } else {
            entry.1 += 1
        }
        if root.name == "over_objective_request" {
            let delete = spans.iter().find(|s| s.name == "DELETE orders").expect("the slow delete");
            assert_eq!(delete.attr("obs.slow"), Some("true"), "{delete:?}");
        }
        if root.name == "cancelled_request" {
            let update = spans.iter().find(|s| s.name == "UPDATE orders").expect("the cancelled update");
            assert_eq!(update.attr("obs.cancelled"), Some("true"), "{update:?}");
        }
    }
    let (failed, ok) = kept.get("request").copied().unwrap_or_default();
    assert_eq!(failed as u64, REQUESTS / 20, "every failed trace is kept");
    // 950 successes at 0.1: mean 95, standard deviation 9.2; five of them either side.
    let succeeded = REQUESTS - REQUESTS / 20;
    assert!((49..=141).contains(&ok), "{ok} of {succeeded} successful traces kept at ratio 0.1");
    assert_eq!(kept.get("slow_request").map(|k| k.0 + k.1), Some(SLOW as usize), "every slow trace is kept");
    assert_eq!(kept.get("cancelled_request").map(|k| k.0 + k.1), Some(CANCELLED as usize), "every cancelled trace");
    let sampled = kept.get("queue.exports").map(|k| k.0 + k.1);
    assert_eq!(sampled, Some(SAMPLED_PARENTS as usize), "every trace whose incoming parent was sampled");
    let over = kept.get("over_objective_request").map(|k| k.0 + k.1);
    assert_eq!(over, Some(OVER_OBJECTIVE as usize), "every trace that missed its objective's latency");
    println!(
        "kept by outcome: failed {failed}/{}, ok {ok}/{succeeded}, slow {SLOW}/{SLOW}, cancelled {CANCELLED}/{CANCELLED}",
        REQUESTS / 20
    );
}
