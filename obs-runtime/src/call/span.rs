//! The span of an instrumented call, opened from a callsite the expansion declares itself.

use std::array;

use tracing::callsite::{Callsite as _, DefaultCallsite, Identifier};
use tracing::field::{Field, FieldSet, Value};
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
use tracing::metadata::Kind;
use tracing::{Level, Metadata, Span};

/// The metadata of an annotated fn's INFO span, for the `static` the expansion declares next
/// to its callsite: built at compile time, and the expansion names only what differs per fn.
pub const fn span_metadata(
    name: &'static str,
    module: &'static str,
    file: &'static str,
    line: u32,
    fields: &'static [&'static str],
    callsite: &'static DefaultCallsite,
) -> Metadata<'static> {
    let fields = FieldSet::new(fields, Identifier(callsite));
    Metadata::new(name, module, Level::INFO, Some(file), Some(line), Some(module), fields, Kind::SPAN)
}

/// Opens the span of `callsite` with its first `N` fields set to `values`; the fields after
/// them start empty, to be recorded on an error, a cancellation or a slow call. What
/// `tracing::span!` does (same level checks, callsite interest and `Span::new`), without its
/// recursive `macro_rules` expanded at every annotated fn: with nine fields they were most of
/// an annotated crate's macro-expansion time.
#[inline]
pub fn new_span<const N: usize>(callsite: &'static DefaultCallsite, values: [&dyn Value; N]) -> Span {
    let meta = callsite.metadata();
    if Level::INFO <= STATIC_MAX_LEVEL && Level::INFO <= LevelFilter::current() {
        let interest = callsite.interest();
        let fields = meta.fields();
        // The expansion declares at least N fields, the first one always: anything else
        // opens no span rather than panic.
        if !interest.is_never()
            && tracing::__macro_support::__is_enabled(meta, interest)
            && fields.len() >= N
            && let Some(first) = fields.iter().next()
        {
            let mut names = fields.iter();
            let names: [Option<Field>; N] = array::from_fn(|_| names.next());
            let pairs: [(&Field, Option<&dyn Value>); N] =
                array::from_fn(|i| (names[i].as_ref().unwrap_or(&first), Some(values[i])));
            return Span::new(meta, &fields.value_set(&pairs));
        }
    }
    Span::new_disabled(meta)
}
