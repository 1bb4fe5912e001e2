//! The CloudFormation custom-resource protocol, shared by every custom resource of this project.
//!
//! `aws_lambda_events` has the request types but no responder; this crate is the responder. Its
//! one promise: **every request is answered exactly once** — PUT to the pre-signed ResponseURL —
//! whatever the handler does.
//!
//! ```no_run
//! use custom_resource::{Request, Success};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, Serialize)]
//! #[serde(rename_all = "PascalCase")]
//! struct Props { bucket: String }
//!
//! async fn handle(request: Request<Props>) -> Result<Success, String> {
//!     match request {
//!         Request::Create(r) => Ok(Success::new().with_data("Bucket", r.resource_properties.bucket)),
//!         Request::Update(r) => Ok(Success::new().with_data("Bucket", r.resource_properties.bucket)),
//!         Request::Delete(_) => Ok(Success::new()),
//!         _ => Err("unknown request type".into()),
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), custom_resource::Error> {
//!     custom_resource::run(|request: Request<Props>, _context| handle(request)).await
//! }
//! ```
//!
//! # What the crate guarantees
//!
//! | the handler…                       | CloudFormation receives                                       |
//! |------------------------------------|---------------------------------------------------------------|
//! | returns `Ok(Success)`              | SUCCESS with its Data (and `NoEcho` if asked)                 |
//! | returns `Err(e)`                   | FAILED, Reason = `e` formatted with `{:#}` (anyhow: the chain) |
//! | panics                             | FAILED, Reason `the handler panicked: <message>`              |
//! | is still running near the deadline | FAILED `timed out: …`, sent [`Options::deadline_margin`] before the Lambda deadline (at most half the time left at the start); the handler task is aborted |
//! | is never called: event malformed   | FAILED `malformed request: <serde error>` if a `ResponseURL` string can be found in the raw JSON; otherwise nothing can be answered and the invocation fails |
//! | is never called: Delete of a failed Create | SUCCESS (see below)                                  |
//!
//! - **Body ≤ 4096 bytes.** A long Reason is truncated (marked `[truncated]`). Data is never cut:
//!   a SUCCESS whose Data does not fit becomes FAILED with a Reason naming its size and attribute
//!   names (never the values). See [`response::fit`].
//! - **Stable PhysicalResourceId.** Create: the handler's [`Success::physical_id`], else
//!   `<LogicalResourceId>-<RequestId>`. Update/Delete: the handler's if it sets one (on Update a
//!   different id means replacement; CloudFormation then deletes the old one), else the
//!   request's own. FAILED answers to Update/Delete keep the request's own id.
//! - **Delete after a failed Create.** A Create the handler did not complete (error, panic,
//!   time-out, malformed event) is answered with PhysicalResourceId
//!   `create-failed:<RequestId>` ([`CREATE_FAILED_PREFIX`]). CloudFormation's rollback then sends
//!   a Delete with that id, which the crate answers SUCCESS **without calling the handler**. So a
//!   handler that fails a Create must leave nothing behind (or clean up before returning `Err`).
//!   A Create the handler completed but the crate had to turn into FAILED (Data too large,
//!   invalid physical id) keeps the handler's id, so the rollback's Delete reaches the handler.
//! - **NoEcho.** [`Success::with_no_echo`] sets `NoEcho: true` (CloudFormation masks the
//!   attributes). The crate logs Data attribute *names* only, never values, for every response,
//!   and never logs ResourceProperties values or the pre-signed URL (it is a credential).
//! - **The PUT** carries an empty `Content-Type` (the URL is signed for it), is retried on
//!   connection errors, time-outs, 5xx, 429 and 408 with exponential back-off
//!   ([`RetryPolicy`]), and gives up at the Lambda deadline.
//! - **The invocation** returns `Ok` once the answer was delivered (even a FAILED one), so
//!   Lambda's asynchronous retry never runs the handler twice for one answered request. It
//!   returns `Err` only when no answer could be delivered, which lets Lambda's retry try again.
//!
//! `panic = "unwind"` is required for the panic row: the workspace's `[profile.release]` sets it
//! explicitly because cargo-lambda would otherwise build with `panic = "abort"`.

pub mod put;
pub mod response;

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::time::Instant;

pub use aws_lambda_events::cloudformation::{
    CloudFormationCustomResourceRequest, CreateRequest, DeleteRequest, UpdateRequest,
};
pub use lambda_runtime::{Context, Error};
pub use put::{Delivery, PutError, RetryPolicy};
pub use response::{CREATE_FAILED_PREFIX, Kind, MAX_BODY_BYTES, Response, Status};

/// A custom-resource request whose `ResourceProperties` (and `OldResourceProperties`) are `P`.
///
/// `P` is deserialised with the event: properties that do not fit `P` make the event malformed
/// (answered FAILED with the serde message), so handlers can rely on their shape. Note that
/// CloudFormation passes every scalar property as a *string*.
pub type Request<P = Value> = CloudFormationCustomResourceRequest<P, P>;

/// A handler's successful result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Success {
    /// PhysicalResourceId to answer; `None` keeps the default (see the crate docs).
    pub physical_id: Option<String>,
    /// Attributes readable with `Fn::GetAtt`. Must fit the 4096-byte body with the rest.
    pub data: Map<String, Value>,
    /// Answer `NoEcho: true`: CloudFormation masks the attributes in its output.
    pub no_echo: bool,
}

impl Success {
    pub fn new() -> Success {
        Success::default()
    }

    /// Sets the PhysicalResourceId.
    pub fn with_physical_id(mut self, id: impl Into<String>) -> Success {
        self.physical_id = Some(id.into());
        self
    }

    /// Adds the attribute `key` (values are usually strings: `Fn::GetAtt` hands them on as is).
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<Value>) -> Success {
        self.data.insert(key.into(), value.into());
        self
    }

    /// Marks the attributes secret (`NoEcho: true`).
    pub fn with_no_echo(mut self) -> Success {
        self.no_echo = true;
        self
    }
}

/// Knobs of [`run_with`] / [`handle`]. `Default` is what the Lambdas use.
#[derive(Clone, Debug)]
pub struct Options {
    /// Answer FAILED this long before the Lambda deadline if the handler has not finished (at
    /// most half of the time left when the invocation starts).
    pub deadline_margin: Duration,
    /// Retries of the PUT.
    pub retry: RetryPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            deadline_margin: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }
}

/// Why an invocation could not answer CloudFormation.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The event carries no ResponseURL: there is nobody to answer.
    #[error(
        "the event has no ResponseURL: it is not a CloudFormation custom-resource request, nothing was answered"
    )]
    NoResponseUrl,
    /// The answer (`response`) was built but could not be delivered.
    #[error("{:?} answer not delivered: {error}", response.status)]
    Undelivered {
        response: Box<Response>,
        error: PutError,
    },
}

impl AnswerError {
    /// The Lambda `errorType` of a failed invocation (README: "Errors").
    pub fn error_type(&self) -> &'static str {
        match self {
            AnswerError::NoResponseUrl => "NotACustomResourceRequest",
            AnswerError::Undelivered { .. } => "CustomResourceAnswerUndelivered",
        }
    }
}

impl From<AnswerError> for lambda_runtime::Diagnostic {
    fn from(error: AnswerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}

/// What an invocation answered.
#[derive(Clone, Debug)]
pub struct Answer {
    pub response: Response,
    pub delivery: Delivery,
    /// Whether the handler was called.
    pub handler_called: bool,
}

/// The environment variable that makes every handler of a shipped custom resource panic, read
/// once at cold start by [`run_with`]. It exists for one test: `stack-ops`' packaging test runs
/// the very zip `stack-ops package` uploads with it set, and expects FAILED "the handler
/// panicked" — the proof that the shipped profile unwinds (with `panic = "abort"` the process
/// dies and CloudFormation waits an hour). No template sets it (stack-gen's
/// `tests/deploy.rs` checks every function's environment); setting it on a deployed function
/// only makes its requests fail, as any change of its code could.
pub const PANIC_PROBE_VAR: &str = "CUSTOM_RESOURCE_PANIC_PROBE";

/// Whether `env` (a variable reader) turns the panic probe on: [`PANIC_PROBE_VAR`] is `1`.
pub fn panic_probe_enabled(env: impl Fn(&str) -> Option<String>) -> bool {
    env(PANIC_PROBE_VAR).as_deref() == Some("1")
}

/// Runs the Lambda: every invocation goes through [`handle`] with `handler` and default
/// [`Options`]. Call it from `main` after setting up logging.
pub async fn run<P, F, Fut, E>(handler: F) -> Result<(), Error>
where
    P: DeserializeOwned + Serialize + Send + 'static,
    F: Fn(Request<P>, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Success, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    run_with(Options::default(), handler).await
}

/// [`run`] with explicit [`Options`].
pub async fn run_with<P, F, Fut, E>(options: Options, handler: F) -> Result<(), Error>
where
    P: DeserializeOwned + Serialize + Send + 'static,
    F: Fn(Request<P>, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Success, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let panic_probe = panic_probe_enabled(|name| std::env::var(name).ok());
    if panic_probe {
        tracing::warn!(
            "{PANIC_PROBE_VAR}=1: every request's handler panics (the packaging test's probe)"
        );
    }
    let handler = Arc::new(move |request: Request<P>, context: Context| {
        if panic_probe {
            panic!("{PANIC_PROBE_VAR} is set: deliberate panic");
        }
        handler(request, context)
    });
    let options = Arc::new(options);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        let options = Arc::clone(&options);
        async move {
            handle(&*handler, event.payload, event.context, &options)
                .await
                .map(|_| ())
                .map_err(lambda_runtime::Diagnostic::from)
        }
    }))
    .await
}

/// The fields the crate needs, read from the raw event so that even a malformed one is answered.
#[derive(Debug)]
struct Envelope {
    kind: Kind,
    response_url: String,
    stack_id: String,
    request_id: String,
    logical_id: String,
    physical_id: Option<String>,
}

impl Envelope {
    fn read(event: &Value) -> Option<Envelope> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(Envelope {
            kind: Kind::parse(event.get("RequestType").and_then(Value::as_str)),
            response_url: field("ResponseURL")?,
            stack_id: field("StackId").unwrap_or_default(),
            request_id: field("RequestId").unwrap_or_default(),
            logical_id: field("LogicalResourceId").unwrap_or_default(),
            physical_id: field("PhysicalResourceId"),
        })
    }

    fn failed(&self, reason: String) -> Response {
        Response {
            status: Status::Failed,
            reason: Some(reason),
            physical_resource_id: response::failed_physical_id(
                self.kind,
                self.physical_id.as_deref(),
                &self.request_id,
            ),
            stack_id: self.stack_id.clone(),
            request_id: self.request_id.clone(),
            logical_resource_id: self.logical_id.clone(),
            no_echo: false,
            data: Map::new(),
        }
    }

    fn succeeded(&self, physical_id: String, success: Success) -> Response {
        Response {
            status: Status::Success,
            reason: None,
            physical_resource_id: physical_id,
            stack_id: self.stack_id.clone(),
            request_id: self.request_id.clone(),
            logical_resource_id: self.logical_id.clone(),
            no_echo: success.no_echo,
            data: success.data,
        }
    }
}

/// Epoch milliseconds below this cannot be a real invocation deadline (it is 2001-09-09).
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// Time left before the invocation deadline `deadline_ms` (`Context::deadline`), as seen at
/// `now`. `None`: no deadline known (0, as in hand-made contexts). Lambda sends epoch
/// milliseconds; `cargo lambda watch` sends the timeout itself (e.g. `600000`), so a value too
/// small to be an epoch time is read as milliseconds from now.
pub fn time_left(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    match deadline_ms {
        0 => None,
        relative if relative < EPOCH_MS_FLOOR => Some(Duration::from_millis(relative)),
        epoch => Some(
            (UNIX_EPOCH + Duration::from_millis(epoch))
                .duration_since(now)
                .unwrap_or(Duration::ZERO),
        ),
    }
}

/// Time the handler may take out of `time_left`: up to `margin` before the deadline, and never
/// more than half of what is left (so a short remaining time still leaves room to answer).
/// `None`: no deadline known.
pub fn handler_budget(time_left: Option<Duration>, margin: Duration) -> Option<Duration> {
    let remaining = time_left?;
    Some(
        remaining
            .saturating_sub(margin)
            .max(remaining / 2)
            .min(remaining),
    )
}

/// Handles one invocation: parse, call `handler`, answer exactly once. Returns what was
/// answered; `Err` only when nothing could be delivered.
pub async fn handle<P, F, Fut, E>(
    handler: &F,
    event: Value,
    context: Context,
    options: &Options,
) -> Result<Answer, AnswerError>
where
    P: DeserializeOwned + Serialize + Send + 'static,
    F: Fn(Request<P>, Context) -> Fut,
    Fut: Future<Output = Result<Success, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let Some(envelope) = Envelope::read(&event) else {
        tracing::error!("event without a ResponseURL: nothing to answer");
        return Err(AnswerError::NoResponseUrl);
    };
    let property_names: Vec<String> = event
        .get("ResourceProperties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let left = time_left(context.deadline, SystemTime::now());
    let time_left_ms = left.map(|d| d.as_millis() as u64);
    tracing::info!(
        time_left_ms,
        request_type = ?envelope.kind,
        logical_id = %envelope.logical_id,
        physical_id = envelope.physical_id.as_deref().unwrap_or(""),
        request_id = %envelope.request_id,
        stack_id = %envelope.stack_id,
        properties = ?property_names,
        "custom-resource request"
    );

    let budget = handler_budget(left, options.deadline_margin);
    let started = Instant::now();
    let hard_deadline = left.map(|left| started + left);

    let (response, handler_called) =
        match decide(handler, event, context, &envelope, budget, started).await {
            Decided::Answer(response) => (response, false),
            Decided::Handled(response) => (response, true),
        };
    let response = response::fit(response);

    let data_names: Vec<&str> = response.data.keys().map(String::as_str).collect();
    tracing::info!(
        status = ?response.status,
        physical_id = %response.physical_resource_id,
        reason = response.reason.as_deref().unwrap_or(""),
        data = ?data_names,
        no_echo = response.no_echo,
        "answering CloudFormation"
    );
    match put::put(
        &envelope.response_url,
        response.to_body(),
        &options.retry,
        hard_deadline,
    )
    .await
    {
        Ok(delivery) => Ok(Answer {
            response,
            delivery,
            handler_called,
        }),
        Err(error) => Err(AnswerError::Undelivered {
            response: Box::new(response),
            error,
        }),
    }
}

enum Decided {
    /// Answered without calling the handler.
    Answer(Response),
    /// The handler was called (its result, error, panic or time-out).
    Handled(Response),
}

async fn decide<P, F, Fut, E>(
    handler: &F,
    event: Value,
    context: Context,
    envelope: &Envelope,
    budget: Option<Duration>,
    started: Instant,
) -> Decided
where
    P: DeserializeOwned + Serialize + Send + 'static,
    F: Fn(Request<P>, Context) -> Fut,
    Fut: Future<Output = Result<Success, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let failed_create = envelope
        .physical_id
        .as_deref()
        .filter(|id| id.starts_with(CREATE_FAILED_PREFIX));
    if let (Kind::Delete, Some(id)) = (envelope.kind, failed_create) {
        tracing::info!(
            physical_id = id,
            "Delete of a resource whose Create failed: nothing to delete"
        );
        return Decided::Answer(Response {
            status: Status::Success,
            reason: None,
            physical_resource_id: id.to_owned(),
            stack_id: envelope.stack_id.clone(),
            request_id: envelope.request_id.clone(),
            logical_resource_id: envelope.logical_id.clone(),
            no_echo: false,
            data: Map::new(),
        });
    }

    let request: Request<P> = match serde_json::from_value(event) {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(error = %e, "malformed custom-resource request");
            return Decided::Answer(envelope.failed(format!("malformed request: {e}")));
        }
    };

    // Calling the handler builds its future; a panic there is caught like one inside it.
    let future = match std::panic::catch_unwind(AssertUnwindSafe(|| handler(request, context))) {
        Ok(future) => future,
        Err(payload) => return Decided::Handled(envelope.failed(panicked(payload.as_ref()))),
    };
    let mut task = tokio::spawn(future);
    let joined = match budget {
        Some(budget) => match tokio::time::timeout_at(started + budget, &mut task).await {
            Ok(joined) => joined,
            Err(_) => {
                task.abort();
                tracing::error!(budget_ms = budget.as_millis() as u64, "handler timed out");
                return Decided::Handled(envelope.failed(format!(
                    "timed out: the handler did not finish within {:.1} s, the time left before the Lambda deadline minus the time needed to answer",
                    budget.as_secs_f64()
                )));
            }
        },
        None => task.await,
    };
    let response = match joined {
        Ok(Ok(success)) => match response::success_physical_id(
            envelope.kind,
            success.physical_id.as_deref(),
            envelope.physical_id.as_deref(),
            &envelope.logical_id,
            &envelope.request_id,
        ) {
            Ok(id) => envelope.succeeded(id, success),
            Err(reason) => {
                // The handler did its work: keep an id that reaches it again on Delete.
                let mut failed = envelope.failed(reason);
                if envelope.kind == Kind::Create {
                    failed.physical_resource_id =
                        format!("{}-{}", envelope.logical_id, envelope.request_id);
                }
                failed
            }
        },
        Ok(Err(error)) => {
            let reason = format!("{error:#}");
            tracing::error!(error = %reason, "handler failed");
            envelope.failed(reason)
        }
        Err(join) if join.is_panic() => envelope.failed(panicked(join.into_panic().as_ref())),
        Err(join) => envelope.failed(format!("the handler task was cancelled: {join}")),
    };
    // A SUCCESS that `response::fit` turns into FAILED (Data too large) keeps this physical id.
    Decided::Handled(response)
}

fn panicked(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    tracing::error!(panic = %message, "handler panicked");
    format!("the handler panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panic_probe_needs_exactly_one() {
        let with = |value: &'static str| {
            move |name: &str| (name == PANIC_PROBE_VAR).then(|| value.to_owned())
        };
        assert!(panic_probe_enabled(with("1")));
        for off in ["", "0", "true", "yes", " 1"] {
            assert!(!panic_probe_enabled(with(off)), "{off:?}");
        }
        assert!(!panic_probe_enabled(|_| None));
    }

    #[test]
    fn budgets() {
        let margin = Duration::from_secs(5);
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(handler_budget(None, margin), None);
        assert_eq!(handler_budget(secs(60), margin), secs(55));
        assert_eq!(
            handler_budget(secs(6), margin),
            Some(Duration::from_secs(3))
        );
        assert_eq!(handler_budget(secs(2), margin), secs(1));
        assert_eq!(handler_budget(secs(0), margin), secs(0));
    }

    #[test]
    fn time_left_reads_epoch_and_relative_deadlines() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let epoch_ms = |s: u64| s * 1000;
        assert_eq!(time_left(0, now), None);
        assert_eq!(
            time_left(epoch_ms(1_800_000_030), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            time_left(epoch_ms(1_799_999_990), now),
            Some(Duration::ZERO),
            "past"
        );
        // `cargo lambda watch` sends the timeout, not a timestamp.
        assert_eq!(time_left(600_000, now), Some(Duration::from_secs(600)));
    }
}
