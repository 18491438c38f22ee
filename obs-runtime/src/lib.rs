#![doc = include_str!("../doc/overview.md")]
#![warn(missing_docs)]

// The modules in dependency order, leaves first: each imports only from those above it
// (`tests/tests/module_order.rs` fails on an import from one below).
// - error: the typed error of install
// - clock: the monotonic and wall clocks calls and spans are stamped with
// - signal: the signal that stops a service
// - catalogue: every metric, label rule and span field obs names; call sites and objectives
// - config: the environment, read and checked by signal
// - telemetry: the subscriber, obs's spans, OTLP export, JSON logs, propagation
// - testing: capture, for tests
// - prometheus: the recorder, exposition, scrape server and process metrics
// - call: what runs on every call
// - push: OTLP metrics push
// - ops: the monitoring generated from the catalogue
// - page: the live page on the scrape port
// - install: orchestration and the guard
// - semconv: OpenTelemetry's HTTP conventions
// - http: the tower layer and route catalogue
// - client: outgoing requests
// - db: observed pools
// - queue: observed queues
// - ws: WebSocket counts
// - __private: what expansions name
#[doc(hidden)]
pub mod __private;
mod call;
mod catalogue;
#[cfg(feature = "reqwest")]
pub mod client;
mod clock;
mod config;
#[cfg(feature = "sqlx")]
pub mod db;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod install;
pub mod ops;
mod page;
mod prometheus;
mod push;
#[cfg(feature = "queue")]
pub mod queue;
#[cfg(any(feature = "http", feature = "reqwest"))]
mod semconv;
mod signal;
mod telemetry;
pub mod testing;
#[cfg(feature = "ws")]
pub mod ws;

pub use call::outcome::BoundedKind;
pub use catalogue::{
    CallSite, Catalogue, LatencyTarget, MAX_LABEL_CHARS, MetricRename, Objective, QueueEntry, Route, SiteKind,
    Subsystem, catalogue, normalise_label,
};
pub use config::{
    BatchSettings, Config, LogFormat, LogSettings, MetricsSettings, OtlpProtocol, PushSettings, Sampler,
    ScrapeSettings, ServiceSettings, SpanLimitSettings, TraceExporter, TraceSettings,
};
pub use error::InitError;
pub use install::{ObsGuard, init};
#[cfg(feature = "macros")]
#[doc = include_str!("../doc/bounded_kind.md")]
pub use obs_macros::BoundedKind;
#[cfg(feature = "macros")]
#[doc = include_str!("../doc/instrument_db.md")]
#[doc = include_str!("../doc/common_keys.md")]
pub use obs_macros::instrument_db;
#[cfg(feature = "macros")]
#[doc = include_str!("../doc/instrument_redis.md")]
#[doc = include_str!("../doc/common_keys.md")]
pub use obs_macros::instrument_redis;
#[cfg(feature = "macros")]
#[doc = include_str!("../doc/queue_job.md")]
#[doc = include_str!("../doc/common_keys.md")]
pub use obs_macros::queue_job;
#[cfg(feature = "macros")]
#[doc = include_str!("../doc/stellar_call.md")]
#[doc = include_str!("../doc/common_keys.md")]
pub use obs_macros::stellar_call;
#[cfg(feature = "macros")]
#[doc = include_str!("../doc/traced.md")]
#[doc = include_str!("../doc/common_keys.md")]
pub use obs_macros::traced;
#[cfg(feature = "macros")]
#[doc = include_str!("../doc/ws_connection.md")]
pub use obs_macros::ws_connection;
pub use prometheus::error_kinds::{MAX_ERROR_KINDS, OTHER_ERROR_KIND};
pub use prometheus::openmetrics::OPENMETRICS_CONTENT_TYPE;
pub use prometheus::scrape::CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE;
pub use prometheus::{MetricsHandle, MetricsRecorder, MetricsRecorderBuilder, record_error, render, render_negotiated};
pub use signal::shutdown_signal;
pub use telemetry::{TracingLayer, opentelemetry_layer, propagation};

/// The repository README's Rust snippets, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

/// The guide's Rust snippets, compiled as doctests for the same reason.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
mod guide {}
