//! Histogram buckets of DESIGN §3, by metric name (without prefix).

pub(crate) const HTTP: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
pub(crate) const FAST_CALLS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
pub(crate) const SLOW_CALLS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The default buckets of every histogram obs emits.
pub(crate) const DEFAULTS: &[(&str, &[f64])] = &[
    ("http_request_duration_seconds", HTTP),
    ("db_query_duration_seconds", FAST_CALLS),
    ("redis_call_duration_seconds", FAST_CALLS),
    ("queue_job_duration_seconds", SLOW_CALLS),
    ("stellar_api_call_duration_seconds", SLOW_CALLS),
];

/// Buckets must be finite, positive and strictly increasing to render as a valid histogram.
pub(crate) fn check(metric: &str, bounds: &[f64]) -> Result<(), crate::InitError> {
    let valid = !bounds.is_empty()
        && bounds.iter().all(|b| b.is_finite() && *b > 0.0)
        && bounds.windows(2).all(|w| w[0] < w[1]);
    if valid {
        Ok(())
    } else {
        Err(crate::InitError::invalid(
            format!("buckets for {metric}"),
            format!("{bounds:?}"),
            "at least one finite, positive, strictly increasing bound",
        ))
    }
}
