//! `testing::capture` isolation: parallel tests see only their own data, and a call site whose
//! handles were cached before the capture began still reports to it.
#![cfg(feature = "db")]

use std::sync::{Arc, Barrier};

use metrics_exporter_prometheus::PrometheusBuilder;
use obs_runtime::instrument_db;
use obs_runtime::testing::{capture, capture_async};

#[instrument_db(table = "shared")]
fn find_shared(n: u32) -> u32 {
    n
}

#[instrument_db(table = "shared_async")]
async fn find_shared_async(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n
}

#[test]
fn parallel_captures_see_only_their_own_calls_even_with_warm_handles() {
    // A real recorder, and a warm cache: the site's handles are resolved before any capture.
    let prometheus = PrometheusBuilder::new().install_recorder().expect("the only recorder of this binary");
    find_shared(0);
    assert!(prometheus.render().contains(r#"db_queries_total{operation="SELECT",table="shared",status="success"} 1"#));

    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let calls = 10 * (i as u64 + 1);
                let (_, captured) = capture(|| {
                    barrier.wait();
                    for n in 0..calls {
                        find_shared(n as u32);
                    }
                });
                (calls, captured)
            })
        })
        .collect();
    let mut total = 1;
    for handle in handles {
        let (calls, captured) = handle.join().unwrap();
        total += calls;
        assert_eq!(captured.counter("db_queries_total", &[("table", "shared")]), calls);
        assert_eq!(captured.histogram("db_query_duration_seconds", &[("table", "shared")]).unwrap().count, calls);
        assert_eq!(captured.spans.len() as u64, calls);
    }
    // The installed recorder saw every call too: capture observes, it does not divert.
    let line = format!(r#"db_queries_total{{operation="SELECT",table="shared",status="success"}} {total}"#);
    assert!(prometheus.render().contains(&line), "{line} in\n{}", prometheus.render());

    // Futures on a multi-thread runtime, interleaved on the same worker threads.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (1..=6_u64)
            .map(|calls| {
                tokio::spawn(capture_async(async move {
                    for n in 0..calls {
                        find_shared_async(n as u32).await;
                    }
                    calls
                }))
            })
            .collect();
        for task in tasks {
            let (calls, captured) = task.await.unwrap();
            assert_eq!(captured.counter("db_queries_total", &[("table", "shared_async")]), calls);
            assert_eq!(captured.spans_named("SELECT shared_async").count() as u64, calls);
        }
    });
}
