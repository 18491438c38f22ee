//! Regression: a call made before any recorder is installed must not poison the call site's
//! handle cache with `metrics`' no-op handles.
#![cfg(feature = "db")]

use metrics_exporter_prometheus::PrometheusBuilder;
use obs_runtime::instrument_db;

#[instrument_db(table = "early")]
fn find_early() -> Result<(), std::fmt::Error> {
    Ok(())
}

#[test]
fn calls_after_installing_the_recorder_are_counted() {
    find_early().unwrap();
    let prometheus = PrometheusBuilder::new().install_recorder().expect("the only recorder of this binary");
    find_early().unwrap();
    find_early().unwrap();
    let text = prometheus.render();
    assert!(
        text.contains(r#"db_queries_total{operation="SELECT",table="early",status="success"} 2"#),
        "the two calls after installation are counted:\n{text}"
    );
    assert!(text.contains(r#"db_query_duration_seconds_count{operation="SELECT",table="early"} 2"#), "{text}");
}
