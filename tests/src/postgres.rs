//! A PostgreSQL database of a test's own on the server this machine runs (127.0.0.1:5432,
//! trust auth), made from the `test` database's connection and dropped at the end.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;

/// The database every test may connect to, to create its own.
pub const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh PostgreSQL database for this run, dropped at the end.
#[derive(Debug)]
pub struct FreshDatabase {
    name: String,
}

impl FreshDatabase {
    /// Creates it.
    pub async fn create() -> Self {
        static MADE: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("obs_test_{}_{}_{nanos}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed));
        let mut admin = sqlx::PgConnection::connect(POSTGRES_ADMIN).await.expect("PostgreSQL on 127.0.0.1:5432");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
        Self { name }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// Terminates every connection the service holds to this database.
    pub async fn terminate_connections(&self) -> u64 {
        let mut admin = sqlx::PgConnection::connect(POSTGRES_ADMIN).await.unwrap();
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut admin).await.unwrap().len() as u64
    }

    /// Drops it, whatever still connects to it.
    pub async fn drop_now(self) {
        let mut admin = sqlx::PgConnection::connect(POSTGRES_ADMIN).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
            .execute(&mut admin)
            .await;
    }
}
