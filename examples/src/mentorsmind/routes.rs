//! The HTTP API.

use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use obs_runtime::http::{ErrorType, ObsLayer, RouteCatalogue as _};
use obs_runtime::propagation::TraceContext;
use serde::Deserialize;
use serde_json::json;

use super::App;
use super::db::{Session, User};
use super::horizon::HorizonError;
use super::jobs::ReminderJob;
use super::objectives::{PAYMENTS, PROFILES};

/// Every route, recorded by `ObsLayer`; the API's routes join obs's catalogue with the
/// objective they serve.
pub fn router(app: App) -> Router {
    routes().fallback(|| async { ApiError::NotFound("no such route".into()) }).with_state(app).layer(ObsLayer::new())
}

/// The routes, before the state: building them enters them into obs's catalogue, which is all
/// `--ops-out` needs.
pub fn routes() -> Router<App> {
    Router::new()
        .route_with_objective("/users", PROFILES, get(list_users).post(create_user))
        .route_with_objective("/users/{id}", PROFILES, get(get_user).patch(update_user).delete(delete_user))
        .catalogued_route("/sessions", axum::routing::post(create_session))
        .route_with_objective("/payments", PAYMENTS, axum::routing::post(create_payment))
        .catalogued_route("/ws", get(notifications))
        .route("/healthz", get(|| async { "ok" }))
        .route("/ready", get(ready))
}

/// What a handler can fail with, and how it answers.
#[derive(Debug)]
pub enum ApiError {
    NotFound(String),
    BadRequest(String),
    Unprocessable(String),
    BadGateway(String),
    Internal(String),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(format!("database error: {e}"))
    }
}

impl From<HorizonError> for ApiError {
    fn from(e: HorizonError) -> Self {
        match e {
            HorizonError::AccountNotFound(_) => ApiError::Unprocessable(e.to_string()),
            _ => ApiError::BadGateway(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The name `errors_total{type,path}` counts it under (ObsLayer adds the route).
        let (status, kind, message) = match self {
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "NotFoundError", m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "ValidationError", m),
            ApiError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, "UnprocessableError", m),
            ApiError::BadGateway(m) => (StatusCode::BAD_GATEWAY, "UpstreamError", m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError", m),
        };
        if status.is_server_error() {
            tracing::error!(%status, error = %message, "request failed");
        }
        (status, ErrorType::named(kind), Json(json!({ "error": message }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    email: String,
}

async fn create_user(State(app): State<App>, Json(new): Json<NewUser>) -> ApiResult<(StatusCode, Json<User>)> {
    if new.name.trim().is_empty() || !new.email.contains('@') {
        return Err(ApiError::BadRequest("a user needs a name and an email address".into()));
    }
    let user = User { id: new_id(), name: new.name, email: new.email };
    app.db.insert_user(&user).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn list_users(State(app): State<App>) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(app.db.list_users().await?))
}

async fn get_user(State(app): State<App>, Path(id): Path<String>) -> ApiResult<Json<User>> {
    if let Some(user) = app.cache.get_user(&id).await {
        return Ok(Json(user));
    }
    let user = app.db.find_user(&id).await?.ok_or_else(|| ApiError::NotFound(format!("no user {id}")))?;
    app.cache.put_user(&user).await;
    Ok(Json(user))
}

#[derive(Deserialize)]
struct UserChanges {
    name: Option<String>,
    email: Option<String>,
}

async fn update_user(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(changes): Json<UserChanges>,
) -> ApiResult<Json<User>> {
    let mut user = app.db.find_user(&id).await?.ok_or_else(|| ApiError::NotFound(format!("no user {id}")))?;
    if let Some(name) = changes.name {
        user.name = name;
    }
    if let Some(email) = changes.email {
        user.email = email;
    }
    if !app.db.update_user(&user).await? {
        return Err(ApiError::NotFound(format!("no user {id}")));
    }
    app.cache.forget_user(&id).await;
    Ok(Json(user))
}

async fn delete_user(State(app): State<App>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if !app.db.delete_user(&id).await? {
        return Err(ApiError::NotFound(format!("no user {id}")));
    }
    app.cache.forget_user(&id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct NewSession {
    mentor_id: String,
    mentee_id: String,
    starts_at: Option<i64>,
}

async fn create_session(State(app): State<App>, Json(new): Json<NewSession>) -> ApiResult<(StatusCode, Json<Session>)> {
    let mentee = app
        .db
        .find_user(&new.mentee_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user {}", new.mentee_id)))?;
    let session = Session {
        id: new_id(),
        mentor_id: new.mentor_id,
        mentee_id: new.mentee_id,
        starts_at: new.starts_at.unwrap_or(1_800_000_000),
    };
    app.db.insert_session(&session).await?;
    let job = ReminderJob {
        id: new_id(),
        session_id: session.id.clone(),
        email: mentee.email,
        trace: TraceContext::current(),
        attempt: 1,
    };
    app.queue.push(job).await.map_err(ApiError::Internal)?;
    app.notifier.publish(json!({ "event": "session.created", "session_id": session.id }).to_string());
    Ok((StatusCode::CREATED, Json(session)))
}

#[derive(Deserialize)]
struct NewPayment {
    user_id: String,
    destination: String,
    amount: String,
}

async fn create_payment(
    State(app): State<App>,
    Json(payment): Json<NewPayment>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let account = app.horizon.load_account(&payment.destination).await?;
    let envelope = format!("payment:{}:{}:{}", account.id, account.sequence, payment.amount);
    let hash = app.horizon.submit_transaction(&envelope).await?;
    let id = new_id();
    app.db.insert_payment(&id, &payment.user_id, &payment.amount, &hash).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "tx_hash": hash }))))
}

async fn notifications(State(app): State<App>, upgrade: WebSocketUpgrade) -> impl IntoResponse {
    upgrade.on_upgrade(move |socket| async move { app.notifier.serve(socket).await })
}

async fn ready(State(app): State<App>) -> ApiResult<&'static str> {
    app.db.ping().await.map_err(|e| ApiError::Internal(format!("database not ready: {e}")))?;
    Ok("ready")
}
