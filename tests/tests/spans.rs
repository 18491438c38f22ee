//! Span contents: errors as OpenTelemetry exceptions, and no argument value unless asked for.
#![cfg(feature = "db")]

use obs_runtime::instrument_db;
use obs_runtime::testing::{SpanStatus, capture};
use obs_tests::CapturedSpans;

#[derive(Debug)]
struct QueryError {
    code: u16,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query failed with code {}", self.code)
    }
}

#[derive(Debug)]
struct DebugOnlyError;

#[instrument_db(table = "accounts")]
fn find_account(password: &str, pin: u32) -> Result<u32, QueryError> {
    if password.is_empty() { Err(QueryError { code: 42 }) } else { Ok(pin) }
}

#[instrument_db(table = "debug_only")]
fn find_debug_only() -> Result<(), DebugOnlyError> {
    Err(DebugOnlyError)
}

#[test]
fn an_error_sets_status_and_adds_an_exception_event() {
    let (_, captured) = capture(|| find_account("", 1234));
    let span = captured.only_span("SELECT accounts");
    assert_eq!(span.status, SpanStatus::Error("query failed with code 42".into()));
    assert_eq!(span.events.len(), 1, "{:?}", span.events);
    let event = &span.events[0];
    assert_eq!(event.name, "exception");
    assert_eq!(event.attributes.get("exception.message").map(String::as_str), Some("query failed with code 42"));
    assert!(
        event.attributes.get("exception.type").is_some_and(|t| t.ends_with("QueryError")),
        "{:?}",
        event.attributes
    );
    // OpenTelemetry's `error.type`: the error's type name.
    assert!(span.attr("error.type").is_some_and(|t| t.ends_with("spans::QueryError")), "{span:?}");
    let (_, captured) = capture(|| find_account("hunter2", 1234));
    assert_eq!(captured.only_span("SELECT accounts").attr("error.type"), None, "a success has none");
}

#[test]
fn an_error_without_display_uses_debug() {
    let (_, captured) = capture(find_debug_only);
    assert_eq!(captured.only_span("SELECT debug_only").status, SpanStatus::Error("DebugOnlyError".into()));
}

#[test]
fn argument_values_are_not_recorded_by_default() {
    let (_, captured) = capture(|| find_account("hunter2", 9876));
    let span = captured.only_span("SELECT accounts");
    let keys: Vec<&str> = span.attributes.keys().map(String::as_str).collect();
    assert_eq!(keys, ["db.collection.name", "db.operation.name", "db.system.name"]);
    let everything = format!("{span:?}");
    assert!(!everything.contains("hunter2") && !everything.contains("9876"), "{everything}");
}

#[derive(Debug)]
struct Filter {
    active: bool,
}

#[instrument_db(table = "users", fields(user.id = user_id, "tenant" = %tenant, filter = ?filter, password_len = password.len()))]
fn find_user(user_id: u64, tenant: &str, filter: Filter, password: &str) -> bool {
    filter.active && !password.is_empty()
}

#[test]
fn fields_record_only_what_they_name() {
    let (_, captured) = capture(|| find_user(7, "acme", Filter { active: true }, "secret"));
    let span = captured.only_span("SELECT users");
    assert_eq!(span.attr("user.id"), Some("7"));
    assert_eq!(span.attr("tenant"), Some("acme"));
    assert_eq!(span.attr("filter"), Some("Filter { active: true }"));
    assert_eq!(span.attr("password_len"), Some("6"));
    assert!(!format!("{span:?}").contains("secret"));
}

#[instrument_db(table = "files")]
fn load_file(found: bool) -> std::io::Result<u32> {
    if found {
        Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "disk slow"))
    } else {
        Err(std::io::ErrorKind::NotFound.into())
    }
}

#[test]
fn an_error_with_a_bounded_kind_names_that_kind_as_error_type() {
    let (_, captured) = capture(|| (load_file(true), load_file(false)));
    let kinds: Vec<Option<&str>> = captured.spans_named("SELECT files").map(|s| s.attr("error.type")).collect();
    assert_eq!(kinds, [Some("timed_out"), Some("not_found")]);
    // The exception event still names the type, as OpenTelemetry's exception.type does.
    let span = captured.spans_named("SELECT files").next().unwrap();
    assert_eq!(span.events[0].attributes.get("exception.type").map(String::as_str), Some("std::io::error::Error"));
}
