//! obs's recorder: the fused call-site store renders exact names, labels, buckets, the prefix
//! and the `app` label; a call made before any recorder is installed does not poison the cache;
//! histogram memory stays bounded; `init` reads the environment and fails cleanly. Each
//! scenario in a process of its own: a recorder is process-wide.
#![cfg(all(feature = "db", feature = "queue"))]

use metrics_exporter_prometheus::PrometheusBuilder;
use obs_runtime::{MetricsRecorder, instrument_db, queue_job};
use obs_tests::child::{resident_bytes, run_in_child};
use obs_tests::runtime;

#[instrument_db(table = "users")]
fn find_user(id: u32) -> Result<u32, String> {
    if id == 0 { Err("no user".into()) } else { Ok(id) }
}

#[instrument_db(table = "users")]
fn get_user_again(id: u32) -> Result<u32, String> {
    find_user(id)
}

#[queue_job(queue = "sessionReminder")]
fn remind() -> Result<(), String> {
    Ok(())
}

fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

#[test]
fn fused_series_render_with_prefix_app_label_and_buckets() {
    let _ = run_in_child("", &[], || {
        // Before installation: recorded nowhere, and must not stop later calls from counting.
        find_user(1).unwrap();

        let metrics = MetricsRecorder::builder()
            .prefix("gemini_flow_")
            .global_label("app", "mentorsmind")
            .buckets_for("queue_job_duration_seconds", &[0.5, 5.0])
            .install()
            .expect("the only recorder of this binary");

        find_user(1).unwrap();
        find_user(0).unwrap_err();
        // A second call site with the same labels feeds the same series.
        get_user_again(2).unwrap();
        remind().unwrap();

        let text = metrics.render();
        let labels = r#"app="mentorsmind",operation="SELECT",table="users""#;
        for expected in [
            format!(r#"gemini_flow_db_queries_total{{{labels},status="success"}} 3"#),
            format!(r#"gemini_flow_db_queries_total{{{labels},status="error",error_type="alloc::string::String"}} 1"#),
            format!(r#"gemini_flow_db_query_duration_seconds_count{{{labels}}} 4"#),
            "# TYPE gemini_flow_db_query_duration_seconds histogram".to_owned(),
            "# TYPE gemini_flow_db_queries_total counter".to_owned(),
            r#"gemini_flow_queue_jobs_total{app="mentorsmind",queue_name="sessionReminder",job_name="remind",status="completed"} 1"#
                .to_owned(),
            r#"gemini_flow_queue_job_duration_seconds_bucket{app="mentorsmind",queue_name="sessionReminder",job_name="remind",status="completed",le="+Inf"} 1"#
                .to_owned(),
        ] {
            assert!(text.lines().any(|l| l == expected), "missing {expected:?} in\n{text}");
        }
        // Sync functions cannot be cancelled: their stores have no `cancelled` series.
        assert!(!text.contains(r#"status="cancelled""#), "{text}");
        // DESIGN's buckets for db durations, every one of them, in order.
        let les: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("gemini_flow_db_query_duration_seconds_bucket{"))
            .map(|l| l.split(",le=\"").nth(1).unwrap().split('"').next().unwrap())
            .collect();
        assert_eq!(les, ["0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"]);
        // The override for the queue histogram.
        assert!(line(&text, r#"gemini_flow_queue_job_duration_seconds_bucket{app="mentorsmind",queue_name="sessionReminder",job_name="remind",status="completed",le="0.5"}"#).is_some(), "{text}");
        assert!(!text.contains("summary"), "histograms stay histograms:\n{text}");

        // Ordinary `metrics` calls go through the same recorder, prefixed and labelled too.
        metrics::counter!("orders_total", "kind" => "book").increment(2);
        let text = metrics.render();
        assert!(text.contains(r#"gemini_flow_orders_total{app="mentorsmind",kind="book"} 2"#), "{text}");
    });
}

#[instrument_db(table = "early")]
fn find_early() -> Result<(), std::fmt::Error> {
    Ok(())
}

/// Regression: a call made before any recorder is installed must not poison the call site's
/// handle cache with `metrics`' no-op handles.
#[test]
fn calls_after_installing_the_recorder_are_counted() {
    let _ = run_in_child("", &[], || {
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
    });
}

#[test]
fn histogram_memory_stays_bounded() {
    let env =
        [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none"), ("LOG_LEVEL", "warn")];
    let _ = run_in_child("", &env, || {
        let _guard = obs_runtime::init().unwrap();
        let user_histogram = metrics::histogram!("http_request_duration_seconds", "method" => "GET", "path" => "/", "status_code" => "200");
        let before = resident_bytes();
        for i in 0..5_000_000_u64 {
            user_histogram.record((i % 1000) as f64 * 1e-4);
        }
        let grown = resident_bytes().saturating_sub(before);
        assert!(grown < 32 << 20, "resident memory grew by {} MiB for 5 million samples", grown >> 20);
        let text = obs_runtime::render();
        assert!(
            text.contains(
                r#"http_request_duration_seconds_count{app="recorder",method="GET",path="/",status_code="200"} 5000000"#
            ),
            "{text}"
        );
    });
}

#[test]
fn init_reads_the_process_environment() {
    let _ = run_in_child("", &[("PROMETHEUS_PORT", "abc")], || {
        let error = obs_runtime::init().unwrap_err();
        assert_eq!(error.to_string(), r#"PROMETHEUS_PORT="abc" is not valid: expected a port number from 0 to 65535"#);
    });
}

/// Regression: an `install` that failed half-way dropped obs's own Tokio runtime inside the
/// caller's async code, which panics ("Cannot drop a runtime in a context where blocking is
/// not allowed") instead of returning the error.
#[test]
fn regression_a_failed_install_inside_async_code_returns_the_error() {
    let env = [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none")];
    let _ = run_in_child("", &env, || {
        runtime().block_on(async {
            let _first = obs_runtime::init().unwrap();
            let second = obs_runtime::init().expect_err("one recorder per process");
            assert!(matches!(second, obs_runtime::InitError::RecorderAlreadyInstalled), "{second:?}");
        });
    });
}

/// Regression (issue 9): with obs's recorder installed, a capture sees plain `metrics` calls
/// made in its scope, and the recorder still gets them.
#[test]
fn a_capture_sees_plain_metrics_calls_and_obs_recorder_still_gets_them() {
    let _ = run_in_child("", &[], || {
        let metrics = MetricsRecorder::builder().install().unwrap();
        let ((), captured) = obs_runtime::testing::capture(|| {
            metrics::counter!("workflows_created_total", "kind" => "manual").increment(2);
            metrics::gauge!("workflows_total").set(7.0);
            metrics::histogram!("workflow_nodes").record(12.0);
            find_user(1).unwrap();
        });
        assert_eq!(captured.counter("workflows_created_total", &[("kind", "manual")]), 2);
        assert_eq!(captured.gauge("workflows_total", &[]), Some(7.0));
        assert_eq!(captured.histogram("workflow_nodes", &[]).unwrap().count, 1);
        assert_eq!(captured.counter("db_queries_total", &[("table", "users")]), 1, "the macro's call, once");
        let text = metrics.render();
        assert!(text.contains(r#"workflows_created_total{kind="manual"} 2"#), "{text}");
        assert!(text.contains(r#"db_queries_total{operation="SELECT",table="users",status="success"} 1"#), "{text}");
    });
}
