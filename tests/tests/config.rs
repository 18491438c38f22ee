//! Configuration from the environment: every variable of DESIGN §3, a wrong value of each is an
//! error naming the variable, the value and what is accepted, and explicit settings beat the
//! environment.

use obs_runtime::{Config, InitError, LogFormat, Sampler, TraceExporter};

/// (variable, a wrong value, a phrase of what is accepted)
const WRONG: &[(&str, &str, &str)] = &[
    ("PROMETHEUS_ENABLED", "maybe", "true or false"),
    ("PROMETHEUS_HOST", "not a host", "an IP address or host name"),
    ("PROMETHEUS_PORT", "abc", "a port number from 0 to 65535"),
    ("PROMETHEUS_PORT", "70000", "a port number from 0 to 65535"),
    ("PROMETHEUS_ENDPOINT", "metrics", "a path starting with /"),
    ("PROMETHEUS_BEARER_TOKEN", "two words", "a token without spaces"),
    ("METRICS_PREFIX", "9lives_", "not starting with a digit"),
    ("OTEL_EXPORTER", "zipkin", "one of jaeger, otlp, datadog, none"),
    ("JAEGER_ENDPOINT", "jaeger:4318", "an http:// or https:// URL"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317", "an http:// or https:// URL"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "one of grpc, http/protobuf"),
    ("OTEL_SERVICE_NAME", "bad\u{7}name", "without control characters"),
    ("OTEL_RESOURCE_ATTRIBUTES", "team", "comma-separated key=value pairs"),
    ("OTEL_TRACES_SAMPLER", "sometimes", "one of always_on, always_off, traceidratio"),
    ("OTEL_TRACES_SAMPLER_ARG", "2", "a number from 0 to 1"),
    ("OTEL_SDK_DISABLED", "nah", "true or false"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "0", "a whole number greater than 0"),
    ("OTEL_BSP_SCHEDULE_DELAY", "5s", "a whole number of milliseconds"),
    ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "-1", "a whole number greater than 0"),
    ("OTEL_BSP_EXPORT_TIMEOUT", "soon", "a whole number of milliseconds"),
    ("LOG_LEVEL", "loud", "one of trace, debug, info, warn, error, off"),
    ("RUST_LOG", "my_app=shouty", "tracing filter directives"),
    ("LOG_FORMAT", "xml", "one of json, pretty"),
    ("STELLAR_NETWORK", "main net", "ASCII letters, digits and _ . : / -"),
    ("OBS_SHUTDOWN_TIMEOUT", "forever", "a duration such as 5s"),
    ("OBS_SPAN_DEBUG_ATTRIBUTES", "verbose", "true or false"),
    ("OBS_MAX_SERIES_PER_METRIC", "0", "a whole number greater than 0"),
    ("OBS_METRIC_RENAMES", "http_requests_total{path=route", "metric[=new_name][{label=new_label,…}]"),
    ("OBS_METRICS_DISABLED", "tokio_worker", "names of obs's metrics as docs/metrics.md gives them"),
    ("OBS_APP_LABEL", "sometimes", "true or false"),
    ("OBS_ERROR_TYPE_LABEL", "maybe", "true or false"),
    ("PROMETHEUS_SCRAPE_SERVER", "maybe", "true or false"),
    ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1k", "a whole number greater than 0"),
    ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "0", "a whole number greater than 0"),
    ("OTEL_SPAN_EVENT_COUNT_LIMIT", "-5", "a whole number greater than 0"),
    ("OBS_BSP_MAX_QUEUE_BYTES", "16MiB", "a whole number greater than 0"),
    ("OBS_TAIL_LATENCY_THRESHOLD", "slow", "a duration such as 5s"),
    ("OTEL_TRACES_SAMPLER_ARG", "1.5", "a number from 0 to 1"),
    ("OTEL_METRICS_EXPORTER", "statsd", "prometheus, otlp or none"),
    ("OTEL_METRICS_EXPORTER", "none,otlp", "none alone"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "0", "a whole number of milliseconds greater than 0"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "15s", "a whole number of milliseconds greater than 0"),
    ("OTEL_METRIC_EXPORT_TIMEOUT", "0", "a whole number of milliseconds greater than 0"),
    ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "collector:4317", "an http:// or https:// URL"),
    ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json", "one of grpc, http/protobuf"),
];

#[test]
fn metrics_exporters_choose_scrape_push_or_both() {
    let metrics = |vars: &[(&str, &str)]| {
        let config = Config::from_vars(vars.iter().copied()).unwrap();
        (config.metrics().scrape.serve, config.metrics().push.enabled)
    };
    assert_eq!(metrics(&[]), (true, false), "the scrape server alone by default");
    assert_eq!(metrics(&[("OTEL_METRICS_EXPORTER", "otlp")]), (false, true));
    assert_eq!(metrics(&[("OTEL_METRICS_EXPORTER", "prometheus, otlp")]), (true, true));
    assert_eq!(metrics(&[("OTEL_METRICS_EXPORTER", "none")]), (false, false));
    let both_but_no_server = [("OTEL_METRICS_EXPORTER", "prometheus,otlp"), ("PROMETHEUS_SCRAPE_SERVER", "false")];
    assert_eq!(metrics(&both_but_no_server), (false, true));
    let push =
        Config::from_vars([("OTEL_METRICS_EXPORTER", "otlp"), ("OTEL_METRIC_EXPORT_INTERVAL", "15000")]).unwrap();
    assert_eq!(push.metrics().push.interval, std::time::Duration::from_secs(15));
    let http = Config::from_vars([
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
    ])
    .unwrap();
    assert_eq!(http.metrics().push.endpoint(), "http://collector:4318/v1/metrics");
    // obs pushes without TLS: an https endpoint is refused at start, not failed at every push.
    let tls = Config::from_vars([
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://collector:4317"),
    ]);
    let message = tls.unwrap_err().to_string();
    assert!(
        message.starts_with("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=") && message.contains("without TLS"),
        "{message}"
    );
}

#[test]
fn a_wrong_value_names_the_variable_the_value_and_what_is_accepted() {
    for (variable, value, accepted) in WRONG {
        let error = Config::from_vars([(*variable, *value)]).expect_err(variable);
        let message = error.to_string();
        assert!(message.starts_with(&format!("{variable}=")), "{variable}: {message}");
        if *variable != "PROMETHEUS_BEARER_TOKEN" {
            assert!(message.contains(&format!("{value:?}")), "{variable}: the value in {message}");
        }
        assert!(message.contains(accepted), "{variable}: what is accepted, in {message}");
        assert!(matches!(error, InitError::InvalidValue { .. }));
    }
}

#[test]
fn a_secret_is_never_echoed() {
    let message = Config::from_vars([("PROMETHEUS_BEARER_TOKEN", "hunter2 x")]).unwrap_err().to_string();
    assert!(!message.contains("hunter2"), "{message}");
    let config = Config::from_vars([("PROMETHEUS_BEARER_TOKEN", "hunter2")]).unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn the_ratio_is_checked_even_for_samplers_that_ignore_it() {
    let error = Config::from_vars([("OTEL_TRACES_SAMPLER", "parentbased_always_on"), ("OTEL_TRACES_SAMPLER_ARG", "2")]);
    assert!(error.unwrap_err().to_string().starts_with("OTEL_TRACES_SAMPLER_ARG="));
}

#[test]
fn batch_size_cannot_exceed_the_queue() {
    let error = Config::from_vars([("OTEL_BSP_MAX_QUEUE_SIZE", "100"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200")]);
    assert!(error.unwrap_err().to_string().contains("at most OTEL_BSP_MAX_QUEUE_SIZE (100)"));
}

#[test]
fn defaults_and_good_values_are_read() {
    let defaults = Config::from_vars(Vec::<(String, String)>::new()).unwrap();
    assert_eq!(defaults.service().name, "config", "the test binary's name, without cargo's hash");
    assert!(defaults.metrics().enabled);
    let scrape = &defaults.metrics().scrape;
    assert_eq!((scrape.host.as_str(), scrape.port, scrape.endpoint.as_str()), ("0.0.0.0", 9464, "/metrics"));
    assert_eq!(defaults.traces().exporter, TraceExporter::Jaeger);
    assert_eq!(defaults.traces().endpoint(), "http://localhost:4318/v1/traces");
    assert_eq!(defaults.traces().sampler, Sampler::ParentBasedAlwaysOn);
    assert_eq!(defaults.logs().filter, "info");
    assert_eq!(defaults.logs().format, LogFormat::Json);
    let limits = defaults.traces().limits;
    assert_eq!((limits.attribute_value_length, limits.attribute_count, limits.event_count), (1_024, 128, 128));
    assert_eq!(defaults.traces().batch.max_queue_bytes, 16 << 20);

    let config = Config::from_vars([
        ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from_resource,team=payments"),
        ("OTEL_SERVICE_NAME", "mentorsmind"),
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_ENDPOINT", "/internal/metrics"),
        ("METRICS_PREFIX", "gemini_flow_"),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ("LOG_LEVEL", "warn"),
        ("LOG_FORMAT", "pretty"),
    ])
    .unwrap();
    assert_eq!(config.service().name, "mentorsmind");
    assert!(config.service().resource.contains(&("team".to_owned(), "payments".to_owned())));
    let scrape = &config.metrics().scrape;
    assert_eq!((scrape.host.as_str(), scrape.port, scrape.endpoint.as_str()), ("127.0.0.1", 0, "/internal/metrics"));
    assert_eq!(config.metrics().prefix, "gemini_flow_");
    assert_eq!(config.traces().exporter, TraceExporter::Otlp);
    assert_eq!(config.traces().endpoint(), "http://collector:4318/v1/traces");
    assert_eq!(config.traces().sampler, Sampler::TraceIdRatio(0.25));
    assert_eq!(config.logs().filter, "warn");
    assert_eq!(config.logs().format, LogFormat::Pretty);
}

#[test]
fn rust_log_directives_win_over_log_level() {
    let config = Config::from_vars([("LOG_LEVEL", "error"), ("RUST_LOG", "warn,my_app=debug")]).unwrap();
    assert_eq!(config.logs().filter, "warn,my_app=debug");
}

#[test]
fn legacy_jaeger_thrift_url_is_rewritten_to_otlp_http() {
    let config = Config::from_vars([("JAEGER_ENDPOINT", "http://jaeger:14268/api/traces")]).unwrap();
    assert_eq!(config.traces().endpoint(), "http://jaeger:4318/v1/traces");
}

#[test]
fn explicit_settings_beat_the_environment() {
    let config = Config::from_vars([("OTEL_SERVICE_NAME", "from_env"), ("METRICS_PREFIX", "env_")])
        .unwrap()
        .service_name("from_code")
        .prefix("code_");
    assert_eq!((config.service().name.as_str(), config.metrics().prefix.as_str()), ("from_code", "code_"));
}

#[test]
fn code_defaults_are_overridden_by_the_environment_only_where_it_is_set() {
    let defaults = || Config::default().service_name("from_code").prefix("code_").log_format(LogFormat::Pretty);
    let config = defaults().with_vars([("OTEL_SERVICE_NAME", "from_env")]).unwrap();
    assert_eq!(config.service().name, "from_env");
    assert_eq!(config.metrics().prefix, "code_", "not set in the environment: the code's default stays");
    assert_eq!(config.logs().format, LogFormat::Pretty);
    let error = defaults().with_vars([("METRICS_PREFIX", "9bad")]).unwrap_err();
    assert!(error.to_string().starts_with(r#"METRICS_PREFIX="9bad""#), "{error}");
}

#[test]
fn the_bearer_token_is_redacted_in_debug_output() {
    let config = Config::default().bearer_token("s3cret");
    assert_eq!(config.metrics().scrape.bearer_token.as_deref(), Some("s3cret"));
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[test]
fn builder_values_are_checked_at_install() {
    let error = Config::default().prefix("bad prefix").install().unwrap_err();
    assert!(error.to_string().starts_with(r#"prefix="bad prefix" is not valid"#), "{error}");
    let error = Config::default().scrape_endpoint("metrics").install().unwrap_err();
    assert!(error.to_string().starts_with("PROMETHEUS_ENDPOINT="), "{error}");
    let error = Config::default()
        .buckets_for("db_query_duration_seconds", &[1.0, 0.5])
        .scrape_addr("127.0.0.1:0".parse().unwrap())
        .install();
    assert!(error.unwrap_err().to_string().starts_with("buckets for db_query_duration_seconds="));
}

#[test]
fn a_taken_scrape_port_is_an_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = Config::default().scrape_addr(addr).exporter(obs_runtime::TraceExporter::None).install().unwrap_err();
    assert!(matches!(error, InitError::ScrapeAddrUnavailable { .. }), "{error:?}");
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
}

/// `OBS_BUCKETS` (issue 34): the fix `InvalidObjective` names can be followed by a service that
/// installs with `init()`, and a wrong entry is an error that says the syntax.
#[test]
fn obs_buckets_sets_histogram_buckets_from_the_environment() {
    let config = Config::default()
        .buckets_for("db_query_duration_seconds", &[1.0])
        .with_vars([("OBS_BUCKETS", "db_query_duration_seconds=0.01, 0.1,1 ; http_request_duration_seconds=0.5,2.5")])
        .unwrap();
    let buckets = &config.metrics().buckets;
    assert_eq!(
        buckets,
        &vec![
            ("db_query_duration_seconds".to_owned(), vec![0.01, 0.1, 1.0]),
            ("http_request_duration_seconds".to_owned(), vec![0.5, 2.5])
        ],
        "the environment's entry replaces the code's"
    );
    let renamed = Config::from_vars([
        ("OBS_METRIC_RENAMES", "db_query_duration_seconds=db_operation_duration_seconds"),
        ("OBS_BUCKETS", "db_operation_duration_seconds=0.1,1"),
    ]);
    assert!(renamed.is_ok(), "a histogram by its new name: {renamed:?}");
    for (value, why) in [
        ("db_queries_total=1,2", r#""db_queries_total" is not one of obs's histograms"#),
        ("nope=1", r#""nope" is not one of obs's histograms"#),
        ("db_query_duration_seconds", "has no `=`"),
        ("db_query_duration_seconds=0.1,x", r#""x" in db_query_duration_seconds is not a number"#),
        ("db_query_duration_seconds=1,0.5", "must be finite, non-negative and increasing"),
    ] {
        let error = Config::from_vars([("OBS_BUCKETS", value)]).unwrap_err().to_string();
        assert!(error.starts_with(&format!("OBS_BUCKETS={value:?} is not valid: expected entries")), "{error}");
        assert!(error.contains(why), "{value}: {error}");
    }
}

/// `fn main() -> Result<(), Box<dyn Error>>` prints an error with `Debug`: obs's errors read
/// as the sentence there too (issue 34: `InvalidObjective` printed as a struct).
#[test]
fn regression_errors_debug_print_as_their_sentence() {
    let error = Config::from_vars([("PROMETHEUS_PORT", "abc")]).unwrap_err();
    assert_eq!(format!("{error:?}"), error.to_string());
    let boxed: Box<dyn std::error::Error> = Box::new(error);
    assert_eq!(format!("{boxed:?}"), r#"PROMETHEUS_PORT="abc" is not valid: expected a port number from 0 to 65535"#);
}
