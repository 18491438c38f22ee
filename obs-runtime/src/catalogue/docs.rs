//! The metrics reference, generated from the catalogue: `docs/metrics.md` with obs's names, and
//! the ops generator's `metrics.md` with a service's final names.

use std::fmt::Write as _;

use super::{MetricKind, Names, all};

/// The catalogue as a person reads it, under `names` and the bucket overrides `buckets` (by
/// catalogue name): disabled metrics left out, renamed ones under their new names with the
/// catalogue name beside them; `error_type` listed only when `error_type_label` is on. `intro`
/// is the paragraph under the title.
pub(crate) fn markdown(
    names: &Names,
    buckets: &[(String, Vec<f64>)],
    error_type_label: bool,
    intro: &str,
    emitted: impl Fn(&super::Metric) -> bool,
) -> String {
    let mut out =
        format!("# Metrics\n\n{intro}\n\n| metric | type | labels | HELP | recorded by |\n|---|---|---|---|---|\n");
    for metric in all().filter(|m| !names.is_disabled(m.name) && emitted(m)) {
        let labels: Vec<String> = metric
            .labels
            .iter()
            .filter(|l| error_type_label || **l != super::ERROR_TYPE_LABEL)
            .map(|l| format!("`{}`", names.label(metric.name, l)))
            .collect();
        let mut kind = match metric.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
        .to_owned();
        if !metric.buckets.is_empty() {
            let bounds: Vec<String> = super::bounds_of(metric, buckets).iter().map(f64::to_string).collect();
            let _ = write!(kind, " ({})", bounds.join(" "));
        }
        let exposed = names.name(metric.name);
        let mut name = format!("`{exposed}`");
        if *exposed != *format!("{}{}", names.prefix(), metric.name) {
            let _ = write!(name, " (obs's `{}`)", metric.name);
        }
        let _ = writeln!(
            out,
            "| {name} | {kind} | {} | {} | {} |",
            labels.join(", "),
            names.help(metric).replace('|', "\\|"),
            metric.source
        );
    }
    out.push_str(
        "\nStatus values: `success`, `error`, `cancelled` for database, Redis and Stellar calls; `completed`,\n\
         `failed`, `cancelled` for jobs (`cancelled` only where the function is async: only a future can be\n\
         dropped half-way). `db_query_duration_seconds`, `redis_call_duration_seconds` and\n\
         `stellar_api_call_duration_seconds` sum every outcome; `queue_job_duration_seconds` has one\n\
         histogram per status.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/metrics.md` is generated from this table; regenerate with `OBS_UPDATE_DOCS=1`.
    #[test]
    fn docs_metrics_md_matches_the_catalogue() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/metrics.md");
        let expected = markdown(
            &Names::default(),
            &[],
            true,
            "Every metric obs emits (generated from `obs-runtime/src/catalogue/mod.rs`; do not edit; regenerate with\n\
             `OBS_UPDATE_DOCS=1 cargo test -p obs-runtime catalogue`).\n\
             Every series also carries `app=<service name>` unless `OBS_APP_LABEL=false`; `METRICS_PREFIX`\n\
             prefixes every name, and `OBS_METRIC_RENAMES` renames metrics, labels and HELP texts. Histograms\n\
             list their default buckets in seconds (`Config::buckets_for` overrides them). `error_type` is on\n\
             error series only (`OBS_ERROR_TYPE_LABEL=false` leaves it off); it splits them, so sums by `status`\n\
             keep their meaning.",
            |_| true,
        );
        if std::env::var_os("OBS_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/metrics.md is out of date: run OBS_UPDATE_DOCS=1 cargo test -p obs-runtime catalogue"
        );
    }
}
