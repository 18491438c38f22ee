//! Which of the three shapes an instrumented function has: where its work happens decides
//! where the timer and span go.

use syn::{Expr, ExprAsync, ItemFn, Stmt};

pub(crate) enum Shape {
    /// Runs when called: time the call.
    Sync,
    /// `async fn`: time the future, from its first poll to its completion or drop.
    Async,
    /// What `#[async_trait]` leaves: a plain fn returning `Box::pin(async move { … })`.
    /// Instrument that inner future, not the function that boxes it.
    AsyncTrait { stmt: usize },
}

pub(crate) fn of(function: &ItemFn) -> Shape {
    if function.sig.asyncness.is_some() {
        return Shape::Async;
    }
    let stmts = &function.block.stmts;
    match stmts.last() {
        Some(Stmt::Expr(expr, None)) if boxed_async_block(expr).is_some() => {
            Shape::AsyncTrait { stmt: stmts.len() - 1 }
        }
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
