//! Classifying a return value as success or error by its type, not by how it is spelled.
//!
//! The expansion calls `(&&&&Ret(&value)).__obs_outcome()` with the traits below in scope.
//! Method resolution tries the receiver with four references first, then three, two, one and
//! none (autoref specialisation), so the most specific impl that applies wins:
//! `Result<_, E: BoundedKind + Display>` > `Result<_, E: Display>` > `Result<_, E: Debug>` > any
//! `Result` > anything else. Because this
//! happens during type checking, aliases such as `io::Result<T>` or `type DbResult<T> =
//! Result<T, E>` are seen as the `Result` they are.

use std::fmt;

/// Borrow of a call's return value, for classification. Used by the expansions.
#[derive(Debug)]
pub struct Ret<'a, T: ?Sized>(pub &'a T);

impl<T: ?Sized> Clone for Ret<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: ?Sized> Copy for Ret<'_, T> {}

/// What an error looks like on the span: its message and its type.
#[derive(Clone, Copy)]
pub enum ErrorDetail<'a> {
    /// An `Err` whose error implements `Display`.
    Display(&'a dyn fmt::Display, &'static str),
    /// An `Err` whose error implements only `Debug`.
    Debug(&'a dyn fmt::Debug, &'static str),
    /// An `Err` whose error can't be printed, or `error_if` returned true.
    Opaque(&'static str, &'static str),
    /// An `Err` whose error implements `Display` and names its kind ([`BoundedKind`]).
    Kinded(&'a dyn fmt::Display, &'static str, &'static str),
}

/// A bounded name for the kind of an error, for OpenTelemetry's `error.type` on the span of a
/// failed call (without it, `error.type` is the error's type name) and for the `error_type`
/// label of the call's error series. Implement it on an app's error type to say which of a
/// few kinds an error is, or derive it on an enum (`#[derive(obs_runtime::BoundedKind)]`). obs
/// implements it for [`std::io::Error`] (by its [`std::io::ErrorKind`]), `reqwest::Error`
/// (feature `reqwest`), `sqlx::Error` (feature `sqlx`) and `redis::RedisError` (feature
/// `redis-rs`).
///
/// ```
/// use obs_runtime::BoundedKind;
///
/// #[derive(Debug)]
/// enum PaymentError { Declined, Timeout }
///
/// impl std::fmt::Display for PaymentError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "{self:?}")
///     }
/// }
///
/// impl BoundedKind for PaymentError {
///     fn kind(&self) -> &'static str {
///         match self { PaymentError::Declined => "declined", PaymentError::Timeout => "timeout" }
///     }
/// }
///
/// #[obs_runtime::stellar_call(operation = "pay")]
/// fn pay() -> Result<(), PaymentError> {
///     Err(PaymentError::Timeout)
/// }
///
/// let (_, captured) = obs_runtime::testing::capture(|| pay());
/// assert_eq!(captured.span("stellar.pay").unwrap().attr("error.type"), Some("timeout"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `BoundedKind`, so obs cannot name its kind",
    label = "no `BoundedKind` for `{Self}`",
    note = "`sqlx::Error` implements it with obs-runtime's `sqlx` feature and `redis::RedisError` with its `redis-rs` feature: \
            obs-runtime = {{ version = \"0.1\", features = [\"sqlx\", \"redis-rs\"] }}",
    note = "for an error type of your own, `#[derive(obs_runtime::BoundedKind)]` or `impl obs_runtime::BoundedKind`"
)]
pub trait BoundedKind {
    /// The error's kind: one of a few fixed names, such as `timeout` or `not_found`.
    fn kind(&self) -> &'static str;
}

impl fmt::Debug for ErrorDetail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorDetail").field("type", &self.type_name()).field("message", &self.to_string()).finish()
    }
}

impl ErrorDetail<'_> {
    pub(crate) fn type_name(&self) -> &'static str {
        match *self {
            ErrorDetail::Display(_, ty)
            | ErrorDetail::Debug(_, ty)
            | ErrorDetail::Opaque(_, ty)
            | ErrorDetail::Kinded(_, ty, _) => ty,
        }
    }

    /// OpenTelemetry's `error.type`: the error's [`BoundedKind`] when it has one, else its type
    /// name.
    pub(crate) fn kind(&self) -> &'static str {
        match *self {
            ErrorDetail::Kinded(_, _, kind) => kind,
            _ => self.type_name(),
        }
    }
}

impl fmt::Display for ErrorDetail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErrorDetail::Display(e, _) | ErrorDetail::Kinded(e, _, _) => e.fmt(f),
            ErrorDetail::Debug(e, _) => e.fmt(f),
            ErrorDetail::Opaque(message, _) => f.write_str(message),
        }
    }
}

/// The classified outcome of one call. Used by the expansions.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// Counted as `success` (`completed` for jobs).
    Success,
    /// Counted as `error` (`failed` for jobs), with what the span should say.
    Error(ErrorDetail<'a>),
}

impl<'a> Outcome<'a> {
    /// `error_if` returned true.
    #[must_use]
    pub fn error_if(self, predicate: &'static str) -> Self {
        match self {
            Outcome::Error(_) => self,
            Outcome::Success => Outcome::Error(ErrorDetail::Opaque(predicate, "error_if")),
        }
    }

    /// `ok_if` returned true.
    #[must_use]
    pub fn ok_if(self) -> Self {
        Outcome::Success
    }
}

/// `Result<_, E>` where `E: BoundedKind + Display`.
pub trait ClassifyKindErr<'a> {
    /// Classifies the borrowed return value.
    fn __obs_outcome(self) -> Outcome<'a>;
}
impl<'a, T, E: BoundedKind + fmt::Display> ClassifyKindErr<'a> for &&&&Ret<'a, Result<T, E>> {
    #[inline]
    fn __obs_outcome(self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Success,
            Err(e) => Outcome::Error(ErrorDetail::Kinded(e, std::any::type_name::<E>(), e.kind())),
        }
    }
}

/// `Result<_, E>` where `E: Display`.
pub trait ClassifyDisplayErr<'a> {
    /// Classifies the borrowed return value.
    fn __obs_outcome(self) -> Outcome<'a>;
}
impl<'a, T, E: fmt::Display> ClassifyDisplayErr<'a> for &&&Ret<'a, Result<T, E>> {
    #[inline]
    fn __obs_outcome(self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Success,
            Err(e) => Outcome::Error(ErrorDetail::Display(e, std::any::type_name::<E>())),
        }
    }
}

/// `Result<_, E>` where `E: Debug` only.
pub trait ClassifyDebugErr<'a> {
    /// Classifies the borrowed return value.
    fn __obs_outcome(self) -> Outcome<'a>;
}
impl<'a, T, E: fmt::Debug> ClassifyDebugErr<'a> for &&Ret<'a, Result<T, E>> {
    #[inline]
    fn __obs_outcome(self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Success,
            Err(e) => Outcome::Error(ErrorDetail::Debug(e, std::any::type_name::<E>())),
        }
    }
}

/// Any other `Result`.
pub trait ClassifyResult<'a> {
    /// Classifies the borrowed return value.
    fn __obs_outcome(self) -> Outcome<'a>;
}
impl<'a, T, E> ClassifyResult<'a> for &Ret<'a, Result<T, E>> {
    #[inline]
    fn __obs_outcome(self) -> Outcome<'a> {
        match self.0 {
            Ok(_) => Outcome::Success,
            Err(_) => {
                let ty = std::any::type_name::<E>();
                Outcome::Error(ErrorDetail::Opaque(ty, ty))
            }
        }
    }
}

/// Anything that is not a `Result`: always a success.
pub trait ClassifyAny<'a> {
    /// Classifies the borrowed return value.
    fn __obs_outcome(self) -> Outcome<'a>;
}
impl<'a, T: ?Sized> ClassifyAny<'a> for Ret<'a, T> {
    #[inline]
    fn __obs_outcome(self) -> Outcome<'a> {
        Outcome::Success
    }
}

#[cfg(test)]
// `&&&&Ret(..)` is exactly what the expansion writes: the depth of references is what is tested.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;
    use crate::catalogue::Status;

    #[derive(Debug)]
    struct DebugOnly;
    struct Neither;
    type Aliased<T> = Result<T, std::fmt::Error>;

    fn status_of<'a>(o: Outcome<'a>) -> (Status, String) {
        match o {
            Outcome::Success => (Status::Success, String::new()),
            Outcome::Error(d) => (Status::Error, d.to_string()),
        }
    }

    #[test]
    fn classifies_by_type_through_aliases() {
        let display: std::io::Result<u8> = Err(std::io::Error::other("disk on fire"));
        assert_eq!(status_of((&&&&Ret(&display)).__obs_outcome()), (Status::Error, "disk on fire".into()));
        let timed_out: std::io::Result<u8> = Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "slow"));
        let Outcome::Error(detail) = (&&&&Ret(&timed_out)).__obs_outcome() else { panic!("an error") };
        assert_eq!((detail.kind(), detail.type_name()), ("timed_out", "std::io::error::Error"));
        let debug_only: Result<u8, DebugOnly> = Err(DebugOnly);
        let Outcome::Error(detail) = (&&&&Ret(&debug_only)).__obs_outcome() else { panic!("an error") };
        assert!(detail.kind().ends_with("DebugOnly"), "no kind: the type name");
        let debug: Result<u8, DebugOnly> = Err(DebugOnly);
        assert_eq!(status_of((&&&&Ret(&debug)).__obs_outcome()), (Status::Error, "DebugOnly".into()));
        let neither: Result<u8, Neither> = Err(Neither);
        let (status, message) = status_of((&&&&Ret(&neither)).__obs_outcome());
        assert_eq!(status, Status::Error);
        assert!(message.ends_with("Neither"), "{message}");
        let aliased: Aliased<u8> = Ok(1);
        assert_eq!(status_of((&&&&Ret(&aliased)).__obs_outcome()).0, Status::Success);
        let plain = 5_u32;
        assert_eq!(status_of((&&&&Ret(&plain)).__obs_outcome()).0, Status::Success);
        let unit = ();
        assert_eq!(status_of((&&&&Ret(&unit)).__obs_outcome()).0, Status::Success);
    }
}
