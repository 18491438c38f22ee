//! Sending one `ExportMetricsServiceRequest`: OTLP/gRPC through opentelemetry-proto's
//! generated client, or OTLP/HTTP as a protobuf `POST`. Each send is bounded by the export
//! timeout; nothing is queued, so a stalled collector holds at most the one request in flight.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use prost::Message;

use crate::config::OtlpProtocol;

/// The most of a collector's answer obs reads (an `ExportMetricsServiceResponse` is a few bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A connection to the collector, made lazily: a collector that is down at start-up is not an
/// error, only a failed push.
#[derive(Clone)]
pub(crate) enum Transport {
    Grpc(MetricsServiceClient<tonic::transport::Channel>),
    Http { client: Box<Client<HttpConnector, Full<Bytes>>>, endpoint: http::Uri },
}

impl Transport {
    /// Must run inside obs's runtime: the gRPC channel spawns its connection task there.
    pub(crate) fn new(protocol: OtlpProtocol, endpoint: &str, timeout: Duration) -> Result<Self, String> {
        match protocol {
            OtlpProtocol::Grpc => {
                let channel = tonic::transport::Channel::from_shared(endpoint.to_owned())
                    .map_err(|e| e.to_string())?
                    .connect_timeout(timeout)
                    .timeout(timeout)
                    .connect_lazy();
                Ok(Transport::Grpc(MetricsServiceClient::new(channel)))
            }
            OtlpProtocol::HttpProtobuf => {
                let endpoint = endpoint.parse::<http::Uri>().map_err(|e| e.to_string())?;
                let mut connector = HttpConnector::new();
                connector.set_connect_timeout(Some(timeout));
                Ok(Transport::Http {
                    client: Box::new(Client::builder(TokioExecutor::new()).build(connector)),
                    endpoint,
                })
            }
        }
    }

    /// Sends `request`, giving up after `timeout`.
    pub(crate) async fn send(&mut self, request: ExportMetricsServiceRequest, timeout: Duration) -> Result<(), String> {
        match tokio::time::timeout(timeout, self.send_unbounded(request)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }

    async fn send_unbounded(&mut self, request: ExportMetricsServiceRequest) -> Result<(), String> {
        match self {
            Transport::Grpc(client) => client.export(request).await.map(|_| ()).map_err(|s| s.to_string()),
            Transport::Http { client, endpoint } => {
                let body = Full::new(Bytes::from(request.encode_to_vec()));
                let post = http::Request::post(endpoint.clone())
                    .header(http::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(body)
                    .map_err(|e| e.to_string())?;
                let response = client.request(post).await.map_err(|e| e.to_string())?;
                let status = response.status();
                // Read the answer so the connection can be reused, up to a bound: a collector
                // cannot make obs buffer an answer of any size.
                let _ = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES).collect().await;
                if status.is_success() { Ok(()) } else { Err(format!("the collector answered {status}")) }
            }
        }
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Grpc(_) => "Transport::Grpc",
            Transport::Http { .. } => "Transport::Http",
        })
    }
}
