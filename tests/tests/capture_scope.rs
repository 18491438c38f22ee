//! Regression tests (issue 9): `testing::capture` saw only what the macros recorded. It now sees
//! a user's own `metrics::counter!`/`gauge!`/`histogram!` calls in its scope, and work spawned
//! from inside that carries the current span; a bare spawn, or one from outside, is not seen.
//! No recorder is installed in this binary (see `recorder.rs` for obs's recorder).
#![cfg(feature = "db")]

use obs_runtime::instrument_db;
use obs_runtime::testing::{capture, capture_async};
use tracing::Instrument;

#[instrument_db(table = "spawned")]
async fn find_spawned() -> Result<(), std::io::Error> {
    Ok(())
}

/// A call site of its own for the task spawned bare: tracing registers a call site with the
/// dispatchers alive at its first use, and a first use racing on a thread without the
/// capture's dispatcher can leave the span disabled for the other thread too.
#[instrument_db(table = "bare")]
async fn find_bare() -> Result<(), std::io::Error> {
    Ok(())
}

#[test]
fn regression_capture_sees_plain_metrics_calls() {
    let ((), captured) = capture(|| {
        metrics::counter!("workflows_created_total", "kind" => "manual").increment(2);
        metrics::gauge!("workflows_total").set(7.0);
        metrics::histogram!("workflow_nodes").record(12.0);
        metrics::histogram!("workflow_nodes").record(30.0);
    });
    assert_eq!(captured.counter("workflows_created_total", &[("kind", "manual")]), 2);
    assert_eq!(captured.gauge("workflows_total", &[]), Some(7.0));
    let nodes = captured.histogram("workflow_nodes", &[]).unwrap();
    assert_eq!((nodes.count, nodes.sum), (2, 42.0));
    // Outside any capture the calls go nowhere, and the next capture starts from nothing.
    metrics::counter!("workflows_created_total", "kind" => "manual").increment(5);
    let ((), captured) = capture(|| {});
    assert!(captured.metrics.is_empty(), "{:?}", captured.metrics);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_capture_follows_tasks_spawned_inside_the_current_span() {
    let ((), captured) = capture_async(async {
        let span = tracing::info_span!("request");
        async {
            let followed = tokio::spawn(
                async {
                    find_spawned().await.unwrap();
                    metrics::counter!("spawned_total").increment(1);
                }
                .in_current_span(),
            );
            let bare = tokio::spawn(async { find_bare().await.unwrap() });
            followed.await.unwrap();
            bare.await.unwrap();
        }
        .instrument(span)
        .await;
    })
    .await;
    assert_eq!(captured.counter("db_queries_total", &[("table", "spawned")]), 1, "the task in the span");
    assert_eq!(captured.counter("db_queries_total", &[("table", "bare")]), 0, "not the task spawned bare");
    assert_eq!(
        captured.spans_named("SELECT spawned").count(),
        1,
        "{:?}",
        captured.spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert_eq!(captured.counter("spawned_total", &[]), 1);

    // Spawned from outside, while a capture runs: not part of it.
    let outside = tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        find_spawned().await.unwrap();
    });
    let ((), captured) = capture_async(async { tokio::time::sleep(std::time::Duration::from_millis(50)).await }).await;
    outside.await.unwrap();
    assert_eq!(captured.counter("db_queries_total", &[]), 0, "{:?}", captured.metrics);
}
