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

/// The clients and configuration of one invocation.
pub struct Snapshotter {
    pub ec2: aws_sdk_ec2::Client,
    /// The stack's region (the copy's source region).
    pub region: String,
    /// A client in the copy region, when copying is configured.
    pub copy_ec2: Option<aws_sdk_ec2::Client>,
    pub config: Config,
}

impl Snapshotter {
    /// Clients for the stack's region and, if configured, the copy region.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, config: Config) -> Snapshotter {
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        let copy_ec2 = config.copy.as_ref().map(|target| {
            let conf = aws_sdk_ec2::config::Builder::from(sdk)
                .region(aws_sdk_ec2::config::Region::new(target.region.clone()))
                .build();
            aws_sdk_ec2::Client::from_conf(conf)
        });
        Snapshotter {
            ec2,
            region,
            copy_ec2,
            config,
        }
    }

    /// Handles one event at `now`: dry run if the event or `DRY_RUN` asks.
    pub async fn handle(&self, request: &Request, now: OffsetDateTime) -> Result<Summary, Failed> {
        let dry_run = self.config.dry_run || request.detail.dry_run;
        // Boxed: the nested SDK futures are otherwise deep enough to hit the compiler's
        // layout recursion limit in the binary.
        let summary = Box::pin(run::run(
            &self.ec2,
            &self.region,
            self.copy_ec2.as_ref(),
            &self.config,
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

    /// The Lambda entry point: [`Snapshotter::handle`] at the current time, in a span carrying
    /// the request id.
    pub async fn invoke(
        &self,
        event: lambda_runtime::LambdaEvent<Request>,
    ) -> Result<Summary, Failed> {
        let span = info_span!("document_snapshotter", request_id = %event.context.request_id, event_id = event.payload.id.as_deref().unwrap_or(""));
        self.handle(&event.payload, OffsetDateTime::now_utc())
            .instrument(span)
            .await
    }
}
