//! Connection pools (feature `sqlx`): the saturation of a sqlx pool of any database, as
//! OpenTelemetry's `db.client.connection.*` conventions name it.
//!
//! [`observe_pool`] registers a pool under a name and returns it wrapped; queries take their
//! connection from the wrapper (`fetch_one(&mut *pool.acquire().await?)`, or `pool.begin()`),
//! which times every request for a connection from request to handover. What it exports:
//!
//! - `db_client_connections{pool,state}` (`idle`, `used`), `db_client_connections_max{pool}` and
//!   `db_client_connection_pending_requests{pool}`: read when a scrape or a push renders, from
//!   the pool's own counts and the wrapper's count of requests in flight; nothing per call;
//! - `db_client_connection_wait_seconds{pool}`: the time from asking for a connection to getting
//!   it, one histogram record (about 20 ns) per acquire;
//! - `db_client_connection_timeouts_total{pool}`: requests sqlx gave up on (`PoolTimedOut`).
//!
//! sqlx gives no hook of its own that says which pool a wait was for (its `sqlx::pool::acquire`
//! event says how long, not where) and keeps its waiters to itself, so the wait, the pending
//! requests and the timeouts are those of connections taken through [`ObservedPool::acquire`]
//! and [`ObservedPool::begin`]; a query run on the bare pool ([`ObservedPool::pool`]) is in
//! the connection counts but not in those three.
//!
//! A query that waited for its connection says so on its span: an event `connection acquired`
//! with `db.client.connection.pool.name` and `db.client.connection.wait_time` (seconds), when
//! the wait was 1 ms or more.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = sqlx::postgres::PgPoolOptions::new().max_connections(5).connect("postgres://localhost/test").await?;
//! let pool = obs_runtime::db::observe_pool(pool, "main")?;
//! let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *pool.acquire().await?).await?;
//! # Ok(()) }
//! ```

mod registry;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Counter, Histogram};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Transaction};

use crate::call::cache::Cached;
use crate::clock;
use crate::error::InitError;

/// How long a wait must be before the query's span shows it.
const SHOWN_WAIT_NANOS: u64 = 1_000_000;

/// A sqlx pool that obs observes: use it where the pool was used. Clones share the pool and its
/// counts; dropping the last one lets the pool close, and its gauges leave the exposition.
#[derive(Debug)]
pub struct ObservedPool<DB: Database> {
    inner: Arc<Observed<DB>>,
}

impl<DB: Database> Clone for ObservedPool<DB> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

#[derive(Debug)]
struct Observed<DB: Database> {
    pool: Pool<DB>,
    name: String,
    /// Requests for a connection not answered yet.
    pending: AtomicU64,
    handles: Cached<Handles>,
}

struct Handles {
    wait: Histogram,
    timeouts: Counter,
}

/// Registers `pool` under `name` and returns it observed. `name` becomes the `pool` label: a
/// name already registered for a live pool, or one that is not a plain label value (ASCII
/// letters, digits and `_ . : / -`), is refused.
pub fn observe_pool<DB: Database>(pool: Pool<DB>, name: &str) -> Result<ObservedPool<DB>, InitError> {
    let inner = Arc::new(Observed { pool, name: name.to_owned(), pending: AtomicU64::new(0), handles: Cached::new() });
    registry::register(name, inner.clone())?;
    // Its wait histogram and timeout counter are in the exposition from now on, at zero.
    inner.handles();
    Ok(ObservedPool { inner })
}

/// One fewer pending request when dropped: a cancelled acquire does not stay pending.
struct Pending<'a>(&'a AtomicU64);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<DB: Database> ObservedPool<DB> {
    /// The pool itself, for what the wrapper does not offer (its options, `close`).
    pub fn pool(&self) -> &Pool<DB> {
        &self.inner.pool
    }

    /// The name it was registered under.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// A connection, as `Pool::acquire`, timed from request to handover.
    pub async fn acquire(&self) -> Result<PoolConnection<DB>, sqlx::Error> {
        let observed = &self.inner;
        observed.pending.fetch_add(1, Ordering::Relaxed);
        let pending = Pending(&observed.pending);
        let start = clock::now();
        let result = observed.pool.acquire().await;
        drop(pending);
        let nanos = clock::nanos_since(start);
        if let Some(handles) = observed.handles() {
            handles.wait.record(nanos as f64 * 1e-9);
            if matches!(result, Err(sqlx::Error::PoolTimedOut)) {
                handles.timeouts.increment(1);
            }
        }
        if nanos >= SHOWN_WAIT_NANOS {
            tracing::info!(
                "db.client.connection.pool.name" = observed.name.as_str(),
                "db.client.connection.wait_time" = nanos as f64 * 1e-9,
                "connection acquired"
            );
        }
        result
    }

    /// A transaction on a connection from [`Self::acquire`], as `Pool::begin`.
    pub async fn begin(&self) -> Result<Transaction<'static, DB>, sqlx::Error> {
        Transaction::begin(self.acquire().await?, None).await
    }

    /// Closes the pool, as `Pool::close`.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

impl<DB: Database> Observed<DB> {
    fn handles(&self) -> Option<&Handles> {
        self.handles.get(|| {
            metrics::with_recorder(|recorder| {
                if crate::call::site::is_noop(recorder) {
                    return None;
                }
                let key = |name: &'static str| {
                    metrics::Key::from_parts(name, vec![metrics::Label::new("pool", self.name.clone())])
                };
                let metadata = crate::call::site::metadata();
                Some(Handles {
                    wait: recorder
                        .register_histogram(&key(crate::catalogue::DB_CLIENT_CONNECTION_WAIT.name), &metadata),
                    timeouts: recorder
                        .register_counter(&key(crate::catalogue::DB_CLIENT_CONNECTION_TIMEOUTS.name), &metadata),
                })
            })
        })
    }
}
