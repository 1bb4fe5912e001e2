//! The restore drill's Lambda tasks: one zip, deployed three times and told apart by the
//! input's `task` (stack_contract::restore_drill):
//! - `RestoreDrillFunction` (source stack), the state machine's steps: [`orchestrator`]
//!   gather → build → check … → teardown → check-teardown … → report;
//! - `FingerprintRecorderFunction` (source stack, in its VPC, nightly): [`data::record_fingerprint`];
//! - `<drill stack>-verifier` (drill stack, in the drill's VPC): [`data::verify`].
//!
//! Decisions are pure ([`plan`], [`fingerprint::compare`], [`report::build`]); the tasks
//! gather through the SDK and the data readers ([`observe`]), decide, act.

pub mod bucket;
pub mod config;
pub mod data;
pub mod error;
pub mod fingerprint;
pub mod http;
pub mod observe;
pub mod orchestrator;
pub mod plan;
pub mod report;
pub mod state;

use serde_json::Value;
use stack_contract::env::Env;
use stack_contract::restore_drill::{
    DRILL_PARAMETER_OVERRIDES, STATE, TASK, TASK_BUILD, TASK_CHECK, TASK_CHECK_TEARDOWN,
    TASK_GATHER, TASK_RECORD_FINGERPRINT, TASK_REPORT, TASK_TEARDOWN, TASK_VERIFY,
};
use time::OffsetDateTime;

pub use error::DrillError;
use state::DrillState;

/// The clients the tasks call, built once per process (`main`).
#[derive(Clone)]
pub struct Clients {
    /// For the recovery look-up shared with stack-ops, which builds its own clients.
    pub sdk: aws_config::SdkConfig,
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        Clients {
            sdk: sdk.clone(),
            cfn: aws_sdk_cloudformation::Client::new(sdk),
            s3: aws_clients::s3_client(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            ec2: aws_sdk_ec2::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
        }
    }
}

/// Runs the task the event names, with configuration from `env`.
/// Returns the new state (the recorder: the fingerprint).
pub async fn handle<F: Fn(&str) -> Option<String>>(
    clients: &Clients,
    env: &Env<F>,
    event: Value,
    now: OffsetDateTime,
    metrics: &mut (dyn std::io::Write + Send),
) -> Result<Value, DrillError> {
    let task = event[TASK].as_str().unwrap_or_default().to_owned();
    let state = || -> Result<DrillState, DrillError> {
        serde_json::from_value(
            event
                .get(STATE)
                .cloned()
                .unwrap_or(Value::Null)
                .as_object()
                .map_or(Value::Object(Default::default()), |o| {
                    Value::Object(o.clone())
                }),
        )
        .map_err(|e| DrillError::BadState(e.to_string()))
    };
    let done = |state: DrillState| Ok(serde_json::to_value(state).expect("a state serialises"));
    match task.as_str() {
        TASK_RECORD_FINGERPRINT => {
            let config = config::DataConfig::read(env)?;
            let fingerprint = data::record_fingerprint(&clients.s3, &config, now).await?;
            Ok(serde_json::to_value(fingerprint).expect("a fingerprint serialises"))
        }
        TASK_VERIFY => {
            let config = config::DataConfig::read(env)?;
            done(data::verify(&clients.s3, &config, state()?, now).await?)
        }
        TASK_GATHER | TASK_BUILD | TASK_CHECK | TASK_TEARDOWN | TASK_CHECK_TEARDOWN
        | TASK_REPORT => {
            let config = config::OrchestratorConfig::read(env)?;
            let state = state()?;
            done(match task.as_str() {
                TASK_GATHER => orchestrator::gather(clients, &config, state, now).await?,
                TASK_BUILD => {
                    orchestrator::build(clients, &config, DRILL_PARAMETER_OVERRIDES, state, now)
                        .await?
                }
                TASK_CHECK => orchestrator::check(clients, state, now).await?,
                TASK_TEARDOWN => orchestrator::teardown(clients, &config, state, now).await?,
                TASK_CHECK_TEARDOWN => {
                    orchestrator::check_teardown(clients, &config, state, now).await?
                }
                _ => orchestrator::report(clients, &config, state, now, metrics).await?,
            })
        }
        _ => Err(DrillError::UnknownTask(task)),
    }
}
