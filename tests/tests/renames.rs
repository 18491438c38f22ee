//! Renames: obs's metrics under a team's names, label names and HELP texts, from the builder
//! and from `OBS_METRIC_RENAMES`; metrics switched off; refusals that name the variable, the
//! value and the fix. Installs run in a child process each: a recorder is process-wide.
#![cfg(all(feature = "db", feature = "http"))]

use obs_runtime::{Config, InitError, MetricRename, instrument_db};
use obs_tests::child::run_in_child;

#[instrument_db(table = "workflows", operation = "read")]
fn read_workflow(id: u32) -> Result<u32, String> {
    if id == 0 { Err("no workflow".into()) } else { Ok(id) }
}

#[instrument_db(table = "workflows", operation = "read")]
async fn read_workflow_later(id: u32) -> Result<u32, String> {
    read_workflow(id)
}

fn refusal(config: Result<Config, InitError>) -> (String, String, String) {
    match config.map(drop).expect_err("refused") {
        InitError::InvalidValue { variable, value, expected } => (variable, value, expected),
        other => panic!("{other}"),
    }
}

#[test]
fn a_malformed_or_impossible_rename_is_refused_with_the_variable_the_value_and_the_fix() {
    for (value, expected) in [
        ("http_requests_total{path=route", "entries separated by `;`"),
        ("http_requests_total{path=route} \"unclosed", "metric[=new_name][{label=new_label,…}][ \"HELP text\"]"),
        ("http_request_total{path=route}", "one of obs's metrics"),
        ("http_requests_total{route=path}", "labels of http_requests_total: method, path, status_code"),
        ("db_queries_total=redis_calls_total", "collides with the series of redis_calls_total"),
        ("db_queries_total=db_query_duration_seconds_sum", "collides with the series of db_query_duration_seconds"),
        ("http_requests_total{path=method}", "two labels named method"),
        ("http_request_duration_seconds{path=le}", "two labels named le"),
        ("errors_total{type=2xx}", "a label name"),
    ] {
        let (variable, shown, accepted) = refusal(Config::from_vars([("OBS_METRIC_RENAMES", value)]));
        assert_eq!(variable, "OBS_METRIC_RENAMES", "{value}");
        assert_eq!(shown, value.trim(), "the entry as written");
        assert!(accepted.contains(expected), "{value}: {accepted}");
    }
    // The same from the builder names the builder method, and shows the rename as an entry.
    let rename = MetricRename::new("http_requests_total").label("path", "method");
    let (variable, shown, _) =
        refusal(Config::default().rename_metric(rename).with_vars(Vec::<(String, String)>::new()));
    assert_eq!((variable.as_str(), shown.as_str()), ("Config::rename_metric", "http_requests_total{path=method}"));
    // `app` is a label of every series, unless it is switched off.
    let app = [("OBS_METRIC_RENAMES", "errors_total{path=app}")];
    assert!(refusal(Config::from_vars(app)).2.contains("two labels named app"));
    let _ = Config::from_vars([app[0], ("OBS_APP_LABEL", "false")]).expect("no app label, no clash");
    let (variable, _, accepted) =
        refusal(Config::from_vars([("OBS_METRICS_DISABLED", "http_requests_total,tokio_worker")]));
    assert_eq!(variable, "OBS_METRICS_DISABLED");
    assert!(accepted.contains("\"tokio_worker\" is none"), "{accepted}");
}

#[test]
fn the_environment_replaces_the_codes_rename_of_the_same_metric() {
    let config = Config::default()
        .rename_metric(MetricRename::new("http_requests_total").label("path", "route"))
        .rename_metric(MetricRename::new("errors_total").help("Errors."))
        .with_vars([("OBS_METRIC_RENAMES", "http_requests_total{path=endpoint}")])
        .unwrap();
    let renames: Vec<String> = config.metrics().renames.iter().map(ToString::to_string).collect();
    assert_eq!(renames, ["errors_total \"Errors.\"", "http_requests_total{path=endpoint}"]);
}

#[test]
fn renamed_series_render_under_the_new_names_through_every_path() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("OTEL_EXPORTER", "none"),
        ("LOG_LEVEL", "off"),
        ("METRICS_PREFIX", "team_"),
        ("OBS_APP_LABEL", "false"),
        (
            "OBS_METRIC_RENAMES",
            "db_queries_total=db_operations_total{table=collection,error_type=error_kind} \"Total number of database operations\"; \
             db_query_duration_seconds=db_operation_duration_seconds{table=collection}; \
             errors_total{path=route,type=kind}; obs_series_overflow_total{metric=family}",
        ),
        ("OBS_METRICS_DISABLED", "http_requests_in_flight,tokio_workers"),
        ("OBS_MAX_SERIES_PER_METRIC", "2"),
    ];
    let _ = run_in_child("", &env, || {
        let runtime = obs_tests::runtime();
        let _guard = runtime.block_on(async {
            // Buckets and objectives may name a histogram by its new name.
            Config::from_env().unwrap().buckets_for("db_operation_duration_seconds", &[0.01, 1.0]).install().unwrap()
        });
        runtime.block_on(async {
            read_workflow(1).unwrap();
            read_workflow(0).unwrap_err();
            read_workflow_later(2).await.unwrap(); // two calls: it reads through `read_workflow`
        });
        // Recorded by hand under obs's name: renamed the same way, into the same series.
        metrics::counter!("db_queries_total", "operation" => "read", "table" => "workflows", "status" => "success")
            .increment(10);
        for (kind, route) in [("NotFoundError", "/a"), ("ValidationError", "/b"), ("InternalError", "/c")] {
            obs_runtime::record_error(kind, route);
        }
        metrics::gauge!("http_requests_in_flight", "method" => "GET", "path" => "/a").increment(1.0);
        let text = obs_runtime::render();
        let labels = r#"operation="read",collection="workflows""#;
        for line in [
            "# HELP team_db_operations_total Total number of database operations",
            "# TYPE team_db_operations_total counter",
            &format!(r#"team_db_operations_total{{{labels},status="success"}} 13"#),
            &format!(r#"team_db_operations_total{{{labels},status="error",error_kind="alloc::string::String"}} 1"#),
            &format!(r#"team_db_operations_total{{{labels},status="cancelled"}} 0"#),
            &format!(r#"team_db_operation_duration_seconds_bucket{{{labels},le="0.01"}} 4"#),
            &format!(r#"team_db_operation_duration_seconds_count{{{labels}}} 4"#),
            r#"team_errors_total{kind="NotFoundError",route="/a"} 1"#,
            r#"team_errors_total{overflow="true"} 1"#,
            r#"team_obs_series_overflow_total{family="team_errors_total"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        for gone in ["db_queries_total", "db_query_duration", "table=", "app=", "in_flight", "tokio_workers", "path="] {
            assert!(!text.contains(gone), "{gone} in\n{text}");
        }
        // The catalogue reports the installed names.
        let catalogue = obs_runtime::catalogue();
        let site = catalogue.sites().iter().find(|s| s.function().ends_with("::read_workflow")).unwrap();
        assert_eq!(site.label_names(), ["operation", "collection"]);
        assert_eq!(site.metric_names(), ["team_db_operations_total", "team_db_operation_duration_seconds"]);
    });
}
