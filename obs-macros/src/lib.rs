//! Attribute macros of [obs](https://docs.rs/obs-runtime): each expands a function into the
//! cached-handle metrics, timer and OpenTelemetry span a careful engineer would write by hand.
//!
//! Depend on `obs-runtime`, which re-exports these macros and provides what the expansions
//! call; this crate is not meant to be used on its own.

#![warn(missing_docs)]

mod args;
mod derive;
mod expand;
mod kind;
mod model;
mod shape;
#[cfg(test)]
mod snapshot_tests;
mod span;

use proc_macro::TokenStream;

/// Times a database query: `db_query_duration_seconds{operation,table}`,
/// `db_queries_total{operation,table,status}` and a client span `"{operation} {table}"`.
///
/// `#[instrument_db(table = "users")]`; `operation` is inferred from the function name
/// (`find_`/`get_`/… → `SELECT`) or given as `operation = "SELECT"`; `system` defaults to
/// `"postgresql"`.
#[proc_macro_attribute]
pub fn instrument_db(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(&kind::DB, args.into(), item.into()).into()
}

/// Times a Redis call: `redis_call_duration_seconds{command}`, `redis_calls_total{command,status}`
/// and a client span named after the command. `#[instrument_redis(command = "get")]`.
#[proc_macro_attribute]
pub fn instrument_redis(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(&kind::REDIS, args.into(), item.into()).into()
}

/// Times a background job: `queue_job_duration_seconds{queue_name,job_name,status}`,
/// `queue_jobs_total{queue_name,job_name,status}` and a consumer span `"queue.{queue}"`.
/// `#[queue_job(queue = "sessionReminder", id = job.id, parent = job.trace)]`.
#[proc_macro_attribute]
pub fn queue_job(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(&kind::QUEUE, args.into(), item.into()).into()
}

/// Times a Stellar Horizon call: `stellar_api_call_duration_seconds{operation,network}`,
/// `stellar_api_calls_total{operation,network,status}` and a client span `"stellar.{operation}"`.
/// `#[stellar_call(operation = "loadAccount")]`.
#[proc_macro_attribute]
pub fn stellar_call(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(&kind::STELLAR, args.into(), item.into()).into()
}

/// Wraps a function in an internal span named `module::function` or `name = "…"`.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(&kind::TRACED, args.into(), item.into()).into()
}

/// Keeps `active_websocket_connections` one higher while a connection handler runs.
#[proc_macro_attribute]
pub fn ws_connection(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(&kind::WS, args.into(), item.into()).into()
}

/// Implements `obs_runtime::BoundedKind` on an error enum: each variant's kind is its name in
/// snake case (`NotFound` → `not_found`), or `#[obs(kind = "…")]`, or with
/// `#[obs(transparent)]` the kind of the variant's one field.
#[proc_macro_derive(BoundedKind, attributes(obs))]
pub fn derive_bounded_kind(item: TokenStream) -> TokenStream {
    derive::bounded_kind(item.into()).into()
}
