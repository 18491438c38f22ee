//! obs's tracing in a subscriber the app composes (`Config::install_layer`, issue 33): the
//! same calls under `init()` and under a registry with the app's own `EnvFilter`, `fmt` layer
//! and obs's layer reach the OTLP receiver as the same spans (names, kinds, attributes, parent
//! links, status, events) and show the same counts on the scrape; log lines carry the ids; the
//! app's filter (global, or on obs's layer alone) turns obs's spans off. Each installation in
//! a process of its own.
#![cfg(all(feature = "db", feature = "redis"))]

use std::collections::BTreeMap;
use std::time::Duration;

use obs_tests::child::run_in_child;
use obs_tests::otlp_receiver::{OtlpReceiver, ReceivedSpan};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

mod scenario {
    #[obs_runtime::instrument_db(table = "users")]
    pub fn find_user(id: u64) -> Result<u64, std::io::Error> {
        tracing::info!(id, "found the user");
        Ok(id)
    }

    #[obs_runtime::instrument_db(table = "users")]
    pub fn update_user(_id: u64) -> Result<u64, std::io::Error> {
        Err(std::io::Error::other("disk on fire"))
    }

    #[obs_runtime::instrument_redis(command = "get")]
    pub fn cached(key: &str) -> Result<String, std::io::Error> {
        Ok(key.to_owned())
    }

    /// The app's own span between two of obs's.
    #[tracing::instrument(name = "user step", skip_all, fields(step = n))]
    pub fn user_step(n: u64) -> Result<String, std::io::Error> {
        cached("greeting")
    }

    #[obs_runtime::traced(name = "handle batch")]
    pub fn handle_batch() -> Result<(), std::io::Error> {
        user_step(1)?;
        find_user(2)?;
        let _ = update_user(3);
        Ok(())
    }

    /// The app's span at the root, obs's under it, the app's under that, obs's under that.
    pub fn run() {
        tracing::info_span!("batch job", job = "nightly").in_scope(|| handle_batch().unwrap());
    }

    /// Calls the app's filter turns off (`composed::scenario::quiet=off`).
    pub mod quiet {
        #[obs_runtime::instrument_db(table = "audit")]
        pub fn insert_audit() -> Result<(), std::io::Error> {
            Ok(())
        }
    }
}

/// Each span as the path of names from its root, kind, attributes, status and events: what
/// two installations must agree on, ids aside.
fn canonical(spans: &[ReceivedSpan]) -> Vec<String> {
    let by_id: BTreeMap<&str, &ReceivedSpan> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let path = |span: &ReceivedSpan| {
        let mut names = vec![span.name.clone()];
        let mut parent = span.parent_span_id.as_str();
        while let Some(up) = by_id.get(parent) {
            assert_eq!(up.trace_id, span.trace_id, "a parent is in its child's trace");
            names.push(up.name.clone());
            parent = up.parent_span_id.as_str();
        }
        assert!(parent.is_empty(), "{} has a parent that was not exported", span.name);
        names.reverse();
        names.join(" > ")
    };
    let mut lines: Vec<String> = spans
        .iter()
        .map(|s| {
            let events: Vec<String> = s.events.iter().map(|(name, attrs)| format!("{name} {attrs:?}")).collect();
            format!(
                "{} [{}] {:?} status={} {:?} events={events:?}",
                path(s),
                s.kind,
                s.attributes,
                s.status,
                s.status_message
            )
        })
        .collect();
    lines.sort();
    lines
}

/// The counts a scrape shows (counters and histogram counts), the `app` label left out.
fn counts(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = output
        .lines()
        .filter_map(|l| l.strip_prefix("SCRAPE "))
        .filter(|l| {
            let name = l.split(['{', ' ']).next().unwrap_or_default();
            (name.ends_with("_total") || name.ends_with("_count"))
                && !name.starts_with("process_")
                && !name.starts_with("obs_")
        })
        .map(|l| l.replace("app=\"parity-init\",", "").replace("app=\"parity-composed\",", ""))
        .collect();
    lines.sort();
    lines
}

fn print_scrape() {
    for line in obs_runtime::render().lines().filter(|l| !l.starts_with('#')) {
        println!("SCRAPE {line}");
    }
}

fn env<'a>(service: &'a str, endpoint: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("OTEL_SERVICE_NAME", service),
        ("OTEL_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "10"),
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_HOST", "127.0.0.1"),
    ]
}

/// The JSON line of the event `message`, from a child's output.
fn line_of<'a>(lines: &'a [serde_json::Value], message: &str) -> &'a serde_json::Value {
    lines.iter().find(|l| l["message"] == message).unwrap_or_else(|| panic!("no log line {message:?} in {lines:?}"))
}

#[test]
fn init_and_a_composed_subscriber_export_and_count_the_same() {
    let receiver = (!obs_tests::child::is_child()).then(OtlpReceiver::start);
    let endpoint = receiver.as_ref().map(OtlpReceiver::grpc_endpoint).unwrap_or_default();
    let under_init = run_in_child("init", &env("parity-init", &endpoint), || {
        let guard = obs_runtime::init().unwrap();
        scenario::run();
        print_scrape();
        drop(guard);
    });
    let composed = run_in_child("composed", &env("parity-composed", &endpoint), || {
        let (obs, guard) = obs_runtime::Config::from_env().unwrap().install_layer().unwrap();
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new("info,composed::scenario::quiet=off"))
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
            .with(obs)
            .init();
        scenario::run();
        scenario::quiet::insert_audit().unwrap();
        print_scrape();
        drop(guard);
    });
    // A per-layer filter on obs's layer alone turns its spans off as well.
    let per_layer = run_in_child("per-layer", &env("parity-per-layer", &endpoint), || {
        use tracing_subscriber::Layer as _;
        let (obs, guard) = obs_runtime::Config::from_env().unwrap().install_layer().unwrap();
        let not_quiet = tracing_subscriber::filter::filter_fn(|meta| !meta.target().ends_with("::quiet"));
        tracing_subscriber::registry().with(obs.with_filter(not_quiet)).init();
        scenario::run();
        scenario::quiet::insert_audit().unwrap();
        drop(guard);
    });
    let (Some(under_init), Some(composed), Some(_), Some(receiver)) = (under_init, composed, per_layer, receiver)
    else {
        return;
    };
    let spans = receiver.wait_for(Duration::from_secs(10), |spans| spans.len() >= 18);
    let of = |service: &str| spans.iter().filter(|s| s.service_name == service).cloned().collect::<Vec<_>>();
    let (init_spans, composed_spans) = (of("parity-init"), of("parity-composed"));
    assert_eq!(init_spans.len(), 6, "batch job, handle batch, user step, get, two SELECT users: {init_spans:#?}");
    assert_eq!(canonical(&composed_spans), canonical(&init_spans));
    println!("{}", canonical(&init_spans).join("\n"));
    assert!(composed_spans.iter().all(|s| s.name != "INSERT audit"), "the app's filter turned it off");
    assert_eq!(canonical(&of("parity-per-layer")), canonical(&init_spans), "the per-layer filter too");
    let one_trace = |spans: &[ReceivedSpan]| spans.iter().all(|s| s.trace_id == spans[0].trace_id);
    assert!(one_trace(&init_spans) && one_trace(&composed_spans));

    // The filter turns spans off, not metrics: the audit call is counted (and left out of the
    // comparison, as the run under init() never makes it); the rest agree.
    let (mut init_counts, mut composed_counts) = (counts(&under_init), counts(&composed));
    let audit = r#"db_queries_total{operation="INSERT",table="audit",status="success"} 1"#;
    assert!(composed_counts.iter().any(|l| l == audit), "{composed_counts:#?}");
    init_counts.retain(|l| !l.contains("table=\"audit\""));
    composed_counts.retain(|l| !l.contains("table=\"audit\""));
    assert!(init_counts.iter().any(|l| l.contains("status=\"error\",error_type=\"other\"} 1")), "{init_counts:#?}");
    assert_eq!(composed_counts, init_counts);

    // Log lines carry the ids of the span they were written in, under both.
    for (output, spans) in [(&under_init, &init_spans), (&composed, &composed_spans)] {
        let lines = obs_tests::json_lines(output);
        let found = line_of(&lines, "found the user");
        let query = spans.iter().find(|s| s.name == "SELECT users" && s.status != "error").unwrap();
        assert_eq!(found["trace_id"], query.trace_id.as_str(), "{found}");
        assert_eq!(found["span_id"], query.span_id.as_str(), "{found}");
        // Start-up lines reach the composed subscriber too, once it exists.
        let started = lines.iter().filter_map(|l| l["message"].as_str());
        assert!(started.clone().any(|m| m.starts_with("OpenTelemetry tracing started (exporter=otlp")), "{lines:?}");
    }
}
