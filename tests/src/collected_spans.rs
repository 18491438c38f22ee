//! An app's own span exporter that keeps every span it is handed, for tests that install obs
//! with `Config::span_exporter` in a child process of their own (the spans kept are the
//! process's, as the subscriber is).

use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

static EXPORTED: Mutex<Vec<SpanData>> = Mutex::new(Vec::new());

/// Keeps every span it is handed, behind obs's own pipeline (the batch processor and the
/// exporter wrapper in front of an app's exporter).
#[derive(Debug)]
pub struct Collect;

impl SpanExporter for Collect {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        exported().extend(batch);
        std::future::ready(Ok(()))
    }
}

/// Every span [`Collect`] has been handed in this process so far.
pub fn exported() -> MutexGuard<'static, Vec<SpanData>> {
    EXPORTED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs obs as the environment says, with [`Collect`] as the app's span exporter.
pub fn install() -> obs_runtime::ObsGuard {
    obs_runtime::Config::from_env().unwrap().span_exporter(Collect).install().unwrap()
}
