//! The metrics section: the recorder, the scrape server (and OTLP push, see `push`) and the
//! series they expose
//! (`PROMETHEUS_*`, `METRICS_PREFIX`, `OBS_METRIC_RENAMES`, `OBS_METRICS_DISABLED`,
//! `OBS_APP_LABEL`, `OBS_ERROR_TYPE_LABEL`, `OBS_MAX_SERIES_PER_METRIC`, `STELLAR_NETWORK`).

use std::fmt;

use super::env::Vars;
use crate::catalogue::{MetricRename, Names, RENAMES_SYNTAX, RENAMES_VARIABLE};
use crate::error::InitError;

/// Where and how the scrape server answers.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrapeSettings {
    /// `PROMETHEUS_SCRAPE_SERVER`, default true: obs serves scrapes on its own port. Off, the
    /// recorder still runs and the app serves [`crate::render`] itself (e.g. with
    /// `http::metrics_handler` on its own router).
    pub serve: bool,
    /// `PROMETHEUS_HOST`, default `0.0.0.0`.
    pub host: String,
    /// `PROMETHEUS_PORT`, default 9464; 0 picks a free port.
    pub port: u16,
    /// `PROMETHEUS_ENDPOINT`, default `/metrics`: the only path served.
    pub endpoint: String,
    /// `PROMETHEUS_BEARER_TOKEN`: when set, scrapes must send `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
}

impl fmt::Debug for ScrapeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScrapeSettings")
            .field("serve", &self.serve)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("endpoint", &self.endpoint)
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The metrics section of a [`crate::Config`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricsSettings {
    /// `PROMETHEUS_ENABLED`, default true: install the recorder and the scrape server.
    pub enabled: bool,
    /// The scrape server.
    pub scrape: ScrapeSettings,
    /// Pushing over OTLP (`OTEL_METRICS_EXPORTER=otlp`), beside or instead of the scrape server.
    pub push: super::PushSettings,
    /// `METRICS_PREFIX`, default empty: prefixes every metric name.
    pub prefix: String,
    /// `OBS_METRIC_RENAMES` and [`crate::Config::rename_metric`]: new names, label names and
    /// HELP texts of obs's metrics, one entry per metric.
    pub renames: Vec<MetricRename>,
    /// `OBS_METRICS_DISABLED` and [`crate::Config::disable_metric`]: obs's metrics not
    /// recorded at all, by catalogue name.
    pub disabled: Vec<String>,
    /// `OBS_APP_LABEL`, default true: every series carries `app=<service name>`.
    pub app_label: bool,
    /// `OBS_ERROR_TYPE_LABEL`, default true: the macros' error series carry `error_type`.
    pub error_type_label: bool,
    /// Histogram buckets by metric name (without the prefix), from [`crate::Config::buckets_for`].
    pub buckets: Vec<(String, Vec<f64>)>,
    /// `OBS_MAX_SERIES_PER_METRIC`, default 2 000: distinct label sets per metric.
    pub max_series_per_metric: usize,
    /// `STELLAR_NETWORK`, default `testnet`: the `network` of `#[stellar_call]` sites that name none.
    pub stellar_network: String,
    /// Objectives covering a whole family (its counter or histogram name, without the prefix),
    /// from [`crate::Config::objective_for`].
    pub objectives: Vec<(String, crate::catalogue::Objective)>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            scrape: ScrapeSettings {
                serve: true,
                host: "0.0.0.0".to_owned(),
                port: 9464,
                endpoint: "/metrics".to_owned(),
                bearer_token: None,
            },
            push: super::PushSettings::default(),
            prefix: String::new(),
            renames: Vec::new(),
            disabled: Vec::new(),
            app_label: true,
            error_type_label: true,
            buckets: Vec::new(),
            max_series_per_metric: 2_000,
            stellar_network: "testnet".to_owned(),
            objectives: Vec::new(),
        }
    }
}

impl MetricsSettings {
    pub(super) fn read(&mut self, vars: &Vars) -> Result<(), InitError> {
        if let Some(enabled) = vars.bool("PROMETHEUS_ENABLED")? {
            self.enabled = enabled;
        }
        // `OTEL_METRICS_EXPORTER` without `prometheus` turns the scrape server off, whatever
        // `PROMETHEUS_SCRAPE_SERVER` says; with it (or unset) that variable decides.
        let listed = self.push.read(vars)?;
        if let Some(scrape) = listed {
            self.scrape.serve = scrape;
        }
        if let Some(serve) = vars.bool("PROMETHEUS_SCRAPE_SERVER")? {
            self.scrape.serve = serve && listed.unwrap_or(true);
        }
        if let Some(host) = vars.get("PROMETHEUS_HOST") {
            if host.contains(char::is_whitespace) || host.contains('/') {
                return Err(InitError::invalid("PROMETHEUS_HOST", host, "an IP address or host name"));
            }
            self.scrape.host = host.to_owned();
        }
        if let Some(port) = vars.port("PROMETHEUS_PORT")? {
            self.scrape.port = port;
        }
        if let Some(endpoint) = vars.get("PROMETHEUS_ENDPOINT") {
            self.scrape.endpoint = endpoint.to_owned();
        }
        if let Some(token) = vars.get("PROMETHEUS_BEARER_TOKEN") {
            if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(InitError::invalid(
                    "PROMETHEUS_BEARER_TOKEN",
                    "<redacted>",
                    "a token without spaces or control characters",
                ));
            }
            self.scrape.bearer_token = Some(token.to_owned());
        }
        if let Some(prefix) = vars.get("METRICS_PREFIX") {
            check_prefix("METRICS_PREFIX", prefix)?;
            self.prefix = prefix.to_owned();
        }
        if let Some(value) = vars.get(RENAMES_VARIABLE) {
            let renames = MetricRename::parse_all(value)
                .map_err(|entry| InitError::invalid(RENAMES_VARIABLE, entry, RENAMES_SYNTAX))?;
            // The environment's entry for a metric replaces the code's.
            self.renames.retain(|r| !renames.iter().any(|e| e.metric == r.metric));
            self.renames.extend(renames);
        }
        if let Some(value) = vars.get("OBS_METRICS_DISABLED") {
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if crate::catalogue::metric_named(name).is_none() {
                    return Err(InitError::invalid(
                        "OBS_METRICS_DISABLED",
                        value,
                        format!(
                            "names of obs's metrics as docs/metrics.md gives them, separated by commas ({name:?} is none)"
                        ),
                    ));
                }
                if !self.disabled.iter().any(|d| d == name) {
                    self.disabled.push(name.to_owned());
                }
            }
        }
        if let Some(value) = vars.get(BUCKETS_VARIABLE) {
            let buckets = self.parse_buckets(value)?;
            // The environment's buckets for a metric replace the code's.
            self.buckets.retain(|(metric, _)| !buckets.iter().any(|(m, _)| m == metric));
            self.buckets.extend(buckets);
        }
        if let Some(app_label) = vars.bool("OBS_APP_LABEL")? {
            self.app_label = app_label;
        }
        if let Some(on) = vars.bool("OBS_ERROR_TYPE_LABEL")? {
            self.error_type_label = on;
        }
        if let Some(cap) = vars.positive("OBS_MAX_SERIES_PER_METRIC")? {
            self.max_series_per_metric = cap;
        }
        if let Some(network) = vars.get("STELLAR_NETWORK") {
            check_label_value("STELLAR_NETWORK", network)?;
            self.stellar_network = network.to_owned();
        }
        Ok(())
    }

    /// Checks what the environment or the builder set; builder settings are named as the
    /// builder method calls them.
    pub(super) fn validate(&self) -> Result<(), InitError> {
        check_prefix("prefix", &self.prefix)?;
        self.names()?;
        for (metric, bounds) in &self.buckets {
            crate::catalogue::check_buckets(metric, bounds)?;
        }
        check_endpoint(&self.scrape.endpoint)?;
        self.push.validate()?;
        check_label_value("stellar_network", &self.stellar_network)
    }
}

/// Histogram buckets from the environment, for services installed with `init()`.
pub(crate) const BUCKETS_VARIABLE: &str = "OBS_BUCKETS";

impl MetricsSettings {
    /// `OBS_BUCKETS`: `metric=bound,bound,…` entries separated by `;`, each metric one of obs's
    /// histograms by its own name or the name a rename gives it.
    fn parse_buckets(&self, value: &str) -> Result<Vec<(String, Vec<f64>)>, InitError> {
        let syntax = "entries `histogram=bound,bound,…` separated by `;`, e.g. \
                      `db_query_duration_seconds=0.001,0.01,0.1,1;http_request_duration_seconds=0.1,0.5,2.5`";
        let invalid = |why: String| InitError::invalid(BUCKETS_VARIABLE, value, format!("{syntax} ({why})"));
        let mut buckets = Vec::new();
        for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (metric, bounds) = entry.split_once('=').ok_or_else(|| invalid(format!("{entry:?} has no `=`")))?;
            let metric = metric.trim();
            let histogram = crate::catalogue::metric_named(metric)
                .or_else(|| {
                    let renamed = self.renames.iter().find(|r| r.name.as_deref() == Some(metric))?;
                    crate::catalogue::metric_named(&renamed.metric)
                })
                .is_some_and(|m| !m.buckets.is_empty());
            if !histogram {
                return Err(invalid(format!("{metric:?} is not one of obs's histograms")));
            }
            let bounds = bounds
                .split(',')
                .map(|b| b.trim().parse::<f64>().map_err(|_| invalid(format!("{b:?} in {metric} is not a number"))))
                .collect::<Result<Vec<f64>, InitError>>()?;
            crate::catalogue::check_buckets(metric, &bounds)
                .map_err(|_| invalid(format!("{metric}'s bounds must be finite, non-negative and increasing")))?;
            buckets.push((metric.to_owned(), bounds));
        }
        Ok(buckets)
    }

    /// The label names every series carries.
    pub(crate) fn global_labels(&self) -> &'static [&'static str] {
        if self.app_label { &["app"] } else { &[] }
    }

    /// The final names of obs's metrics under these settings.
    pub(crate) fn names(&self) -> Result<Names, InitError> {
        Names::new(&self.prefix, &self.renames, &self.disabled, self.global_labels())
    }

    /// Bucket overrides by catalogue name: a histogram may be named by its new name too.
    pub(crate) fn buckets_by_catalogue_name(&self) -> Vec<(String, Vec<f64>)> {
        let names = self.names().unwrap_or_default();
        self.buckets.iter().map(|(metric, bounds)| (names.catalogue_name(metric).to_owned(), bounds.clone())).collect()
    }

    /// Whole-family objectives by catalogue name: a family may be named by its new name too.
    pub(crate) fn objectives_by_catalogue_name(&self) -> Vec<(String, crate::catalogue::Objective)> {
        let names = self.names().unwrap_or_default();
        self.objectives
            .iter()
            .map(|(family, objective)| (names.catalogue_name(family).to_owned(), *objective))
            .collect()
    }
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
