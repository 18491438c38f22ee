//! The macros through obs's own recorder: the fused call-site store renders the exact metric
//! names, labels, DESIGN buckets, the prefix and the `app` label, and a call made before the
//! recorder was installed does not poison the cache.
#![cfg(all(feature = "db", feature = "queue"))]

use obs_runtime::{MetricsRecorder, instrument_db, queue_job};

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
        format!(r#"gemini_flow_db_queries_total{{{labels},status="error"}} 1"#),
        format!(r#"gemini_flow_db_queries_total{{{labels},status="cancelled"}} 0"#),
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
}
