//! A clean shutdown (issue 34): SIGTERM to the reference service, which waits on
//! `obs_runtime::shutdown_signal()`, lets `main` return and the guard flush, so the spans of
//! its last requests reach the collector although the batch processor would have held them
//! for ten minutes more.
#![cfg(feature = "e2e")]

use std::time::Duration;

use obs_tests::horizon_stub::HorizonStub;
use obs_tests::otlp_receiver::OtlpReceiver;
use obs_tests::service::Service;
use obs_tests::{client, runtime};

#[test]
fn sigterm_flushes_the_last_spans_to_the_collector() {
    let directory = std::env::temp_dir().join(format!("obs-shutdown-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", directory.join("mentorsmind.sqlite").display());
    let (receiver, horizon) = (OtlpReceiver::start(), HorizonStub::start());
    let endpoint = receiver.grpc_endpoint();
    let service = Service::start(
        env!("CARGO_BIN_EXE_mentorsmind-under-test"),
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("STELLAR_HORIZON_URL", horizon.url.as_str()),
            ("OTEL_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            // Nothing leaves before the shutdown flush.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    );
    let api = service.api.clone();
    runtime().block_on(async {
        let last = client().get(format!("{api}/users/00000000-0000-0000-0000-000000000000")).send().await.unwrap();
        assert_eq!(last.status(), 404);
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(receiver.spans().iter().all(|s| s.name != "GET /users/{id}"), "nothing exported before the signal");
    let status = service.terminate(Duration::from_secs(15));
    assert!(status.success(), "graceful shutdown: {status}");
    let spans = receiver.wait_for(Duration::from_secs(5), |spans| spans.iter().any(|s| s.name == "GET /users/{id}"));
    let request = spans.iter().find(|s| s.name == "GET /users/{id}").expect("the last request's span, flushed at exit");
    assert_eq!(request.service_name, "mentorsmind");
    assert!(spans.iter().any(|s| s.parent_span_id == request.span_id), "its query too: {spans:#?}");
    let _ = std::fs::remove_dir_all(directory);
}
