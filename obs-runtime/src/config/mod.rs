//! What to install, by signal: the service, metrics, traces and logs sections, each reading and
//! checking its own variables (the sections of `docs/configuration.md`). Settings made in code
//! after reading the environment beat it; settings made before are defaults it may override.

mod env;
mod exporter;
mod logs;
mod metrics;
mod push;
mod service;
mod traces;

use std::time::Duration;

use env::Vars;
pub(crate) use exporter::AppExporter;
pub use logs::{LogFormat, LogSettings};
pub use metrics::{MetricsSettings, ScrapeSettings};
pub use push::PushSettings;
pub use service::ServiceSettings;
pub use traces::{BatchSettings, OtlpProtocol, Sampler, SpanLimitSettings, TraceExporter, TraceSettings};

use crate::error::InitError;

/// Everything obs installs, with DESIGN §3's defaults. Build it by value, then `.install()`.
///
/// Explicit settings beat the environment:
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
///
/// A default of the app's own that the environment may still override:
///
/// ```
/// let config = obs_runtime::Config::default()
///     .service_name("mentorsmind")
///     .with_vars([("OTEL_SERVICE_NAME", "mentorsmind-canary")])?;
/// assert_eq!(config.service().name, "mentorsmind-canary");
/// let config = obs_runtime::Config::default().service_name("mentorsmind").with_vars([("LOG_LEVEL", "warn")])?;
/// assert_eq!(config.service().name, "mentorsmind");
/// # Ok::<(), obs_runtime::InitError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a Config does nothing until `.install()`"]
pub struct Config {
    pub(crate) service: ServiceSettings,
    pub(crate) metrics: MetricsSettings,
    pub(crate) traces: TraceSettings,
    pub(crate) logs: LogSettings,
    /// Said once the subscriber is up (a rewritten legacy endpoint).
    pub(crate) warnings: Vec<String>,
    /// An app's own exporter instead of `OTEL_EXPORTER`'s.
    pub(crate) span_exporter: Option<AppExporter>,
}

impl Config {
    /// DESIGN's defaults overridden by the process environment.
    pub fn from_env() -> Result<Self, InitError> {
        Self::default().with_env()
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
        Self::default().with_vars(vars)
    }

    /// These settings, overridden by whatever the process environment sets: how an app gives
    /// defaults of its own that operators can still change.
    pub fn with_env(self) -> Result<Self, InitError> {
        self.with_vars(std::env::vars())
    }

    /// These settings, overridden by whatever `vars` set, as if they were the environment. A
    /// variable that is set but wrong is an error naming it.
    pub fn with_vars<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, InitError> {
        let vars = Vars::new(vars);
        self.service.read(&vars)?;
        self.metrics.read(&vars)?;
        self.traces.read(&vars)?;
        self.logs.read(&vars)?;
        self.validate()?;
        Ok(self)
    }

    /// The service section.
    pub fn service(&self) -> &ServiceSettings {
        &self.service
    }

    /// The metrics section.
    pub fn metrics(&self) -> &MetricsSettings {
        &self.metrics
    }

    /// The traces section.
    pub fn traces(&self) -> &TraceSettings {
        &self.traces
    }

    /// The logs section.
    pub fn logs(&self) -> &LogSettings {
        &self.logs
    }

    /// The service name: the `app` label of every metric and the `service.name` resource.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service.name = name.into();
        self.service.named = true;
        self
    }

    /// The `service.version` resource attribute, and `build_info{version}`: give it the
    /// service's `env!("CARGO_PKG_VERSION")`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service.version = Some(version.into());
        self
    }

    /// The source revision the service was built from (a git commit), for
    /// `build_info{revision}` (`OBS_SERVICE_REVISION`). The dashboard marks a deploy where a
    /// service's version or revision changes.
    ///
    /// ```
    /// let config = obs_runtime::Config::default().service_revision("3f2a9c1");
    /// assert_eq!(config.service().revision.as_deref(), Some("3f2a9c1"));
    /// ```
    pub fn service_revision(mut self, revision: impl Into<String>) -> Self {
        self.service.revision = Some(revision.into());
        self
    }

    /// Prefixes every metric name, e.g. `gemini_flow_`. Checked at install.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.metrics.prefix = prefix.into();
        self
    }

    /// Sets the buckets of a histogram (named without the prefix). Checked at install.
    pub fn buckets_for(mut self, metric: impl Into<String>, bounds: &[f64]) -> Self {
        self.metrics.buckets.push((metric.into(), bounds.to_vec()));
        self
    }

    /// Renames one of obs's metrics, its labels or its HELP text; see [`crate::MetricRename`].
    /// A later rename of the same metric (here or in `OBS_METRIC_RENAMES`) replaces this one.
    /// Checked at install: an unknown metric or label, a name another metric has, or two labels
    /// with one name is an [`InitError`].
    ///
    /// ```
    /// use obs_runtime::{Config, MetricRename};
    ///
    /// let config = Config::default().prefix("gemini_flow_").rename_metric(
    ///     MetricRename::new("http_requests_total").label("path", "route").help("Total number of HTTP requests"),
    /// );
    /// assert_eq!(config.metrics().renames[0].to_string(), r#"http_requests_total{path=route} "Total number of HTTP requests""#);
    ///
    /// let error = Config::default()
    ///     .rename_metric(MetricRename::new("db_queries_total").to("redis_calls_total"))
    ///     .with_vars(std::iter::empty::<(String, String)>())
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("a name no other metric exposes"), "{error}");
    /// ```
    pub fn rename_metric(mut self, rename: crate::catalogue::MetricRename) -> Self {
        self.metrics.renames.retain(|r| r.metric != rename.metric);
        self.metrics.renames.push(rename);
        self
    }

    /// Switches one of obs's metrics off (by its catalogue name): its series are never
    /// registered, so it is neither rendered nor counted against the series cap.
    pub fn disable_metric(mut self, metric: impl Into<String>) -> Self {
        self.metrics.disabled.push(metric.into());
        self
    }

    /// Whether every series carries `app=<service name>` (default true, `OBS_APP_LABEL`).
    pub fn app_label(mut self, on: bool) -> Self {
        self.metrics.app_label = on;
        self
    }

    /// Whether the error series of the macros' counters carry `error_type`, the kind of error
    /// (default true, `OBS_ERROR_TYPE_LABEL`): the error's [`crate::BoundedKind`] or else its
    /// type name, at most [`crate::MAX_ERROR_KINDS`] per label set. Off, errors count in one
    /// `status="error"` series per label set, for a team whose metric set has no such label.
    pub fn error_type_label(mut self, on: bool) -> Self {
        self.metrics.error_type_label = on;
        self
    }

    /// Whether obs serves scrapes on its own port (default true, `PROMETHEUS_SCRAPE_SERVER`).
    /// Off, the recorder still runs; the app serves [`crate::render`] on its own router, e.g.
    /// with `http::metrics_handler`.
    pub fn scrape_server(mut self, on: bool) -> Self {
        self.metrics.scrape.serve = on;
        self
    }

    /// Applies `objective` to every series of a family, named by its counter or histogram
    /// (without the prefix): `objective_for("redis_calls_total", CACHE)`. An unknown family,
    /// or a latency threshold that is not one of the family's bucket bounds, is an
    /// [`InitError::InvalidObjective`](crate::InitError::InvalidObjective) at install.
    ///
    /// ```
    /// use obs_runtime::{Config, Objective};
    ///
    /// const CACHE: Objective = Objective::new("cache", 99.99);
    /// let config = Config::default().objective_for("redis_calls_total", CACHE);
    /// assert_eq!(config.metrics().objectives.len(), 1);
    /// ```
    pub fn objective_for(mut self, family: impl Into<String>, objective: crate::catalogue::Objective) -> Self {
        self.metrics.objectives.push((family.into(), objective));
        self
    }

    /// Installs the Prometheus recorder and scrape server, or not.
    pub fn prometheus_enabled(mut self, enabled: bool) -> Self {
        self.metrics.enabled = enabled;
        self
    }

    /// Where the scrape server listens; port 0 picks a free port (see [`crate::ObsGuard::scrape_addr`]).
    pub fn scrape_addr(mut self, addr: std::net::SocketAddr) -> Self {
        self.metrics.scrape.host = addr.ip().to_string();
        self.metrics.scrape.port = addr.port();
        self
    }

    /// The one path the scrape server answers. Checked at install.
    pub fn scrape_endpoint(mut self, path: impl Into<String>) -> Self {
        self.metrics.scrape.endpoint = path.into();
        self
    }

    /// Requires `Authorization: Bearer <token>` on scrapes.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.metrics.scrape.bearer_token = Some(token.into());
        self
    }

    /// Caps the distinct label sets of each metric (default 2 000); see
    /// [`crate::MetricsRecorderBuilder::max_series_per_metric`].
    pub fn max_series_per_metric(mut self, cap: usize) -> Self {
        self.metrics.max_series_per_metric = cap;
        self
    }

    /// The default `network` label of `#[stellar_call]`. Checked at install.
    pub fn stellar_network(mut self, network: impl Into<String>) -> Self {
        self.metrics.stellar_network = network.into();
        self
    }

    /// Where spans go.
    pub fn exporter(mut self, exporter: TraceExporter) -> Self {
        self.traces.exporter = exporter;
        self
    }

    /// The OTLP endpoint for `otlp` and `datadog`. Checked at install.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.traces.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// Jaeger's OTLP/HTTP endpoint. Checked at install.
    pub fn jaeger_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.traces.jaeger_endpoint = endpoint.into();
        self.traces.jaeger_endpoint_set = true;
        self
    }

    /// The OTLP transport.
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.traces.otlp_protocol = protocol;
        self
    }

    /// The trace sampler.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.traces.sampler = sampler;
        self
    }

    /// Sends spans to `exporter` instead of the one `OTEL_EXPORTER` names, behind obs's own
    /// pipeline: the batch processor bounded in spans and bytes, the span limits, the sampler
    /// (tail sampling included) and the resource. For an exporter obs has no name for, or a
    /// test that keeps what the app exports.
    ///
    /// ```
    /// use opentelemetry_sdk::error::OTelSdkResult;
    /// use opentelemetry_sdk::trace::{SpanData, SpanExporter};
    ///
    /// /// Prints the name of every span.
    /// #[derive(Debug)]
    /// struct Names;
    ///
    /// impl SpanExporter for Names {
    ///     async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
    ///         batch.iter().for_each(|span| println!("{}", span.name));
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let config = obs_runtime::Config::default().span_exporter(Names);
    /// # drop(config);
    /// ```
    pub fn span_exporter<E: opentelemetry_sdk::trace::SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.span_exporter = Some(AppExporter::new(exporter));
        self
    }

    /// Turns span export off (`OTEL_SDK_DISABLED=true`).
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.traces.sdk_disabled = disabled;
        self
    }

    /// The batch span processor's limits.
    pub fn batch(mut self, batch: BatchSettings) -> Self {
        self.traces.batch = batch;
        self
    }

    /// OpenTelemetry's span limits: value length, attributes and events per span.
    pub fn span_limits(mut self, limits: SpanLimitSettings) -> Self {
        self.traces.limits = limits;
        self
    }

    /// How long dropping the guard may take to flush spans.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.traces.shutdown_timeout = timeout;
        self
    }

    /// Keeps tracing-opentelemetry's `busy_ns`, `idle_ns`, `thread.*` and `code.*` attributes.
    pub fn span_debug_attributes(mut self, on: bool) -> Self {
        self.traces.debug_attributes = on;
        self
    }

    /// The log filter, in `RUST_LOG` syntax. Checked at install.
    pub fn log_filter(mut self, filter: impl Into<String>) -> Self {
        self.logs.filter = filter.into();
        self
    }

    /// JSON or pretty log lines.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.logs.format = format;
        self
    }

    /// Whether obs installs the global `tracing` subscriber (logs and span export). Off, the
    /// app installs its own and adds obs's layers itself.
    pub fn install_subscriber(mut self, install: bool) -> Self {
        self.logs.install_subscriber = install;
        self
    }

    /// Checks every section, with the same errors whether a value came from the environment or
    /// from a builder method.
    pub(crate) fn validate(&mut self) -> Result<(), InitError> {
        self.metrics.validate()?;
        self.logs.env_filter()?;
        if let Some(warning) = self.traces.validate()? {
            self.warnings.push(warning);
        }
        Ok(())
    }
}
