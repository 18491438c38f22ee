//! OpenTelemetry's HTTP semantic conventions, shared by the server layer and the client.

use http::Method;

/// `method` as a label: one of the nine standard methods, else `_OTHER` (OpenTelemetry's rule),
/// so a client cannot mint series with made-up methods.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

/// A URL for `url.full`: user name and password removed, as the conventions require.
pub(crate) fn url_without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://REDACTED:REDACTED@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_url_full() {
        assert_eq!(
            url_without_credentials("https://user:secret@h.io:8443/a?b=c"),
            "https://REDACTED:REDACTED@h.io:8443/a?b=c"
        );
        assert_eq!(url_without_credentials("http://h.io/a@b"), "http://h.io/a@b");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "_OTHER");
    }
}
