//! HTTP pieces for axum 0.8 apps (feature `http`).

use axum::http::header;
use axum::response::IntoResponse;

/// An axum handler serving obs's Prometheus exposition, for apps that mount `/metrics` on their
/// own router instead of (or besides) obs's scrape server.
///
/// ```
/// use axum::{Router, routing::get};
///
/// let app: Router = Router::new().route("/metrics", get(obs_runtime::http::metrics_handler));
/// ```
pub async fn metrics_handler() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, crate::PROMETHEUS_CONTENT_TYPE)], crate::render())
}
