//! Production observability for Rust services: Prometheus metrics and OpenTelemetry traces,
//! one attribute per function.
//!
//! ```
//! use obs_runtime::instrument_db;
//!
//! #[instrument_db(table = "users")]
//! async fn find_user(id: i64) -> Result<String, std::io::Error> {
//!     Ok(format!("user {id}"))
//! }
//! ```
//!
//! The attribute expands into a cached histogram and counter handle per call site, a timer, an
//! OpenTelemetry client span and an outcome label that stays right on `Err`, on panic and when
//! the future is dropped. See the crate README and `docs/expansions/` for the generated code.

mod call;
mod clock;
mod config;
mod default_metrics;
mod error;
mod guard;
#[cfg(feature = "http")]
pub mod http;
mod install;
mod label;
mod otel_layer;
mod outcome;
pub mod propagation;
mod recorder;
mod scrape;
mod site;
mod status;
mod stellar;
mod telemetry;
pub mod testing;
#[cfg(feature = "ws")]
pub mod ws;

pub use config::{BatchSettings, Config, LogFormat, OtlpProtocol, Sampler, TraceExporter};
pub use error::InitError;
pub use guard::ObsGuard;
pub use label::{MAX_LABEL_CHARS, normalise_label};
#[cfg(feature = "macros")]
pub use obs_macros::{instrument_db, instrument_redis, queue_job, stellar_call, traced, ws_connection};
pub use otel_layer::opentelemetry_layer;
pub use recorder::{MetricsHandle, MetricsRecorder, MetricsRecorderBuilder};
pub use scrape::CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE;
pub use stellar::default_network as stellar_default_network;

/// Installs obs from the environment: the Prometheus recorder and scrape server, the `tracing`
/// subscriber with JSON logs, and OpenTelemetry export. See `docs/configuration.md` for every
/// variable. Keep the guard alive for as long as the app runs.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _obs = obs_runtime::init()?;
///     // … serve requests …
///     Ok(())
/// }
/// ```
pub fn init() -> Result<ObsGuard, InitError> {
    Config::from_env()?.install()
}

/// The Prometheus exposition of everything obs's recorder holds, for apps that serve
/// `/metrics` on their own router; empty when obs's recorder is not installed.
///
/// ```
/// assert_eq!(obs_runtime::render(), "", "nothing installed yet");
/// ```
pub fn render() -> String {
    match recorder::installed() {
        Some(handle) => {
            default_metrics::collect();
            handle.render()
        }
        None => String::new(),
    }
}

/// Counts one error in `errors_total{type,path}`, for handlers that map errors to responses
/// themselves (the layer counts 5xx responses on its own). Both values pass through the label
/// normalisation and the series cap.
///
/// ```
/// obs_runtime::record_error("payment_declined", "/payments");
/// ```
pub fn record_error(error_type: &str, path: &str) {
    metrics::counter!("errors_total", "type" => normalise_label(error_type), "path" => normalise_label(path))
        .increment(1);
}

/// Used by the macros' expansions. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use tracing;

    pub use crate::call::{Instrumented, Timer, WsConnection};
    pub use crate::outcome::{ClassifyAny, ClassifyDebugErr, ClassifyDisplayErr, ClassifyResult, Outcome, Ret};
    pub use crate::propagation::ParentContext;
    pub use crate::site::{GaugeSite, Site, SiteSpec, Subsystem};
    pub use crate::stellar::default_network;

    /// Runs the body of a sync function. Taking `FnOnce` makes the closure own its captures,
    /// so a body may return what it borrows from them (`fn f(&mut self) -> &mut Self`).
    #[inline(always)]
    pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
        body()
    }

    /// Calibrates the clock, so the first call does not pay for it.
    pub fn warm_up() {
        crate::clock::warm_up();
    }
}
