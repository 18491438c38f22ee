//! From a bucket to its trace: a real Prometheus (Debian's 2.42, exemplar storage on) scrapes
//! the reference service under demo traffic over OpenMetrics, stores the exemplars obs attaches
//! to its HTTP and database buckets, and every trace id it returns is a trace the OTLP receiver
//! got, with the span that recorded the value.
#![cfg(feature = "e2e")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use obs_tests::otlp_receiver::OtlpReceiver;
use obs_tests::prometheus::{PrometheusServer, Target};
use obs_tests::service::Service;
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_mentorsmind-under-test");

/// Every `(trace_id, span_id)` Prometheus stores as exemplars of `query`'s series.
fn exemplars(prometheus: &PrometheusServer, query: &str) -> BTreeSet<(String, String)> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let path = format!(
        "query_exemplars?query={}&start={}&end={}",
        query.replace('(', "%28").replace(')', "%29").replace('[', "%5B").replace(']', "%5D").replace(' ', "%20"),
        now - 600,
        now + 60
    );
    let data = prometheus.api(&path);
    let mut found = BTreeSet::new();
    for series in data.as_array().into_iter().flatten() {
        for exemplar in series["exemplars"].as_array().into_iter().flatten() {
            let labels: &Value = &exemplar["labels"];
            if let (Some(trace), Some(span)) = (labels["trace_id"].as_str(), labels["span_id"].as_str()) {
                found.insert((trace.to_owned(), span.to_owned()));
            }
        }
    }
    found
}

#[test]
fn prometheus_stores_exemplars_whose_traces_the_collector_received() {
    let receiver = OtlpReceiver::start();
    let otlp = receiver.grpc_endpoint();
    let directory = std::env::temp_dir().join(format!("obs-exemplars-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("exemplars.sqlite").display());
    let service = Service::start_with_args(
        EXE,
        &["--demo-traffic"],
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("OTEL_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            // The public Horizon is out of reach: payments fail fast, which is traffic too.
            ("STELLAR_HORIZON_URL", "http://127.0.0.1:9"),
        ],
    );
    let scrape = service.metrics.strip_prefix("http://").unwrap();
    let (addr, path) = scrape.split_once('/').unwrap();
    let target = Target { addr: addr.parse().unwrap(), path: format!("/{path}"), bearer_token: None };
    let prometheus =
        PrometheusServer::start_with_features(&[("mentorsmind".to_owned(), target)], &[], &["exemplar-storage"]);

    let queries = [
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))",
        "histogram_quantile(0.95, sum by (le) (rate(db_query_duration_seconds_bucket[1m])))",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let found: Vec<BTreeSet<(String, String)>> = loop {
        let found: Vec<_> = queries.iter().map(|q| exemplars(&prometheus, q)).collect();
        if found.iter().all(|f| f.len() >= 3) || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    for (query, ids) in queries.iter().zip(&found) {
        assert!(ids.len() >= 3, "{query}: exemplars {ids:?}");
    }
    // Every exemplar's trace reached the collector, with the span that recorded the value: the
    // server span for HTTP buckets, the query's client span for database buckets.
    let wanted: BTreeSet<&(String, String)> = found.iter().flatten().collect();
    let spans = receiver.wait_for(Duration::from_secs(30), |spans| {
        wanted.iter().all(|(trace, span)| spans.iter().any(|s| &s.trace_id == trace && &s.span_id == span))
    });
    for (i, ids) in found.iter().enumerate() {
        for (trace, span) in ids {
            let recorded = spans.iter().find(|s| &s.trace_id == trace && &s.span_id == span);
            let recorded =
                recorded.unwrap_or_else(|| panic!("exemplar {trace}/{span} of {} was never exported", queries[i]));
            match i {
                0 => assert_eq!(recorded.kind, "server", "{recorded:?}"),
                _ => assert!(recorded.kind == "client" && recorded.attr("db.system.name").is_some(), "{recorded:?}"),
            }
        }
    }
    println!("exemplars: {} on HTTP buckets, {} on database buckets, all exported", found[0].len(), found[1].len());
    drop(service);
    let _ = std::fs::remove_dir_all(&directory);
}
