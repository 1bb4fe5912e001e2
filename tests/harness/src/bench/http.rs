//! The harness's loopback HTTP/1.1 servers and the proxy's client, on hyper 1: a background
//! thread runs a tokio runtime that serves every connection with `hyper::server::conn::http1`
//! (behind rustls when the server has a certificate) and hands each request, body collected,
//! to a plain blocking handler (on tokio's blocking pool: the Runtime API's long-poll `next`
//! blocks until it has an event). Stopped on drop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// An HTTP request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names as hyper gives them (lower-case), in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler answers.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Close the connection without answering.
    pub(crate) close: bool,
}

impl Response {
    pub(crate) fn new(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
            close: false,
        }
    }

    pub(crate) fn close() -> Response {
        Response {
            close: true,
            ..Response::new(0, Vec::new())
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

pub(crate) type Handler = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// A server on 127.0.0.1, answering every request with its handler until dropped.
pub(crate) struct Loopback {
    pub(crate) port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Loopback {
    /// Serves HTTP on 127.0.0.1:`port` (0: any free port).
    pub(crate) fn start(port: u16, handler: Handler) -> std::io::Result<Loopback> {
        Loopback::serve(port, handler, None)
    }

    /// Serves HTTPS on 127.0.0.1:`port` (0: any free port) with `tls`'s certificate.
    pub(crate) fn start_tls(
        port: u16,
        handler: Handler,
        tls: Arc<tokio_rustls::rustls::ServerConfig>,
    ) -> std::io::Result<Loopback> {
        Loopback::serve(port, handler, Some(TlsAcceptor::from(tls)))
    }

    fn serve(port: u16, handler: Handler, tls: Option<TlsAcceptor>) -> std::io::Result<Loopback> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::spawn(move || {
            runtime.block_on(accept(listener, handler, tls, stopped));
            // A handler still blocked (a long poll nobody ends) must not hang the drop.
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        Ok(Loopback {
            port,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(
    listener: std::net::TcpListener,
    handler: Handler,
    tls: Option<TlsAcceptor>,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        let (handler, tls) = (handler.clone(), tls.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| respond(handler.clone(), request));
            let http = hyper::server::conn::http1::Builder::new();
            // Errors are the client's business (it closed, refused the certificate, or the
            // handler chose to close).
            match tls {
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
                Some(tls) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            }
        });
    }
}

/// Error returned to hyper to drop the connection unanswered ([`Response::close`]).
#[derive(Debug, thiserror::Error)]
#[error("closed without an answer")]
struct Closed;

async fn respond(
    handler: Handler,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Closed> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| Closed)?
        .to_bytes()
        .to_vec();
    let request = Request {
        method: parts.method.as_str().to_owned(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), |p| p.as_str().to_owned()),
        headers: header_list(&parts.headers),
        body,
    };
    let response = tokio::task::spawn_blocking(move || handler(request))
        .await
        .map_err(|_| Closed)?;
    if response.close {
        return Err(Closed);
    }
    let mut answer = hyper::Response::new(Full::new(Bytes::from(response.body)));
    *answer.status_mut() = hyper::StatusCode::from_u16(response.status).map_err(|_| Closed)?;
    for (name, value) in response.headers {
        let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::try_from(name),
            hyper::header::HeaderValue::try_from(value),
        ) else {
            continue;
        };
        answer.headers_mut().append(name, value);
    }
    Ok(answer)
}

fn header_list(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The upstream's answer to a forwarded request.
pub(crate) struct Forwarded {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// Sends `request` to `upstream` on a fresh connection (hyper's HTTP/1.1 client) and returns
/// the answer, body collected (by length, chunks, or to the end of the stream).
pub(crate) async fn forward(
    upstream: SocketAddr,
    request: &Request,
) -> Result<Forwarded, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(upstream).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(request.path.as_str());
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "connection" || lower == "transfer-encoding" || lower == "content-length" {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    let outgoing = builder
        .header("connection", "close")
        .body(Full::new(Bytes::from(request.body.clone())))?;
    let answer = sender.send_request(outgoing).await?;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await?.to_bytes().to_vec();
    Ok(Forwarded {
        status: parts.status.as_u16(),
        headers: header_list(&parts.headers),
        body,
    })
}
