//! The drill's one error type: each failure names what it was doing and what to do, and maps
//! to a stable Lambda `errorType` (README, "Restore drill") that the report and the state
//! machine's execution history show.

use aws_clients::ApiError;
use stack_contract::env::EnvError;

use crate::observe::ObserveError;

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(
        "the input has no known task ({0:?}): give {{\"task\": \"gather\" | \"build\" | \"check\" | \"verify\" | \"teardown\" | \"check-teardown\" | \"report\" | \"record-fingerprint\"}}"
    )]
    UnknownTask(String),
    #[error("the input's state is not a drill state: {0}")]
    BadState(String),
    #[error("configuration: {0}")]
    Config(#[from] EnvError),
    #[error("{0}")]
    Lookup(#[from] recovery_lookup::LookupError),
    #[error(
        "another drill of {stack} is still there: {running}; it must be deleted before the next drill (teardown runs at its end)"
    )]
    AlreadyRunning { stack: String, running: String },
    #[error(
        "no fingerprint at s3://{bucket}/{key}: the recorder (FingerprintRecorderFunction) writes one every night at BackupHour; run it by hand or wait a night"
    )]
    NoFingerprint { bucket: String, key: String },
    #[error("{what}: {error}")]
    Aws { what: String, error: ApiError },
    #[error("{0}")]
    Observe(#[from] ObserveError),
    #[error("{0}")]
    Stack(String),
    #[error("refusing to delete {0}: it is not a drill stack of this stack")]
    NotADrill(String),
    #[error(
        "refusing to record a fingerprint of no site: {0}. EFS must hold OpenEMR's sites/ (the application servers' hook moves an original stack's site there at its next deployment); a fingerprint of nothing would let a drill that restores nothing pass"
    )]
    NoSite(String),
}

/// The `errorType` of a refused drill; the report task tells a refusal by it.
pub const ALREADY_RUNNING: &str = "DrillAlreadyRunning";

impl DrillError {
    pub fn aws(what: impl Into<String>, error: ApiError) -> DrillError {
        DrillError::Aws {
            what: what.into(),
            error,
        }
    }

    /// The Lambda `errorType` of this failure (stable; README lists them).
    pub fn error_type(&self) -> &'static str {
        match self {
            DrillError::UnknownTask(_) => "DrillUnknownTask",
            DrillError::BadState(_) => "DrillBadState",
            DrillError::Config(_) => "DrillConfig",
            DrillError::Lookup(_) => "DrillRecoveryInputs",
            DrillError::AlreadyRunning { .. } => ALREADY_RUNNING,
            DrillError::NoFingerprint { .. } => "DrillNoFingerprint",
            DrillError::Aws { .. } => "DrillAwsCall",
            DrillError::Observe(_) => "DrillDataUnreadable",
            DrillError::Stack(_) => "DrillStack",
            DrillError::NotADrill(_) => "DrillNotADrillStack",
            DrillError::NoSite(_) => "DrillNoSite",
        }
    }
}

impl From<DrillError> for lambda_runtime::Diagnostic {
    fn from(error: DrillError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}
