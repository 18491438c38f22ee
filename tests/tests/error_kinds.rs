//! Bounded error kinds (`BoundedKind`): real PostgreSQL and Redis errors, and an app's derived
//! enum, reach the span's `error.type` and the `error_type` label of the error series; the
//! label is capped per label set, switchable off, and leaves sums by `status` unchanged.
#![cfg(all(feature = "db", feature = "redis"))]

use std::time::Duration;

use obs_runtime::testing::{Captured, capture_async};
use obs_runtime::{BoundedKind, MetricsRecorder, instrument_db, instrument_redis};
use obs_tests::child::run_in_child;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const REDIS: &str = "redis://127.0.0.1:6379";

/// The span's `error.type` and the counter's error series of one failed call.
#[track_caller]
fn assert_kind(captured: &Captured, span: &str, total: &str, kind: &str) {
    let span = captured.span(span).unwrap_or_else(|| panic!("no span {span:?}: {:?}", captured.spans));
    assert_eq!(span.attr("error.type"), Some(kind), "{span:?}");
    assert_eq!(captured.counter(total, &[("status", "error"), ("error_type", kind)]), 1, "{:#?}", captured.metrics);
}

#[instrument_db(table = "kinds", operation = "SELECT")]
async fn select_one(pool: &PgPool, sql: &'static str) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar(sql).fetch_one(pool).await
}

#[instrument_db(table = "kinds", operation = "INSERT")]
async fn insert(conn: &mut PgConnection, id: i32) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO obs_kinds VALUES ($1)").bind(id).execute(conn).await.map(|_| ())
}

#[tokio::test]
async fn postgres_errors_are_named_by_what_went_wrong() {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(200))
        .connect(POSTGRES)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    for (sql, kind) in [
        ("SELECT 1 WHERE false", "row_not_found"),
        ("SELEC 1", "syntax_error_or_access_rule_violation"),
        ("SELECT 1 / 0", "data_exception"),
    ] {
        let (result, captured) = capture_async(select_one(&pool, sql)).await;
        assert!(result.is_err(), "{sql}");
        assert_kind(&captured, "SELECT kinds", "db_queries_total", kind);
    }

    // The pool's one connection is taken: the next query waits out the acquire timeout.
    let held = pool.acquire().await.unwrap();
    let (result, captured) = capture_async(select_one(&pool, "SELECT 1")).await;
    assert!(matches!(result, Err(sqlx::Error::PoolTimedOut)), "{result:?}");
    assert_kind(&captured, "SELECT kinds", "db_queries_total", "pool_timed_out");
    drop(held);

    let mut conn = PgConnection::connect(POSTGRES).await.unwrap();
    sqlx::query("CREATE TEMP TABLE obs_kinds (id int PRIMARY KEY)").execute(&mut conn).await.unwrap();
    insert(&mut conn, 1).await.unwrap();
    let (result, captured) = capture_async(insert(&mut conn, 1)).await;
    assert!(result.is_err());
    assert_kind(&captured, "INSERT kinds", "db_queries_total", "unique_violation");
}

#[instrument_redis(command = "incr")]
async fn incr(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Result<i64, redis::RedisError> {
    redis::cmd("INCR").arg(key).query_async(conn).await
}

#[instrument_redis(command = "blpop")]
async fn blpop(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
) -> Result<Option<(String, String)>, redis::RedisError> {
    redis::cmd("BLPOP").arg(key).arg(2).query_async(conn).await
}

#[instrument_redis(command = "connect")]
async fn connect(url: &str) -> Result<redis::aio::MultiplexedConnection, redis::RedisError> {
    redis::Client::open(url)?.get_multiplexed_async_connection().await
}

#[tokio::test]
async fn redis_errors_are_named_by_what_went_wrong() {
    // A port nothing listens on, held so that nothing else binds it meanwhile.
    let held = obs_tests::refused::RefusedPort::new();
    let closed = held.addr();
    let (result, captured) = capture_async(connect(&format!("redis://{closed}"))).await;
    assert!(result.is_err());
    assert_kind(&captured, "connect", "redis_calls_total", "connection_refused");

    let client = redis::Client::open(REDIS).unwrap();
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_millis(100)));
    let mut conn = client.get_multiplexed_async_connection_with_config(&config).await.expect("Redis on 127.0.0.1:6379");
    let key = format!("obs:kinds:{}", std::process::id());
    let _: () = redis::cmd("SET").arg(&key).arg("not a number").query_async(&mut conn).await.unwrap();
    let (result, captured) = capture_async(incr(&mut conn, &key)).await;
    assert!(result.is_err());
    assert_kind(&captured, "incr", "redis_calls_total", "server_error");

    // BLPOP waits 2 s for an empty list; the client gives up after 100 ms.
    let (result, captured) = capture_async(blpop(&mut conn, &format!("{key}:empty"))).await;
    assert!(result.is_err(), "{result:?}");
    assert_kind(&captured, "blpop", "redis_calls_total", "timeout");
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();
}

/// An app's own error, derived: its variants, a renamed one, and a wrapped sqlx error that
/// keeps sqlx's kind.
#[derive(Debug, BoundedKind)]
enum SignupError {
    EmailTaken,
    #[obs(kind = "rate_limited")]
    TooManyAttempts {
        retry_after_secs: u64,
    },
    #[obs(transparent)]
    Database(sqlx::Error),
}

impl std::fmt::Display for SignupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignupError::TooManyAttempts { retry_after_secs } => write!(f, "try again in {retry_after_secs} s"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[instrument_db(table = "signups", operation = "INSERT")]
fn sign_up(attempt: u64) -> Result<(), SignupError> {
    match attempt {
        0 => Err(SignupError::EmailTaken),
        1 => Err(SignupError::TooManyAttempts { retry_after_secs: 30 }),
        2 => Err(SignupError::Database(sqlx::Error::PoolTimedOut)),
        3 => panic!("the signup handler panicked"),
        n => Err(SignupError::TooManyAttempts { retry_after_secs: n }),
    }
}

#[test]
fn a_derived_kind_names_each_variant() {
    for (attempt, kind) in [(0, "email_taken"), (1, "rate_limited"), (2, "pool_timed_out")] {
        let (_, captured) = obs_runtime::testing::capture(|| sign_up(attempt));
        assert_kind(&captured, "INSERT signups", "db_queries_total", kind);
    }
    let (_, captured) = obs_runtime::testing::capture(|| std::panic::catch_unwind(|| sign_up(3)));
    assert_kind(&captured, "INSERT signups", "db_queries_total", "panic");
}

#[instrument_db(table = "files", operation = "SELECT")]
fn read_file(kind: std::io::ErrorKind) -> std::io::Result<()> {
    Err(kind.into())
}

#[test]
fn the_label_is_capped_per_label_set_and_sums_by_status_are_unchanged() {
    let _ =
        run_in_child("", &[], || {
            let metrics = MetricsRecorder::builder().install().expect("the only recorder of this child");
            use std::io::ErrorKind as K;
            let kinds = [
                K::NotFound,
                K::PermissionDenied,
                K::ConnectionRefused,
                K::ConnectionReset,
                K::BrokenPipe,
                K::AlreadyExists,
                K::InvalidInput,
                K::InvalidData,
                K::TimedOut,
                K::UnexpectedEof,
            ];
            for kind in kinds {
                read_file(kind).unwrap_err();
            }
            read_file(K::NotFound).unwrap_err();
            let text = metrics.render();
            let errors: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(r#"db_queries_total{operation="SELECT",table="files",status="error""#))
                .collect();
            assert_eq!(errors.len(), obs_runtime::MAX_ERROR_KINDS + 1, "8 kinds and _OTHER:\n{text}");
            assert!(errors.contains(
                &r#"db_queries_total{operation="SELECT",table="files",status="error",error_type="not_found"} 2"#
            ));
            assert!(errors.contains(
                &r#"db_queries_total{operation="SELECT",table="files",status="error",error_type="_OTHER"} 2"#
            ));
            // What `sum by (status)` adds up: every error once, equal to the histogram's count.
            let sum: u64 = errors.iter().map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap()).sum();
            assert_eq!(sum, kinds.len() as u64 + 1);
            let count = r#"db_query_duration_seconds_count{operation="SELECT",table="files"} 11"#;
            assert!(text.lines().any(|l| l == count), "{text}");
        });
}

#[test]
fn switched_off_errors_count_in_one_series() {
    let _ = run_in_child("", &[], || {
        let metrics =
            MetricsRecorder::builder().error_type_label(false).install().expect("the only recorder of this child");
        read_file(std::io::ErrorKind::NotFound).unwrap_err();
        read_file(std::io::ErrorKind::TimedOut).unwrap_err();
        let text = metrics.render();
        assert!(!text.contains("error_type"), "{text}");
        let series = r#"db_queries_total{operation="SELECT",table="files",status="error"} 2"#;
        assert!(text.lines().any(|l| l == series), "{text}");
    });
}
