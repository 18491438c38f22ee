//! A Redis cache in front of user lookups, when `REDIS_URL` is set; every call carries
//! `#[instrument_redis]`. Without Redis the service runs without a cache.
//!
//! Timeouts: the connection manager keeps the redis crate's defaults, 500 ms to connect and
//! 500 ms for an answer. A cache that stops answering (`CLIENT PAUSE`, a failover) costs a
//! lookup at most about a second (the GET times out, then the SET after the database answer),
//! counted as `redis_calls_total{status="error"}`; the request is still served from the
//! database. The job worker's connection waits longer (see `jobs.rs`): its BRPOP blocks by
//! design.

use obs_runtime::instrument_redis;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::db::User;

const TTL_SECONDS: u64 = 60;

/// The cache, or nothing.
#[derive(Clone)]
pub struct Cache {
    redis: Option<ConnectionManager>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("enabled", &self.redis.is_some()).finish()
    }
}

fn key(id: &str) -> String {
    format!("mentorsmind:user:{id}")
}

impl Cache {
    /// No cache.
    pub fn disabled() -> Self {
        Self { redis: None }
    }

    /// A cache on an existing Redis connection.
    pub fn redis(connection: ConnectionManager) -> Self {
        Self { redis: Some(connection) }
    }

    /// The cached user, if any. A cache that fails is a miss, never a failed request.
    pub async fn get_user(&self, id: &str) -> Option<User> {
        let mut redis = self.redis.clone()?;
        let cached = cache_get(&mut redis, &key(id)).await.ok().flatten()?;
        serde_json::from_str(&cached).ok()
    }

    /// Remembers `user` for a minute.
    pub async fn put_user(&self, user: &User) {
        if let (Some(mut redis), Ok(json)) = (self.redis.clone(), serde_json::to_string(user)) {
            let _ = cache_set(&mut redis, &key(&user.id), &json).await;
        }
    }

    /// Forgets a user.
    pub async fn forget_user(&self, id: &str) {
        if let Some(mut redis) = self.redis.clone() {
            let _ = cache_del(&mut redis, &key(id)).await;
        }
    }
}

#[instrument_redis(command = "get")]
async fn cache_get(redis: &mut ConnectionManager, key: &str) -> redis::RedisResult<Option<String>> {
    redis.get(key).await
}

#[instrument_redis(command = "set")]
async fn cache_set(redis: &mut ConnectionManager, key: &str, value: &str) -> redis::RedisResult<()> {
    redis.set_ex(key, value, TTL_SECONDS).await
}

#[instrument_redis(command = "del")]
async fn cache_del(redis: &mut ConnectionManager, key: &str) -> redis::RedisResult<()> {
    redis.del(key).await
}
