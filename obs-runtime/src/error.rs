//! The one error type of setting obs up.

use std::fmt;

/// Why obs could not be installed. Every variant says what was wrong and what is accepted.
#[derive(Debug)]
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
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::InvalidValue {
                variable,
                value,
                expected,
            } => {
                write!(f, "{variable}={value:?} is not valid: expected {expected}")
            }
            InitError::RecorderAlreadyInstalled => f.write_str(
                "a metrics recorder is already installed in this process; obs must install its own",
            ),
        }
    }
}

impl std::error::Error for InitError {}

impl InitError {
    pub(crate) fn invalid(
        variable: impl Into<String>,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        InitError::InvalidValue {
            variable: variable.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }
}
