//! Prometheus: obs's `metrics` recorder and its storage, the text exposition, the scrape server,
//! the process and scheduler metrics, and the label normalisation that keeps values exact.

pub(crate) mod build_info;
pub(crate) mod call_stats;
mod cardinality;
mod connections;
mod counters;
pub(crate) mod error_kinds;
pub(crate) mod exemplar;
pub(crate) mod generation;
mod histogram;
pub(crate) mod openmetrics;
pub(crate) mod process;
pub(crate) mod read;
mod recorder;
pub(crate) mod sampled;
mod scalars;
pub(crate) mod scrape;
mod text;

pub use recorder::{MetricsHandle, MetricsRecorder, MetricsRecorderBuilder};
pub(crate) use recorder::{call_stats, installed};

use crate::catalogue::{ERRORS_TOTAL, normalise_label};

/// The Prometheus exposition of everything obs's recorder holds, for apps that serve
/// `/metrics` on their own router; empty when obs's recorder is not installed.
///
/// ```
/// assert_eq!(obs_runtime::render(), "", "nothing installed yet");
/// ```
pub fn render() -> String {
    render_with(false)
}

/// The exposition with every kept exemplar, for the live page; calls keep exemplars from now on.
pub(crate) fn render_with_exemplars() -> String {
    exemplar::want();
    render_with(true)
}

fn render_with(exemplars: bool) -> String {
    match installed() {
        Some(handle) => {
            process::collect();
            let mut text = handle.render_with(exemplars);
            handle.render_process(&mut text);
            handle.render_sampled(&mut text);
            text
        }
        None => String::new(),
    }
}

/// The exposition in the format a scraper's `Accept` header asks for: OpenMetrics text when it
/// prefers it (Prometheus does), the Prometheus text format otherwise. Returns the content type
/// and the body.
///
/// ```
/// let (content_type, body) = obs_runtime::render_negotiated(Some("text/plain"));
/// assert_eq!(content_type, obs_runtime::PROMETHEUS_CONTENT_TYPE);
/// assert_eq!(body, "", "nothing installed yet");
/// let (content_type, body) = obs_runtime::render_negotiated(Some("application/openmetrics-text; version=1.0.0"));
/// assert_eq!(content_type, obs_runtime::OPENMETRICS_CONTENT_TYPE);
/// assert_eq!(body, "# EOF\n");
/// ```
pub fn render_negotiated(accept: Option<&str>) -> (&'static str, String) {
    match openmetrics::negotiate(accept) {
        openmetrics::Format::Text => (scrape::CONTENT_TYPE, render()),
        openmetrics::Format::OpenMetrics => {
            // Only OpenMetrics carries exemplars: calls keep them from the first such scrape.
            exemplar::want();
            (openmetrics::OPENMETRICS_CONTENT_TYPE, openmetrics::from_text(&render_with(true)))
        }
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
    let (error_type, path) = (normalise_label(error_type), normalise_label(path));
    metrics::counter!(ERRORS_TOTAL.name, "type" => error_type, "path" => path).increment(1);
}
