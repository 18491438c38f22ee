//! Naming the error behind a response, so `errors_total{type,path}` says what failed.

use axum::response::{IntoResponseParts, ResponseParts};

/// The kind of error a response answers, for `errors_total{type,path}`: put it on the response
/// (it is an `IntoResponseParts`) and [`super::ObsLayer`] counts the error under this name and
/// the matched route template, for any status. Names are `&'static str` — a type's name or one
/// the app writes — so the set of `type` values is fixed by the code and cannot grow with
/// traffic. A 5xx without one is counted as `http_<status>`.
///
/// ```
/// use axum::{http::StatusCode, response::{IntoResponse, Response}};
/// use obs_runtime::http::ErrorType;
///
/// struct ValidationError(String);
///
/// impl IntoResponse for ValidationError {
///     fn into_response(self) -> Response {
///         (StatusCode::BAD_REQUEST, ErrorType::of::<Self>(), self.0).into_response()
///     }
/// }
/// assert_eq!(ErrorType::of::<ValidationError>().name(), "ValidationError");
/// assert_eq!(ErrorType::named("NotFoundError").name(), "NotFoundError");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorType(&'static str);

impl ErrorType {
    /// The error type's own name, without its module path or generic arguments.
    pub fn of<E: ?Sized>() -> Self {
        Self(short_type_name(std::any::type_name::<E>()))
    }

    /// A name the app chooses.
    pub const fn named(name: &'static str) -> Self {
        Self(name)
    }

    /// The name counted as `type`.
    pub const fn name(&self) -> &'static str {
        self.0
    }
}

impl IntoResponseParts for ErrorType {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        parts.extensions_mut().insert(self);
        Ok(parts)
    }
}

/// `a::b::Error<c::D>` → `Error`.
fn short_type_name(full: &'static str) -> &'static str {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_is_named_without_path_or_generics() {
        assert_eq!(short_type_name("my_app::errors::NotFound<alloc::string::String>"), "NotFound");
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(ErrorType::of::<std::io::Error>().name(), "Error");
    }
}
