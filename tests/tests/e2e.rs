//! End to end: the reference service as a child process against real PostgreSQL and Redis (the
//! servers running on this machine), a Horizon stub, a real Prometheus scraping it and the OTLP
//! receiver; then the same service on its embedded defaults (SQLite, no Redis).
#![cfg(feature = "e2e")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_core::Stream;
use obs_tests::horizon_stub::{HorizonStub, Mode};
use obs_tests::otlp_receiver::{OtlpReceiver, ReceivedSpan, SpanQueries};
use obs_tests::postgres::FreshDatabase;
use obs_tests::prometheus::{PrometheusServer, Target};
use obs_tests::service::Service;
use obs_tests::{client, runtime};
use serde_json::{Value, json};

/// A Redis database of this run's own (1-15), so concurrent runs never share a job queue.
fn redis_url() -> String {
    format!("redis://127.0.0.1:6379/{}", 1 + std::process::id() % 15)
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap_or(Value::Null)
}

async fn next_ws_text<S, E>(socket: &mut S) -> String
where
    S: Stream<Item = Result<tokio_tungstenite::tungstenite::Message, E>> + Unpin,
    E: std::fmt::Debug,
{
    let message = tokio::time::timeout(
        Duration::from_secs(10),
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut *socket).poll_next(cx)),
    )
    .await
    .expect("a notification within 10 s")
    .expect("the socket is open")
    .expect("a message");
    message.into_text().expect("text").to_string()
}

/// Steady background traffic (reads, a session, a payment, a 404 each round) on a thread and
/// runtime of its own, until stopped; returns how many requests it made.
struct Steady {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Steady {
    fn start(api: String, mentor: String, mentee: String) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            runtime().block_on(async move {
                let http = client();
                let account = format!("G{}", "B".repeat(55));
                let mut made = 0;
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    for path in [
                        format!("/users/{mentee}"),
                        format!("/users/{mentor}"),
                        "/users".to_owned(),
                        "/missing".to_owned(),
                    ] {
                        let _ = http.get(format!("{api}{path}")).send().await;
                    }
                    let _ = http
                        .post(format!("{api}/sessions"))
                        .json(&json!({"mentor_id": mentor, "mentee_id": mentee}))
                        .send()
                        .await;
                    let _ = http
                        .post(format!("{api}/payments"))
                        .json(&json!({"user_id": mentee, "destination": account, "amount": "1"}))
                        .send()
                        .await;
                    made += 6;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                made
            })
        });
        Self { stop, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[test]
fn postgres_redis_prometheus_and_otlp_end_to_end() {
    let rt = runtime();
    let database = rt.block_on(FreshDatabase::create());
    let horizon = HorizonStub::start();
    let mut receiver = OtlpReceiver::start();
    let otlp = receiver.grpc_endpoint();
    let database_url = database.url();
    let redis = redis_url();
    let service = Service::start(
        env!("CARGO_BIN_EXE_mentorsmind-under-test"),
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("REDIS_URL", redis.as_str()),
            ("STELLAR_HORIZON_URL", horizon.url.as_str()),
            ("OTEL_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            ("LOG_LEVEL", "info"),
        ],
    );
    assert!(service.logged("storage: PostgreSQL; cache and job queue: Redis"));
    let scrape: std::net::SocketAddr =
        service.metrics.trim_start_matches("http://").trim_end_matches("/metrics").parse().unwrap();
    let prometheus = PrometheusServer::start(&[Target { addr: scrape, path: "/metrics".into(), bearer_token: None }]);
    let api = service.api.clone();
    let http = client();

    let mut served = 0_u64;
    let (user_id, session_ids, steady) = rt.block_on(async {
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("{}/ws", api.replacen("http", "ws", 1))).await.unwrap();
        let mentor = json_of(
            http.post(format!("{api}/users"))
                .json(&json!({"name": "Ada", "email": "ada@example.com"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let mentee = json_of(
            http.post(format!("{api}/users"))
                .json(&json!({"name": "Bob", "email": "bob@example.com"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let bouncing = json_of(
            http.post(format!("{api}/users"))
                .json(&json!({"name": "Eve", "email": "eve@bounce.invalid"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        served += 3;
        let (mentor_id, mentee_id) =
            (mentor["id"].as_str().unwrap().to_owned(), mentee["id"].as_str().unwrap().to_owned());
        for _ in 0..3 {
            assert_eq!(http.get(format!("{api}/users/{mentee_id}")).send().await.unwrap().status(), 200);
        }
        assert_eq!(http.get(format!("{api}/users")).send().await.unwrap().status(), 200);
        assert_eq!(http.get(format!("{api}/users/nobody")).send().await.unwrap().status(), 404);
        assert_eq!(http.get(format!("{api}/no/such/route")).send().await.unwrap().status(), 404);
        let renamed =
            http.patch(format!("{api}/users/{mentee_id}")).json(&json!({"name": "Robert"})).send().await.unwrap();
        assert_eq!(renamed.status(), 200);
        served += 7;
        let mut session_ids = Vec::new();
        for mentee in [&mentee_id, bouncing["id"].as_str().unwrap()] {
            let created = http
                .post(format!("{api}/sessions"))
                .json(&json!({"mentor_id": mentor_id, "mentee_id": mentee}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), 201);
            session_ids.push(json_of(created).await["id"].as_str().unwrap().to_owned());
            let note: Value = serde_json::from_str(&next_ws_text(&mut socket).await).unwrap();
            assert_eq!(note["event"], "session.created");
            served += 1;
        }
        let account = format!("G{}", "A".repeat(55));
        let paid = http
            .post(format!("{api}/payments"))
            .json(&json!({"user_id": mentee_id, "destination": account, "amount": "10"}))
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), 201, "{:?}", json_of(paid).await);
        let unknown = http
            .post(format!("{api}/payments"))
            .json(&json!({"user_id": mentee_id, "destination": "nope", "amount": "1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 422);
        horizon.set_mode(Mode::ServerError);
        let failed = http
            .post(format!("{api}/payments"))
            .json(&json!({"user_id": mentee_id, "destination": account, "amount": "2"}))
            .send()
            .await
            .unwrap();
        assert_eq!(failed.status(), 502);
        assert!(json_of(failed).await["error"].as_str().unwrap().contains("Stellar Horizon answered 500"));
        // A Horizon that never answers: the payment fails with 502 at the client's timeout.
        horizon.set_mode(Mode::Timeout);
        let started = Instant::now();
        let silent = http
            .post(format!("{api}/payments"))
            .json(&json!({"user_id": mentee_id, "destination": account, "amount": "3"}))
            .send()
            .await
            .unwrap();
        assert_eq!(silent.status(), 502);
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "answered at the Horizon timeout, not later: {:?}",
            started.elapsed()
        );
        horizon.set_mode(Mode::Normal);
        served += 4;
        // Keep the mix flowing while Prometheus discovers and scrapes the target (it applies new
        // targets after a few seconds); the socket stays open.
        let steady = Steady::start(api.clone(), mentor_id.clone(), mentee_id.clone());
        std::mem::forget(socket); // still connected for the active_websocket_connections query
        (mentee_id, session_ids, steady)
    });

    let timeout = Duration::from_secs(60);
    let mut results = Vec::new();
    for query in [
        "rate(http_requests_total[1m])",
        "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[1m])) by (le, path))",
        r#"sum(rate(http_requests_total{status_code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))"#,
        "histogram_quantile(0.95, sum(rate(db_query_duration_seconds_bucket[1m])) by (le, table))",
        "histogram_quantile(0.95, sum(rate(redis_call_duration_seconds_bucket[1m])) by (le))",
        "sum(rate(queue_jobs_total[1m])) by (status)",
        "histogram_quantile(0.95, sum(rate(stellar_api_call_duration_seconds_bucket[1m])) by (le, operation))",
        "active_websocket_connections",
        "process_resident_memory_bytes",
        "tokio_scheduler_lag_seconds",
    ] {
        results.push((query, prometheus.wait_for_result(query, timeout)));
    }
    let jobs = &results[5].1;
    let statuses: Vec<&str> = jobs.iter().filter_map(|r| r["metric"]["status"].as_str()).collect();
    assert!(statuses.contains(&"completed") && statuses.contains(&"failed"), "{statuses:?}");
    assert_eq!(results[7].1[0]["value"][1], "1", "one WebSocket client connected");
    let p95_users = results[1].1.iter().find(|r| r["metric"]["path"] == "/users/{id}").map(|r| r["value"][1].clone());
    served += steady.stop();

    // Traces: the request's server span is the parent of its DB and Redis spans.
    let spans = receiver.wait_for(Duration::from_secs(15), |s| s.iter().any(|s| s.name == "queue.sessionReminder"));
    let get_user = spans.named("GET /users/{id}");
    let traced = get_user
        .iter()
        .find(|server| {
            let children: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.parent_span_id == server.span_id).collect();
            children.iter().any(|c| c.name == "SELECT users") && children.iter().any(|c| c.name == "get")
        })
        .expect("a GET /users/{id} whose DB query and Redis get are its children");
    assert_eq!(traced.kind, "server");
    let create_session = spans.named("POST /sessions");
    let job = spans.named("queue.sessionReminder");
    assert!(
        job.iter().any(|j| create_session.iter().any(|s| s.trace_id == j.trace_id)),
        "a job's span continues the trace of the request that enqueued it"
    );
    let failed_stellar = spans
        .iter()
        .filter(|s| s.name.starts_with("stellar.") && s.status == "error")
        .find(|s| s.status_message.contains("answered 500"))
        .expect("the Stellar call that met a Horizon 500");
    assert!(failed_stellar.events.iter().any(|(name, attributes)| name == "exception"
        && attributes.get("exception.message").is_some_and(|m| m.contains("500"))));
    assert!(spans.iter().any(|s| s.name == "POST /payments" && s.status == "error"));

    // PostgreSQL loses every connection and the collector goes away: the service keeps
    // answering, the failures show as status="error", and no request hangs.
    receiver.stop();
    let spans_received = spans.len();
    let killed = rt.block_on(database.terminate_connections());
    assert!(killed > 0, "the service held connections");
    rt.block_on(async {
        let mut statuses = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let response = http.get(format!("{api}/users")).send().await.expect("an answer, not a hang");
            assert!(started.elapsed() < Duration::from_secs(10));
            statuses.push(response.status().as_u16());
            served += 1;
        }
        assert!(statuses.contains(&200), "the pool reconnects: {statuses:?}");
        let metrics = reqwest::get(&service.metrics).await.unwrap().text().await.unwrap();
        let errors: f64 = metrics
            .lines()
            .filter(|l| l.starts_with("db_queries_total{") && l.contains(r#"status="error""#))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(errors >= 1.0, "the terminated connections show as db errors: {statuses:?}\n{metrics}");
        assert_eq!(http.get(format!("{api}/ready")).send().await.unwrap().status(), 200);
    });
    let _ = (user_id, session_ids);

    eprintln!(
        "end to end (PostgreSQL, Redis): {served} requests served, p95 of GET /users/{{id}} from Prometheus {:?} s, {spans_received} spans received, Horizon calls {}",
        p95_users,
        horizon.calls()
    );
    let status = service.terminate(Duration::from_secs(15));
    assert!(status.success(), "graceful shutdown: {status}");
    rt.block_on(database.drop_now());
}

#[test]
fn embedded_defaults_sqlite_without_redis() {
    let directory = std::env::temp_dir().join(format!("obs-e2e-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("mentorsmind.sqlite").display());
    let horizon = HorizonStub::start();
    let service = Service::start(
        env!("CARGO_BIN_EXE_mentorsmind-under-test"),
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("STELLAR_HORIZON_URL", horizon.url.as_str()),
            ("OTEL_EXPORTER", "none"),
            ("LOG_LEVEL", "info"),
        ],
    );
    assert!(service.logged("storage: SQLite; no REDIS_URL, so no cache and an in-process job queue"));
    let api = service.api.clone();
    let metrics_url = service.metrics.clone();
    let rt = runtime();
    rt.block_on(async {
        let http = client();
        let user = json_of(http.post(format!("{api}/users")).json(&json!({"name": "Ada", "email": "ada@example.com"})).send().await.unwrap()).await;
        let id = user["id"].as_str().unwrap();
        assert_eq!(json_of(http.get(format!("{api}/users/{id}")).send().await.unwrap()).await["name"], "Ada");
        let session = http.post(format!("{api}/sessions")).json(&json!({"mentor_id": id, "mentee_id": id})).send().await.unwrap();
        assert_eq!(session.status(), 201);
        assert_eq!(http.delete(format!("{api}/users/{id}")).send().await.unwrap().status(), 204);
        assert_eq!(http.get(format!("{api}/users/{id}")).send().await.unwrap().status(), 404);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = reqwest::get(&metrics_url).await.unwrap().text().await.unwrap();
            let completed = text.contains(r#"queue_jobs_total{app="mentorsmind",queue_name="sessionReminder",job_name="sendSessionReminder",status="completed"} 1"#);
            if completed {
                assert!(text.contains(r#"db_queries_total{app="mentorsmind",operation="INSERT",table="users",status="success"} 1"#), "{text}");
                // The Redis sites are catalogued, so their series exist from the start, at zero.
                let redis: Vec<&str> = text.lines().filter(|l| l.starts_with("redis_calls_total{")).collect();
                assert!(!redis.is_empty() && redis.iter().all(|l| l.ends_with("} 0")), "no Redis, no Redis calls: {redis:?}");
                break;
            }
            assert!(Instant::now() < deadline, "the reminder job did not complete: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let status = service.terminate(Duration::from_secs(15));
    assert!(status.success(), "graceful shutdown: {status}");
    let _ = std::fs::remove_dir_all(directory);
}
