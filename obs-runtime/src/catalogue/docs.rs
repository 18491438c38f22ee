//! `docs/metrics.md`, generated from the catalogue.

use std::fmt::Write as _;

use super::{MetricKind, all};

/// `docs/metrics.md`: the catalogue as a person reads it.
fn markdown() -> String {
    let mut out = String::from(
        "# Metrics\n\n\
         Every metric obs emits (generated from `obs-runtime/src/catalogue/mod.rs`; do not edit; regenerate with\n\
         `OBS_UPDATE_DOCS=1 cargo test -p obs-runtime catalogue`). Every series also carries `app=<service\n\
         name>`, and `METRICS_PREFIX` prefixes every name. Histograms list their default buckets in seconds\n\
         (`Config::buckets_for` overrides them).\n\n\
         | metric | type | labels | HELP | recorded by |\n|---|---|---|---|---|\n",
    );
    for metric in all() {
        let labels: Vec<String> = metric.labels.iter().map(|l| format!("`{l}`")).collect();
        let mut kind = match metric.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
        .to_owned();
        if !metric.buckets.is_empty() {
            let bounds: Vec<String> = metric.buckets.iter().map(f64::to_string).collect();
            let _ = write!(kind, " ({})", bounds.join(" "));
        }
        let _ = writeln!(
            out,
            "| `{}` | {kind} | {} | {} | {} |",
            metric.name,
            labels.join(", "),
            metric.help.replace('|', "\\|"),
            metric.source
        );
    }
    out.push_str(
        "\nStatus values: `success`, `error`, `cancelled` for database, Redis and Stellar calls; `completed`,\n\
         `failed`, `cancelled` for jobs. `db_query_duration_seconds`, `redis_call_duration_seconds` and\n\
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
        let expected = markdown();
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
