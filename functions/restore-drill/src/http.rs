//! GET over HTTP/1.1 for CouchDB's API and the application's login page: hyper 1 with rustls on
//! aws-lc-rs (the stack the SDK already builds). `https://` trusts exactly the CA it is given
//! (the stack's own CA, which signs CouchDB's certificate), or the system roots without one.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use recovery_manifest::Secret;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Largest body read (CouchDB's answers and a login page are a few kB).
pub const MAX_BODY: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0:?} is not a URL")]
    BadUrl(String),
    #[error("the CA certificate is not PEM ({0})")]
    BadCa(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

pub struct Client {
    inner: HyperClient<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl Client {
    /// A client trusting `ca_pem` (PEM certificates) for `https://`, or the system roots.
    pub fn new(ca_pem: Option<&[u8]>) -> Result<Client, HttpError> {
        let builder = match ca_pem {
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| HttpError::BadCa(e.to_string()))?;
                    roots
                        .add(cert)
                        .map_err(|e| HttpError::BadCa(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(HttpError::BadCa("no certificate in it".into()));
                }
                let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| HttpError::Transport(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                HttpsConnectorBuilder::new().with_tls_config(config)
            }
            None => HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                .map_err(|e| HttpError::Transport(format!("no system root certificates: {e}")))?,
        };
        let connector = builder.https_or_http().enable_http1().build();
        Ok(Client {
            inner: HyperClient::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// GET `url`, with Basic auth when given, the whole exchange within `timeout`.
    pub async fn get(
        &self,
        url: &str,
        basic_auth: Option<(&str, &Secret)>,
        timeout: Duration,
    ) -> Result<Answer, HttpError> {
        let uri: Uri = url.parse().map_err(|_| HttpError::BadUrl(url.to_owned()))?;
        let mut request = Request::get(uri);
        if let Some((user, password)) = basic_auth {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{user}:{}", password.expose()));
            request = request.header(header::AUTHORIZATION, format!("Basic {token}"));
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| HttpError::Transport(e.to_string()))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| HttpError::Transport(aws_clients::error_chain(&e)))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| HttpError::Transport(e.to_string()))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| HttpError::Timeout(timeout))?
    }
}
