//! Storage through sqlx: SQLite by default, PostgreSQL when `DATABASE_URL=postgres://…`. One
//! code path for both through sqlx's `Any` driver; every query function carries
//! `#[instrument_db]`. The backend is chosen at run time, so spans say `other_sql`.

use std::borrow::Cow;
use std::time::Duration;

use obs_runtime::db::ObservedPool;
use obs_runtime::instrument_db;
use serde::{Deserialize, Serialize};
use sqlx::Any;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Row, SqlSafeStr};

/// A user of the platform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where reminders go.
    pub email: String,
}

/// A mentoring session between a mentor and a mentee.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// Opaque id.
    pub id: String,
    /// The mentor's user id.
    pub mentor_id: String,
    /// The mentee's user id.
    pub mentee_id: String,
    /// Unix seconds.
    pub starts_at: i64,
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "users", "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)"),
    (
        2,
        "sessions",
        "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, mentor_id TEXT NOT NULL, mentee_id TEXT NOT NULL, starts_at BIGINT NOT NULL)",
    ),
    (
        3,
        "payments",
        "CREATE TABLE IF NOT EXISTS payments (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, amount TEXT NOT NULL, tx_hash TEXT NOT NULL)",
    ),
];

/// The connection pool, observed by obs as `main`: its connections by state, the requests
/// waiting, the wait and the timeouts are exported, and every query takes its connection
/// through it.
#[derive(Clone, Debug)]
pub struct Db {
    pool: ObservedPool<Any>,
}

/// The pool's name in `db_client_connections{pool}`.
pub const POOL: &str = "main";

fn options() -> AnyPoolOptions {
    // No ping before every query (sqlx's default costs a round trip each time): a connection
    // the server dropped fails its next query once, is discarded, and shows as an error.
    AnyPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(3)).test_before_acquire(false)
}

impl Db {
    /// Connects and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let pool = options().connect(url).await?;
        let migrations = MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(*version, Cow::Borrowed(name), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect();
        Migrator::with_migrations(migrations).run(&pool).await.map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        let pool = obs_runtime::db::observe_pool(pool, POOL).map_err(|e| sqlx::Error::Configuration(Box::new(e)))?;
        Ok(Self { pool })
    }

    /// The pool observed without connecting: for `--ops-out`, which needs its name only.
    pub fn unconnected(url: &str) -> Result<Self, Box<dyn std::error::Error>> {
        sqlx::any::install_default_drivers();
        let pool = obs_runtime::db::observe_pool(options().connect_lazy(url)?, POOL)?;
        Ok(Self { pool })
    }

    /// Whether the database answers.
    #[instrument_db(table = "health", operation = "SELECT", system = "other_sql")]
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&mut *self.pool.acquire().await?).await.map(|_| ())
    }

    #[instrument_db(table = "users", system = "other_sql")]
    pub async fn find_user(&self, id: &str) -> Result<Option<User>, sqlx::Error> {
        sqlx::query("SELECT id, name, email FROM users WHERE id = $1")
            .bind(id.to_owned())
            .fetch_optional(&mut *self.pool.acquire().await?)
            .await?
            .map(|row| user(&row))
            .transpose()
    }

    #[instrument_db(table = "users", system = "other_sql")]
    pub async fn list_users(&self) -> Result<Vec<User>, sqlx::Error> {
        sqlx::query("SELECT id, name, email FROM users ORDER BY name LIMIT 100")
            .fetch_all(&mut *self.pool.acquire().await?)
            .await?
            .iter()
            .map(user)
            .collect()
    }

    #[instrument_db(table = "users", system = "other_sql")]
    pub async fn insert_user(&self, user: &User) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO users (id, name, email) VALUES ($1, $2, $3)")
            .bind(user.id.clone())
            .bind(user.name.clone())
            .bind(user.email.clone())
            .execute(&mut *self.pool.acquire().await?)
            .await
            .map(|_| ())
    }

    /// Returns whether the user existed.
    #[instrument_db(table = "users", system = "other_sql")]
    pub async fn update_user(&self, user: &User) -> Result<bool, sqlx::Error> {
        sqlx::query("UPDATE users SET name = $1, email = $2 WHERE id = $3")
            .bind(user.name.clone())
            .bind(user.email.clone())
            .bind(user.id.clone())
            .execute(&mut *self.pool.acquire().await?)
            .await
            .map(|done| done.rows_affected() > 0)
    }

    /// Returns whether the user existed.
    #[instrument_db(table = "users", system = "other_sql")]
    pub async fn delete_user(&self, id: &str) -> Result<bool, sqlx::Error> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.to_owned())
            .execute(&mut *self.pool.acquire().await?)
            .await
            .map(|done| done.rows_affected() > 0)
    }

    #[instrument_db(table = "sessions", system = "other_sql")]
    pub async fn insert_session(&self, session: &Session) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO sessions (id, mentor_id, mentee_id, starts_at) VALUES ($1, $2, $3, $4)")
            .bind(session.id.clone())
            .bind(session.mentor_id.clone())
            .bind(session.mentee_id.clone())
            .bind(session.starts_at)
            .execute(&mut *self.pool.acquire().await?)
            .await
            .map(|_| ())
    }

    #[instrument_db(table = "payments", system = "other_sql")]
    pub async fn insert_payment(
        &self,
        id: &str,
        user_id: &str,
        amount: &str,
        tx_hash: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO payments (id, user_id, amount, tx_hash) VALUES ($1, $2, $3, $4)")
            .bind(id.to_owned())
            .bind(user_id.to_owned())
            .bind(amount.to_owned())
            .bind(tx_hash.to_owned())
            .execute(&mut *self.pool.acquire().await?)
            .await
            .map(|_| ())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn user(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User { id: row.try_get("id")?, name: row.try_get("name")?, email: row.try_get("email")? })
}
