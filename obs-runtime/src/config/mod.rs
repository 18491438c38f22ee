//! What to install, from the environment and from code. An explicit builder setting beats the
//! environment; the environment fills only what the caller left unset.

mod env;

use std::fmt;
use std::time::Duration;

use env::Vars;
pub(crate) use env::check_url;

use crate::InitError;

/// Where spans are exported (`OTEL_EXPORTER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceExporter {
    /// Jaeger's OTLP/HTTP receiver at `JAEGER_ENDPOINT`.
    Jaeger,
    /// An OpenTelemetry Collector (or any OTLP receiver) at `OTEL_EXPORTER_OTLP_ENDPOINT`.
    Otlp,
    /// The Datadog Agent's OTLP receiver at `OTEL_EXPORTER_OTLP_ENDPOINT`.
    Datadog,
    /// No export: spans still feed the logs' `trace_id`/`span_id`.
    None,
}

impl TraceExporter {
    fn name(self) -> &'static str {
        match self {
            TraceExporter::Jaeger => "jaeger",
            TraceExporter::Otlp => "otlp",
            TraceExporter::Datadog => "datadog",
            TraceExporter::None => "none",
        }
    }
}

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// gRPC, usually port 4317.
    Grpc,
    /// Protobuf over HTTP, usually port 4318; `/v1/traces` is appended to the endpoint.
    HttpProtobuf,
}

/// The trace sampler (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    /// Every trace.
    AlwaysOn,
    /// No trace.
    AlwaysOff,
    /// This fraction of traces, by trace id.
    TraceIdRatio(f64),
    /// Follow the parent's decision; sample roots.
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; drop roots.
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; sample this fraction of roots.
    ParentBasedTraceIdRatio(f64),
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with `trace_id` and `span_id` inside spans.
    Json,
    /// Multi-line, human-readable.
    Pretty,
}

/// The batch span processor's limits (`OTEL_BSP_*`). A full queue drops spans; it never blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSettings {
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, default 2048.
    pub max_queue_size: usize,
    /// `OTEL_BSP_SCHEDULE_DELAY` in ms, default 5000.
    pub schedule_delay: Duration,
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512.
    pub max_export_batch_size: usize,
    /// `OTEL_BSP_EXPORT_TIMEOUT` in ms, default 30000.
    pub export_timeout: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max_queue_size: 2048,
            schedule_delay: Duration::from_millis(5000),
            max_export_batch_size: 512,
            export_timeout: Duration::from_millis(30_000),
        }
    }
}

/// Everything obs installs, with DESIGN §3's defaults.
///
/// ```no_run
/// # fn main() -> Result<(), obs_runtime::InitError> {
/// let _guard = obs_runtime::Config::from_env()?
///     .service_name("mentorsmind")
///     .prefix("gemini_flow_")
///     .buckets_for("db_query_duration_seconds", &[0.001, 0.01, 0.1, 1.0])
///     .install()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a Config does nothing until `.install()`"]
pub struct Config {
    pub(crate) service_name: String,
    pub(crate) service_version: Option<String>,
    pub(crate) resource: Vec<(String, String)>,
    pub(crate) prometheus_enabled: bool,
    pub(crate) prometheus_host: String,
    pub(crate) prometheus_port: u16,
    pub(crate) prometheus_endpoint: String,
    pub(crate) bearer_token: Option<String>,
    pub(crate) prefix: String,
    pub(crate) buckets: Vec<(String, Vec<f64>)>,
    pub(crate) exporter: TraceExporter,
    pub(crate) jaeger_endpoint: String,
    pub(crate) otlp_endpoint: Option<String>,
    pub(crate) otlp_protocol: OtlpProtocol,
    pub(crate) sampler: Sampler,
    pub(crate) sdk_disabled: bool,
    pub(crate) batch: BatchSettings,
    pub(crate) log_filter: String,
    pub(crate) log_format: LogFormat,
    pub(crate) install_subscriber: bool,
    pub(crate) stellar_network: String,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) span_debug_attributes: bool,
    pub(crate) max_series_per_metric: usize,
    pub(crate) warnings: Vec<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("service_name", &self.service_name)
            .field("prometheus_enabled", &self.prometheus_enabled)
            .field(
                "scrape",
                &format_args!("{}:{}{}", self.prometheus_host, self.prometheus_port, self.prometheus_endpoint),
            )
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .field("prefix", &self.prefix)
            .field("exporter", &self.exporter)
            .field("endpoint", &self.trace_endpoint())
            .field("sampler", &self.sampler)
            .field("log_filter", &self.log_filter)
            .field("log_format", &self.log_format)
            .finish_non_exhaustive()
    }
}

const SAMPLERS: &[&str] = &[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

impl Default for Config {
    /// DESIGN's defaults, ignoring the environment.
    fn default() -> Self {
        Self {
            service_name: "unknown_service".to_owned(),
            service_version: None,
            resource: Vec::new(),
            prometheus_enabled: true,
            prometheus_host: "0.0.0.0".to_owned(),
            prometheus_port: 9464,
            prometheus_endpoint: "/metrics".to_owned(),
            bearer_token: None,
            prefix: String::new(),
            buckets: Vec::new(),
            exporter: TraceExporter::Jaeger,
            jaeger_endpoint: "http://localhost:4318/v1/traces".to_owned(),
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::Grpc,
            sampler: Sampler::ParentBasedAlwaysOn,
            sdk_disabled: false,
            batch: BatchSettings::default(),
            log_filter: "info".to_owned(),
            log_format: LogFormat::Json,
            install_subscriber: true,
            stellar_network: "testnet".to_owned(),
            shutdown_timeout: Duration::from_secs(5),
            span_debug_attributes: false,
            max_series_per_metric: 2_000,
            warnings: Vec::new(),
        }
    }
}

impl Config {
    /// DESIGN's defaults overridden by the process environment.
    pub fn from_env() -> Result<Self, InitError> {
        Self::from_vars(std::env::vars())
    }

    /// DESIGN's defaults overridden by these variables, as if they were the environment.
    ///
    /// ```
    /// let err = obs_runtime::Config::from_vars([("PROMETHEUS_PORT", "abc")]).unwrap_err();
    /// assert_eq!(err.to_string(), r#"PROMETHEUS_PORT="abc" is not valid: expected a port number from 0 to 65535"#);
    /// ```
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, InitError> {
        let vars = Vars::new(vars);
        let mut config = Self { resource: parse_resource(vars.get("OTEL_RESOURCE_ATTRIBUTES"))?, ..Self::default() };
        if let Some(name) = config.resource.iter().find(|(k, _)| k == "service.name").map(|(_, v)| v.clone()) {
            config.service_name = name;
        }
        if let Some(version) = config.resource.iter().find(|(k, _)| k == "service.version").map(|(_, v)| v.clone()) {
            config.service_version = Some(version);
        }
        if let Some(name) = vars.get("OTEL_SERVICE_NAME") {
            if name.chars().any(char::is_control) {
                return Err(InitError::invalid("OTEL_SERVICE_NAME", name, "a name without control characters"));
            }
            config.service_name = name.to_owned();
        }

        if let Some(enabled) = vars.bool("PROMETHEUS_ENABLED")? {
            config.prometheus_enabled = enabled;
        }
        if let Some(host) = vars.get("PROMETHEUS_HOST") {
            if host.contains(char::is_whitespace) || host.contains('/') {
                return Err(InitError::invalid("PROMETHEUS_HOST", host, "an IP address or host name"));
            }
            config.prometheus_host = host.to_owned();
        }
        if let Some(port) = vars.port("PROMETHEUS_PORT")? {
            config.prometheus_port = port;
        }
        if let Some(endpoint) = vars.get("PROMETHEUS_ENDPOINT") {
            check_endpoint(endpoint)?;
            config.prometheus_endpoint = endpoint.to_owned();
        }
        if let Some(token) = vars.get("PROMETHEUS_BEARER_TOKEN") {
            if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(InitError::invalid(
                    "PROMETHEUS_BEARER_TOKEN",
                    "<redacted>",
                    "a token without spaces or control characters",
                ));
            }
            config.bearer_token = Some(token.to_owned());
        }
        if let Some(prefix) = vars.get("METRICS_PREFIX") {
            check_prefix("METRICS_PREFIX", prefix)?;
            config.prefix = prefix.to_owned();
        }

        if let Some(exporter) = vars.one_of("OTEL_EXPORTER", &["jaeger", "otlp", "datadog", "none"])? {
            config.exporter = match exporter {
                "jaeger" => TraceExporter::Jaeger,
                "otlp" => TraceExporter::Otlp,
                "datadog" => TraceExporter::Datadog,
                _ => TraceExporter::None,
            };
        }
        if let Some(endpoint) = vars.url("JAEGER_ENDPOINT")? {
            config.jaeger_endpoint = endpoint;
        }
        config.otlp_endpoint = vars.url("OTEL_EXPORTER_OTLP_ENDPOINT")?;
        if let Some(protocol) = vars.one_of("OTEL_EXPORTER_OTLP_PROTOCOL", &["grpc", "http/protobuf"])? {
            config.otlp_protocol = if protocol == "grpc" { OtlpProtocol::Grpc } else { OtlpProtocol::HttpProtobuf };
        }
        config.sampler = parse_sampler(&vars)?;
        if let Some(disabled) = vars.bool("OTEL_SDK_DISABLED")? {
            config.sdk_disabled = disabled;
        }
        let batch = &mut config.batch;
        if let Some(n) = vars.positive("OTEL_BSP_MAX_QUEUE_SIZE")? {
            batch.max_queue_size = n;
        }
        if let Some(d) = vars.millis("OTEL_BSP_SCHEDULE_DELAY")? {
            batch.schedule_delay = d;
        }
        if let Some(n) = vars.positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")? {
            batch.max_export_batch_size = n;
        }
        if let Some(d) = vars.millis("OTEL_BSP_EXPORT_TIMEOUT")? {
            batch.export_timeout = d;
        }
        if batch.max_export_batch_size > batch.max_queue_size {
            return Err(InitError::invalid(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                batch.max_export_batch_size.to_string(),
                format!("at most OTEL_BSP_MAX_QUEUE_SIZE ({})", batch.max_queue_size),
            ));
        }

        if let Some(level) = vars.one_of("LOG_LEVEL", LEVELS)? {
            config.log_filter = level.to_owned();
        }
        if let Some(directives) = vars.get("RUST_LOG") {
            check_filter("RUST_LOG", directives)?;
            config.log_filter = directives.to_owned();
        }
        if let Some(format) = vars.one_of("LOG_FORMAT", &["json", "pretty"])? {
            config.log_format = if format == "json" { LogFormat::Json } else { LogFormat::Pretty };
        }
        if let Some(network) = vars.get("STELLAR_NETWORK") {
            check_label_value("STELLAR_NETWORK", network)?;
            config.stellar_network = network.to_owned();
        }
        if let Some(timeout) = vars.duration("OBS_SHUTDOWN_TIMEOUT")? {
            config.shutdown_timeout = timeout;
        }
        if let Some(debug) = vars.bool("OBS_SPAN_DEBUG_ATTRIBUTES")? {
            config.span_debug_attributes = debug;
        }
        if let Some(cap) = vars.positive("OBS_MAX_SERIES_PER_METRIC")? {
            config.max_series_per_metric = cap;
        }
        config.validate()?;
        Ok(config)
    }

    /// The service name: the `app` label of every metric and the `service.name` resource.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// The `service.version` resource attribute.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Prefixes every metric name, e.g. `gemini_flow_`. Checked at install.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the buckets of a histogram (named without the prefix). Checked at install.
    pub fn buckets_for(mut self, metric: impl Into<String>, bounds: &[f64]) -> Self {
        self.buckets.push((metric.into(), bounds.to_vec()));
        self
    }

    /// Installs the Prometheus recorder and scrape server, or not.
    pub fn prometheus_enabled(mut self, enabled: bool) -> Self {
        self.prometheus_enabled = enabled;
        self
    }

    /// Where the scrape server listens; port 0 picks a free port (see [`crate::ObsGuard::scrape_addr`]).
    pub fn scrape_addr(mut self, addr: std::net::SocketAddr) -> Self {
        self.prometheus_host = addr.ip().to_string();
        self.prometheus_port = addr.port();
        self
    }

    /// The one path the scrape server answers. Checked at install.
    pub fn scrape_endpoint(mut self, path: impl Into<String>) -> Self {
        self.prometheus_endpoint = path.into();
        self
    }

    /// Requires `Authorization: Bearer <token>` on scrapes.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Where spans go.
    pub fn exporter(mut self, exporter: TraceExporter) -> Self {
        self.exporter = exporter;
        self
    }

    /// The OTLP endpoint for `otlp` and `datadog`. Checked at install.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// Jaeger's OTLP/HTTP endpoint. Checked at install.
    pub fn jaeger_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.jaeger_endpoint = endpoint.into();
        self
    }

    /// The OTLP transport.
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.otlp_protocol = protocol;
        self
    }

    /// The trace sampler.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self
    }

    /// Turns span export off (`OTEL_SDK_DISABLED=true`).
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.sdk_disabled = disabled;
        self
    }

    /// The batch span processor's limits.
    pub fn batch(mut self, batch: BatchSettings) -> Self {
        self.batch = batch;
        self
    }

    /// The log filter, in `RUST_LOG` syntax. Checked at install.
    pub fn log_filter(mut self, filter: impl Into<String>) -> Self {
        self.log_filter = filter.into();
        self
    }

    /// JSON or pretty log lines.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Whether obs installs the global `tracing` subscriber (logs and span export). Off, the
    /// app installs its own and adds obs's layers itself.
    pub fn install_subscriber(mut self, install: bool) -> Self {
        self.install_subscriber = install;
        self
    }

    /// The default `network` label of `#[stellar_call]`. Checked at install.
    pub fn stellar_network(mut self, network: impl Into<String>) -> Self {
        self.stellar_network = network.into();
        self
    }

    /// How long dropping the guard may take to flush spans.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Keeps tracing-opentelemetry's `busy_ns`, `idle_ns`, `thread.*` and `code.*` attributes.
    pub fn span_debug_attributes(mut self, on: bool) -> Self {
        self.span_debug_attributes = on;
        self
    }

    /// Caps the distinct label sets of each metric (default 2 000); see
    /// [`crate::MetricsRecorderBuilder::max_series_per_metric`].
    pub fn max_series_per_metric(mut self, cap: usize) -> Self {
        self.max_series_per_metric = cap;
        self
    }

    /// Installs everything configured. See [`crate::init`].
    pub fn install(self) -> Result<crate::ObsGuard, InitError> {
        crate::install::install(self)
    }

    /// Checks what the builder methods set, with the same errors as the environment's.
    pub(crate) fn validate(&mut self) -> Result<(), InitError> {
        check_prefix("prefix", &self.prefix)?;
        for (metric, bounds) in &self.buckets {
            crate::recorder::check_buckets(metric, bounds)?;
        }
        check_endpoint(&self.prometheus_endpoint)?;
        check_label_value("stellar_network", &self.stellar_network)?;
        check_filter("log filter", &self.log_filter)?;
        check_url("JAEGER_ENDPOINT", &self.jaeger_endpoint)?;
        if let Some(endpoint) = &self.otlp_endpoint {
            check_url("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)?;
        }
        if let Some(rewritten) = legacy_jaeger(&self.jaeger_endpoint) {
            self.warnings.push(format!(
                "JAEGER_ENDPOINT={:?} is Jaeger's legacy Thrift collector; exporting over OTLP/HTTP to {rewritten} instead",
                self.jaeger_endpoint
            ));
            self.jaeger_endpoint = rewritten;
        }
        Ok(())
    }

    /// The exporter's name, for the start-up log line.
    pub(crate) fn exporter_name(&self) -> &'static str {
        self.exporter.name()
    }

    /// Where spans are sent, exactly as the exporter will use it.
    pub(crate) fn trace_endpoint(&self) -> String {
        match self.exporter {
            TraceExporter::Jaeger => self.jaeger_endpoint.clone(),
            TraceExporter::None => String::new(),
            TraceExporter::Otlp | TraceExporter::Datadog => match self.otlp_protocol {
                OtlpProtocol::Grpc => self.otlp_endpoint.clone().unwrap_or_else(|| "http://localhost:4317".to_owned()),
                OtlpProtocol::HttpProtobuf => {
                    let base = self.otlp_endpoint.clone().unwrap_or_else(|| "http://localhost:4318".to_owned());
                    if base.trim_end_matches('/').ends_with("/v1/traces") {
                        base
                    } else {
                        format!("{}/v1/traces", base.trim_end_matches('/'))
                    }
                }
            },
        }
    }

    /// Whether spans go over gRPC.
    pub(crate) fn trace_protocol(&self) -> OtlpProtocol {
        match self.exporter {
            TraceExporter::Jaeger => OtlpProtocol::HttpProtobuf,
            _ => self.otlp_protocol,
        }
    }
}

/// Jaeger's legacy Thrift HTTP collector (`:14268/api/traces`) rewritten to its OTLP/HTTP receiver.
fn legacy_jaeger(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.strip_suffix(":14268")?;
    (path.trim_end_matches('/') == "api/traces").then(|| format!("{scheme}://{host}:4318/v1/traces"))
}

fn check_endpoint(endpoint: &str) -> Result<(), InitError> {
    if endpoint.starts_with('/') && !endpoint.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
        Ok(())
    } else {
        Err(InitError::invalid("PROMETHEUS_ENDPOINT", endpoint, "a path starting with /, e.g. /metrics"))
    }
}

fn check_prefix(variable: &str, prefix: &str) -> Result<(), InitError> {
    let mut chars = prefix.chars();
    let valid = match chars.next() {
        None => true,
        Some(first) => {
            (first.is_ascii_alphabetic() || first == '_' || first == ':')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }
    };
    if valid {
        Ok(())
    } else {
        Err(InitError::invalid(variable, prefix, "ASCII letters, digits, _ and :, not starting with a digit"))
    }
}

fn check_label_value(variable: &str, value: &str) -> Result<(), InitError> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "_.:/-".contains(c)) {
        Ok(())
    } else {
        Err(InitError::invalid(variable, value, "ASCII letters, digits and _ . : / -"))
    }
}

fn check_filter(variable: &str, directives: &str) -> Result<(), InitError> {
    tracing_subscriber::EnvFilter::builder().parse(directives).map(|_| ()).map_err(|e| {
        InitError::invalid(
            variable,
            directives,
            format!("tracing filter directives such as info or my_app=debug,warn ({e})"),
        )
    })
}

fn parse_resource(value: Option<&str>) -> Result<Vec<(String, String)>, InitError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), percent_decode(v.trim()))),
            _ => Err(InitError::invalid("OTEL_RESOURCE_ATTRIBUTES", value, "comma-separated key=value pairs")),
        })
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = value.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_sampler(vars: &Vars) -> Result<Sampler, InitError> {
    let name = vars.one_of("OTEL_TRACES_SAMPLER", SAMPLERS)?.unwrap_or("parentbased_always_on");
    let ratio = || -> Result<f64, InitError> {
        match vars.get("OTEL_TRACES_SAMPLER_ARG") {
            None => Ok(1.0),
            Some(arg) => arg
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| InitError::invalid("OTEL_TRACES_SAMPLER_ARG", arg, "a number from 0 to 1")),
        }
    };
    Ok(match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(ratio()?),
        "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
        _ => {
            // The argument is still checked: a set-but-wrong value is never ignored.
            ratio()?;
            Sampler::ParentBasedAlwaysOn
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_jaeger_urls_are_rewritten() {
        assert_eq!(legacy_jaeger("http://jaeger:14268/api/traces").as_deref(), Some("http://jaeger:4318/v1/traces"));
        assert_eq!(legacy_jaeger("http://jaeger:4318/v1/traces"), None);
    }

    #[test]
    fn resource_attributes_are_percent_decoded() {
        let parsed = parse_resource(Some("service.name=shop,deployment.environment=prod%2Ceu")).unwrap();
        assert_eq!(
            parsed,
            vec![("service.name".into(), "shop".into()), ("deployment.environment".into(), "prod,eu".into())]
        );
    }
}
