//! OpenMetrics, negotiated: a scraper that prefers `application/openmetrics-text` (Prometheus
//! does) gets OpenMetrics text that a strict parser (the `prometheus_client` Python package's)
//! accepts, with the same samples as the text format; anyone else gets the text format
//! unchanged. Both the scrape server and `http::metrics_handler` negotiate.
#![cfg(all(feature = "db", feature = "queue", feature = "http"))]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use obs_tests::child::run_in_child;
use obs_tests::fixtures::{find_user, remind};
use obs_tests::{raw_get, runtime};

/// Prometheus 2.42's own `Accept` header.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Parses `exposition` with the strict OpenMetrics parser of the `prometheus_client` Python
/// package; returns the number of samples, or the parser's complaint.
fn strict_parse(exposition: &str) -> Result<usize, String> {
    let script = "import sys\n\
                  from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
                  print(sum(len(f.samples) for f in text_string_to_metric_families(sys.stdin.read())))\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(exposition.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "run scripts/test, which installs the prometheus-client Python package"
    );
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().parse().unwrap())
    } else {
        Err(stderr.into_owned())
    }
}

fn samples(exposition: &str) -> BTreeSet<String> {
    exposition.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

/// (content type, body) of a scrape of `addr` with `accept`.
fn scrape(addr: SocketAddr, accept: Option<&str>) -> (String, String) {
    let header = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    let (status, head, body) = raw_get(addr, "/metrics", &header);
    assert_eq!(status, 200, "{head}");
    let content_type = head.lines().find_map(|l| l.strip_prefix("content-type: ")).unwrap_or_default().to_owned();
    assert!(head.contains("vary: accept"), "caches must key on Accept: {head}");
    (content_type, body)
}

fn record_everything() {
    metrics::describe_counter!("orders", "Orders \"placed\", a counter named without _total.");
    metrics::counter!("orders").increment(2);
    metrics::gauge!("workflows_total").set(3.0);
    metrics::histogram!("http_request_duration_seconds", "method" => "GET", "path" => "/users/{id}", "status_code" => "200")
        .record(0.02);
    obs_runtime::record_error("ValidationError", "/users");
}

#[test]
fn prometheus_gets_openmetrics_that_a_strict_parser_accepts_others_get_text() {
    let env = [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none")];
    let _ = run_in_child("", &env, || {
        let rt = runtime();
        let guard = rt.block_on(async { obs_runtime::init().unwrap() });
        rt.block_on(async {
            for id in 0..5 {
                let _ = find_user(id).await;
                let _ = remind(id).await;
            }
        });
        record_everything();
        let addr = guard.scrape_addr().unwrap();

        let (content_type, open_metrics) = scrape(addr, Some(PROMETHEUS_ACCEPT));
        assert_eq!(content_type, obs_runtime::OPENMETRICS_CONTENT_TYPE);
        assert!(open_metrics.ends_with("\n# EOF\n"), "{open_metrics}");
        assert!(!open_metrics.lines().any(str::is_empty), "no blank lines in OpenMetrics");
        assert!(open_metrics.contains("# TYPE db_queries counter\n"), "a counter family drops _total: {open_metrics}");
        assert!(open_metrics.contains("# TYPE orders unknown\n"), "a counter without _total keeps its name");
        assert!(open_metrics.contains(r#"# HELP orders Orders \"placed\""#), "HELP escapes quotes: {open_metrics}");
        let parsed = strict_parse(&open_metrics).unwrap_or_else(|e| panic!("{e}\n{open_metrics}"));

        let (content_type, text) = scrape(addr, None);
        assert_eq!(content_type, obs_runtime::PROMETHEUS_CONTENT_TYPE);
        assert!(!text.contains("# EOF") && text.contains("# TYPE db_queries_total counter"), "unchanged");
        // The same samples in both formats (the process metrics move between two scrapes).
        let moving = |s: &String| s.starts_with("process_") || s.starts_with("tokio_");
        let (om, plain): (BTreeSet<String>, BTreeSet<String>) = (samples(&open_metrics), samples(&text));
        assert_eq!(
            om.iter().filter(|s| !moving(s)).collect::<Vec<_>>(),
            plain.iter().filter(|s| !moving(s)).collect::<Vec<_>>()
        );
        assert_eq!(parsed, om.len(), "the parser read every sample");

        // Garbage, q-values that prefer text, and a wildcard all get the text format.
        for accept in [
            ";;q=,/",
            "application/openmetrics-text;q=0.2, text/plain;q=0.8",
            "*/*",
            "application/openmetrics-text;q=7",
        ] {
            assert_eq!(scrape(addr, Some(accept)).0, obs_runtime::PROMETHEUS_CONTENT_TYPE, "{accept}");
        }
        drop(guard);
    });
}

#[test]
fn the_apps_own_metrics_route_negotiates_too() {
    let env = [("PROMETHEUS_SCRAPE_SERVER", "false"), ("OTEL_EXPORTER", "none")];
    let _ = run_in_child("", &env, || {
        let rt = runtime();
        let guard = rt.block_on(async { obs_runtime::init().unwrap() });
        assert_eq!(guard.scrape_addr(), None, "no scrape server of obs's own");
        record_everything();
        let addr = rt.block_on(async {
            let app = axum::Router::new().route("/metrics", axum::routing::get(obs_runtime::http::metrics_handler));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            addr
        });
        let (content_type, open_metrics) = scrape(addr, Some(PROMETHEUS_ACCEPT));
        assert_eq!(content_type, obs_runtime::OPENMETRICS_CONTENT_TYPE);
        strict_parse(&open_metrics).unwrap_or_else(|e| panic!("{e}\n{open_metrics}"));
        let (content_type, text) = scrape(addr, Some("text/plain"));
        assert_eq!(content_type, obs_runtime::PROMETHEUS_CONTENT_TYPE);
        assert!(text.contains("orders{app=\"openmetrics\"} 2"), "{text}");
        drop(guard);
    });
}

/// `(trace_id, span_id, value)` of the exemplars on `metric`'s lines of `open_metrics`.
fn exemplars_of<'a>(open_metrics: &'a str, metric: &str) -> Vec<(&'a str, &'a str, f64)> {
    open_metrics
        .lines()
        .filter(|l| l.starts_with(metric))
        .filter_map(|l| l.split_once(" # {trace_id=\""))
        .map(|(_, rest)| {
            let (trace_id, rest) = rest.split_once("\",span_id=\"").unwrap();
            let (span_id, rest) = rest.split_once("\"} ").unwrap();
            (trace_id, span_id, rest.split(' ').next().unwrap().parse().unwrap())
        })
        .collect()
}

#[test]
fn a_sampled_call_leaves_its_trace_as_the_exemplar_of_its_bucket_and_counter() {
    let env = [("PROMETHEUS_HOST", "127.0.0.1"), ("PROMETHEUS_PORT", "0"), ("OTEL_EXPORTER", "none")];
    let _ = run_in_child("", &env, || {
        let rt = runtime();
        let guard = rt.block_on(async { obs_runtime::init().unwrap() });
        let addr = guard.scrape_addr().unwrap();
        rt.block_on(find_user(1)).unwrap();
        // Before any OpenMetrics scrape, calls keep nothing.
        let (_, before) = scrape(addr, Some(PROMETHEUS_ACCEPT));
        assert!(!before.contains(" # {"), "{before}");
        // Inside a request's span: the call's own span is that trace's child.
        let request = tracing::info_span!("request");
        let trace_id =
            request.in_scope(|| obs_runtime::propagation::TraceContext::current().traceparent)[3..35].to_owned();
        rt.block_on(tracing::Instrument::instrument(find_user(2), request)).unwrap();
        let (_, open_metrics) = scrape(addr, Some(PROMETHEUS_ACCEPT));
        let buckets = exemplars_of(&open_metrics, "db_query_duration_seconds_bucket{");
        assert_eq!(buckets.len(), 1, "the bucket the call landed in: {open_metrics}");
        let (exemplar_trace, span_id, seconds) = buckets[0];
        assert_eq!(exemplar_trace, trace_id, "{open_metrics}");
        assert!(span_id.len() == 16 && span_id != "0000000000000000");
        assert!(seconds > 0.0 && seconds < 5.0, "the call's duration: {seconds}");
        let counters = exemplars_of(&open_metrics, "db_queries_total{");
        assert_eq!(counters, [(trace_id.as_str(), span_id, 1.0)], "the success counter's exemplar");
        strict_parse(&open_metrics).unwrap_or_else(|e| panic!("{e}\n{open_metrics}"));
        // The text format never carries them.
        assert!(!scrape(addr, None).1.contains(" # {"));
        drop(guard);
    });
}

#[test]
fn an_unsampled_call_leaves_no_exemplar() {
    let env = [
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("PROMETHEUS_PORT", "0"),
        ("OTEL_EXPORTER", "none"),
        ("OTEL_TRACES_SAMPLER", "always_off"),
    ];
    let _ = run_in_child("", &env, || {
        let rt = runtime();
        let guard = rt.block_on(async { obs_runtime::init().unwrap() });
        let addr = guard.scrape_addr().unwrap();
        let _ = scrape(addr, Some(PROMETHEUS_ACCEPT));
        for id in 1..5 {
            rt.block_on(find_user(id)).unwrap();
        }
        let (_, open_metrics) = scrape(addr, Some(PROMETHEUS_ACCEPT));
        assert!(open_metrics.contains("db_queries_total{"), "{open_metrics}");
        assert!(!open_metrics.contains(" # {"), "{open_metrics}");
        drop(guard);
    });
}
