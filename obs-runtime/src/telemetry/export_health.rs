//! Whether spans reach the collector, said once: the first failed batch is a WARN line naming
//! the endpoint and what to set, every failed batch counts in
//! `obs_spans_export_failures_total{reason}`, and the first batch delivered after failures is an
//! INFO line. The SDK's and the OTLP exporter's own lines per failed batch (an ERROR and a
//! WARN) are left out of the log lines (`filter`), so a service with no collector is not an
//! error every five seconds.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::catalogue::SPANS_EXPORT_FAILURES_TOTAL;

/// The events the SDK and the OTLP exporter log for each failed batch of spans, by name:
/// this module reports them instead.
const PER_BATCH: [&str; 6] = [
    "BatchSpanProcessor.ExportError",
    "BatchSpanProcessor.Export.Error",
    "BatchSpanProcessor.Flush.ExportError",
    "Export.Failed.Exhausted",
    "Export.Failed.NonRetryable",
    "Export.Failed.DeadlineExceeded",
];

/// Whether `meta` is one of those events.
pub(crate) fn reported_here(meta: &tracing::Metadata<'_>) -> bool {
    matches!(meta.target(), "opentelemetry_sdk" | "opentelemetry-otlp") && PER_BATCH.contains(&meta.name())
}

/// The export's state, shared by the exporter's batches.
#[derive(Debug)]
pub(crate) struct ExportHealth {
    /// Where spans go, and the variable that says so, for the lines.
    endpoint: String,
    variable: &'static str,
    failing: AtomicBool,
    failed_batches: AtomicU64,
}

impl ExportHealth {
    pub(crate) fn new(endpoint: String, variable: &'static str) -> Self {
        Self { endpoint, variable, failing: AtomicBool::new(false), failed_batches: AtomicU64::new(0) }
    }

    /// Notes how a batch ended.
    pub(crate) fn observe(&self, result: &OTelSdkResult) {
        match result {
            Ok(()) => {
                if self.failing.swap(false, Ordering::AcqRel) {
                    let failed = self.failed_batches.swap(0, Ordering::AcqRel);
                    tracing::info!(
                        target: "obs_runtime::export",
                        "span export to {} recovered after {failed} failed batches",
                        self.endpoint
                    );
                }
            }
            Err(error) => {
                let reason = reason(error);
                metrics::counter!(SPANS_EXPORT_FAILURES_TOTAL.name, "reason" => reason).increment(1);
                self.failed_batches.fetch_add(1, Ordering::AcqRel);
                if !self.failing.swap(true, Ordering::AcqRel) {
                    tracing::warn!(
                        target: "obs_runtime::export",
                        "spans cannot be exported to {} ({reason}: {error}); they are dropped until it answers. \
                         Start the collector there, point {} at one, or set OTEL_EXPORTER=none to export nothing. \
                         Further failures are counted in obs_spans_export_failures_total",
                        self.endpoint,
                        self.variable
                    );
                }
            }
        }
    }
}

/// A bounded label for why a batch failed.
fn reason(error: &OTelSdkError) -> &'static str {
    let text = error.to_string().to_ascii_lowercase();
    if matches!(error, OTelSdkError::Timeout(_)) || text.contains("timed out") || text.contains("deadline") {
        "timeout"
    } else if ["connect", "refused", "unavailable", "dns", "unreachable", "transport"].iter().any(|w| text.contains(w))
    {
        "unreachable"
    } else if ["status", "invalid", "denied", "unauthenticated", "permission", "too large"]
        .iter()
        .any(|w| text.contains(w))
    {
        "rejected"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reasons_are_a_few_words() {
        assert_eq!(reason(&OTelSdkError::Timeout(Duration::from_secs(10))), "timeout");
        let refused = OTelSdkError::InternalFailure("tcp connect error: Connection refused (os error 111)".into());
        assert_eq!(reason(&refused), "unreachable");
        let status = OTelSdkError::InternalFailure("HTTP export failed. Status Code: 413".into());
        assert_eq!(reason(&status), "rejected");
        assert_eq!(reason(&OTelSdkError::AlreadyShutdown), "other");
    }
}
