//! What the macros' expansions name, and nothing else. Not public API: it changes without
//! notice, in step with `obs-macros` (the workspace pins the two crates to one version).

pub use tracing;

pub use crate::call::connection::WsConnection;
pub use crate::call::instrumented::Instrumented;
pub use crate::call::job::{JobSite, attempt};
pub use crate::call::network::default_network;
pub use crate::call::outcome::{Outcome, Ret};
pub use crate::call::site::{GaugeSite, Site};
pub use crate::call::span::{new_span, span_metadata};
pub use crate::call::timer::Timer;
pub use crate::catalogue::{CALL_SITES, CallSite, SiteKind, Subsystem};
pub use crate::telemetry::propagation::{ParentContext, enqueued_at, enter_parent};

/// The classification traits, for the expansion's one `use classify::*`: each is implemented
/// at a different autoref depth of `Ret`, so the most specific applies.
pub mod classify {
    pub use crate::call::outcome::{
        ClassifyAny, ClassifyDebugErr, ClassifyDisplayErr, ClassifyKindErr, ClassifyResult,
    };
}

/// Runs the body of a sync function. Taking `FnOnce` makes the closure own its captures, so a
/// body may return what it borrows from them (`fn f(&mut self) -> &mut Self`).
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}
