//! Outgoing HTTP requests made with reqwest (feature `reqwest`): a client span per request that
//! carries its own context to the server, and `http_client_request_duration_seconds`.
//!
//! Calling [`propagation::inject`] in a handler gives every
//! outgoing request the server span's id; tracing UIs and the W3C specification expect a client
//! span per request instead, which is what [`SendTraced::send_traced`] opens.
//!
//! ```no_run
//! use obs_runtime::client::SendTraced;
//!
//! # async fn call() -> Result<(), reqwest::Error> {
//! let client = reqwest::Client::new();
//! let response = client.get("https://horizon-testnet.stellar.org/fee_stats").send_traced().await?;
//! # drop(response); Ok(()) }
//! ```

use std::future::Future;

use tracing::Instrument;

use crate::catalogue::HTTP_CLIENT_REQUEST_DURATION;
use crate::catalogue::normalise_label;
use crate::clock;
use crate::semconv::{method_label, url_without_credentials};
use crate::telemetry::propagation;

/// Sends a reqwest request inside a client span of its own.
pub trait SendTraced {
    /// Like `RequestBuilder::send`, inside a client span `"{method}"` with
    /// `http.request.method`, `server.address`, `server.port`, `url.full` (credentials removed)
    /// and `http.response.status_code`; the span's context goes out in `traceparent`. A 5xx
    /// answer or a transport error marks the span as failed (with `error.type`). The time to
    /// the response head is recorded in
    /// `http_client_request_duration_seconds{method,server_address,status_code}`, with
    /// `status_code="error"` when no response came.
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send;
}

impl SendTraced for reqwest::RequestBuilder {
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send {
        let (client, request) = self.build_split();
        async move {
            let mut request = request?;
            let method = method_label(request.method());
            let url = request.url();
            let server = url.host_str().unwrap_or_default().to_owned();
            crate::catalogue::register_client(&server);
            let span = tracing::info_span!(
                "http.client.request",
                otel.name = method,
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
                "http.request.method" = method,
                "server.address" = server.as_str(),
                "server.port" = url.port_or_known_default(),
                "url.full" = url_without_credentials(url.as_str()),
                "http.response.status_code" = tracing::field::Empty,
                "error.type" = tracing::field::Empty,
            );
            propagation::inject_span(&span, request.headers_mut());
            let start = clock::now();
            let result = client.execute(request).instrument(span.clone()).await;
            let seconds = clock::nanos_since(start) as f64 * 1e-9;
            let status_code = match &result {
                Ok(response) => {
                    let status = response.status();
                    span.record("http.response.status_code", status.as_u16());
                    if status.is_server_error() {
                        span.record("otel.status_code", "ERROR");
                        span.record("error.type", status.as_str());
                    }
                    status.as_str().to_owned()
                }
                Err(error) => {
                    span.record("otel.status_code", "ERROR");
                    span.record("otel.status_description", error.to_string().as_str());
                    span.record("error.type", transport_error(error));
                    "error".to_owned()
                }
            };
            let labels = [
                ("method", method.to_owned()),
                ("server_address", normalise_label(&server)),
                ("status_code", status_code),
            ];
            metrics::histogram!(HTTP_CLIENT_REQUEST_DURATION.name, &labels).record(seconds);
            result
        }
    }
}

/// Enters the server of `url` (or a bare host name) into the catalogue as a dependency the
/// service sends requests to, before any request is made: the monitoring generated from the
/// catalogue (`--ops-out` runs before any traffic) then has the outgoing requests' panels,
/// rules and alert. `SendTraced` enters every server it reaches too.
///
/// ```
/// obs_runtime::client::catalogue_server("https://horizon-testnet.stellar.org");
/// assert!(obs_runtime::catalogue().clients().iter().any(|s| s == "horizon-testnet.stellar.org"));
/// ```
pub fn catalogue_server(url: &str) {
    let host = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned));
    crate::catalogue::register_client(&normalise_label(host.as_deref().unwrap_or(url)));
}

/// A bounded `error.type` for a request that got no response.
fn transport_error(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_request() {
        "request"
    } else {
        "_OTHER"
    }
}

/// Kinds of a failed reqwest call for `error.type`: `timeout`, `connect`, `status_429` (rate
/// limited), `status_5xx`, `status_4xx` (from `error_for_status`), `request`, else `other`.
impl crate::call::outcome::BoundedKind for reqwest::Error {
    fn kind(&self) -> &'static str {
        match self.status() {
            Some(status) if status.as_u16() == 429 => "status_429",
            Some(status) if status.is_server_error() => "status_5xx",
            Some(status) if status.is_client_error() => "status_4xx",
            _ if self.is_timeout() => "timeout",
            _ if self.is_connect() => "connect",
            _ if self.is_request() => "request",
            _ => "other",
        }
    }
}
