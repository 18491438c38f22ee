//! Exported spans of annotated fns that obs builds itself (issue 10 (a)): moved, nested and
//! failed as tracing-opentelemetry's spans were.

use obs_runtime::propagation::TraceContext;
use obs_runtime::testing::capture;
use obs_tests::CapturedSpans as _;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[obs_runtime::instrument_db(table = "users")]
fn get_moved_then_failed() -> Result<(), std::io::Error> {
    TraceContext { traceparent: PARENT.into(), tracestate: String::new(), enqueued_at_ms: None }
        .attach(&tracing::Span::current());
    tracing::info_span!("user step").in_scope(|| tracing::info!("inside"));
    Err(std::io::Error::other("disk on fire"))
}

#[test]
fn attach_moves_an_exported_call_under_its_new_parent_with_everything_it_recorded() {
    let (result, captured) = capture(get_moved_then_failed);
    assert!(result.is_err());
    let call = captured.only_span("SELECT users");
    assert_eq!(call.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", "the new parent's trace");
    assert_eq!(call.parent_span_id.as_deref(), Some("00f067aa0ba902b7"), "under the new parent");
    assert_eq!(call.attr("db.collection.name"), Some("users"), "what it opened with is kept");
    assert_eq!(call.attr("error.type"), Some("other"), "and what it recorded after");
    assert!(call.events.iter().any(|e| e.name == "exception"), "{:?}", call.events);
    let user = captured.only_span("user step");
    assert_eq!(user.trace_id, call.trace_id, "a span opened after the move is in the new trace");
    assert_eq!(user.parent_span_id.as_deref(), Some(call.span_id.as_str()));
}

/// Under `init()`'s pipeline, in a child process (the subscriber is global).
#[cfg(feature = "db")]
mod handed_back_lists {
    use std::collections::BTreeSet;

    use obs_tests::child::run_in_child;
    use obs_tests::collected_spans::{self, exported};
    use opentelemetry::{KeyValue, Value};
    use opentelemetry_sdk::trace::SpanData;

    #[obs_runtime::instrument_db(table = "users", fields(call.n = n))]
    fn find_numbered(n: i64) -> Result<i64, std::io::Error> {
        Ok(n)
    }

    /// The exporting thread moves each span's attributes into a list of its own and hands the
    /// emptied list back to the threads that make spans. With four threads making spans while small
    /// batches are exported, every span still carries exactly its own call's attributes, each once.
    #[test]
    fn handed_back_attribute_lists_carry_nothing_from_one_call_into_another() {
        const THREADS: i64 = 4;
        const CALLS: i64 = 2_000;
        let env = [
            ("PROMETHEUS_ENABLED", "false"),
            ("LOG_LEVEL", "off"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"),
            ("OTEL_BSP_SCHEDULE_DELAY", "1"),
            // Room for every span: none is dropped for want of it.
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16384"),
        ];
        let Some(_) = run_in_child("", &env, || {
            let guard = collected_spans::install();
            std::thread::scope(|scope| {
                for thread in 0..THREADS {
                    scope.spawn(move || {
                        for call in 0..CALLS {
                            find_numbered(thread * 1_000_000 + call).unwrap();
                        }
                    });
                }
            });
            guard.tracer_provider().unwrap().force_flush().unwrap();
            let exported = exported();
            let calls: Vec<&SpanData> = exported.iter().filter(|s| s.name == "SELECT users").collect();
            assert_eq!(calls.len() as i64, THREADS * CALLS, "every call exported");
            let mut numbers = BTreeSet::new();
            for call in calls {
                let keys: Vec<&str> = call.attributes.iter().map(|kv| kv.key.as_str()).collect();
                assert_eq!(
                    keys,
                    ["db.system.name", "db.operation.name", "db.collection.name", "call.n"],
                    "{:?}",
                    call.attributes
                );
                assert!(
                    call.attributes.contains(&KeyValue::new("db.collection.name", "users")),
                    "{:?}",
                    call.attributes
                );
                let Some(Value::I64(n)) =
                    call.attributes.iter().find(|kv| kv.key.as_str() == "call.n").map(|kv| &kv.value)
                else {
                    panic!("call.n: {:?}", call.attributes)
                };
                assert!(numbers.insert(*n), "call {n} exported twice");
            }
            let expected: BTreeSet<i64> =
                (0..THREADS).flat_map(|thread| (0..CALLS).map(move |call| thread * 1_000_000 + call)).collect();
            assert_eq!(numbers, expected, "each call's own number");
            drop(exported);
            drop(guard);
        }) else {
            return;
        };
    }
}
