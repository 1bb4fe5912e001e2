//! document-snapshotter: scheduled EBS snapshots of the stack's document (CouchDB) volumes that
//! only ever prune their own. See README.md for the contract. The seam: facts are gathered
//! through the SDK ([`ec2`], plain structs in [`facts`]), decided on by pure functions
//! ([`plan`]), and acted on by small SDK calls ([`ec2`]); one run is [`run`].

pub mod config;
pub mod ec2;
pub mod facts;
pub mod plan;
pub mod run;
pub mod tags;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::{Instrument, error, info, info_span};

pub use config::Config;
pub use run::Summary;

/// The `detail` of the invoking event. A scheduled EventBridge event has `{}`; a manual
/// invocation may ask for `{"dry_run": true}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Detail {
    pub dry_run: bool,
}

/// The handler's input: an EventBridge event (scheduled, or hand-made with a [`Detail`]).
pub type Request = EventBridgeEvent<Detail>;

/// The invocation failed; the summary (also logged) says what was done before and after.
#[derive(Debug, thiserror::Error)]
#[error("document snapshots incomplete: {}", .0.errors.join("; "))]
pub struct Failed(pub Box<Summary>);

/// What an invocation fails with, and its Lambda `errorType` (README.md lists them).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The function's environment is wrong: every invocation fails with the reason (and so
    /// raises the error alarm) until the stack is fixed.
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Incomplete(#[from] Failed),
}

impl Error {
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Config(_) => "DocumentSnapshotConfig",
            Error::Incomplete(_) => "DocumentSnapshotsIncomplete",
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}

/// The AWS client the snapshotter uses, built once per process (`main`). The copy region's
/// client is derived from it per invocation ([`Clients::ec2_in`]): the configuration read then
/// names the region.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        Clients {
            ec2: aws_sdk_ec2::Client::new(sdk),
        }
    }

    /// The stack's region (the copy's source region).
    pub fn region(&self) -> String {
        self.ec2
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// The same client (credentials, endpoint, retries) in `region`.
    pub fn ec2_in(&self, region: &str) -> aws_sdk_ec2::Client {
        let conf = self
            .ec2
            .config()
            .to_builder()
            .region(aws_sdk_ec2::config::Region::new(region.to_owned()))
            .build();
        aws_sdk_ec2::Client::from_conf(conf)
    }
}

/// Handles one event at `now`: dry run if the event or `DRY_RUN` asks.
pub async fn handle(
    clients: &Clients,
    config: &Config,
    request: &Request,
    now: OffsetDateTime,
) -> Result<Summary, Failed> {
    let dry_run = config.dry_run || request.detail.dry_run;
    let copy_ec2 = config
        .copy
        .as_ref()
        .map(|target| clients.ec2_in(&target.region));
    // Boxed: the nested SDK futures are otherwise deep enough to hit the compiler's layout
    // recursion limit in the binary.
    let summary = Box::pin(run::run(
        &clients.ec2,
        &clients.region(),
        copy_ec2.as_ref(),
        config,
        now,
        dry_run,
    ))
    .await;
    let json = serde_json::to_string(&summary).unwrap_or_default();
    if summary.ok() {
        info!(summary = %json, "document snapshots done");
        Ok(summary)
    } else {
        error!(summary = %json, "document snapshots incomplete");
        Err(Failed(Box::new(summary)))
    }
}

/// The Lambda entry point: [`handle`] at the current time, in a span carrying the request id.
pub async fn invoke(
    clients: &Clients,
    config: &Config,
    event: lambda_runtime::LambdaEvent<Request>,
) -> Result<Summary, Failed> {
    let span = info_span!("document_snapshotter", request_id = %event.context.request_id, event_id = event.payload.id.as_deref().unwrap_or(""));
    handle(clients, config, &event.payload, OffsetDateTime::now_utc())
        .instrument(span)
        .await
}
