//! Lambda benchmarks for real: cold start + one invocation of a function's release binary.
//!
//! [`Lambda::invoke`] starts a minimal Lambda Runtime API on loopback, spawns the function's
//! `bootstrap` (the package's release binary, built for the host) with `AWS_LAMBDA_RUNTIME_API`
//! and the usual Lambda environment, serves it one event (with the `Lambda-Runtime-*` headers,
//! deadline included) and measures:
//! - wall time from spawn to the answer (`/response` or `/error`), split into init (spawn to the
//!   first `GET .../invocation/next`) and the invocation itself;
//! - the child's peak RSS (`VmHWM` read from `/proc/<pid>/status` right after the answer);
//! - the AWS API calls it made: the function reaches the emulator through `AWS_ENDPOINT_URL`
//!   pointing at a counting HTTP proxy on loopback in front of [`Moto`], which counts every
//!   request (retries included) by operation (`ec2:CreateSnapshot`, `s3:GetObject`, ...).
//!
//! A custom resource answers CloudFormation with a PUT to its `ResponseURL`: put
//! [`Lambda::cfn_response_url`] in the event and the PUTs are in [`Measurement::cfn_responses`].
//!
//! Use it from a `benches/<name>.rs` (`harness = false`) of the function's package, where cargo
//! builds the package's binary with the bench (= release) profile and names it:
//! ```no_run
//! use test_harness::{Moto, bench::{Lambda, Summary}};
//! let moto = Moto::start();
//! // ... create the function's world in the emulator with moto.sdk_config() ...
//! // In a bench of the function's own package: env!("CARGO_BIN_EXE_<package>").
//! let bootstrap = std::env::var("BOOTSTRAP").expect("path of the function's binary");
//! let mut lambda = Lambda::new("recovery-params", bootstrap).aws(&moto);
//! let event = serde_json::json!({ "ResponseURL": lambda.cfn_response_url() /* , ... */ });
//! let runs: Vec<_> = (0..5).map(|_| lambda.invoke(&event)).collect();
//! assert!(runs.iter().all(|m| m.answer.is_response()), "{}", runs[0].logs);
//! println!("{}", Summary::of("recovery-params: record", &runs));
//! ```
//! `tests/bench` runs every bench and collects the `bench\t...` lines ([`Summary::tsv`]) into a
//! table.

pub(crate) mod http;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::Moto;
pub use http::Request;
use http::{Loopback, Response};

/// A Lambda function binary to benchmark, with its environment.
pub struct Lambda {
    name: String,
    binary: PathBuf,
    env: Vec<(String, String)>,
    memory_mb: u32,
    timeout: Duration,
    proxy: Option<CountingProxy>,
    recorder: Server,
}

/// How the function answered the one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST /runtime/invocation/<id>/response`, with the body (JSON when it parses).
    Response(Value),
    /// `POST /runtime/invocation/<id>/error`.
    Error(Value),
    /// `POST /runtime/init/error`.
    InitError(Value),
    /// The process exited without answering.
    Exited(String),
    /// No answer within the function's timeout plus 10 s.
    TimedOut,
}

impl Answer {
    pub fn is_response(&self) -> bool {
        matches!(self, Answer::Response(_))
    }
}

/// One cold start + invocation.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub function: String,
    /// Spawn to answer.
    pub total: Duration,
    /// Spawn to the first `GET /runtime/invocation/next` (runtime and client set-up).
    pub init: Duration,
    /// Event served to answer.
    pub invocation: Duration,
    /// Peak resident set size of the process, KiB (`None` if it exited before it was read).
    pub peak_rss_kib: Option<u64>,
    /// AWS API requests by operation, e.g. `{"ec2:CreateSnapshot": 1}` (retries counted).
    pub api_calls: BTreeMap<String, usize>,
    pub answer: Answer,
    /// Bodies of the PUTs received at [`Lambda::cfn_response_url`] (JSON when they parse).
    pub cfn_responses: Vec<Value>,
    /// The function's stdout and stderr (its logs).
    pub logs: String,
}

impl Measurement {
    /// Number of AWS API requests.
    pub fn api_call_count(&self) -> usize {
        self.api_calls.values().sum()
    }
}

impl Lambda {
    /// `binary` is the function's executable (in a bench: `env!("CARGO_BIN_EXE_<package>")`).
    pub fn new(name: &str, binary: impl Into<PathBuf>) -> Lambda {
        let binary = binary.into();
        assert!(
            binary.exists(),
            "{} is missing: build it with `cargo build --release -p {name}` (tests/bench does)",
            binary.display()
        );
        Lambda {
            name: name.to_owned(),
            binary,
            env: Vec::new(),
            memory_mb: 128,
            timeout: Duration::from_secs(30),
            proxy: None,
            recorder: Server::recording(),
        }
    }

    /// Sends the function's AWS calls to `moto`, through a counting proxy.
    pub fn aws(mut self, moto: &Moto) -> Lambda {
        self.proxy = Some(CountingProxy::start(moto.port));
        self
    }

    /// Adds an environment variable (the function's own configuration).
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Lambda {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (default 128).
    pub fn memory_mb(mut self, memory_mb: u32) -> Lambda {
        self.memory_mb = memory_mb;
        self
    }

    /// The function's timeout: the invocation deadline is this far after the event is served
    /// (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Lambda {
        self.timeout = timeout;
        self
    }

    /// A loopback URL that records PUTs: the `ResponseURL` for custom-resource events.
    pub fn cfn_response_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/cloudformation-response/{}",
            self.recorder.port, self.name
        )
    }

    /// The endpoint the function's SDK uses (the counting proxy), if [`Lambda::aws`] was set.
    pub fn aws_endpoint(&self) -> Option<String> {
        self.proxy
            .as_ref()
            .map(|p| format!("http://127.0.0.1:{}", p.server.port))
    }

    /// Spawns a fresh process (a cold start), serves it `event`, waits for the answer, kills it.
    pub fn invoke(&mut self, event: &Value) -> Measurement {
        let request_id = format!("bench-{}-{}", std::process::id(), unique());
        let runtime = RuntimeApi::start(event, &request_id, self.timeout);
        if let Some(proxy) = &self.proxy {
            proxy.calls.lock().unwrap().clear();
        }
        self.recorder.requests.lock().unwrap().clear();

        let mut command = Command::new(&self.binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("127.0.0.1:{}", runtime.server.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("_HANDLER", "bootstrap")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("AWS_REGION", crate::REGION)
            .env("AWS_DEFAULT_REGION", crate::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(endpoint) = self.aws_endpoint() {
            command.env("AWS_ENDPOINT_URL", endpoint);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }

        let spawned = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let logs = collect_output(&mut child);
        let (answer, answered_at) =
            runtime.wait_for_answer(&mut child, self.timeout + Duration::from_secs(10));
        let peak_rss_kib = peak_rss_kib(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let (first_next, event_served) = runtime.stop();
        let logs = logs
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("");

        let api_calls = match &self.proxy {
            Some(proxy) => {
                let mut counts = BTreeMap::new();
                for op in proxy.calls.lock().unwrap().drain(..) {
                    *counts.entry(op).or_insert(0) += 1;
                }
                counts
            }
            None => BTreeMap::new(),
        };
        let cfn_responses = self
            .recorder
            .requests
            .lock()
            .unwrap()
            .drain(..)
            .filter(|r| r.method == "PUT")
            .map(|r| json_or_string(&r.body))
            .collect();
        let end = answered_at.unwrap_or_else(Instant::now);
        Measurement {
            function: self.name.clone(),
            total: end - spawned,
            init: first_next.map_or(Duration::ZERO, |t| t - spawned),
            invocation: event_served.map_or(Duration::ZERO, |t| end.saturating_duration_since(t)),
            peak_rss_kib,
            api_calls,
            answer,
            cfn_responses,
            logs,
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn collect_output(child: &mut Child) -> Vec<JoinHandle<String>> {
    let mut handles = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        handles.push(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        }));
    }
    if let Some(mut err) = child.stderr.take() {
        handles.push(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }));
    }
    handles
}

/// `VmHWM` of `pid` in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn json_or_string(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Statistics over several [`Measurement`]s of one scenario.
#[derive(Debug, Clone)]
pub struct Summary {
    pub label: String,
    pub runs: usize,
    pub total_median: Duration,
    pub total_min: Duration,
    pub total_max: Duration,
    pub init_median: Duration,
    pub invocation_median: Duration,
    /// Largest peak RSS over the runs, KiB.
    pub peak_rss_kib: Option<u64>,
    /// API calls of the first run (the cold, first-time path).
    pub api_calls: BTreeMap<String, usize>,
}

impl Summary {
    pub fn of(label: &str, runs: &[Measurement]) -> Summary {
        assert!(!runs.is_empty(), "no measurements for {label}");
        let median = |f: &dyn Fn(&Measurement) -> Duration| {
            let mut v: Vec<Duration> = runs.iter().map(f).collect();
            v.sort();
            v[v.len() / 2]
        };
        Summary {
            label: label.to_owned(),
            runs: runs.len(),
            total_median: median(&|m| m.total),
            total_min: runs.iter().map(|m| m.total).min().unwrap(),
            total_max: runs.iter().map(|m| m.total).max().unwrap(),
            init_median: median(&|m| m.init),
            invocation_median: median(&|m| m.invocation),
            peak_rss_kib: runs.iter().filter_map(|m| m.peak_rss_kib).max(),
            api_calls: runs[0].api_calls.clone(),
        }
    }

    /// `op×n, op×n` (or `none`).
    pub fn calls_text(&self) -> String {
        if self.api_calls.is_empty() {
            return "none".to_owned();
        }
        self.api_calls
            .iter()
            .map(|(op, n)| format!("{op}×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One tab-separated line for `tests/bench`:
    /// `bench <label> <runs> <median ms> <min ms> <max ms> <init ms> <invocation ms> <peak RSS MiB> <calls> <calls by op>`.
    pub fn tsv(&self) -> String {
        format!(
            "bench\t{}\t{}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{}\t{}\t{}",
            self.label,
            self.runs,
            ms(self.total_median),
            ms(self.total_min),
            ms(self.total_max),
            ms(self.init_median),
            ms(self.invocation_median),
            self.peak_rss_kib
                .map_or("?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
            self.api_calls.values().sum::<usize>(),
            self.calls_text()
        )
    }
}

impl fmt::Display for Summary {
    /// Human-readable, then the `bench\t...` line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: cold start + 1 invocation {:.1} ms median of {} (min {:.1}, max {:.1}; init {:.1}, invocation {:.1}), peak RSS {}, {} AWS calls ({})",
            self.label,
            ms(self.total_median),
            self.runs,
            ms(self.total_min),
            ms(self.total_max),
            ms(self.init_median),
            ms(self.invocation_median),
            self.peak_rss_kib.map_or("unknown".to_owned(), |k| format!(
                "{:.1} MiB",
                k as f64 / 1024.0
            )),
            self.api_calls.values().sum::<usize>(),
            self.calls_text()
        )?;
        write!(f, "{}", self.tsv())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// The Lambda Runtime API (one event, one answer)

struct RuntimeState {
    event: Option<Vec<u8>>,
    request_id: String,
    deadline_ms: u128,
    first_next: Option<Instant>,
    event_served: Option<Instant>,
    answer: Option<(Answer, Instant)>,
    stopped: bool,
}

struct RuntimeApi {
    server: Server,
    state: Arc<(Mutex<RuntimeState>, Condvar)>,
}

impl RuntimeApi {
    fn start(event: &Value, request_id: &str, timeout: Duration) -> RuntimeApi {
        let state = Arc::new((
            Mutex::new(RuntimeState {
                event: Some(serde_json::to_vec(event).expect("event serialises")),
                request_id: request_id.to_owned(),
                deadline_ms: 0,
                first_next: None,
                event_served: None,
                answer: None,
                stopped: false,
            }),
            Condvar::new(),
        ));
        let shared = state.clone();
        let server = Server::start(Arc::new(move |request: &Request| {
            runtime_api(&shared, request, timeout)
        }));
        RuntimeApi { server, state }
    }

    /// Waits for the answer, the process's exit, or `limit`.
    fn wait_for_answer(&self, child: &mut Child, limit: Duration) -> (Answer, Option<Instant>) {
        let started = Instant::now();
        let (lock, condvar) = &*self.state;
        let mut state = lock.lock().unwrap();
        loop {
            if let Some((answer, at)) = state.answer.clone() {
                return (answer, Some(at));
            }
            if let Ok(Some(status)) = child.try_wait() {
                return (Answer::Exited(describe_exit(status)), None);
            }
            if started.elapsed() > limit {
                return (Answer::TimedOut, None);
            }
            state = condvar
                .wait_timeout(state, Duration::from_millis(5))
                .unwrap()
                .0;
        }
    }

    /// Stops serving; returns (first GET next, event served).
    fn stop(self) -> (Option<Instant>, Option<Instant>) {
        let (lock, condvar) = &*self.state;
        let mut state = lock.lock().unwrap();
        state.stopped = true;
        condvar.notify_all();
        (state.first_next, state.event_served)
    }
}

fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

fn runtime_api(
    state: &Arc<(Mutex<RuntimeState>, Condvar)>,
    request: &Request,
    timeout: Duration,
) -> Response {
    let (lock, condvar) = &**state;
    let path = request.path.split('?').next().unwrap_or("");
    let mut s = lock.lock().unwrap();
    if request.method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
        s.first_next.get_or_insert_with(Instant::now);
        loop {
            if s.stopped {
                return Response::close();
            }
            if let Some(body) = s.event.take() {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                s.deadline_ms = (now + timeout).as_millis();
                s.event_served = Some(Instant::now());
                return Response::new(200, body)
                    .header("Content-Type", "application/json")
                    .header("Lambda-Runtime-Aws-Request-Id", &s.request_id)
                    .header("Lambda-Runtime-Deadline-Ms", &s.deadline_ms.to_string())
                    .header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        &format!("arn:aws:lambda:{}:123456789012:function:bench", crate::REGION),
                    )
                    .header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0");
            }
            // The second `next` (after the answer) waits until the process is killed.
            s = condvar
                .wait_timeout(s, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }
    let answer = if request.method == "POST" && path == "/2018-06-01/runtime/init/error" {
        Some(Answer::InitError(json_or_string(&request.body)))
    } else if request.method == "POST" && path.starts_with("/2018-06-01/runtime/invocation/") {
        let rest = &path["/2018-06-01/runtime/invocation/".len()..];
        match rest.split_once('/') {
            Some((id, "response")) if id == s.request_id => {
                Some(Answer::Response(json_or_string(&request.body)))
            }
            Some((id, "error")) if id == s.request_id => {
                Some(Answer::Error(json_or_string(&request.body)))
            }
            _ => {
                return Response::new(
                    400,
                    br#"{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}"#
                        .to_vec(),
                );
            }
        }
    } else {
        None
    };
    match answer {
        Some(answer) => {
            if s.answer.is_none() {
                s.answer = Some((answer, Instant::now()));
            }
            condvar.notify_all();
            Response::new(202, br#"{"status":"OK"}"#.to_vec())
                .header("Content-Type", "application/json")
        }
        None => Response::new(404, b"not part of the Lambda Runtime API".to_vec()),
    }
}

// ---------------------------------------------------------------------------------------------
// The counting proxy in front of the emulator

struct CountingProxy {
    server: Server,
    calls: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    fn start(upstream_port: u16) -> CountingProxy {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let counted = calls.clone();
        let server = Server::start(Arc::new(move |request: &Request| {
            counted.lock().unwrap().push(operation(request));
            forward(upstream_port, request)
        }));
        CountingProxy { server, calls }
    }
}

/// The AWS operation of a request: `<service>:<Operation>`, from `X-Amz-Target` (JSON
/// protocols), the `Action` form field or query parameter (query protocols: EC2, RDS, SNS), or
/// for S3's REST API the method, path shape and sub-resource.
pub fn operation(request: &Request) -> String {
    let service = request
        .header("authorization")
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|cred| cred.split('/').nth(3))
        .unwrap_or("aws")
        .to_owned();
    if let Some(target) = request.header("x-amz-target") {
        let op = target.rsplit('.').next().unwrap_or(target);
        return format!("{service}:{op}");
    }
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let form = if request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    {
        String::from_utf8_lossy(&request.body).into_owned()
    } else {
        String::new()
    };
    for pair in form.split('&').chain(query.split('&')) {
        if let Some(action) = pair.strip_prefix("Action=") {
            return format!("{service}:{action}");
        }
    }
    if service == "s3" {
        return format!("s3:{}", s3_operation(&request.method, path, query, request));
    }
    let shape: String = path
        .split('/')
        .map(|segment| {
            if segment.chars().any(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    format!("{service}:{} {shape}", request.method)
}

fn s3_operation(method: &str, path: &str, query: &str, request: &Request) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').splitn(2, '/').collect();
    let has_key = segments.len() == 2 && !segments[1].is_empty();
    let params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split('=').next().unwrap_or(p))
        .filter(|p| *p != "x-id")
        .collect();
    let sub = params.first().copied();
    let known = match (method, has_key, sub) {
        ("GET", false, Some("list-type")) => Some("ListObjectsV2"),
        ("GET", false, Some("versions")) => Some("ListObjectVersions"),
        ("GET", false, Some("location")) => Some("GetBucketLocation"),
        ("GET", false, None) => Some("ListObjects"),
        ("HEAD", false, None) => Some("HeadBucket"),
        ("PUT", false, None) => Some("CreateBucket"),
        ("DELETE", false, None) => Some("DeleteBucket"),
        ("POST", false, Some("delete")) => Some("DeleteObjects"),
        ("GET", true, None) => Some("GetObject"),
        ("GET", true, Some("tagging")) => Some("GetObjectTagging"),
        ("GET", true, Some("attributes")) => Some("GetObjectAttributes"),
        ("HEAD", true, None) => Some("HeadObject"),
        ("PUT", true, None) if request.header("x-amz-copy-source").is_some() => Some("CopyObject"),
        ("PUT", true, None) => Some("PutObject"),
        ("PUT", true, Some("tagging")) => Some("PutObjectTagging"),
        ("DELETE", true, None) => Some("DeleteObject"),
        _ => None,
    };
    match known {
        Some(op) => op.to_owned(),
        None => format!(
            "{method} {}{}",
            if has_key {
                "/{bucket}/{key}"
            } else {
                "/{bucket}"
            },
            sub.map(|s| format!("?{s}")).unwrap_or_default()
        ),
    }
}

/// Sends `request` to the emulator on a fresh connection and returns its response (hop-by-hop
/// headers dropped; a HEAD answer keeps the emulator's Content-Length).
fn forward(port: u16, request: &Request) -> Response {
    let upstream = SocketAddr::from(([127, 0, 0, 1], port));
    // Handlers run on the server's blocking pool, so they may wait on its runtime.
    let forwarded = tokio::runtime::Handle::current().block_on(http::forward(upstream, request));
    match forwarded {
        Ok(answer) => {
            let head_only = request.method == "HEAD";
            let mut response = Response::new(answer.status, answer.body);
            for (name, value) in answer.headers {
                let lower = name.to_ascii_lowercase();
                if lower == "connection" || lower == "transfer-encoding" || lower == "keep-alive" {
                    continue;
                }
                if lower == "content-length" && !head_only {
                    continue;
                }
                response.headers.push((name, value));
            }
            response
        }
        Err(e) => Response::new(
            502,
            format!("bench proxy: emulator unreachable: {e}").into_bytes(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The loopback servers (hyper, see `http`): the Runtime API, the proxy and the CloudFormation
// responder.

type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// A loopback HTTP server answering with its handler; the recorder keeps every request.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    _server: Loopback,
}

impl Server {
    /// Answers every request with `handler`.
    fn start(handler: Handler) -> Server {
        Server::spawn(handler, false)
    }

    /// Records every request and answers `200 OK` with an empty body.
    fn recording() -> Server {
        Server::spawn(Arc::new(|_: &Request| Response::new(200, Vec::new())), true)
    }

    fn spawn(handler: Handler, record: bool) -> Server {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let server = Loopback::start(
            0,
            Arc::new(move |request: Request| {
                if record {
                    recorded.lock().unwrap().push(request.clone());
                }
                handler(&request)
            }),
        )
        .expect("bind a loopback port");
        Server {
            port: server.port,
            requests,
            _server: server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const S3_AUTH: (&str, &str) = (
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
    );

    #[test]
    fn operations_are_named_by_service_and_action() {
        let ec2 = request(
            "POST",
            "/",
            &[
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, Signature=0",
                ),
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
            ],
            "Action=CreateSnapshot&Version=2016-11-15&VolumeId=vol-1",
        );
        assert_eq!(operation(&ec2), "ec2:CreateSnapshot");
        let kms = request(
            "POST",
            "/",
            &[
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, Signature=0",
                ),
                ("X-Amz-Target", "TrentService.DescribeKey"),
            ],
            "{}",
        );
        assert_eq!(operation(&kms), "kms:DescribeKey");
        assert_eq!(
            operation(&request(
                "GET",
                "/b/CA/certs/beanstalk.crt?x-id=GetObject",
                &[S3_AUTH],
                ""
            )),
            "s3:GetObject"
        );
        assert_eq!(
            operation(&request(
                "GET",
                "/b?list-type=2&prefix=Backup%2F",
                &[S3_AUTH],
                ""
            )),
            "s3:ListObjectsV2"
        );
        assert_eq!(
            operation(&request("HEAD", "/b", &[S3_AUTH], "")),
            "s3:HeadBucket"
        );
        assert_eq!(
            operation(&request("HEAD", "/b/k", &[S3_AUTH], "")),
            "s3:HeadObject"
        );
        assert_eq!(
            operation(&request("PUT", "/b/k?x-id=PutObject", &[S3_AUTH], "data")),
            "s3:PutObject"
        );
        assert_eq!(
            operation(&request("GET", "/b?acl", &[S3_AUTH], "")),
            "s3:GET /{bucket}?acl"
        );
    }

    /// Sends `raw` to `port` as one HTTP/1.1 exchange and returns the response text.
    fn exchange(port: u16, raw: &[u8]) -> String {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(raw).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn bodies_are_read_by_length_chunks_or_to_the_end() {
        let recorder = Server::recording();
        let chunked = exchange(
            recorder.port,
            b"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n",
        );
        assert!(chunked.starts_with("HTTP/1.1 200 OK"), "{chunked}");
        exchange(
            recorder.port,
            b"PUT /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        );
        exchange(
            recorder.port,
            b"GET /n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let bodies: Vec<(String, Vec<u8>)> = recorder
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.path.clone(), r.body.clone()))
            .collect();
        assert_eq!(
            bodies,
            vec![
                ("/c".to_owned(), b"Wikipedia".to_vec()),
                ("/s".to_owned(), b"hello".to_vec()),
                ("/n".to_owned(), Vec::new()),
            ]
        );

        // An upstream answering with neither Content-Length nor chunks: the proxy reads to the end.
        let upstream = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let upstream_port = upstream.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{BufRead, Write};
            let (stream, _) = upstream.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut stream = reader.into_inner();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
                .unwrap();
        });
        let proxy = CountingProxy::start(upstream_port);
        let answer = exchange(
            proxy.server.port,
            b"GET /b/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nall of it"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("content-length: 9"),
            "{answer}"
        );
    }

    #[test]
    fn a_head_answer_keeps_the_upstream_length_and_a_dead_upstream_is_a_502() {
        let upstream = Server::start(Arc::new(|_: &Request| {
            Response::new(200, Vec::new()).header("Content-Length", "12")
        }));
        let proxy = CountingProxy::start(upstream.port);
        let head = exchange(
            proxy.server.port,
            b"HEAD /b/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("content-length: 12"),
            "{head}"
        );
        assert!(head.ends_with("\r\n\r\n"), "no body: {head}");

        let closed = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let dead_port = closed.local_addr().unwrap().port();
        drop(closed);
        let proxy = CountingProxy::start(dead_port);
        let answer = exchange(
            proxy.server.port,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
        assert!(answer.contains("emulator unreachable"), "{answer}");
    }
}
