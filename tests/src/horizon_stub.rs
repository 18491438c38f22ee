//! A local stand-in for Stellar Horizon (the public network is unreachable from here): answers
//! `GET /accounts/{id}` and `POST /transactions` with Horizon's JSON, or 404, 500 or silence on
//! demand.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

/// How the stub answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Like Horizon: accounts starting with `G` exist, transactions succeed.
    Normal = 0,
    /// Every request: 500.
    ServerError = 1,
    /// Every request waits 30 s.
    Timeout = 2,
}

#[derive(Clone, Default)]
struct Shared {
    mode: Arc<AtomicU8>,
    calls: Arc<AtomicU64>,
}

/// A running stub; stops with its runtime when dropped.
pub struct HorizonStub {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Shared,
    _runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for HorizonStub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HorizonStub").field("url", &self.url).finish()
    }
}

async fn misbehave(shared: &Shared) -> Option<Response> {
    shared.calls.fetch_add(1, Ordering::Relaxed);
    match shared.mode.load(Ordering::Relaxed) {
        1 => Some(
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"title": "Internal Server Error", "status": 500})))
                .into_response(),
        ),
        2 => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            None
        }
        _ => None,
    }
}

async fn account(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    if let Some(response) = misbehave(&shared).await {
        return response;
    }
    if !id.starts_with('G') || id.len() != 56 {
        return (StatusCode::NOT_FOUND, Json(json!({"type": "https://stellar.org/horizon-errors/not_found", "title": "Resource Missing", "status": 404}))).into_response();
    }
    Json(json!({"id": id, "account_id": id, "sequence": "4213412341234", "balances": [{"asset_type": "native", "balance": "100.0000000"}]})).into_response()
}

async fn transactions(State(shared): State<Shared>, body: String) -> Response {
    if let Some(response) = misbehave(&shared).await {
        return response;
    }
    if !body.starts_with("tx=") {
        return (StatusCode::BAD_REQUEST, Json(json!({"title": "Transaction Malformed", "status": 400})))
            .into_response();
    }
    let hash = format!("{:064x}", body.len() as u64 * 7919);
    Json(json!({"hash": hash, "ledger": 123456, "successful": true})).into_response()
}

impl HorizonStub {
    /// Starts the stub on a free loopback port.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let shared = Shared::default();
        let app = Router::new()
            .route("/accounts/{id}", get(account))
            .route("/transactions", post(transactions))
            .with_state(shared.clone());
        let addr: SocketAddr = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            addr
        });
        Self { url: format!("http://{addr}"), shared, _runtime: runtime }
    }

    /// Changes how it answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Requests received so far.
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::Relaxed)
    }
}
