//! An OTLP receiver for tests, traces and metrics: opentelemetry-proto's generated tonic
//! servers for gRPC and prost-decoding handlers for OTLP/HTTP (`POST /v1/traces`,
//! `POST /v1/metrics`), on loopback ports, running on a runtime of its own so it keeps serving
//! whatever the test's runtime does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

/// How a span arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with protobuf.
    Http,
}

/// A span as the receiver decoded it.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    /// How it arrived.
    pub transport: Transport,
    /// The resource's `service.name`.
    pub service_name: String,
    /// Every resource attribute, as text.
    pub resource: BTreeMap<String, String>,
    /// The span name.
    pub name: String,
    /// `SPAN_KIND_*` without the prefix, lower case: `client`, `server`, `internal`…
    pub kind: String,
    /// Hex trace id.
    pub trace_id: String,
    /// Hex span id.
    pub span_id: String,
    /// Hex parent span id; empty for a root.
    pub parent_span_id: String,
    /// Attributes as text.
    pub attributes: BTreeMap<String, String>,
    /// `unset`, `ok` or `error`.
    pub status: String,
    /// The status message.
    pub status_message: String,
    /// Events: name and attributes as text.
    pub events: Vec<(String, BTreeMap<String, String>)>,
}

impl ReceivedSpan {
    /// The attribute `key`, as text.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// Queries on the spans a receiver got, failing with what it got instead.
pub trait SpanQueries {
    /// Every span named `name`.
    fn named(&self, name: &str) -> Vec<&ReceivedSpan>;
    /// The server span named `name`.
    fn server(&self, name: &str) -> &ReceivedSpan;
    /// The span named `name` whose status is error, or not.
    fn with_error(&self, name: &str, error: bool) -> &ReceivedSpan;
}

impl SpanQueries for [ReceivedSpan] {
    fn named(&self, name: &str) -> Vec<&ReceivedSpan> {
        self.iter().filter(|s| s.name == name).collect()
    }

    fn server(&self, name: &str) -> &ReceivedSpan {
        self.iter().find(|s| s.name == name && s.kind == "server").unwrap_or_else(|| {
            panic!("no server span {name} in {:?}", self.iter().map(|s| (&s.name, &s.kind)).collect::<Vec<_>>())
        })
    }

    fn with_error(&self, name: &str, error: bool) -> &ReceivedSpan {
        self.iter().find(|s| s.name == name && (s.status == "error") == error).unwrap_or_else(|| {
            panic!(
                "no {name} span (error: {error}) in {:#?}",
                self.iter().map(|s| (&s.name, &s.status)).collect::<Vec<_>>()
            )
        })
    }
}

type Store = Arc<Mutex<Vec<ReceivedSpan>>>;

/// Every metrics export received, whole, with how it arrived.
type MetricStore = Arc<Mutex<Vec<(Transport, ExportMetricsServiceRequest)>>>;

/// A running receiver; stops when dropped.
pub struct OtlpReceiver {
    /// gRPC endpoint address.
    pub grpc_addr: SocketAddr,
    /// HTTP endpoint address.
    pub http_addr: SocketAddr,
    spans: Store,
    metrics: MetricStore,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpReceiver").field("grpc_addr", &self.grpc_addr).field("http_addr", &self.http_addr).finish()
    }
}

struct Grpc(Store);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        store(&self.0, request.into_inner(), Transport::Grpc);
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

struct GrpcMetrics(MetricStore);

#[tonic::async_trait]
impl MetricsService for GrpcMetrics {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push((Transport::Grpc, request.into_inner()));
        Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

impl OtlpReceiver {
    /// Starts both endpoints on free loopback ports.
    pub fn start() -> Self {
        Self::start_on(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Starts the gRPC endpoint on `grpc`, a listener the caller already holds, and HTTP on a
    /// free port: for a collector that comes up where a service has been failing to reach one.
    /// Taking the listener rather than a port number leaves no moment where another socket of
    /// the machine (the service's own scrape server, in CI once) can take the port.
    pub fn start_on(grpc: std::net::TcpListener) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let spans: Store = Arc::default();
        let metrics: MetricStore = Arc::default();
        let (grpc_addr, http_addr) = runtime.block_on(async {
            grpc.set_nonblocking(true).unwrap();
            let grpc = tokio::net::TcpListener::from_std(grpc).unwrap();
            let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addrs = (grpc.local_addr().unwrap(), http.local_addr().unwrap());
            let service = TraceServiceServer::new(Grpc(spans.clone()));
            let metrics_service = MetricsServiceServer::new(GrpcMetrics(metrics.clone()));
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(service)
                    .add_service(metrics_service)
                    .serve_with_incoming(tokio_stream_from(grpc)),
            );
            let (store_http, metrics_http) = (spans.clone(), metrics.clone());
            let app = axum::Router::new()
                .route(
                    "/v1/traces",
                    protobuf_post(
                        move |request| store(&store_http, request, Transport::Http),
                        || ExportTraceServiceResponse { partial_success: None },
                    ),
                )
                .route(
                    "/v1/metrics",
                    protobuf_post(
                        move |request| metrics_http.lock().unwrap().push((Transport::Http, request)),
                        || ExportMetricsServiceResponse { partial_success: None },
                    ),
                );
            tokio::spawn(async move { axum::serve(http, app).await });
            addrs
        });
        Self { grpc_addr, http_addr, spans, metrics, runtime: Some(runtime) }
    }

    /// `http://127.0.0.1:<port>` of the gRPC endpoint.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// `http://127.0.0.1:<port>` of the HTTP endpoint (the exporter appends `/v1/traces`).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the received spans, or `timeout` passes; returns them.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every metrics export received so far, in order.
    pub fn metric_exports(&self) -> Vec<(Transport, ExportMetricsServiceRequest)> {
        self.metrics.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the metrics exports received, or `timeout` passes.
    pub fn wait_for_metrics(
        &self,
        timeout: Duration,
        done: impl Fn(&[(Transport, ExportMetricsServiceRequest)]) -> bool,
    ) -> Vec<(Transport, ExportMetricsServiceRequest)> {
        let deadline = Instant::now() + timeout;
        loop {
            let exports = self.metric_exports();
            if done(&exports) || Instant::now() > deadline {
                return exports;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops both endpoints now: later exports find nothing listening.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An OTLP/HTTP endpoint: decodes a protobuf `Request`, hands it to `keep`, answers `answer()`
/// (400 for a body that does not decode).
fn protobuf_post<Request, Answer>(
    keep: impl Fn(Request) + Clone + Send + Sync + 'static,
    answer: impl Fn() -> Answer + Clone + Send + Sync + 'static,
) -> axum::routing::MethodRouter
where
    Request: Message + Default + Send + 'static,
    Answer: Message,
{
    axum::routing::post(move |body: axum::body::Bytes| {
        let (keep, answer) = (keep.clone(), answer.clone());
        async move {
            match Request::decode(body) {
                Ok(request) => {
                    keep(request);
                    ([(axum::http::header::CONTENT_TYPE, "application/x-protobuf")], answer().encode_to_vec())
                        .into_response_parts()
                }
                Err(_) => (axum::http::StatusCode::BAD_REQUEST, Vec::new()).into_response_parts(),
            }
        }
    })
}

trait IntoParts {
    fn into_response_parts(self) -> axum::response::Response;
}

impl<T: axum::response::IntoResponse> IntoParts for T {
    fn into_response_parts(self) -> axum::response::Response {
        self.into_response()
    }
}

fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream_compat::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
    tokio_stream_compat::incoming(listener)
}

mod tokio_stream_compat {
    pub use tonic::codegen::tokio_stream::Stream;

    pub fn incoming(
        listener: tokio::net::TcpListener,
    ) -> impl Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
        tonic::codegen::tokio_stream::wrappers::TcpListenerStream::new(listener)
    }
}

fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter().map(|kv| (kv.key.clone(), text(&kv.value))).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn store(spans: &Store, request: ExportTraceServiceRequest, transport: Transport) {
    let mut out = spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource = resource_spans.resource.as_ref().map(|r| attributes(&r.attributes)).unwrap_or_default();
        let service_name = resource.get("service.name").cloned().unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                let kind = opentelemetry_proto::tonic::trace::v1::span::SpanKind::try_from(span.kind)
                    .map(|k| k.as_str_name().trim_start_matches("SPAN_KIND_").to_ascii_lowercase())
                    .unwrap_or_default();
                let (status, status_message) = span.status.as_ref().map_or(("unset".to_owned(), String::new()), |s| {
                    let code = match s.code {
                        1 => "ok",
                        2 => "error",
                        _ => "unset",
                    };
                    (code.to_owned(), s.message.clone())
                });
                out.push(ReceivedSpan {
                    transport,
                    service_name: service_name.clone(),
                    resource: resource.clone(),
                    name: span.name.clone(),
                    kind,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: attributes(&span.attributes),
                    status,
                    status_message,
                    events: span.events.iter().map(|e| (e.name.clone(), attributes(&e.attributes))).collect(),
                });
            }
        }
    }
}
