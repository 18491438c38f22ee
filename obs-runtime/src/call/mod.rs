//! What an expansion runs on every call: the call site and its cached handles, the
//! timer that records exactly once, the future wrapper, the outcome classification and the
//! kinds of common errors.

pub(crate) mod cache;
pub(crate) mod connection;
pub(crate) mod instrumented;
pub(crate) mod job;
mod kinds;
pub(crate) mod network;
pub(crate) mod outcome;
pub(crate) mod site;
pub(crate) mod span;
pub(crate) mod timer;
