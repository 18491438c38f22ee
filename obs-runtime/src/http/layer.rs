//! `ObsLayer`: metrics, a server span and a request id for every request an axum app serves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, MatchedPath};
use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::catalogue::{HTTP_REQUEST_DURATION, HTTP_REQUESTS_IN_FLIGHT, HTTP_REQUESTS_TOTAL};
use crate::clock;
use crate::prometheus::record_error;
use crate::semconv::method_label;
use crate::telemetry::propagation;

/// The header a request id is read from and echoed in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The path label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The status a request is counted under when its client went away before the response
/// (nginx's `499 Client Closed Request`, which operators know): no response was sent, and the
/// failure is the client's, so it is not a 5xx.
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

/// A tower layer for axum 0.8 routers: records `http_requests_total{method,path,status_code}`,
/// `http_request_duration_seconds{method,path,status_code}` and
/// `http_requests_in_flight{method,path}` with the matched route template as `path`; opens the
/// server span `"{method} {route}"` continuing an incoming W3C `traceparent`; reads or
/// generates `x-request-id`, echoes it, and puts it on the span and every log line; counts
/// `errors_total{type,path}` for responses carrying an [`ErrorType`](super::ErrorType) and for
/// other 5xx responses; writes one access-log line per request at INFO (`request completed`,
/// with `method`, `route`, `path`, `status_code`, `duration_ms` and, from its span,
/// `request_id` and the trace ids; [`ObsLayer::access_log`] turns it off). `/healthz`, `/ready`
/// and `/metrics` are not recorded unless [`ObsLayer::skip_paths`] says otherwise.
///
/// Add it with `Router::layer`, so it runs after routing and sees the matched route:
///
/// ```
/// use axum::{Router, routing::get};
/// use obs_runtime::http::ObsLayer;
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "user" }))
///     .layer(ObsLayer::new());
/// ```
#[derive(Clone, Debug)]
pub struct ObsLayer {
    skip: Arc<[String]>,
    access_log: bool,
}

impl Default for ObsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ObsLayer {
    /// The layer with the default skip list: `/healthz`, `/ready`, `/metrics`.
    pub fn new() -> Self {
        Self { skip: Arc::from(["/healthz".to_owned(), "/ready".to_owned(), "/metrics".to_owned()]), access_log: true }
    }

    /// Whether to write the `request completed` line for every recorded request (default on).
    #[must_use]
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Replaces the paths (exact request paths) that are served but not recorded.
    #[must_use]
    pub fn skip_paths<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.skip = paths.into_iter().map(Into::into).collect();
        self
    }
}

impl<S> Layer<S> for ObsLayer {
    type Service = ObsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        // The routes before this layer are built: the generated monitoring may be written.
        crate::catalogue::note_router_layered();
        ObsService { inner, skip: self.skip.clone(), access_log: self.access_log }
    }
}

/// The service [`ObsLayer`] wraps around each route.
#[derive(Clone, Debug)]
pub struct ObsService<S> {
    inner: S,
    skip: Arc<[String]>,
    access_log: bool,
}

/// The caller's request id when it is a sensible one, else a new UUID v4.
fn request_id<B>(request: &Request<B>) -> HeaderValue {
    request
        .headers()
        .get(REQUEST_ID_HEADER)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.as_bytes().iter().all(|b| b.is_ascii_graphic()))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid header value")
        })
}

impl<S, B, ResBody> Service<Request<B>> for ObsService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if self.skip.iter().any(|p| p == request.uri().path()) {
            return ResponseFuture { inner: self.inner.call(request), state: None };
        }
        let method = method_label(request.method());
        let route: Arc<str> =
            request.extensions().get::<MatchedPath>().map_or_else(|| Arc::from(UNMATCHED), |m| Arc::from(m.as_str()));
        let request_id = request_id(&request);
        let span = tracing::info_span!(
            "http.server.request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            "http.request.method" = method,
            "http.route" = &*route,
            "url.path" = request.uri().path(),
            "url.scheme" = request.uri().scheme_str().unwrap_or("http"),
            "http.response.status_code" = tracing::field::Empty,
            "error.type" = tracing::field::Empty,
            "otel.status_description" = tracing::field::Empty,
            "client.address" = tracing::field::Empty,
            "user_agent.original" = tracing::field::Empty,
            request_id = request_id.to_str().unwrap_or_default(),
        );
        if !span.is_disabled() {
            // A malformed or missing traceparent extracts as an empty context: a new trace.
            let _ = span.set_parent(propagation::extract(request.headers()));
            if let Some(agent) = request.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()) {
                span.record("user_agent.original", agent);
            }
            if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>() {
                span.record("client.address", tracing::field::display(addr.ip()));
            }
        }
        let path = self.access_log.then(|| request.uri().path().to_owned());
        request.extensions_mut().insert(RequestId(request_id.clone()));
        let in_flight = InFlight::enter(method, route.clone());
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture {
            inner,
            state: Some(State {
                done: false,
                span,
                method,
                route,
                path,
                request_id,
                start: clock::now(),
                _in_flight: in_flight,
            }),
        }
    }
}

/// The request id of the request being handled, for handlers: `Extension<RequestId>`.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

/// Keeps `http_requests_in_flight{method,path}` one higher until the response is done or the
/// client has gone and the future was dropped.
struct InFlight(metrics::Gauge);

impl InFlight {
    fn enter(method: &'static str, route: Arc<str>) -> Self {
        let gauge = metrics::gauge!(HTTP_REQUESTS_IN_FLIGHT.name, "method" => method, "path" => route.to_string());
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

struct State {
    /// Whether the response was recorded; dropped without, the client went away.
    done: bool,
    span: Span,
    method: &'static str,
    route: Arc<str>,
    /// The request's path, for the access log; `None` with the access log off.
    path: Option<String>,
    request_id: HeaderValue,
    start: u64,
    _in_flight: InFlight,
}

impl State {
    /// Counts the request under `code` and returns its duration in nanoseconds.
    fn record(&self, code: u16) -> u64 {
        let nanos = clock::nanos_since(self.start);
        let seconds = nanos as f64 * 1e-9;
        let (path, code) = (self.route.to_string(), code.to_string());
        metrics::counter!(HTTP_REQUESTS_TOTAL.name, "method" => self.method, "path" => path.clone(), "status_code" => code.clone())
            .increment(1);
        let duration = metrics::histogram!(HTTP_REQUEST_DURATION.name, "method" => self.method, "path" => path, "status_code" => code);
        // Recorded inside the server span when exemplars are wanted, so its bucket keeps the trace.
        match crate::prometheus::exemplar::wanted() {
            true => self.span.in_scope(|| duration.record(seconds)),
            false => duration.record(seconds),
        }
        nanos
    }

    /// The access-log line, inside the server span, so it carries its request id and trace
    /// ids; the OpenTelemetry layer leaves this target out of the span.
    fn log(&self, status_code: u16, nanos: u64) {
        if let Some(path) = &self.path {
            tracing::info!(
                target: crate::telemetry::ACCESS_LOG_TARGET,
                parent: &self.span,
                method = self.method,
                route = &*self.route,
                path = path.as_str(),
                status_code,
                duration_ms = nanos as f64 / 1e6,
                "request completed"
            );
        }
    }

    fn finish<B>(mut self, response: &mut Response<B>) {
        self.done = true;
        let status = response.status();
        let nanos = self.record(status.as_u16());
        self.span.record("http.response.status_code", status.as_u16());
        let named = response.extensions().get::<super::ErrorType>().map(super::ErrorType::name);
        if status.is_server_error() {
            // The HTTP semantic conventions: a 5xx is an error whose type is the status code.
            self.span.record("otel.status_code", "ERROR");
            self.span.record("error.type", status.as_str());
        }
        match named {
            Some(name) => record_error(name, &self.route),
            None if status.is_server_error() => record_error(&format!("http_{}", status.as_u16()), &self.route),
            None => {}
        }
        self.log(status.as_u16(), nanos);
        response.headers_mut().insert(REQUEST_ID_HEADER, self.request_id.clone());
    }
}

impl Drop for State {
    /// The response future was dropped before the response: the client went away (a timeout,
    /// a closed tab, a load balancer's deadline). Counted under 499, logged, and the server
    /// span ends now, failed, with `error.type` saying why.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let nanos = self.record(CLIENT_CLOSED_REQUEST);
        if !self.span.is_disabled() {
            self.span.record("otel.status_code", "ERROR");
            self.span.record("error.type", "client_closed_request");
            self.span.record("otel.status_description", "the client went away before the response");
        }
        self.log(CLIENT_CLOSED_REQUEST, nanos);
        // A span ends at its last exit: entered once more, it ends at the drop.
        drop(self.span.enter());
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ObsService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<State>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.state.as_ref().map(|state| state.span.enter());
        let mut output = std::task::ready!(this.inner.poll(cx));
        drop(_entered);
        if let (Ok(response), Some(state)) = (&mut output, this.state.take()) {
            state.finish(response);
        }
        Poll::Ready(output)
    }
}
