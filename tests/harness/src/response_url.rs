//! A loopback HTTP server standing in for CloudFormation's pre-signed ResponseURL.
//!
//! It records every request it receives (method, target, headers, body) and answers each with
//! the next status of a script (then 200), so a test can assert exactly what a custom resource
//! answered, how often, and how it coped with a failing URL. Plain `std` networking on a
//! background thread: usable from sync and async tests alike, stopped on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
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
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State {
            script: statuses.into_iter().collect(),
            recorded: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || serve(listener, state, stop))
        };
        Ok(ResponseUrl {
            port,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL shaped like a pre-signed S3 URL (path plus signature query), on this server.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/cloudformation-custom-resource-response-useast1/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/test/guid%7CRes%7Creq?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc123",
            self.port
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

impl Drop for ResponseUrl {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: TcpListener, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let state = Arc::clone(&state);
                std::thread::spawn(move || {
                    let _ = connection(stream, &state);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Serves requests on one connection until the client closes it (keep-alive is honoured).
fn connection(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let answered = {
            let mut state = state.lock().expect("state lock");
            let answered = if state.script.is_empty() {
                200
            } else {
                state.script.remove(0)
            };
            state.recorded.push(Recorded {
                method,
                target,
                headers,
                body,
                answered,
            });
            answered
        };
        let reason = if answered < 400 {
            "OK"
        } else {
            "Scripted Failure"
        };
        write!(
            writer,
            "HTTP/1.1 {answered} {reason}\r\nContent-Length: 0\r\n\r\n"
        )?;
        writer.flush()?;
    }
}
