//! An app's own span exporter ([`super::Config::span_exporter`]), kept type-erased so `Config`
//! stays one type, and shared so it stays `Clone`: the first install takes it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// `SpanExporter` made object-safe: its `export` returns a boxed future (one per batch, on the
/// batch processor's thread).
trait ErasedExporter: Send + Sync + fmt::Debug {
    fn export(&self, batch: Vec<SpanData>) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>>;
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult;
    fn force_flush(&self) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
}

impl<E: SpanExporter> ErasedExporter for E {
    fn export(&self, batch: Vec<SpanData>) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>> {
        Box::pin(SpanExporter::export(self, batch))
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        SpanExporter::shutdown_with_timeout(self, timeout)
    }
    fn force_flush(&self) -> OTelSdkResult {
        SpanExporter::force_flush(self)
    }
    fn set_resource(&mut self, resource: &Resource) {
        SpanExporter::set_resource(self, resource)
    }
}

/// The exporter an app handed to its `Config`, until an install takes it.
#[derive(Clone)]
pub(crate) struct AppExporter(Arc<Mutex<Option<BoxedExporter>>>);

impl AppExporter {
    pub(crate) fn new<E: SpanExporter + 'static>(exporter: E) -> Self {
        Self(Arc::new(Mutex::new(Some(BoxedExporter(Box::new(exporter))))))
    }

    /// The exporter, once: a second install of a cloned `Config` finds it gone.
    pub(crate) fn take(&self) -> Option<BoxedExporter> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }
}

impl fmt::Debug for AppExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppExporter")
    }
}

/// An app's exporter, as the batch processor takes it.
#[derive(Debug)]
pub(crate) struct BoxedExporter(Box<dyn ErasedExporter>);

impl SpanExporter for BoxedExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.0.export(batch)
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource)
    }
}
