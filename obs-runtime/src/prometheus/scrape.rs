//! The Prometheus scrape server: its own listener on `PROMETHEUS_HOST:PROMETHEUS_PORT`, served
//! from obs's background runtime so a slow or hostile scraper never touches the app's threads.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;

use super::connections::{Connections, HEADER_TIMEOUT};

use crate::config::ScrapeSettings as Settings;
use crate::error::InitError;

/// The content type of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Binds the listener now, so a taken port is an error of `install`, not a log line later.
pub(crate) fn bind(host: &str, port: u16) -> Result<StdListener, InitError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            InitError::invalid("PROMETHEUS_HOST", host, format!("an IP address or a resolvable host name ({e})"))
        })?
        .collect();
    let mut last_error = None;
    for addr in &addrs {
        match StdListener::bind(addr) {
            Ok(listener) => {
                listener.set_nonblocking(true).map_err(InitError::Runtime)?;
                return Ok(listener);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(InitError::ScrapeAddrUnavailable {
        addr: format!("{host}:{port}"),
        source: last_error.unwrap_or_else(|| std::io::Error::other("the host resolved to no address")),
    })
}

/// Serves scrapes until the returned sender is dropped or fires.
pub(crate) fn spawn(
    runtime: &tokio::runtime::Runtime,
    listener: StdListener,
    settings: Settings,
) -> Result<oneshot::Sender<()>, InitError> {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let listener = {
        let _enter = runtime.enter();
        tokio::net::TcpListener::from_std(listener).map_err(InitError::Runtime)?
    };
    let settings = Arc::new(settings);
    let connections = Arc::new(Connections::default());
    runtime.spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            // Never waits: at the limit, the connection waiting longest for a head is shed.
            let Some(connection) = connections.admit() else { continue };
            let (settings, connections) = (settings.clone(), connections.clone());
            tokio::spawn(async move {
                let this = connection.clone();
                let service = service_fn(move |request| {
                    let (settings, connections, this) = (settings.clone(), connections.clone(), this.clone());
                    async move {
                        connections.serving(&this);
                        let response = respond(&request, &settings).await;
                        connections.waiting(&this);
                        Ok::<_, Infallible>(response)
                    }
                });
                let serving = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = serving => {}
                    _ = connection.shed.notified() => {}
                }
            });
        }
    });
    Ok(stop)
}

/// What else the scrape port serves, behind the same token (the live page): its paths, and
/// what answers them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extra {
    pub(crate) paths: &'static [&'static str],
    pub(crate) respond: fn(&str) -> Option<(&'static str, String)>,
}

static EXTRA: std::sync::OnceLock<Extra> = std::sync::OnceLock::new();

/// Serves `extra`'s paths beside the endpoint; set once, at install.
pub(crate) fn serve_also(extra: Extra) {
    let _ = EXTRA.set(extra);
}

async fn respond(request: &Request<Incoming>, settings: &Settings) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let extra = EXTRA.get().filter(|extra| path != settings.endpoint && extra.paths.contains(&path));
    if path != settings.endpoint && extra.is_none() {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if let Some(token) = &settings.bearer_token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            let mut response = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    // Readers that need I/O (queues) answer within their deadline or are left out.
    super::sampled::refresh(super::sampled::REFRESH_DEADLINE).await;
    let accept = request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (content_type, body) = match extra {
        Some(extra) => match (extra.respond)(path) {
            Some(page) => page,
            None => return plain(StatusCode::NOT_FOUND, "not found\n"),
        },
        None => super::render_negotiated(accept),
    };
    let body = if request.method() == Method::HEAD { String::new() } else { body };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::VARY, header::HeaderValue::from_static("Accept"));
    response
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// Compares without an early exit, so the time taken does not tell how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        difference |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_tokens() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
