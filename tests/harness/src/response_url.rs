//! A loopback HTTP server standing in for CloudFormation's pre-signed ResponseURL.
//!
//! It records every request it receives (method, target, headers, body) and answers each with
//! the next status of a script (then 200), so a test can assert exactly what a custom resource
//! answered, how often, and how it coped with a failing URL. A hyper server on its own
//! background thread and runtime (see `bench::http`): usable from sync and async tests alike,
//! stopped on drop.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bench::http::{Loopback, Request, Response};

/// One request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as on the request line.
    pub target: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Status the server answered.
    pub answered: u16,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Default)]
struct State {
    script: Vec<u16>,
    recorded: Vec<Recorded>,
}

/// The recording server. [`ResponseUrl::url`] is what goes into an event's `ResponseURL`.
pub struct ResponseUrl {
    state: Arc<Mutex<State>>,
    server: Loopback,
}

impl ResponseUrl {
    /// A server answering 200 to everything.
    pub fn start() -> ResponseUrl {
        ResponseUrl::with_statuses([])
    }

    /// A server answering `statuses` in order to the first requests, then 200.
    pub fn with_statuses(statuses: impl IntoIterator<Item = u16>) -> ResponseUrl {
        ResponseUrl::on_port(0, statuses).expect("bind a loopback port")
    }

    /// A server on 127.0.0.1:`port` (0: any free port) answering `statuses`, then 200. For the
    /// local `cargo lambda invoke` loop, whose sample events name a fixed port.
    pub fn on_port(
        port: u16,
        statuses: impl IntoIterator<Item = u16>,
    ) -> std::io::Result<ResponseUrl> {
        let state = Arc::new(Mutex::new(State {
            script: statuses.into_iter().collect(),
            recorded: Vec::new(),
        }));
        let recording = Arc::clone(&state);
        let server = Loopback::start(
            port,
            Arc::new(move |request: Request| record(&recording, request)),
        )?;
        Ok(ResponseUrl { state, server })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// A URL shaped like a pre-signed S3 URL (path plus signature query), on this server.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/cloudformation-custom-resource-response-useast1/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/test/guid%7CRes%7Creq?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc123",
            self.server.port
        )
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("state lock").recorded.clone()
    }

    /// Waits up to `timeout` for at least `n` requests and returns all received.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let until = Instant::now() + timeout;
        loop {
            let got = self.requests();
            if got.len() >= n || Instant::now() >= until {
                return got;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Records `request` and answers the next scripted status (then 200), with an empty body.
fn record(state: &Mutex<State>, request: Request) -> Response {
    let mut state = state.lock().expect("state lock");
    let answered = if state.script.is_empty() {
        200
    } else {
        state.script.remove(0)
    };
    state.recorded.push(Recorded {
        method: request.method,
        target: request.path,
        headers: request
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect(),
        body: request.body,
        answered,
    });
    Response::new(answered, Vec::new())
}
