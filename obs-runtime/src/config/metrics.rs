//! The metrics section: the recorder, the scrape server and the series it exposes
//! (`PROMETHEUS_*`, `METRICS_PREFIX`, `OBS_MAX_SERIES_PER_METRIC`, `STELLAR_NETWORK`).

use std::fmt;

use super::env::Vars;
use crate::error::InitError;

/// Where and how the scrape server answers.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrapeSettings {
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
    /// `METRICS_PREFIX`, default empty: prefixes every metric name.
    pub prefix: String,
    /// Histogram buckets by metric name (without the prefix), from [`crate::Config::buckets_for`].
    pub buckets: Vec<(String, Vec<f64>)>,
    /// `OBS_MAX_SERIES_PER_METRIC`, default 2 000: distinct label sets per metric.
    pub max_series_per_metric: usize,
    /// `STELLAR_NETWORK`, default `testnet`: the `network` of `#[stellar_call]` sites that name none.
    pub stellar_network: String,
    /// Objectives covering a whole family (its counter or histogram name, without the prefix),
    /// from [`crate::Config::objective_for`].
    pub objectives: Vec<(String, &'static crate::catalogue::Objective)>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            scrape: ScrapeSettings {
                host: "0.0.0.0".to_owned(),
                port: 9464,
                endpoint: "/metrics".to_owned(),
                bearer_token: None,
            },
            prefix: String::new(),
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
        for (metric, bounds) in &self.buckets {
            crate::catalogue::check_buckets(metric, bounds)?;
        }
        check_endpoint(&self.scrape.endpoint)?;
        check_label_value("stellar_network", &self.stellar_network)
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
