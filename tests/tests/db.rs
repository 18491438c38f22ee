//! `#[instrument_db]`: labels, operation inference, span name, kind and attributes.
#![cfg(feature = "db")]

use obs_runtime::instrument_db;
use obs_runtime::testing::{SpanKind, capture};
use obs_tests::{CapturedSpans, assert_counted};

macro_rules! query_fns {
    ($($name:ident),* $(,)?) => {
        $(#[instrument_db(table = "inferred")] fn $name() -> Result<(), std::fmt::Error> { Ok(()) })*
    };
}
query_fns!(
    find_a, get_a, list_a, select_a, count_a, load_a, fetch_a, insert_a, create_a, add_a, update_a, set_a, touch_a,
    delete_a, remove_a, upsert_a
);

#[test]
fn operation_is_inferred_from_the_function_name() {
    let expected = [
        (find_a as fn() -> Result<(), std::fmt::Error>, "SELECT"),
        (get_a, "SELECT"),
        (list_a, "SELECT"),
        (select_a, "SELECT"),
        (count_a, "SELECT"),
        (load_a, "SELECT"),
        (fetch_a, "SELECT"),
        (insert_a, "INSERT"),
        (create_a, "INSERT"),
        (add_a, "INSERT"),
        (update_a, "UPDATE"),
        (set_a, "UPDATE"),
        (touch_a, "UPDATE"),
        (delete_a, "DELETE"),
        (remove_a, "DELETE"),
        (upsert_a, "UPSERT"),
    ];
    for (query, operation) in expected {
        let (_, captured) = capture(query);
        assert_counted(
            &captured,
            "db_queries_total",
            "db_query_duration_seconds",
            &[("operation", operation), ("table", "inferred")],
            "success",
        );
        captured.only_span(&format!("{operation} inferred"));
    }
}

#[instrument_db(table = "sessions", operation = "DELETE", system = "sqlite")]
fn purge_expired(secret_token: &str) -> usize {
    secret_token.len()
}

#[test]
fn explicit_operation_and_system() {
    let (_, captured) = capture(|| purge_expired("hunter2"));
    let series: Vec<_> = captured.series("db_queries_total").collect();
    assert_eq!(series.len(), 1);
    assert_eq!(
        series[0].labels,
        vec![
            ("operation".to_owned(), "DELETE".to_owned()),
            ("table".to_owned(), "sessions".to_owned()),
            ("status".to_owned(), "success".to_owned()),
        ],
        "exactly the labels of DESIGN §2, in order"
    );
    let duration: Vec<_> = captured.series("db_query_duration_seconds").collect();
    assert_eq!(duration[0].labels.len(), 2, "the duration histogram has no status label");
    let span = captured.only_span("DELETE sessions");
    assert_eq!(span.kind, SpanKind::Client);
    assert_eq!(span.attr("db.system.name"), Some("sqlite"));
    assert_eq!(span.attr("db.operation.name"), Some("DELETE"));
    assert_eq!(span.attr("db.collection.name"), Some("sessions"));
}

#[instrument_db(table = "users")]
fn find_default_system() {}

#[instrument_db(table = "users", name = "users.lookup")]
fn find_named() {}

#[test]
fn default_system_and_span_name_override() {
    let (_, captured) = capture(|| {
        find_default_system();
        find_named();
    });
    assert_eq!(captured.only_span("SELECT users").attr("db.system.name"), Some("postgresql"));
    let named = captured.only_span("users.lookup");
    assert_eq!(named.attr("db.collection.name"), Some("users"));
    assert_eq!(captured.counter("db_queries_total", &[("table", "users")]), 2, "the name changes the span only");
}
