//! Pushing metrics over OTLP, beside or instead of the scrape server (`OTEL_METRICS_EXPORTER`,
//! `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_METRIC_EXPORT_TIMEOUT`,
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`, and the shared
//! `OTEL_EXPORTER_OTLP_ENDPOINT`/`_PROTOCOL`).

use std::time::Duration;

use super::env::{Vars, check_url};
use super::traces::OtlpProtocol;
use crate::error::InitError;

/// What `OTEL_METRICS_EXPORTER` accepts, as the error says it.
const EXPORTERS: &str = "prometheus, otlp or none, or a comma-separated list such as prometheus,otlp";

/// How and where metrics are pushed over OTLP.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushSettings {
    /// `otlp` is in `OTEL_METRICS_EXPORTER` (default `prometheus`: the scrape server only).
    pub enabled: bool,
    /// `OTEL_METRIC_EXPORT_INTERVAL` in milliseconds, default 60 000: time between pushes.
    pub interval: Duration,
    /// `OTEL_METRIC_EXPORT_TIMEOUT` in milliseconds, default 30 000: how long one push may take
    /// before it is abandoned (the next one carries the same cumulative totals).
    pub timeout: Duration,
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, used as given.
    pub metrics_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the base, `/v1/metrics` appended over HTTP.
    pub base_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, default gRPC.
    pub protocol: OtlpProtocol,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            metrics_endpoint: None,
            base_endpoint: None,
            protocol: OtlpProtocol::Grpc,
        }
    }
}

impl PushSettings {
    /// Reads the push variables; returns whether `OTEL_METRICS_EXPORTER` asks for the scrape
    /// server (`prometheus`), when it is set.
    pub(super) fn read(&mut self, vars: &Vars) -> Result<Option<bool>, InitError> {
        let mut scrape = None;
        if let Some(value) = vars.get("OTEL_METRICS_EXPORTER") {
            let (mut prometheus, mut otlp, mut none) = (false, false, false);
            for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()) {
                match name.as_str() {
                    "prometheus" => prometheus = true,
                    "otlp" => otlp = true,
                    "none" => none = true,
                    _ => return Err(InitError::invalid("OTEL_METRICS_EXPORTER", value, EXPORTERS)),
                }
            }
            if none && (prometheus || otlp) {
                return Err(InitError::invalid("OTEL_METRICS_EXPORTER", value, format!("{EXPORTERS}; none alone")));
            }
            self.enabled = otlp;
            scrape = Some(prometheus);
        }
        for (variable, field) in
            [("OTEL_METRIC_EXPORT_INTERVAL", &mut self.interval), ("OTEL_METRIC_EXPORT_TIMEOUT", &mut self.timeout)]
        {
            if let Some(value) = vars.get(variable) {
                *field = match value.parse::<u64>() {
                    Ok(ms) if ms > 0 => Duration::from_millis(ms),
                    _ => {
                        return Err(InitError::invalid(
                            variable,
                            value,
                            "a whole number of milliseconds greater than 0",
                        ));
                    }
                };
            }
        }
        if let Some(endpoint) = vars.url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")? {
            self.metrics_endpoint = Some(endpoint);
        }
        if let Some(endpoint) = vars.url("OTEL_EXPORTER_OTLP_ENDPOINT")? {
            self.base_endpoint = Some(endpoint);
        }
        let accepted = ["grpc", "http/protobuf"];
        let protocol = match vars.one_of("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", &accepted)? {
            Some(protocol) => Some(protocol),
            None => vars.one_of("OTEL_EXPORTER_OTLP_PROTOCOL", &accepted)?,
        };
        if let Some(protocol) = protocol {
            self.protocol = if protocol == "grpc" { OtlpProtocol::Grpc } else { OtlpProtocol::HttpProtobuf };
        }
        Ok(scrape)
    }

    /// Checks the endpoint the pushes will use; obs's transports speak plain HTTP/2 and HTTP/1.1.
    pub(super) fn validate(&self) -> Result<(), InitError> {
        if !self.enabled {
            return Ok(());
        }
        let variable = self.endpoint_variable();
        let endpoint = self.endpoint();
        check_url(variable, &endpoint)?;
        if endpoint.starts_with("https://") {
            return Err(InitError::invalid(
                variable,
                endpoint,
                "an http:// URL: obs pushes metrics without TLS, to a collector or agent next to the service",
            ));
        }
        Ok(())
    }

    /// Where pushes go, exactly as sent: the metrics endpoint as given, else the base with
    /// `/v1/metrics` over HTTP, else the protocol's localhost default.
    pub fn endpoint(&self) -> String {
        if let Some(endpoint) = &self.metrics_endpoint {
            return endpoint.clone();
        }
        match self.protocol {
            OtlpProtocol::Grpc => self.base_endpoint.clone().unwrap_or_else(|| "http://localhost:4317".to_owned()),
            OtlpProtocol::HttpProtobuf => {
                let base = self.base_endpoint.as_deref().unwrap_or("http://localhost:4318").trim_end_matches('/');
                format!("{base}/v1/metrics")
            }
        }
    }

    /// The variable that names [`Self::endpoint`], for errors.
    pub(crate) fn endpoint_variable(&self) -> &'static str {
        if self.metrics_endpoint.is_some() {
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
        } else {
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_endpoint_is_used_as_given_and_the_base_gets_the_path() {
        let mut push = PushSettings { enabled: true, ..PushSettings::default() };
        assert_eq!(push.endpoint(), "http://localhost:4317");
        push.protocol = OtlpProtocol::HttpProtobuf;
        push.base_endpoint = Some("http://collector:4318/".into());
        assert_eq!(push.endpoint(), "http://collector:4318/v1/metrics");
        push.metrics_endpoint = Some("http://agent:9000/otlp".into());
        assert_eq!(push.endpoint(), "http://agent:9000/otlp");
    }
}
