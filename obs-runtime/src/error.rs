//! The one error type of setting obs up.

use std::fmt;

/// Why obs could not be installed. Every variant says what was wrong and what is accepted.
///
/// `Debug` prints the same sentence as `Display`: `fn main() -> Result<(), Box<dyn Error>>`
/// prints an error it returns with `Debug`, and the reader needs the sentence, not the fields.
#[non_exhaustive]
pub enum InitError {
    /// A configuration value is set but not acceptable.
    InvalidValue {
        /// The variable or builder setting, e.g. `PROMETHEUS_PORT`.
        variable: String,
        /// The value given.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// A `metrics` recorder was already installed in this process.
    RecorderAlreadyInstalled,
    /// A global `tracing` subscriber was already installed in this process.
    SubscriberAlreadyInstalled,
    /// The scrape server could not listen on its address (taken, or not this host's).
    ScrapeAddrUnavailable {
        /// The address, as `host:port`.
        addr: String,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// obs's background runtime could not start.
    Runtime(std::io::Error),
    /// A service-level objective cannot be measured as declared.
    InvalidObjective {
        /// The objective's name.
        objective: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::InvalidValue { variable, value, expected } => {
                write!(f, "{variable}={value:?} is not valid: expected {expected}")
            }
            InitError::RecorderAlreadyInstalled => {
                f.write_str("a metrics recorder is already installed in this process; obs must install its own")
            }
            InitError::SubscriberAlreadyInstalled => f.write_str(
                "a global tracing subscriber is already installed: add obs to it with Config::install_layer(), or \
                 keep it without obs's tracing with Config::install_subscriber(false)",
            ),
            InitError::ScrapeAddrUnavailable { addr, source } => write!(
                f,
                "the Prometheus scrape server cannot listen on {addr} (PROMETHEUS_HOST/PROMETHEUS_PORT): {source}"
            ),
            InitError::Runtime(source) => write!(f, "obs's background runtime could not start: {source}"),
            InitError::InvalidObjective { objective, problem, fix } => {
                write!(f, "objective `{objective}`: {problem}; {fix}")
            }
        }
    }
}

impl fmt::Debug for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::ScrapeAddrUnavailable { source, .. } | InitError::Runtime(source) => Some(source),
            _ => None,
        }
    }
}

impl InitError {
    pub(crate) fn invalid(variable: impl Into<String>, value: impl Into<String>, expected: impl Into<String>) -> Self {
        InitError::InvalidValue { variable: variable.into(), value: value.into(), expected: expected.into() }
    }
}
