//! Exported spans of annotated fns that obs builds itself (issue 10 (a)): moved, nested and
//! failed as tracing-opentelemetry's spans were.

use obs_runtime::propagation::TraceContext;
use obs_runtime::testing::capture;
use obs_tests::CapturedSpans as _;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[obs_runtime::instrument_db(table = "users")]
fn get_moved_then_failed() -> Result<(), std::io::Error> {
    TraceContext { traceparent: PARENT.into(), tracestate: String::new() }.attach(&tracing::Span::current());
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
