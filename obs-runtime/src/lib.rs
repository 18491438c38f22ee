//! obs (temporary crate doc)
#![warn(missing_docs)]

// Leaves first: each module imports only from those above it.
#[doc(hidden)]
pub mod __private;
mod call;
mod catalogue;
mod config;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod install;
mod prometheus;
mod telemetry;
pub mod testing;
#[cfg(feature = "ws")]
pub mod ws;

pub use config::{
    BatchSettings, Config, LogFormat, LogSettings, MetricsSettings, OtlpProtocol, Sampler, ScrapeSettings,
    ServiceSettings, TraceExporter, TraceSettings,
};
pub use error::InitError;
pub use install::{ObsGuard, init};
#[cfg(feature = "macros")]
pub use obs_macros::{instrument_db, instrument_redis, queue_job, stellar_call, traced, ws_connection};
pub use prometheus::label::{MAX_LABEL_CHARS, normalise_label};
pub use prometheus::scrape::CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE;
pub use prometheus::{MetricsHandle, MetricsRecorder, MetricsRecorderBuilder, record_error, render};
pub use telemetry::{opentelemetry_layer, propagation};
