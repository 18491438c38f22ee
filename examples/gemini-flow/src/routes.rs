//! The HTTP API, `/ws` and `/metrics`, all on the app's port.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use obs_runtime::http::{ErrorType, ObsLayer, RouteCatalogue as _};
use serde::Deserialize;
use serde_json::json;

use super::App;
use super::business;
use super::objectives::{EDITOR_SESSIONS, WORKFLOWS};
use super::store::{Node, Session, StoreError, Workflow};

/// Every route, recorded by `ObsLayer` (which leaves `/metrics` and `/health` out).
pub fn router(app: App) -> Router {
    routes()
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(app)
        .layer(ObsLayer::new().skip_paths(["/metrics", "/health"]))
}

/// The routes, before the state: building them enters the API into obs's catalogue.
pub fn routes() -> Router<App> {
    Router::new()
        .route_with_objective("/api/workflows", WORKFLOWS, get(list_workflows).post(create_workflow))
        .route_with_objective(
            "/api/workflows/{id}",
            WORKFLOWS,
            get(get_workflow).put(update_workflow).delete(delete_workflow),
        )
        .catalogued_route("/api/store/{key}", get(get_value).put(put_value))
        .route_with_objective("/api/sessions", EDITOR_SESSIONS, axum::routing::post(create_session))
        .route_with_objective("/api/sessions/{id}", EDITOR_SESSIONS, axum::routing::delete(delete_session))
        .route("/ws", get(events))
        .route("/metrics", get(obs_runtime::http::metrics_handler))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
}

/// What a handler can fail with. Each answers with its status and names itself for
/// `errors_total{type,path}` as the team's error handler did: `ValidationError`,
/// `NotFoundError`, `InternalError`.
#[derive(Debug)]
pub enum ApiError {
    Validation(String),
    NotFound(String),
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        ApiError::Validation(e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, message) = match self {
            ApiError::Validation(m) => (StatusCode::BAD_REQUEST, "ValidationError", m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "NotFoundError", m),
            ApiError::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError", m),
        };
        if status.is_server_error() {
            tracing::error!(%status, error = %message, "request failed");
        }
        (status, ErrorType::named(kind), Json(json!({ "error": message, "type": kind }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The most nodes a workflow may have: the `workflow_nodes` histogram's last bound.
const MAX_NODES: usize = 1000;

#[derive(Deserialize)]
struct WorkflowBody {
    name: String,
    #[serde(default)]
    nodes: Vec<Node>,
}

impl WorkflowBody {
    fn into_workflow(self, id: String) -> ApiResult<Workflow> {
        if self.name.trim().is_empty() {
            return Err(ApiError::Validation("a workflow needs a name".into()));
        }
        if self.nodes.len() > MAX_NODES {
            return Err(ApiError::Validation(format!("a workflow has at most {MAX_NODES} nodes")));
        }
        Ok(Workflow { id, name: self.name, nodes: self.nodes })
    }
}

async fn list_workflows(State(app): State<App>) -> ApiResult<Json<Vec<Workflow>>> {
    Ok(Json(app.store.list_workflows()?))
}

async fn create_workflow(
    State(app): State<App>,
    body: Result<Json<WorkflowBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Workflow>)> {
    let workflow = body?.0.into_workflow(uuid::Uuid::new_v4().to_string())?;
    let count = app.store.save_workflow(&workflow)?;
    business::workflow_saved(&workflow, count);
    app.events.publish("workflow_created", &workflow.id);
    Ok((StatusCode::CREATED, Json(workflow)))
}

async fn get_workflow(State(app): State<App>, Path(id): Path<String>) -> ApiResult<Json<Workflow>> {
    app.store.get_workflow(&id)?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no workflow {id}")))
}

async fn update_workflow(
    State(app): State<App>,
    Path(id): Path<String>,
    body: Result<Json<WorkflowBody>, JsonRejection>,
) -> ApiResult<Json<Workflow>> {
    if app.store.get_workflow(&id)?.is_none() {
        return Err(ApiError::NotFound(format!("no workflow {id}")));
    }
    let workflow = body?.0.into_workflow(id)?;
    let count = app.store.save_workflow(&workflow)?;
    business::workflow_saved(&workflow, count);
    app.events.publish("workflow_updated", &workflow.id);
    Ok(Json(workflow))
}

async fn delete_workflow(State(app): State<App>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let count = app.store.delete_workflow(&id)?.ok_or_else(|| ApiError::NotFound(format!("no workflow {id}")))?;
    business::workflow_count(count);
    app.events.publish("workflow_deleted", &id);
    Ok(StatusCode::NO_CONTENT)
}

async fn get_value(State(app): State<App>, Path(key): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    app.store.get_value(&key)?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no value {key}")))
}

async fn put_value(
    State(app): State<App>,
    Path(key): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> ApiResult<StatusCode> {
    app.store.put_value(&key, body?.0)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SessionBody {
    user: String,
}

async fn create_session(
    State(app): State<App>,
    body: Result<Json<SessionBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let body = body?.0;
    if body.user.trim().is_empty() {
        return Err(ApiError::Validation("a session needs a user".into()));
    }
    let session = Session { id: uuid::Uuid::new_v4().to_string(), user: body.user };
    app.store.create_session(&session)?;
    Ok((StatusCode::CREATED, Json(session)))
}

async fn delete_session(State(app): State<App>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    match app.store.delete_session(&id)? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound(format!("no session {id}"))),
    }
}

async fn events(State(app): State<App>, upgrade: WebSocketUpgrade) -> impl IntoResponse {
    upgrade.on_upgrade(move |socket| async move { app.events.serve(socket).await })
}
