//! Which shape an instrumented function has: where its work happens decides where the timer
//! and span go.

use syn::{Expr, ExprAsync, GenericArgument, ItemFn, PathArguments, ReturnType, Stmt, Type, TypeParamBound};

pub(crate) enum Shape {
    /// Runs when called: time the call.
    Sync,
    /// `async fn`: time the future, from its first poll to its completion or drop.
    Async,
    /// What `#[async_trait]` leaves: a plain fn returning `Box::pin(async move { … })`.
    /// Instrument that inner future, not the function that boxes it.
    AsyncTrait { stmt: usize },
    /// A plain fn returning `impl Future<Output = T>` or `Pin<Box<dyn Future<Output = T> …>>`,
    /// whatever its body looks like: instrument the future it returns.
    ReturnsFuture { boxed: bool },
    /// `-> !`: the call never returns; only a panic ends it.
    Diverging,
}

pub(crate) fn of(function: &ItemFn) -> Shape {
    if function.sig.asyncness.is_some() {
        return Shape::Async;
    }
    let stmts = &function.block.stmts;
    if let Some(Stmt::Expr(expr, None)) = stmts.last()
        && boxed_async_block(expr).is_some()
    {
        return Shape::AsyncTrait { stmt: stmts.len() - 1 };
    }
    let ReturnType::Type(_, ty) = &function.sig.output else {
        return Shape::Sync;
    };
    match &**ty {
        Type::Never(_) => Shape::Diverging,
        Type::ImplTrait(bounds) if bounds.bounds.iter().any(is_future) => Shape::ReturnsFuture { boxed: false },
        ty if boxed_dyn_future(ty) => Shape::ReturnsFuture { boxed: true },
        _ => Shape::Sync,
    }
}

/// `Box::pin(async move { … })` (any path ending in `pin`), as async-trait emits it.
pub(crate) fn boxed_async_block(expr: &Expr) -> Option<(&Expr, &ExprAsync)> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if func.path.segments.last()?.ident != "pin" || call.args.len() != 1 {
        return None;
    }
    match call.args.first()? {
        Expr::Async(block) if block.capture.is_some() => Some((&call.func, block)),
        _ => None,
    }
}

/// A `Future<…>` bound, by any path (`Future`, `std::future::Future`, `core::future::Future`).
fn is_future(bound: &TypeParamBound) -> bool {
    matches!(bound, TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Future"))
}

/// `Pin<Box<dyn Future<…> + …>>`, by any path to `Pin` and `Box`.
fn boxed_dyn_future(ty: &Type) -> bool {
    let Some(boxed) = only_type_argument(ty, "Pin") else { return false };
    let Some(Type::TraitObject(object)) = only_type_argument(boxed, "Box") else { return false };
    object.bounds.iter().any(is_future)
}

/// `T` of `Name<T>`, when `ty` is a path ending in `Name` with one type argument.
fn only_type_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else { return None };
    let mut types = arguments.args.iter().filter_map(|a| match a {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}
