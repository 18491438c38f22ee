//! The observed pools by name, read when the exposition renders. The registry holds each pool
//! weakly: a pool the app dropped closes as it would have, and leaves the exposition.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use sqlx::Database;

use super::Observed;
use crate::catalogue::{DB_CLIENT_CONNECTION_PENDING, DB_CLIENT_CONNECTIONS, DB_CLIENT_CONNECTIONS_MAX};
use crate::error::InitError;
use crate::prometheus::sampled::{self, Reading, Source};

/// What the registry reads of a pool.
pub(super) trait PoolCounts: Send + Sync {
    /// `(open, idle, max, pending)`.
    fn counts(&self) -> (u32, u32, u32, u64);
}

impl<DB: Database> PoolCounts for Observed<DB> {
    fn counts(&self) -> (u32, u32, u32, u64) {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        let max = self.pool.options().get_max_connections();
        (self.pool.size(), idle, max, self.pending.load(Ordering::Relaxed))
    }
}

#[derive(Default)]
struct Pools {
    entries: Mutex<Vec<(String, Weak<dyn PoolCounts>)>>,
}

impl Source for Pools {
    fn read(&self, out: &mut Vec<Reading>) {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for (name, pool) in entries.iter() {
            let Some(pool) = pool.upgrade() else { continue };
            let (open, idle, max, pending) = pool.counts();
            let pool_label = || vec![("pool", name.clone())];
            let state = |state: &str| vec![("pool", name.clone()), ("state", state.to_owned())];
            // A connection being opened counts as used: it is on its way to a request.
            let used = open.saturating_sub(idle);
            out.push(Reading { metric: &DB_CLIENT_CONNECTIONS, labels: state("idle"), value: f64::from(idle) });
            out.push(Reading { metric: &DB_CLIENT_CONNECTIONS, labels: state("used"), value: f64::from(used) });
            out.push(Reading { metric: &DB_CLIENT_CONNECTIONS_MAX, labels: pool_label(), value: f64::from(max) });
            out.push(Reading { metric: &DB_CLIENT_CONNECTION_PENDING, labels: pool_label(), value: pending as f64 });
        }
    }
}

fn pools() -> &'static Arc<Pools> {
    static POOLS: OnceLock<Arc<Pools>> = OnceLock::new();
    POOLS.get_or_init(|| {
        let pools = Arc::new(Pools::default());
        sampled::register(pools.clone());
        pools
    })
}

/// Adds `pool` under `name`, unless the name is taken by a live pool or is not a plain label.
pub(super) fn register<P: PoolCounts + 'static>(name: &str, pool: Arc<P>) -> Result<(), InitError> {
    if !crate::catalogue::is_plain_label(name) {
        return Err(InitError::invalid(
            "db::observe_pool name",
            name,
            "a pool name of ASCII letters, digits and _ . : / -, e.g. main or replica-eu",
        ));
    }
    let mut entries = pools().entries.lock().unwrap_or_else(|e| e.into_inner());
    entries.retain(|(_, pool)| pool.strong_count() > 0);
    if entries.iter().any(|(taken, _)| taken == name) {
        return Err(InitError::invalid(
            "db::observe_pool name",
            name,
            "a name no other live pool has: each pool is registered once, under its own name",
        ));
    }
    let weak: Weak<dyn PoolCounts> = Arc::downgrade(&(pool as Arc<dyn PoolCounts>));
    entries.push((name.to_owned(), weak));
    crate::catalogue::register_pool(name);
    Ok(())
}
