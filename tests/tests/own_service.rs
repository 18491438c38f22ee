//! A small service of its own, built as the README and the guide say (issue 34), not a
//! reference service: `orders`, with an objective on a route, a plain catalogued route, queries,
//! an outgoing dependency and an error enum. Its monitoring is written in one line from the
//! guard, after the router is built, and covers what the binary does: its routes, its client
//! calls and its errors; an Apdex threshold from its objective; `metrics.md` without what it
//! never emits; LogQL that finds its own error lines. Written before the router, it is refused.
#![cfg(all(feature = "db", feature = "http"))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use obs_runtime::Objective;
use obs_runtime::http::{ObsLayer, RouteCatalogue as _};
use obs_tests::child::run_in_child;
use obs_tests::logql::Query;

/// 99.5 % of orders are placed, 99 % within half a second.
const ORDERS: Objective = Objective::new("orders", 99.5).latency(Duration::from_millis(500), 99.0);

#[derive(Debug, obs_runtime::BoundedKind)]
enum OrderError {
    #[obs(kind = "out_of_stock")]
    OutOfStock,
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of stock")
    }
}

#[obs_runtime::instrument_db(table = "orders")]
async fn insert_order(item: u64) -> Result<u64, OrderError> {
    if item == 0 { Err(OrderError::OutOfStock) } else { Ok(item) }
}

#[obs_runtime::instrument_db(table = "orders")]
async fn find_order(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

fn router() -> Router {
    Router::new()
        .route_with_objective(
            "/orders",
            ORDERS,
            post(|| async {
                insert_order(0).await.map(|id| id.to_string()).map_err(|e| {
                    tracing::error!(error = %e, "could not place the order");
                    axum::http::StatusCode::CONFLICT
                })
            }),
        )
        .catalogued_route("/orders/{id}", get(|| async { find_order(1).await.map(|id| id.to_string()).unwrap() }))
        .layer(ObsLayer::new())
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn a_service_of_its_own_writes_monitoring_that_covers_it_in_one_line() {
    let dir: PathBuf = std::env::temp_dir().join(format!("obs-own-service-{}", std::process::id()));
    let dir_text = dir.display().to_string();
    let env = [
        ("OTEL_SERVICE_NAME", "orders"),
        ("OTEL_EXPORTER", "none"),
        ("PROMETHEUS_PORT", "0"),
        ("PROMETHEUS_HOST", "127.0.0.1"),
        ("OWN_SERVICE_OPS", dir_text.as_str()),
    ];
    let Some(output) = run_in_child("orders", &env, || {
        obs_tests::runtime().block_on(async {
            let obs = obs_runtime::init().unwrap();
            let dir = std::env::var("OWN_SERVICE_OPS").unwrap();
            let early = obs.ops().write_to(&dir).unwrap_err().to_string();
            println!("EARLY {early}");
            // What the service calls out to joins the catalogue where its client is made.
            obs_runtime::client::catalogue_server("https://payments.example.com/v1/charges");
            let app = router();
            obs.ops().write_to(&dir).unwrap(); // the one line, after the router is built
            // One failed order, for the log lines the runbook's queries must find.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            let status = obs_tests::client().post(format!("http://{addr}/orders")).send().await.unwrap().status();
            assert_eq!(status.as_u16(), 409);
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
    }) else {
        return;
    };
    let early = output.lines().find_map(|l| l.strip_prefix("EARLY ")).expect("the early write's error");
    assert!(early.starts_with("no router has been built with ObsLayer yet"), "{early}");

    // Routes: the objective's SLI over its route, request rate and errors by route.
    let rules = read(&dir, "prometheus/recording-rules.yml");
    assert!(rules.contains(r#"objective: "orders""#), "{rules}");
    assert!(rules.contains(r#"path=\"/orders\""#), "the objective counts its route's requests: {rules}");
    assert!(rules.contains(r#"threshold_seconds: "0.5""#), "Apdex T is the objective's latency: {rules}");
    let alerts = read(&dir, "prometheus/alerts.yml");
    for alert in ["OrdersErrorBudgetBurnPage", "OrdersLatencyBudgetBurnTicket", "HighErrorRate", "DependencyErrors"] {
        assert!(alerts.contains(&format!("alert: \"{alert}\"")), "{alert}: {alerts}");
    }
    let dashboard = read(&dir, "grafana/dashboard.json");
    let queries = obs_runtime::ops::dashboard_queries(&dashboard).unwrap();
    let has = |fragment: &str| queries.iter().any(|q| q.contains(fragment));
    assert!(has("sum by (path) (rate(http_requests_total"), "request rate by route: {queries:#?}");
    assert!(has("sum by (type, path) (rate(errors_total"), "errors by type and route");
    // The outgoing dependency: rate, errors and p95 by server.
    assert!(has("sum by (server_address, status_code) (rate(http_client_request_duration_seconds_count"));
    assert!(has(
        "histogram_quantile(0.95, sum by (le, server_address) (rate(http_client_request_duration_seconds_bucket"
    ));
    // The queries, failures by error_type.
    assert!(has("sum by (operation, table, error_type) (rate(db_queries_total"), "{queries:#?}");
    let runbook = read(&dir, "runbook.md");
    assert!(runbook.contains("## DependencyErrors"), "a runbook section for the dependency: {runbook}");
    // metrics.md: only what the binary emits (this test binary also links the shared fixtures,
    // whose query and queue job are catalogued with it).
    let metrics = read(&dir, "metrics.md");
    assert!(metrics.contains("`http_client_request_duration_seconds`") && metrics.contains("`db_queries_total`"));
    for absent in ["stellar_api_calls_total", "websocket_messages_total", "redis_calls_total", "active_websocket"] {
        assert!(!metrics.contains(absent), "{absent} is never emitted by this binary: {metrics}");
    }

    // The runbook's LogQL finds the service's own error line, as Promtail labels it.
    let lines = obs_tests::json_lines(&output);
    assert!(lines.iter().any(|l| l["level"] == "error"), "{lines:#?}");
    let labels = BTreeMap::from([("service".to_owned(), "orders".to_owned())]);
    let mut checked = 0;
    for (i, _) in runbook.match_indices("`{service=") {
        let query = &runbook[i + 1..i + 1 + runbook[i + 1..].find('`').unwrap()];
        if query.contains("level=\"error\"") {
            let found = Query::parse(query).unwrap().run(&labels, &lines);
            assert!(!found.is_empty(), "{query} finds the service's error line");
            checked += 1;
        }
    }
    assert!(checked >= 1, "the runbook selects error lines: {runbook}");
    let _ = std::fs::remove_dir_all(&dir);
}
