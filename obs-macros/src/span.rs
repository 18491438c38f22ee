//! The call's span in an expansion: its name (given, from the macro's template, or the
//! function's path), and its metadata, callsite and opening with the fields known at the start.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::kind::{AttrValue, SpanSpec};
use crate::model::Model;

/// The span name: given, filled from the macro's template, or `module::function`.
pub(crate) fn span_name(model: &Model, spec: &SpanSpec, function: &ItemFn) -> TokenStream {
    match model.span_name.clone().or_else(|| spec.name.map(|template| fill(template, model))) {
        Some(name) => quote!(#name),
        None => {
            let suffix = format!("::{}", function.sig.ident);
            quote!(::core::concat!(::core::module_path!(), #suffix))
        }
    }
}

/// The span: its metadata and callsite declared as statics here, opened by
/// `__private::new_span` with the fields that have values at the start; the empty ones
/// (recorded on an error, a cancellation or a slow call) come last in the field set.
pub(crate) fn span(model: &Model, spec: &SpanSpec, name: TokenStream, private: &TokenStream) -> TokenStream {
    let kind = spec.kind;
    let mut names: Vec<String> = vec!["otel.kind".to_owned()];
    let mut values: Vec<TokenStream> = vec![quote!(&#kind)];
    for (attribute, value) in spec.attributes {
        let value = match value {
            AttrValue::Constant(value) => quote!(&#value),
            AttrValue::Key(key) => match model.string(key) {
                Some(value) => quote!(&#value),
                // Only the Stellar network is left to the runtime.
                None => quote!(&#private::default_network()),
            },
            AttrValue::Display(key) => match model.expr(key) {
                Some(expr) => quote!(&#private::tracing::field::display(&(#expr))),
                None => continue,
            },
            AttrValue::Attempt => match model.expr("attempt") {
                Some(_) => quote!(&__obs_attempt),
                None => continue,
            },
        };
        names.push((*attribute).to_owned());
        values.push(value);
    }
    for field in &model.fields {
        let value = &field.value;
        names.push(field.name.clone());
        values.push(match field.sigil.as_ref().map(ToString::to_string).as_deref() {
            Some("%") => quote!(&#private::tracing::field::display(&(#value))),
            Some("?") => quote!(&#private::tracing::field::debug(&(#value))),
            _ => quote!(&(#value)),
        });
    }
    // OpenTelemetry's status text and `error.type`, set on an error outcome; `obs.cancelled`
    // when the call's future is dropped before it completes; `obs.slow` when the call missed
    // its objective's latency threshold.
    names.extend(["otel.status_description", "error.type", "obs.cancelled", "obs.slow"].map(str::to_owned));
    // A job run's wait between its enqueue and its start, once the parent says when.
    if model.job_run() && model.expr("parent").is_some() {
        names.push("job.wait_seconds".to_owned());
    }
    let tracing = quote!(#private::tracing);
    quote! {{
        static __OBS_SPAN_META: #tracing::Metadata<'static> = #private::span_metadata(
            #name,
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
            &[#(#names),*],
            &__OBS_SPAN_CALLSITE,
        );
        static __OBS_SPAN_CALLSITE: #tracing::callsite::DefaultCallsite =
            #tracing::callsite::DefaultCallsite::new(&__OBS_SPAN_META);
        #private::new_span(&__OBS_SPAN_CALLSITE, [#(#values),*])
    }}
}

/// A span name template with each `{key}` replaced by that key's value.
fn fill(template: &str, model: &Model) -> String {
    let mut name = template.to_owned();
    for (key, value) in model.kind.keys.iter().filter_map(|key| Some((key, model.string(key)?))) {
        name = name.replace(&format!("{{{key}}}"), value);
    }
    name
}
