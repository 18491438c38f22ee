//! Code generation: the function as the user wrote it, wrapped in a timer, a span and an
//! outcome classification. Generated code names only `<crate>::__private`, `::core` and
//! `::std`, and its locals start with `__obs_`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Block, ItemFn, ReturnType, Stmt};

use crate::args;
use crate::kind::{Kind, SpanSpec};
use crate::model::{self, Model};
use crate::shape::{self, Shape};
use crate::span;

/// The whole attribute: parse, validate, expand. On error the function is emitted unchanged
/// next to the errors, so callers still resolve and the IDE keeps working.
pub(crate) fn attribute(kind: &'static Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => return not_a_function(kind, item),
    };
    match args::parse(args).and_then(|entries| model::build(kind, entries, &function)) {
        Err(errors) => {
            let errors = errors.to_compile_error();
            quote!(#item #errors)
        }
        Ok(_) if !kind.enabled() => item,
        Ok(model) => instrument(&model, function),
    }
}

fn not_a_function(kind: &Kind, item: TokenStream) -> TokenStream {
    let message = match syn::parse2::<syn::TraitItemFn>(item.clone()) {
        Ok(method) if method.default.is_none() => format!(
            "#[{}] needs a function body: put it on the method of the `impl`, or on a default method",
            kind.attr
        ),
        _ => format!("#[{}] can only be applied to a function", kind.attr),
    };
    let error = syn::Error::new_spanned(&item, message).to_compile_error();
    quote!(#item #error)
}

fn instrument(model: &Model, mut function: ItemFn) -> TokenStream {
    let private = {
        let krate = &model.krate;
        quote!(#krate::__private)
    };
    let shape = shape::of(&function);
    let Some(span_spec) = &model.kind.span else {
        // No span: the connection guard of `#[ws_connection]`.
        let registration = registration(model, &function, quote!(Connections), quote!(""), &private);
        let guard = quote! {
            #registration
            let __obs_ws = #private::WsConnection::open({
                static __OBS_WS: #private::GaugeSite = #private::GaugeSite::new();
                &__OBS_WS
            });
        };
        let block = &function.block;
        function.block = Box::new(match shape {
            Shape::Sync | Shape::Async | Shape::ReturnsFuture { .. } | Shape::Diverging => prepend(block, guard),
            Shape::AsyncTrait { stmt } => {
                replace_boxed_future(&function.block, stmt, |inner| quote!({ #guard #inner.await }))
            }
        });
        return function.into_token_stream();
    };

    let prelude = prelude(model, span_spec, &function, &private);
    let outcome = outcome(model, &private);
    // A job run with a limit of attempts: a failure on the last is a give-up.
    let (outcome, closure) = match model.expr("max_attempts").filter(|_| model.job_run()) {
        Some(_) => (
            quote!({
                let __obs_outcome = #outcome;
                __OBS_JOB.finished(&__obs_outcome, __obs_attempt, __obs_max_attempts);
                __obs_outcome
            }),
            quote!(move),
        ),
        None => (outcome, quote!()),
    };
    // Tokens, not a parsed `Block`: parsing the generated code back was half the macro's time.
    let body: TokenStream = match shape {
        Shape::Sync => {
            let hinted = hinted(&function.block, &function.sig.output);
            quote!(
                #prelude
                let mut __obs_timer = __obs_timer;
                let __obs_ret = {
                    let __obs_entered = __obs_timer.span().enter();
                    #private::call_once(move || #hinted)
                };
                {
                    let __obs_ref = &__obs_ret;
                    __obs_timer.finish(#outcome);
                }
                __obs_ret
            )
        }
        Shape::Async => {
            let hinted = hinted(&function.block, &function.sig.output);
            quote!(
                #prelude
                #private::Instrumented::new(__obs_timer, async move #hinted, #closure |__obs_ref| #outcome).await
            )
        }
        Shape::AsyncTrait { stmt } => {
            let block = replace_boxed_future(&function.block, stmt, |inner| {
                quote!({
                    #prelude
                    #private::Instrumented::new(__obs_timer, #inner, #closure |__obs_ref| #outcome).await
                })
            });
            let stmts = &block.stmts;
            quote!(#(#stmts)*)
        }
        Shape::ReturnsFuture { boxed } => {
            // The body runs now, inside the span, and may return early; the future it returns
            // is what is timed and classified.
            let hinted = hinted(&function.block, &function.sig.output);
            let instrumented =
                quote!(#private::Instrumented::new(__obs_timer, __obs_future, #closure |__obs_ref| #outcome));
            let instrumented = if boxed { quote!(::std::boxed::Box::pin(#instrumented)) } else { instrumented };
            quote!(
                #prelude
                let __obs_future = {
                    let __obs_entered = __obs_timer.span().enter();
                    #private::call_once(move || #hinted)
                };
                #instrumented
            )
        }
        Shape::Diverging => {
            // It never returns: a panic is its only end, which the timer records on drop.
            let block = &function.block;
            quote!(
                #prelude
                let __obs_entered = __obs_timer.span().enter();
                #block
            )
        }
    };
    // As `ItemFn` prints itself: outer attributes, the signature, then inner ones in the body.
    let outer = function.attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Outer));
    let inner = function.attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let (vis, sig) = (&function.vis, &function.sig);
    quote!(#(#outer)* #vis #sig { #(#inner)* #body })
}

/// Replaces async-trait's `Box::pin(async move { … })` with `Box::pin(async move <wrapped>)`,
/// where `wrap` receives the original async block.
fn replace_boxed_future(block: &Block, stmt: usize, wrap: impl FnOnce(TokenStream) -> TokenStream) -> Block {
    let mut block = block.clone();
    if let Some(Stmt::Expr(expr, None)) = block.stmts.get(stmt)
        && let Some((func, inner)) = shape::boxed_async_block(expr)
    {
        let wrapped = wrap(inner.to_token_stream());
        block.stmts[stmt] = Stmt::Expr(syn::parse_quote!(#func(async move #wrapped)), None);
    }
    block
}

/// The call site's entry in the link-time catalogue, `__OBS_CALL_SITE`: what it records, its
/// label values, span name, place in the source and objective.
fn registration(
    model: &Model,
    function: &ItemFn,
    kind: TokenStream,
    span_name: TokenStream,
    private: &TokenStream,
) -> TokenStream {
    // A key left to the runtime (the Stellar network) is the last and is left out.
    let values = model.kind.metrics.iter().flat_map(|(_, keys)| keys.iter().map_while(|key| model.string(key)));
    let fn_name = function.sig.ident.to_string();
    let objective = model.objective.as_ref().map(|path| quote!(.objective(&#path)));
    // Only a future can be dropped half-way: a sync site has no `cancelled` series.
    let synchronous = matches!(shape::of(function), Shape::Sync | Shape::Diverging).then(|| quote!(.synchronous()));
    // The entry goes through the `macro_rules` linkme declares beside `CALL_SITES` (it puts
    // the static in the slice's link section for each target OS), not through linkme's
    // `#[distributed_slice]` attribute: that attribute is a proc macro run once per annotated
    // fn, and it was three quarters of an annotated crate's macro expansion (0.45 s of 0.53 s
    // for 200 fns, `-Z time-passes`). What the attribute adds is a check that the element's
    // type is the slice's; here both are `CallSite` by construction. obs-runtime pins linkme
    // to the version whose declaration speaks this form.
    quote! {
        #private::CALL_SITES! {
            #![linkme_macro = #private::CALL_SITES]
            static __OBS_CALL_SITE: #private::CallSite =
                #private::CallSite::new(#private::SiteKind::#kind, &[#(#values),*], #span_name)
                    .at(::core::module_path!(), #fn_name, ::core::file!(), ::core::line!())
                    #synchronous
                    #objective;
        }
    }
}

/// The call site's statics, its span, the parent link, and the started timer `__obs_timer`.
fn prelude(model: &Model, span_spec: &SpanSpec, function: &ItemFn, private: &TokenStream) -> TokenStream {
    let name = span::span_name(model, span_spec, function);
    let site = match model.kind.metrics {
        Some((subsystem, _)) => {
            let subsystem = syn::Ident::new(subsystem, proc_macro2::Span::call_site());
            let registration =
                registration(model, function, quote!(Calls(#private::Subsystem::#subsystem)), name.clone(), private);
            Some(quote! {
                #registration
                static __OBS_SITE: #private::Site = #private::Site::new(&__OBS_CALL_SITE);
            })
        }
        None => None,
    };
    let registration = site.is_none().then(|| registration(model, function, quote!(Span), name.clone(), private));
    let timer = if site.is_some() {
        quote!(#private::Timer::start(&__OBS_SITE, __obs_span))
    } else {
        quote!(#private::Timer::untimed(__obs_span))
    };
    let span = span::span(model, span_spec, name, private);
    let job = model.job_run();
    // A parent is current while the span opens, so the sampler decides with it; the guard
    // ends with the block, before anything is awaited. A job's parent also says when it was
    // enqueued: read there, once.
    let (span, enqueued) = match model.expr("parent") {
        Some(parent) if job => (
            quote! {{
                let __obs_parent_value = &(#parent);
                __obs_enqueued = #private::enqueued_at(__obs_parent_value);
                let __obs_parent = #private::enter_parent(__obs_parent_value);
                #span
            }},
            quote!(let __obs_enqueued: ::core::option::Option<u64>;),
        ),
        Some(parent) => (
            quote! {{
                let __obs_parent = #private::enter_parent(&(#parent));
                #span
            }},
            quote!(),
        ),
        None if job => (span, quote!(let __obs_enqueued: ::core::option::Option<u64> = ::core::option::Option::None;)),
        None => (span, quote!()),
    };
    let job_run = job.then(|| {
        let attempt = match model.expr("attempt") {
            Some(attempt) => quote!(#private::attempt(#attempt)),
            None => quote!(1u32),
        };
        let max = model.expr("max_attempts").map(|max| quote!(let __obs_max_attempts: u32 = #private::attempt(#max);));
        quote! {
            static __OBS_JOB: #private::JobSite = #private::JobSite::new(&__OBS_CALL_SITE);
            let __obs_attempt: u32 = #attempt;
            #max
            #enqueued
        }
    });
    let started = job.then(|| quote!(__OBS_JOB.started(__obs_timer.span(), __obs_enqueued, __obs_attempt);));
    quote! {
        #site
        #registration
        #job_run
        let __obs_span = #span;
        let __obs_timer = #timer;
        #started
    }
}

/// The outcome of the call whose return value `__obs_ref: &Return` borrows: classified by its
/// type, then `ok_if`/`error_if` applied.
fn outcome(model: &Model, private: &TokenStream) -> TokenStream {
    let ok_if = model.ok_if.as_ref().map(|path| {
        quote! {
            let __obs_outcome = if #path(__obs_ref) { __obs_outcome.ok_if() } else { __obs_outcome };
        }
    });
    let error_if = model.error_if.as_ref().map(|path| {
        let message = format!("{} returned true", path_text(path));
        quote! {
            let __obs_outcome = if #path(__obs_ref) { __obs_outcome.error_if(#message) } else { __obs_outcome };
        }
    });
    quote! {
        {
            #[allow(unused_imports)]
            use #private::classify::*;
            let __obs_outcome = (&&&&#private::Ret(__obs_ref)).__obs_outcome();
            #ok_if
            #error_if
            __obs_outcome
        }
    }
}

fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if path.leading_colon.is_some() { "::" } else { "" };
    format!("{lead}{}", segments.join("::"))
}

/// The user's block, kept whole as the tail of a block that first has an unreachable `return`
/// of the declared type. The hint pins the closure's or async block's return type to the
/// function's, so `?` and coercions in the body infer as they would without the attribute; it
/// stands outside the user's block, so nothing the user imports there can shadow the type.
fn hinted(block: &Block, output: &ReturnType) -> TokenStream {
    let ReturnType::Type(_, ty) = output else {
        return block.to_token_stream();
    };
    if matches!(**ty, syn::Type::Never(_)) || mentions_impl(ty.to_token_stream()) {
        return block.to_token_stream();
    }
    // Spanned at the return type, so a body that does not fit it is reported there.
    let hint = quote::quote_spanned! {syn::spanned::Spanned::span(ty)=>
        #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop, clippy::needless_return)]
        if false {
            let __obs_hint: #ty = loop {};
            return __obs_hint;
        }
    };
    // A body that is one expression goes in without its braces: nested as `{ hint { expr } }`
    // the user's braces would trip `unused_braces` on the user's code. With no statements it
    // declares no items, so nothing in it can shadow the hint's type.
    match block.stmts.as_slice() {
        [Stmt::Expr(expr, None)] => quote!({ #hint; #expr }),
        _ => quote!({ #hint #block }),
    }
}

/// The user's block with `stmts` in front, keeping the user's braces and statements (and so
/// their spans) rather than nesting the block, which would trip `unused_braces` on user code.
fn prepend(block: &Block, stmts: TokenStream) -> Block {
    let mut block = block.clone();
    let Block { stmts: front, .. } = syn::parse_quote!({ #stmts });
    block.stmts.splice(0..0, front);
    block
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        proc_macro2::TokenTree::Ident(ident) => ident == "impl",
        proc_macro2::TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}
