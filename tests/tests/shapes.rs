//! Every function shape of DESIGN §2 "Semantics", each checked through the metrics and the span
//! it records.
#![cfg(feature = "db")]

use std::fmt::Display;

use obs_runtime::instrument_db;
use obs_runtime::testing::{SpanStatus, capture, capture_async};
use obs_tests::{CapturedSpans, assert_counted};

const TOTAL: &str = "db_queries_total";
const DURATION: &str = "db_query_duration_seconds";

fn assert_one(captured: &obs_runtime::testing::Captured, table: &str, status: &str) {
    assert_counted(captured, TOTAL, DURATION, &[("table", table)], status);
    let span = captured.only_span(&format!("SELECT {table}"));
    assert_eq!(span.attr("db.collection.name"), Some(table));
    let expected_error = status == "error";
    assert_eq!(matches!(span.status, SpanStatus::Error(_)), expected_error, "{span:?}");
}

#[derive(Debug)]
struct DbError(&'static str);
impl Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for DbError {}

#[instrument_db(table = "sync_t")]
fn find_sync(fail: bool) -> Result<u8, DbError> {
    if fail { Err(DbError("sync failed")) } else { Ok(1) }
}

#[test]
fn sync_fn() {
    let (value, captured) = capture(|| find_sync(false));
    assert_eq!(value.unwrap(), 1);
    assert_one(&captured, "sync_t", "success");
    let (value, captured) = capture(|| find_sync(true));
    assert!(value.is_err());
    assert_one(&captured, "sync_t", "error");
}

#[instrument_db(table = "async_t")]
async fn find_async(fail: bool) -> Result<u8, DbError> {
    tokio::task::yield_now().await;
    if fail { Err(DbError("async failed")) } else { Ok(2) }
}

#[tokio::test]
async fn async_fn() {
    let (value, captured) = capture_async(find_async(false)).await;
    assert_eq!(value.unwrap(), 2);
    assert_one(&captured, "async_t", "success");
    let (_, captured) = capture_async(find_async(true)).await;
    assert_one(&captured, "async_t", "error");
}

struct Repo {
    rows: Vec<u32>,
}

impl Repo {
    #[instrument_db(table = "by_value")]
    fn find_by_value(self) -> Vec<u32> {
        self.rows
    }

    #[instrument_db(table = "by_ref")]
    fn count_by_ref(&self) -> usize {
        self.rows.len()
    }

    #[instrument_db(table = "by_mut", operation = "INSERT")]
    fn insert_by_mut(&mut self, row: u32) -> &mut Self {
        self.rows.push(row);
        self
    }

    #[instrument_db(table = "async_ref")]
    async fn find_async_ref(&self, at: usize) -> Option<u32> {
        self.rows.get(at).copied()
    }
}

#[test]
fn methods_with_every_receiver() {
    let mut repo = Repo { rows: vec![1] };
    let (_, captured) = capture(|| {
        repo.insert_by_mut(2).insert_by_mut(3);
    });
    assert_eq!(captured.counter(TOTAL, &[("table", "by_mut"), ("operation", "INSERT"), ("status", "success")]), 2);
    assert_eq!(captured.spans_named("INSERT by_mut").count(), 2);

    let (len, captured) = capture(|| repo.count_by_ref());
    assert_eq!(len, 3);
    assert_counted(&captured, TOTAL, DURATION, &[("table", "by_ref")], "success");

    let (rows, captured) = capture(|| repo.find_by_value());
    assert_eq!(rows, vec![1, 2, 3]);
    assert_counted(&captured, TOTAL, DURATION, &[("table", "by_value")], "success");
}

#[tokio::test]
async fn async_method_borrowing_self() {
    let repo = Repo { rows: vec![7] };
    let (found, captured) = capture_async(repo.find_async_ref(0)).await;
    assert_eq!(found, Some(7));
    assert_one(&captured, "async_ref", "success");
}

#[instrument_db(table = "generic")]
fn find_generic<T, U: Clone>(items: &[T], extra: U) -> Result<(usize, U), String>
where
    T: Display,
{
    let rendered: Vec<String> = items.iter().map(ToString::to_string).collect();
    if rendered.is_empty() { Err("nothing".to_owned()) } else { Ok((rendered.len(), extra.clone())) }
}

#[test]
fn generics_with_where_clause() {
    let (value, captured) = capture(|| find_generic(&[1, 2], 'x'));
    assert_eq!(value, Ok((2, 'x')));
    assert_one(&captured, "generic", "success");
    let (_, captured) = capture(|| find_generic::<u8, ()>(&[], ()));
    assert_one(&captured, "generic", "error");
}

#[instrument_db(table = "lifetimes")]
fn find_longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

#[instrument_db(table = "elided")]
fn find_first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or_default()
}

#[test]
fn lifetimes_named_and_elided() {
    let (value, captured) = capture(|| find_longest("abc", "de"));
    assert_eq!(value, "abc");
    assert_one(&captured, "lifetimes", "success");
    let (value, captured) = capture(|| find_first_word("hello world"));
    assert_eq!(value, "hello");
    assert_one(&captured, "elided", "success");
}

#[instrument_db(table = "impl_arg")]
fn find_impl_arg(items: impl IntoIterator<Item = u32>) -> u32 {
    items.into_iter().sum()
}

#[instrument_db(table = "impl_ret")]
fn find_impl_ret(n: u32) -> impl Iterator<Item = u32> + Clone {
    0..n
}

#[instrument_db(table = "impl_ret_async")]
async fn find_impl_ret_async(n: u32) -> impl Display {
    n * 2
}

#[tokio::test]
async fn impl_trait_in_argument_and_return_position() {
    let (sum, captured) = capture(|| find_impl_arg(vec![1, 2, 3]));
    assert_eq!(sum, 6);
    assert_one(&captured, "impl_arg", "success");
    let (iter, captured) = capture(|| find_impl_ret(3));
    assert_eq!(iter.collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_one(&captured, "impl_ret", "success");
    let (shown, captured) = capture_async(find_impl_ret_async(4)).await;
    assert_eq!(shown.to_string(), "8");
    assert_one(&captured, "impl_ret_async", "success");
}

/// # Safety
/// `ptr` must be valid for reads.
#[instrument_db(table = "unsafe_t")]
unsafe fn load_unsafe(ptr: *const u32) -> Result<u32, DbError> {
    if ptr.is_null() {
        return Err(DbError("null"));
    }
    // SAFETY: the caller promises `ptr` is valid.
    Ok(unsafe { *ptr })
}

#[test]
fn unsafe_fn() {
    let value = 41_u32;
    // SAFETY: points at a live local.
    let (read, captured) = capture(|| unsafe { load_unsafe(&value) });
    assert_eq!(read.unwrap(), 41);
    assert_one(&captured, "unsafe_t", "success");
    // SAFETY: null is checked before any read.
    let (read, captured) = capture(|| unsafe { load_unsafe(std::ptr::null()) });
    assert!(read.is_err());
    assert_one(&captured, "unsafe_t", "error");
}

trait Store {
    async fn load_native(&self, id: u32) -> Result<u32, DbError>;
}

struct NativeStore;

impl Store for NativeStore {
    #[instrument_db(table = "native_trait")]
    async fn load_native(&self, id: u32) -> Result<u32, DbError> {
        tokio::task::yield_now().await;
        if id == 0 { Err(DbError("zero")) } else { Ok(id) }
    }
}

#[tokio::test]
async fn async_fn_in_trait_impl() {
    let (value, captured) = capture_async(NativeStore.load_native(5)).await;
    assert_eq!(value.unwrap(), 5);
    assert_one(&captured, "native_trait", "success");
    let (_, captured) = capture_async(NativeStore.load_native(0)).await;
    assert_one(&captured, "native_trait", "error");
}

#[async_trait::async_trait]
trait BoxedStore: Send + Sync {
    async fn load_boxed(&self, id: u32) -> Result<u32, DbError>;
    async fn load_default(&self, id: u32) -> Result<u32, DbError>;
}

struct AsyncTraitStore {
    offset: u32,
}

// `#[async_trait]` above the method attribute: it expands first and our attribute sees
// `Box::pin(async move { … })`, which it must instrument (not the boxing function).
#[async_trait::async_trait]
impl BoxedStore for AsyncTraitStore {
    #[instrument_db(table = "async_trait_outer")]
    async fn load_boxed(&self, id: u32) -> Result<u32, DbError> {
        tokio::task::yield_now().await;
        if id == 0 { Err(DbError("zero")) } else { Ok(id + self.offset) }
    }

    #[instrument_db(table = "async_trait_outer_default")]
    async fn load_default(&self, id: u32) -> Result<u32, DbError> {
        Ok(id)
    }
}

#[async_trait::async_trait]
trait StackedStore: Send + Sync {
    async fn load_traced_above(&self, id: u32) -> Result<u32, DbError>;
    async fn load_traced_below(&self, id: u32) -> Result<u32, DbError>;
}

struct Stacked;

// Two obs attributes on one async-trait method, in both orders: whichever expands second sees
// the `Box::pin(async move { … })` the first one left and must still find the future in it.
#[async_trait::async_trait]
impl StackedStore for Stacked {
    #[obs_runtime::traced(name = "stacked.above")]
    #[instrument_db(table = "stacked_above")]
    async fn load_traced_above(&self, id: u32) -> Result<u32, DbError> {
        if id == 0 { Err(DbError("zero")) } else { Ok(id) }
    }

    #[instrument_db(table = "stacked_below")]
    #[obs_runtime::traced(name = "stacked.below")]
    async fn load_traced_below(&self, id: u32) -> Result<u32, DbError> {
        if id == 0 { Err(DbError("zero")) } else { Ok(id) }
    }
}

#[tokio::test]
async fn async_trait_methods() {
    let store = AsyncTraitStore { offset: 10 };
    let (value, captured) = capture_async(store.load_boxed(1)).await;
    assert_eq!(value.unwrap(), 11);
    assert_one(&captured, "async_trait_outer", "success");
    let (_, captured) = capture_async(store.load_boxed(0)).await;
    assert_one(&captured, "async_trait_outer", "error");
    let (_, captured) = capture_async(store.load_default(3)).await;
    assert_one(&captured, "async_trait_outer_default", "success");

    for (table, traced, call) in [("stacked_above", "stacked.above", true), ("stacked_below", "stacked.below", false)] {
        for (id, status) in [(4, "success"), (0, "error")] {
            let future = if call { Stacked.load_traced_above(id) } else { Stacked.load_traced_below(id) };
            let (value, captured) = capture_async(future).await;
            assert_eq!(value.is_ok(), status == "success");
            assert_one(&captured, table, status);
            let db = captured.only_span(&format!("SELECT {table}"));
            let traced = captured.only_span(traced);
            assert_eq!(matches!(traced.status, SpanStatus::Error(_)), status == "error");
            assert_eq!(db.trace_id, traced.trace_id, "{table}: one trace");
            assert!(
                db.parent_span_id.as_ref() == Some(&traced.span_id)
                    || traced.parent_span_id.as_ref() == Some(&db.span_id),
                "{table}: one span is the other's parent: {db:?} {traced:?}"
            );
        }
    }
}

fn parse_number(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[instrument_db(table = "question_mark")]
fn find_with_question_mark(text: &str) -> Result<u32, Box<dyn std::error::Error>> {
    if text.is_empty() {
        return Ok(0);
    }
    let n = parse_number(text)?;
    if n > 100 {
        return Err("too large".into());
    }
    Ok(n)
}

#[instrument_db(table = "question_mark_async")]
async fn find_with_question_mark_async(text: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    if text.is_empty() {
        return Ok(0);
    }
    Ok(parse_number(text)?)
}

#[tokio::test]
async fn question_mark_and_early_return() {
    for (input, expected, status) in
        [("", Some(0), "success"), ("42", Some(42), "success"), ("x", None, "error"), ("500", None, "error")]
    {
        let (value, captured) = capture(|| find_with_question_mark(input));
        assert_eq!(value.ok(), expected, "input {input:?}");
        assert_one(&captured, "question_mark", status);
    }
    let (value, captured) = capture_async(find_with_question_mark_async("")).await;
    assert_eq!(value.unwrap(), 0);
    assert_one(&captured, "question_mark_async", "success");
    let (_, captured) = capture_async(find_with_question_mark_async("nope")).await;
    assert_one(&captured, "question_mark_async", "error");
}

#[instrument_db(table = "io_result")]
fn load_io(fail: bool) -> std::io::Result<u8> {
    if fail { Err(std::io::Error::new(std::io::ErrorKind::NotFound, "io failed")) } else { Ok(1) }
}

#[instrument_db(table = "anyhow_result")]
fn load_anyhow(fail: bool) -> anyhow::Result<u8> {
    if fail { anyhow::bail!("anyhow failed") } else { Ok(1) }
}

type DbResult<T> = Result<T, DbError>;

#[instrument_db(table = "alias_result")]
fn load_alias(fail: bool) -> DbResult<u8> {
    if fail { Err(DbError("alias failed")) } else { Ok(1) }
}

#[test]
fn result_aliases_are_classified_by_type() {
    for (table, run) in [
        ("io_result", &(|fail| load_io(fail).map_err(|e| e.to_string())) as &dyn Fn(bool) -> Result<u8, String>),
        ("anyhow_result", &|fail| load_anyhow(fail).map_err(|e| e.to_string())),
        ("alias_result", &|fail| load_alias(fail).map_err(|e| e.to_string())),
    ] {
        let (_, captured) = capture(|| run(false));
        assert_one(&captured, table, "success");
        let (message, captured) = capture(|| run(true).unwrap_err());
        assert_one(&captured, table, "error");
        let span = captured.only_span(&format!("SELECT {table}"));
        assert_eq!(span.status, SpanStatus::Error(message.clone()), "{table}: the Display text of the error");
        assert_eq!(span.events[0].attributes.get("exception.message"), Some(&message));
    }
}

#[instrument_db(table = "non_result")]
fn count_rows(rows: &[u8]) -> Option<usize> {
    if rows.is_empty() { None } else { Some(rows.len()) }
}

#[test]
fn non_result_return_is_success() {
    let (value, captured) = capture(|| count_rows(&[]));
    assert_eq!(value, None);
    assert_one(&captured, "non_result", "success");
}
