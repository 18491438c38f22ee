//! A service's own metrics beside the macros' (issue 12's workflow example): `metrics::gauge!`,
//! `histogram!` and `counter!` with `describe_*` HELP and buckets of their own render as proper
//! families through obs's recorder, prefixed, with the `app` label, under the series cap.

use obs_runtime::Config;
use obs_tests::child::run_in_child;
use obs_tests::prometheus::promtool_check;

const NODE_BUCKETS: [f64; 8] = [0.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

#[test]
fn gauges_histograms_and_counters_of_the_app_render_with_help_buckets_prefix_and_app() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("OTEL_EXPORTER", "none"),
        ("LOG_LEVEL", "off"),
        ("METRICS_PREFIX", "gemini_flow_"),
        ("OTEL_SERVICE_NAME", "gemini-flow"),
        ("OBS_MAX_SERIES_PER_METRIC", "4"),
    ];
    let _ = run_in_child("", &env, || {
        let _guard = Config::from_env().unwrap().buckets_for("workflow_nodes", &NODE_BUCKETS).install().unwrap();
        metrics::describe_gauge!("workflows_total", "Total number of workflows");
        metrics::describe_histogram!("workflow_nodes", "Number of nodes per workflow");
        metrics::describe_counter!("workflow_runs_total", "Workflow runs by trigger");
        metrics::gauge!("workflows_total").set(3.0);
        for nodes in [0.0, 7.0, 30.0, 2_000.0] {
            metrics::histogram!("workflow_nodes").record(nodes);
        }
        for trigger in ["manual", "schedule", "webhook", "api", "retry", "other"] {
            metrics::counter!("workflow_runs_total", "trigger" => trigger).increment(1);
        }
        let text = obs_runtime::render();
        // The family's own lines: its metadata and its samples.
        let block = |name: &str| -> Vec<&str> {
            let name = format!("gemini_flow_{name}");
            let own = |l: &str| l.strip_prefix("# HELP ").or(l.strip_prefix("# TYPE ")).unwrap_or(l).starts_with(&name);
            text.lines().filter(|l| own(l)).collect()
        };
        assert_eq!(
            block("workflows_total"),
            [
                "# HELP gemini_flow_workflows_total Total number of workflows",
                "# TYPE gemini_flow_workflows_total gauge",
                "gemini_flow_workflows_total{app=\"gemini-flow\"} 3",
            ]
        );
        let nodes = block("workflow_nodes");
        assert_eq!(
            nodes[..2],
            [
                "# HELP gemini_flow_workflow_nodes Number of nodes per workflow",
                "# TYPE gemini_flow_workflow_nodes histogram"
            ]
        );
        let les: Vec<&str> = nodes.iter().filter_map(|l| l.split("le=\"").nth(1)?.split('"').next()).collect();
        assert_eq!(les, ["0", "10", "25", "50", "100", "250", "500", "1000", "+Inf"], "the metric's own buckets");
        assert!(nodes.contains(&"gemini_flow_workflow_nodes_bucket{app=\"gemini-flow\",le=\"0\"} 1"), "{nodes:#?}");
        assert!(nodes.contains(&"gemini_flow_workflow_nodes_bucket{app=\"gemini-flow\",le=\"1000\"} 3"), "{nodes:#?}");
        assert!(nodes.contains(&"gemini_flow_workflow_nodes_count{app=\"gemini-flow\"} 4"), "{nodes:#?}");
        let runs = block("workflow_runs_total");
        assert_eq!(
            runs[..2],
            [
                "# HELP gemini_flow_workflow_runs_total Workflow runs by trigger",
                "# TYPE gemini_flow_workflow_runs_total counter"
            ]
        );
        let series: Vec<&&str> = runs.iter().filter(|l| l.starts_with("gemini_flow_workflow_runs_total{")).collect();
        assert_eq!(series.len(), 5, "4 label sets, then one overflow series: {runs:#?}");
        assert!(
            runs.contains(&"gemini_flow_workflow_runs_total{app=\"gemini-flow\",overflow=\"true\"} 2"),
            "{runs:#?}"
        );
        // The overflow counter names the metric as it is exposed.
        let overflow =
            r#"gemini_flow_obs_series_overflow_total{app="gemini-flow",metric="gemini_flow_workflow_runs_total"} 2"#;
        assert!(text.lines().any(|l| l == overflow), "{text}");
        // The exposition parses; promtool's one lint is about the team's own name: a gauge
        // called `…_total` (gemini-flow's `workflows_total`), which obs renders as asked.
        let (ok, output) = promtool_check(&text);
        let lint = "gemini_flow_workflows_total non-counter metrics should not have \"_total\" suffix";
        assert!(ok || output.lines().filter(|l| !l.trim().is_empty()).all(|l| l.contains(lint)), "{output}");
    });
}
