//! The HTTP PUT of the response to the pre-signed ResponseURL, with retries.
//!
//! The client is hyper 1 with rustls on aws-lc-rs and the system's root certificates: the same
//! stack the AWS SDK's default HTTPS client already compiles, so no second TLS implementation
//! enters the binary. `http://` URLs (the loopback recorder in tests, `cargo lambda invoke`
//! locally) use a plain connector.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;

/// The least time one attempt gets, however close the deadline.
pub const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// How the PUT is retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub attempts: u32,
    /// Pause after the first failed attempt; doubled after each further one.
    pub first_backoff: Duration,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
    /// Time allowed for one attempt (connect, send, status line).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Pause after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Whether an HTTP status from the ResponseURL is worth another attempt.
///
/// 5xx, 429 (slow down) and 408 (request timeout) are transient; any other status is final
/// (2xx: delivered; 403: the pre-signed URL expired or was altered, retrying cannot help).
pub fn retryable_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// A delivered answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// HTTP status of the accepted attempt.
    pub status: u16,
    /// Attempts made, the accepted one included.
    pub attempts: u32,
}

/// Why an answer could not be delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutError {
    pub attempts: u32,
    pub last_error: String,
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the response could not be delivered after {} attempt(s): {}",
            self.attempts, self.last_error
        )
    }
}

impl std::error::Error for PutError {}

enum Attempt {
    Status(u16),
    Failed(String),
}

/// PUTs `body` to `url` (Content-Type empty, as the pre-signed URL was signed for), retrying
/// transient failures under `policy`, and never starting an attempt after `hard_deadline`.
pub async fn put(
    url: &str,
    body: Vec<u8>,
    policy: &RetryPolicy,
    hard_deadline: Option<Instant>,
) -> Result<Delivery, PutError> {
    let uri: Uri = url.parse().map_err(|e| PutError {
        attempts: 0,
        last_error: format!("the ResponseURL is not a valid URL: {e}"),
    })?;
    let host = uri.host().unwrap_or("").to_owned();
    let body = Bytes::from(body);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut timeout = policy.attempt_timeout;
        if let Some(deadline) = hard_deadline {
            // At least MIN_ATTEMPT even at the deadline: Lambda freezes the process there anyway,
            // and a zero time-out would fail an attempt that could still get through.
            timeout = timeout
                .min(deadline.saturating_duration_since(Instant::now()))
                .max(MIN_ATTEMPT.min(policy.attempt_timeout));
        }
        let outcome = match tokio::time::timeout(timeout, put_once(&uri, body.clone())).await {
            Ok(outcome) => outcome,
            Err(_) => Attempt::Failed(format!("no answer within {timeout:?}")),
        };
        let last_error = match outcome {
            Attempt::Status(status) if !retryable_status(status) => {
                if (200..300).contains(&status) {
                    tracing::info!(host, status, attempt, "response delivered");
                    return Ok(Delivery {
                        status,
                        attempts: attempt,
                    });
                }
                tracing::error!(
                    host,
                    status,
                    attempt,
                    "the ResponseURL refused the response"
                );
                return Err(PutError {
                    attempts: attempt,
                    last_error: format!("HTTP {status}"),
                });
            }
            Attempt::Status(status) => format!("HTTP {status}"),
            Attempt::Failed(error) => error,
        };
        let pause = policy.backoff(attempt);
        let out_of_time = hard_deadline.is_some_and(|d| Instant::now() + pause >= d);
        if attempt >= policy.attempts || out_of_time {
            tracing::error!(host, attempt, error = %last_error, "giving up delivering the response");
            return Err(PutError {
                attempts: attempt,
                last_error,
            });
        }
        tracing::warn!(host, attempt, error = %last_error, retry_in_ms = pause.as_millis() as u64, "response PUT failed, retrying");
        tokio::time::sleep(pause).await;
    }
}

async fn put_once(uri: &Uri, body: Bytes) -> Attempt {
    let request = Request::builder()
        .method(Method::PUT)
        .uri(uri.clone())
        // The pre-signed URL is signed for an empty Content-Type: any other value is refused.
        .header(header::CONTENT_TYPE, "")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Full::new(body))
        .expect("a PUT with a parsed URI is a valid request");
    let response = if uri.scheme_str() == Some("https") {
        match https_client() {
            Ok(client) => client.request(request).await,
            Err(e) => return Attempt::Failed(e.clone()),
        }
    } else {
        http_client().request(request).await
    };
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            // Drain the (small) body so the connection can be reused; its content is not needed.
            let _ = response.into_body().collect().await;
            Attempt::Status(status)
        }
        Err(e) => Attempt::Failed(aws_clients::error_chain(&e)),
    }
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

fn https_client() -> &'static Result<HttpsClient, String> {
    static CLIENT: OnceLock<Result<HttpsClient, String>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("cannot load the system's root certificates: {e}"))?
            .https_only()
            .enable_http1()
            .build();
        Ok(Client::builder(TokioExecutor::new()).build(connector))
    })
}

fn http_client() -> &'static Client<HttpConnector, Full<Bytes>> {
    static CLIENT: OnceLock<Client<HttpConnector, Full<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| Client::builder(TokioExecutor::new()).build_http())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses() {
        for (status, retry) in [
            (200, false),
            (204, false),
            (400, false),
            (403, false),
            (404, false),
            (408, true),
            (429, true),
            (500, true),
            (503, true),
        ] {
            assert_eq!(retryable_status(status), retry, "{status}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let got: Vec<u128> = (1..=6).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(got, [200, 400, 800, 1600, 2000, 2000]);
    }

    #[tokio::test]
    async fn an_invalid_url_is_an_error_without_attempts() {
        let err = put("not a url", vec![], &RetryPolicy::default(), None)
            .await
            .unwrap_err();
        assert_eq!(err.attempts, 0);
        assert!(err.last_error.contains("not a valid URL"), "{err}");
    }

    #[tokio::test]
    async fn connection_refused_is_retried_then_reported() {
        // A port nobody listens on: bind, read the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let policy = RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            attempt_timeout: Duration::from_secs(2),
        };
        let err = put(
            &format!("http://127.0.0.1:{port}/r"),
            b"{}".to_vec(),
            &policy,
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(err.attempts, 3);
        assert!(err.last_error.to_lowercase().contains("connect"), "{err}");
    }
}
