//! Code generation: the function as the user wrote it, wrapped in a timer, a span and an
//! outcome classification. Generated code names only `<crate>::__private`, `::core` and
//! `::std`, and its locals start with `__obs_`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::{Block, ItemFn, ReturnType, Stmt};

use crate::args;
use crate::model::{self, MacroKind, Model, Specific};
use crate::shape::{self, Shape};

/// The whole attribute: parse, validate, expand. On error the function is emitted unchanged
/// next to the errors, so callers still resolve and the IDE keeps working.
pub(crate) fn attribute(kind: MacroKind, args: TokenStream, item: TokenStream) -> TokenStream {
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
        Ok(model) => instrument(kind, &model, function),
    }
}

fn not_a_function(kind: MacroKind, item: TokenStream) -> TokenStream {
    let message = match syn::parse2::<syn::TraitItemFn>(item.clone()) {
        Ok(method) if method.default.is_none() => format!(
            "#[{}] needs a function body: put it on the method of the `impl`, or on a default method",
            kind.attr_name()
        ),
        _ => format!("#[{}] can only be applied to a function", kind.attr_name()),
    };
    let error = syn::Error::new_spanned(&item, message).to_compile_error();
    quote!(#item #error)
}

fn instrument(kind: MacroKind, model: &Model, mut function: ItemFn) -> TokenStream {
    let private = {
        let krate = &model.krate;
        quote!(#krate::__private)
    };
    let shape = shape::of(&function);
    if kind == MacroKind::Ws {
        let guard = quote! {
            let __obs_ws = #private::WsConnection::open({
                static __OBS_WS: #private::GaugeSite = #private::GaugeSite::new();
                &__OBS_WS
            });
        };
        let block = &function.block;
        function.block = Box::new(match shape {
            Shape::Sync | Shape::Async => prepend(block, guard),
            Shape::AsyncTrait { stmt } => {
                replace_boxed_future(&function.block, stmt, |inner| quote!({ #guard #inner.await }))
            }
        });
        return function.into_token_stream();
    }

    let prelude = prelude(model, &function, &private);
    let outcome = outcome(model, &private);
    let new_block: Block = match shape {
        Shape::Sync => {
            let hinted = hinted(&function.block, &function.sig.output);
            syn::parse_quote!({
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
            })
        }
        Shape::Async => {
            let hinted = hinted(&function.block, &function.sig.output);
            syn::parse_quote!({
                #prelude
                #private::Instrumented::new(__obs_timer, async move #hinted, |__obs_ref| #outcome).await
            })
        }
        Shape::AsyncTrait { stmt } => replace_boxed_future(&function.block, stmt, |inner| {
            quote!({
                #prelude
                #private::Instrumented::new(__obs_timer, #inner, |__obs_ref| #outcome).await
            })
        }),
    };
    function.block = Box::new(new_block);
    function.into_token_stream()
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

/// The call site's static, its span, the parent link, and the started timer `__obs_timer`.
fn prelude(model: &Model, function: &ItemFn, private: &TokenStream) -> TokenStream {
    let site = site_spec(&model.specific).map(|(subsystem, values)| {
        quote! {
            static __OBS_SITE: #private::Site =
                #private::Site::new(&#private::SiteSpec::new(#private::Subsystem::#subsystem, &[#(#values),*]));
        }
    });
    let timer = if site.is_some() {
        quote!(#private::Timer::start(&__OBS_SITE, __obs_span))
    } else {
        quote!(#private::Timer::untimed(__obs_span))
    };
    let span = span(model, function, private);
    let parent = match &model.specific {
        Specific::Queue { parent: Some(parent), .. } => Some(quote! {
            #private::ParentContext::attach_to(&(#parent), &__obs_span);
        }),
        _ => None,
    };
    quote! {
        #site
        let __obs_span = #span;
        #parent
        let __obs_timer = #timer;
    }
}

/// The subsystem and constant label values of the call site, or `None` for `#[traced]`.
fn site_spec(specific: &Specific) -> Option<(syn::Ident, Vec<String>)> {
    let ident = |name: &str| syn::Ident::new(name, proc_macro2::Span::call_site());
    match specific {
        Specific::Db { operation, table, .. } => Some((ident("Db"), vec![operation.clone(), table.clone()])),
        Specific::Redis { command } => Some((ident("Redis"), vec![command.clone()])),
        Specific::Queue { queue, job, .. } => Some((ident("Queue"), vec![queue.clone(), job.clone()])),
        Specific::Stellar { operation, network } => {
            // Without a network the runtime's default fills the second label.
            let mut values = vec![operation.clone()];
            values.extend(network.clone());
            Some((ident("Stellar"), values))
        }
        Specific::Traced | Specific::Ws => None,
    }
}

fn span(model: &Model, function: &ItemFn, private: &TokenStream) -> TokenStream {
    let fn_name = function.sig.ident.to_string();
    let default_name = match &model.specific {
        Specific::Db { operation, table, .. } => Some(format!("{operation} {table}")),
        Specific::Redis { command } => Some(command.clone()),
        Specific::Queue { queue, .. } => Some(format!("queue.{queue}")),
        Specific::Stellar { operation, .. } => Some(format!("stellar.{operation}")),
        Specific::Traced | Specific::Ws => None,
    };
    let name = match model.span_name.clone().or(default_name) {
        Some(name) => quote!(#name),
        None => {
            let suffix = format!("::{fn_name}");
            quote!(::core::concat!(::core::module_path!(), #suffix))
        }
    };
    let mut fields: Vec<TokenStream> = Vec::new();
    let mut attr = |key: &str, value: TokenStream| fields.push(quote!(#key = #value));
    match &model.specific {
        Specific::Db { operation, table, system } => {
            attr("otel.kind", quote!("client"));
            attr("db.system.name", quote!(#system));
            attr("db.operation.name", quote!(#operation));
            attr("db.collection.name", quote!(#table));
        }
        Specific::Redis { command } => {
            attr("otel.kind", quote!("client"));
            attr("db.system.name", quote!("redis"));
            attr("db.operation.name", quote!(#command));
        }
        Specific::Queue { queue, system, id, .. } => {
            attr("otel.kind", quote!("consumer"));
            attr("messaging.system", quote!(#system));
            attr("messaging.destination.name", quote!(#queue));
            attr("messaging.operation.type", quote!("process"));
            if let Some(id) = id {
                attr("job.id", quote!(#private::tracing::field::display(&(#id))));
            }
        }
        Specific::Stellar { operation, network } => {
            attr("otel.kind", quote!("client"));
            attr("stellar.operation", quote!(#operation));
            match network {
                Some(network) => attr("stellar.network", quote!(#network)),
                None => attr("stellar.network", quote!(#private::default_network())),
            }
        }
        Specific::Traced => attr("otel.kind", quote!("internal")),
        Specific::Ws => {}
    }
    attr("otel.status_description", quote!(#private::tracing::field::Empty));
    for field in &model.fields {
        let key = &field.name;
        let sigil = &field.sigil;
        let value = &field.value;
        fields.push(quote!(#key = #sigil #value));
    }
    quote! {
        #private::tracing::span!(#private::tracing::Level::INFO, #name, #(#fields),*)
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
            use #private::{ClassifyAny as _, ClassifyDebugErr as _, ClassifyDisplayErr as _, ClassifyResult as _};
            let __obs_outcome = (&&&#private::Ret(__obs_ref)).__obs_outcome();
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

/// The user's block, preceded by an unreachable `return` of the declared type. It pins the
/// closure's or async block's return type to the function's, so `?` and coercions in the body
/// infer as they would without the attribute.
fn hinted(block: &Block, output: &ReturnType) -> TokenStream {
    let ReturnType::Type(_, ty) = output else {
        return block.to_token_stream();
    };
    if matches!(**ty, syn::Type::Never(_)) || mentions_impl(ty.to_token_stream()) {
        return block.to_token_stream();
    }
    prepend(
        block,
        quote! {
            #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop, clippy::needless_return)]
            if false {
                let __obs_hint: #ty = loop {};
                return __obs_hint;
            }
        },
    )
    .into_token_stream()
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
