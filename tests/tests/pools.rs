//! Connection pools on the real PostgreSQL (127.0.0.1:5432, database `test`): what a saturated
//! pool, an acquire timeout and an idle pool show in the exposition, the wait on the span of a
//! query that waited, and the names a registration refuses.
#![cfg(feature = "db")]

use std::time::Duration;

use obs_runtime::db::observe_pool;
use obs_tests::child::run_in_child;
use sqlx::postgres::PgPoolOptions;

const DATABASE: &str = "postgres://postgres@127.0.0.1:5432/test";
const ENV: &[(&str, &str)] = &[
    ("PROMETHEUS_PORT", "0"),
    ("PROMETHEUS_HOST", "127.0.0.1"),
    ("OTEL_EXPORTER", "none"),
    ("OTEL_SERVICE_NAME", "pools"),
];

#[obs_runtime::instrument_db(table = "pg_sleep", operation = "SELECT")]
async fn slow_query(pool: &obs_runtime::db::ObservedPool<sqlx::Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_sleep(0.3)").execute(&mut *pool.acquire().await?).await.map(drop)
}

/// A pool of 2 and 6 concurrent queries of 0.3 s: 2 connections used, 4 requests waiting, and
/// waits that pg_sleep puts in known buckets: 2 immediate, 4 of at least one query's time.
#[test]
fn a_saturated_pool_shows_used_at_max_requests_waiting_and_the_waits() {
    let output = run_in_child("saturated", ENV, || {
        let runtime = obs_tests::runtime();
        runtime.block_on(async {
            let guard = obs_tests::collected_spans::install();
            let pool =
                PgPoolOptions::new().max_connections(2).connect(DATABASE).await.expect("PostgreSQL at 127.0.0.1");
            let pool = observe_pool(pool, "saturated").unwrap();
            let running: Vec<_> = (0..6)
                .map(|_| {
                    tokio::spawn({
                        let pool = pool.clone();
                        async move { slow_query(&pool).await }
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(150)).await;
            let during = obs_tests::scrape(&guard);
            for task in running {
                task.await.unwrap().unwrap();
            }
            let after = obs_tests::scrape(&guard);
            let series = |name: &str, labels: &str| format!("{name}{{app=\"pools\",pool=\"saturated\"{labels}}}");
            let used = obs_tests::sample_value(&during, &series("db_client_connections", ",state=\"used\""));
            let pending = obs_tests::sample_value(&during, &series("db_client_connection_pending_requests", ""));
            assert_eq!(used, Some(2.0), "{during}");
            assert_eq!(pending, Some(4.0), "{during}");
            assert_eq!(obs_tests::sample_value(&during, &series("db_client_connections_max", "")), Some(2.0));
            assert_eq!(
                obs_tests::sample_value(&after, &series("db_client_connection_pending_requests", "")),
                Some(0.0),
                "{after}"
            );
            let bucket = |le: &str| {
                obs_tests::sample_value(
                    &after,
                    &series("db_client_connection_wait_seconds_bucket", &format!(",le=\"{le}\"")),
                )
            };
            assert_eq!(bucket("+Inf"), Some(6.0), "{after}");
            // The last four waited for a whole query (0.3 s) at least.
            assert!(bucket("0.25").unwrap() <= 2.0, "{after}");
            assert_eq!(obs_tests::sample_value(&after, &series("db_client_connection_timeouts_total", "")), Some(0.0));
            drop(guard);
            // The queries that waited say so on their span.
            let spans = obs_tests::collected_spans::exported();
            let waited: Vec<f64> = spans
                .iter()
                .filter(|s| s.name == "SELECT pg_sleep")
                .flat_map(|s| s.events.iter())
                .filter(|e| e.name == "connection acquired")
                .filter_map(|e| e.attributes.iter().find(|a| a.key.as_str() == "db.client.connection.wait_time"))
                .filter_map(|a| a.value.as_str().parse::<f64>().ok())
                .collect();
            assert!(waited.iter().filter(|w| **w >= 0.25).count() >= 4, "{waited:?}");
            println!("pool checked");
        });
    });
    if let Some(output) = output {
        assert!(output.contains("pool checked"), "{output}");
    }
}

#[test]
fn an_acquire_timeout_is_counted_and_an_idle_pool_shows_its_minimum() {
    let output = run_in_child("timeout", ENV, || {
        let runtime = obs_tests::runtime();
        runtime.block_on(async {
            let guard = obs_runtime::init().unwrap();
            let small = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_millis(100))
                .connect(DATABASE)
                .await
                .unwrap();
            let small = observe_pool(small, "small").unwrap();
            let held = small.acquire().await.unwrap();
            let refused = small.acquire().await.map(drop).unwrap_err();
            assert!(matches!(refused, sqlx::Error::PoolTimedOut), "{refused}");
            drop(held);
            let idle = PgPoolOptions::new().min_connections(2).max_connections(4).connect(DATABASE).await.unwrap();
            let _idle = observe_pool(idle, "idle").unwrap();
            // sqlx opens the minimum in the background.
            let idle_series = "db_client_connections{app=\"pools\",pool=\"idle\",state=\"idle\"}";
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let mut text = obs_tests::scrape(&guard);
            while obs_tests::sample_value(&text, idle_series) != Some(2.0) && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                text = obs_tests::scrape(&guard);
            }
            assert_eq!(obs_tests::sample_value(&text, idle_series), Some(2.0), "{text}");
            let timeouts = "db_client_connection_timeouts_total{app=\"pools\",pool=\"small\"}";
            assert_eq!(obs_tests::sample_value(&text, timeouts), Some(1.0), "{text}");
            println!("pools checked");
        });
    });
    if let Some(output) = output {
        assert!(output.contains("pools checked"), "{output}");
    }
}

#[test]
fn a_pool_name_taken_or_not_a_label_is_refused() {
    let runtime = obs_tests::runtime();
    runtime.block_on(async {
        let lazy = || PgPoolOptions::new().connect_lazy(DATABASE).unwrap();
        let first = observe_pool(lazy(), "twice").unwrap();
        let error = observe_pool(lazy(), "twice").unwrap_err().to_string();
        assert!(error.contains("\"twice\" is not valid: expected a name no other live pool has"), "{error}");
        // Once the first is dropped, its name is free again.
        drop(first);
        observe_pool(lazy(), "twice").unwrap();
        let error = observe_pool(lazy(), "main pool\n").unwrap_err().to_string();
        assert!(error.contains("a pool name of ASCII letters, digits and _ . : / -"), "{error}");
        assert!(observe_pool(lazy(), "").is_err());
    });
}
