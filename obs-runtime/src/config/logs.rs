//! The logs section: which lines are written and how (`LOG_LEVEL`, `RUST_LOG`, `LOG_FORMAT`).

use tracing_subscriber::EnvFilter;

use super::env::Vars;
use crate::error::InitError;

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with `trace_id` and `span_id` inside spans.
    Json,
    /// Multi-line, human-readable.
    Pretty,
}

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// The logs section of a [`crate::Config`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogSettings {
    /// `RUST_LOG` when set, else `LOG_LEVEL`; default `info`.
    pub filter: String,
    /// `LOG_FORMAT`, default JSON.
    pub format: LogFormat,
    /// Whether obs installs the global `tracing` subscriber; see
    /// [`crate::Config::install_subscriber`].
    pub install_subscriber: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { filter: "info".to_owned(), format: LogFormat::Json, install_subscriber: true }
    }
}

impl LogSettings {
    pub(super) fn read(&mut self, vars: &Vars) -> Result<(), InitError> {
        if let Some(level) = vars.one_of("LOG_LEVEL", LEVELS)? {
            self.filter = level.to_owned();
        }
        if let Some(directives) = vars.get("RUST_LOG") {
            parse_filter("RUST_LOG", directives)?;
            self.filter = directives.to_owned();
        }
        if let Some(format) = vars.one_of("LOG_FORMAT", &["json", "pretty"])? {
            self.format = if format == "json" { LogFormat::Json } else { LogFormat::Pretty };
        }
        Ok(())
    }

    /// The filter, parsed: the one place directives are parsed, at validation and at install.
    pub(crate) fn env_filter(&self) -> Result<EnvFilter, InitError> {
        parse_filter("log filter", &self.filter)
    }
}

fn parse_filter(variable: &str, directives: &str) -> Result<EnvFilter, InitError> {
    EnvFilter::builder().parse(directives).map_err(|e| {
        InitError::invalid(
            variable,
            directives,
            format!("tracing filter directives such as info or my_app=debug,warn ({e})"),
        )
    })
}
