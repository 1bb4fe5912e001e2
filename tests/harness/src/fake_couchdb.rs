//! A CouchDB stand-in for the instance scripts' tests, where CouchDB itself runs in a container
//! the sandbox does not start: HTTPS on a loopback port (the node's set-up talks TLS to its
//! CouchDB, certificate unchecked, as on the instance), CouchDB's answers to the calls that
//! set-up makes, the faults a test chooses, and every request recorded. A request's password
//! is kept as its SHA-256 only, so no assertion message can show one. On the harness's one
//! loopback server (`bench::http`), like the ResponseURL recorder; the data paths that need
//! CouchDB's real API (the drill's reader) use pouchdb-server ([`crate::servers::Pouchdb`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls;

use crate::bench::http::{Loopback, Request, Response};

/// One request as CouchDB received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CouchRequest {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The Basic authentication's user, if any.
    pub user: Option<String>,
    /// SHA-256 (hex) of the Basic authentication's password, if any.
    pub password_sha256: Option<String>,
    /// The body, the request's password replaced by `<password>`.
    pub body: String,
    /// The status answered.
    pub answered: u16,
}

impl CouchRequest {
    /// Whether the request authenticated with `password`.
    pub fn used_password(&self, password: &[u8]) -> bool {
        self.password_sha256.as_deref() == Some(sha256_hex(password).as_str())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Default)]
struct State {
    faults: HashMap<(String, String), u16>,
    databases: HashSet<String>,
    requests: Vec<CouchRequest>,
}

/// The stand-in, serving until dropped.
pub struct FakeCouchdb {
    state: Arc<Mutex<State>>,
    server: Loopback,
}

impl FakeCouchdb {
    /// Serves HTTPS with the PEM certificate (chain) and private key given. `faults`:
    /// (method, path, status) answered instead of CouchDB's answer.
    pub fn start(cert_pem: &[u8], key_pem: &[u8], faults: &[(&str, &str, u16)]) -> FakeCouchdb {
        let certificates = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .expect("a PEM certificate");
        let key = PrivateKeyDer::from_pem_slice(key_pem).expect("a PEM private key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(certificates, key)
            })
            .expect("a TLS server configuration from the certificate and key");
        let state = Arc::new(Mutex::new(State {
            faults: faults
                .iter()
                .map(|(method, path, status)| (((*method).to_owned(), (*path).to_owned()), *status))
                .collect(),
            ..State::default()
        }));
        let answering = Arc::clone(&state);
        let server = Loopback::start_tls(
            0,
            Arc::new(move |request| answer(&answering, request)),
            Arc::new(tls),
        )
        .expect("bind a loopback port");
        FakeCouchdb { state, server }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.port)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<CouchRequest> {
        self.state.lock().expect("state lock").requests.clone()
    }
}

/// CouchDB's answer to the calls of a node's set-up: `GET /_up` 200; as `admin`, `PUT /<db>`
/// 201, or 412 once the database exists, and `POST /_replicator` 201; without credentials 401;
/// anything else 404. A fault for the (method, path) answers first.
fn answer(state: &Mutex<State>, request: Request) -> Response {
    let (user, password) = basic_auth(&request).unzip();
    let mut state = state.lock().expect("state lock");
    let (method, path) = (request.method.as_str(), request.path.as_str());
    let answered = match state.faults.get(&(method.to_owned(), path.to_owned())) {
        Some(status) => *status,
        None => match (method, path, user.as_deref()) {
            ("GET", "/_up", _) => 200,
            ("PUT", _, Some("admin")) if state.databases.insert(path.to_owned()) => 201,
            ("PUT", _, Some("admin")) => 412,
            ("POST", "/_replicator", Some("admin")) => 201,
            (method, _, None) if method != "GET" => 401,
            _ => 404,
        },
    };
    let body = String::from_utf8_lossy(&request.body);
    state.requests.push(CouchRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        body: match &password {
            Some(password) if !password.is_empty() => body.replace(password, "<password>"),
            _ => body.into_owned(),
        },
        password_sha256: password.map(|p| sha256_hex(p.as_bytes())),
        user,
        answered,
    });
    let body = if answered < 300 {
        br#"{"ok":true}"#.to_vec()
    } else {
        br#"{"error":"test"}"#.to_vec()
    };
    Response::new(answered, body).header("content-type", "application/json")
}

/// (user, password) of a Basic `Authorization` header.
fn basic_auth(request: &Request) -> Option<(String, String)> {
    let encoded = request.header("authorization")?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
