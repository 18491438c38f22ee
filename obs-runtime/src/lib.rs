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
mod error;
mod label;
mod otel_layer;
mod outcome;
pub mod propagation;
mod recorder;
mod site;
mod status;
mod stellar;
pub mod testing;

pub use error::InitError;
pub use label::{MAX_LABEL_CHARS, normalise_label};
#[cfg(feature = "macros")]
pub use obs_macros::{
    instrument_db, instrument_redis, queue_job, stellar_call, traced, ws_connection,
};
pub use recorder::{MetricsHandle, MetricsRecorder, MetricsRecorderBuilder};
pub use stellar::default_network as stellar_default_network;

/// Used by the macros' expansions. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use tracing;

    pub use crate::call::{Instrumented, Timer, WsConnection};
    pub use crate::outcome::{
        ClassifyAny, ClassifyDebugErr, ClassifyDisplayErr, ClassifyResult, Outcome, Ret,
    };
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
