//! HTTP pieces for axum 0.8 apps (feature `http`): [`ObsLayer`] for the requests an app serves,
//! and [`metrics_handler`] for apps that serve `/metrics` on their own router.

mod error_type;
mod layer;
mod routes;

use axum::http::header;
use axum::response::IntoResponse;

pub use error_type::ErrorType;
pub use layer::{CLIENT_CLOSED_REQUEST, ObsLayer, ObsService, REQUEST_ID_HEADER, RequestId, ResponseFuture, UNMATCHED};
pub use routes::RouteCatalogue;

/// An axum handler serving obs's live page, for apps without obs's scrape server: mount it on
/// `/obs` (HTML) and `/obs.json` (the same as JSON), behind whatever guards the app's own
/// `/metrics`.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new()
///     .route("/obs", get(obs_runtime::http::page_handler))
///     .route("/obs.json", get(obs_runtime::http::page_handler));
/// ```
pub async fn page_handler(uri: axum::http::Uri) -> axum::response::Response {
    match crate::page::respond(uri.path()) {
        Some((content_type, body)) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "obs is not installed, or no such page\n").into_response(),
    }
}

/// An axum handler serving obs's exposition, for apps that mount `/metrics` on their own router
/// instead of (or besides) obs's scrape server. It negotiates like the scrape server:
/// OpenMetrics text for scrapers that prefer it, the Prometheus text format otherwise.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new().route("/metrics", get(obs_runtime::http::metrics_handler));
/// ```
pub async fn metrics_handler(headers: axum::http::HeaderMap) -> impl IntoResponse {
    crate::prometheus::sampled::refresh(crate::prometheus::sampled::REFRESH_DEADLINE).await;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = crate::prometheus::render_negotiated(accept);
    ([(header::CONTENT_TYPE, content_type), (header::VARY, "Accept")], body)
}
