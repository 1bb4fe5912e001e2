//! backup-checker: runs every night after the backups and proves they exist, are fresh and line
//! up — the EFS duplicity chain in the stack bucket's `Backup/`, the passphrase object, the
//! newest snapshot of each document volume and of the database, and the skew between them.
//!
//! One run is: [`gather`] the facts through the SDK into [`Findings`] → [`checks::evaluate`]
//! them, purely, into a [`Report`] → [`act`] on it: EMF metric lines, a log line per check and,
//! when a check failed, an SNS alert and a failed invocation ([`Error`]), so both the metric
//! alarm and the Lambda error alarm fire.

pub mod act;
pub mod checks;
pub mod config;
pub mod duplicity;
pub mod gather;
pub mod output;
pub mod stamp;

use std::io::Write;

use aws_clients::ApiError;
use serde::Serialize;
use serde_json::Value;
use stack_contract::env::EnvError;
use time::OffsetDateTime;

pub use checks::{Findings, Report};
pub use config::Config;
use gather::ApiCalls;
pub use gather::Clients;

/// Why an invocation failed. Its [`lambda_runtime::Diagnostic`] `error_type` is stable (see
/// README.md, "Errors").
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A variable is missing or invalid: every invocation fails until the stack is fixed.
    #[error("backup checker configuration: {0}")]
    Config(#[from] EnvError),
    /// A check found a backup missing, stale, broken or out of line.
    #[error("{}", output::failure_summary(.0))]
    ChecksFailed(Box<Report>),
    /// Checks failed only because AWS calls failed: no backup was found wrong, none could be
    /// looked at (permissions, throttling, an outage).
    #[error("backup check unverified, AWS calls failed: {}", unverified_summary(.errors))]
    Unverified {
        /// (check, the AWS call's error) of each failed check.
        errors: Vec<(String, ApiError)>,
        report: Box<Report>,
    },
}

impl Error {
    /// The error of a run whose `report` failed.
    pub fn failed(report: Report) -> Error {
        if report.unverified() {
            let errors = report
                .failed()
                .filter_map(|c| Some((c.name.clone(), c.api_error.clone()?)))
                .collect();
            Error::Unverified {
                errors,
                report: Box::new(report),
            }
        } else {
            Error::ChecksFailed(Box::new(report))
        }
    }

    /// The `error_type` of the invocation's failure (README.md, "Errors").
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Config(_) => "BackupCheckConfig",
            Error::ChecksFailed(_) => "BackupChecksFailed",
            Error::Unverified { .. } => "BackupCheckUnverified",
        }
    }

    /// The report of a run that ran (not for a configuration error).
    pub fn report(&self) -> Option<&Report> {
        match self {
            Error::Config(_) => None,
            Error::ChecksFailed(report) | Error::Unverified { report, .. } => Some(report),
        }
    }
}

fn unverified_summary(errors: &[(String, ApiError)]) -> String {
    let parts: Vec<String> = errors.iter().map(|(c, e)| format!("{c}: {e}")).collect();
    parts.join(" | ")
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}

/// One run's result: the report and the API requests it took.
#[derive(Debug, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub report: Report,
    pub api_calls: ApiCalls,
}

/// Gathers everything and judges it at `now`. Never fails: an AWS error is a failed check.
pub async fn check(clients: &Clients, config: &Config, now: OffsetDateTime) -> Run {
    let calls = ApiCalls::default();
    let findings = gather::findings(clients, config, &calls).await;
    Run {
        report: checks::evaluate(&findings, now, config.limits),
        api_calls: calls,
    }
}

/// A full invocation: check, write the EMF lines to `metrics_out` (stdout in Lambda), alert and
/// fail when a check failed. Ok carries the run as JSON.
pub async fn handle(
    clients: &Clients,
    config: &Config,
    now: OffsetDateTime,
    metrics_out: &mut (dyn Write + Send),
) -> Result<Value, Error> {
    let run = check(clients, config, now).await;
    act::write_metrics(&run.report, &config.stack, now, metrics_out);
    act::log_checks(&run.report);
    if run.report.ok {
        tracing::info!(
            api_calls = run.api_calls.total(),
            "all backup checks passed"
        );
        return Ok(serde_json::to_value(&run).unwrap_or_default());
    }
    if let Some(topic) = &config.topic {
        act::alert(
            &clients.sns,
            topic,
            &run.report,
            &config.stack,
            &run.api_calls,
        )
        .await;
    }
    Err(Error::failed(run.report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Check;

    fn report(api_error: Option<ApiError>) -> Report {
        Report {
            ok: false,
            checked_at: "2026-11-25T10:00:01Z".into(),
            checks: vec![Check {
                name: "passphrase".into(),
                ok: false,
                message: "could not read the metadata of s3://b/Backup/passphrase.txt".into(),
                look: "aws s3api head-object".into(),
                metrics: vec![],
                api_error,
            }],
            newest: vec![],
            skew_seconds: None,
        }
    }

    #[test]
    fn each_failure_has_its_error_type() {
        let missing = Config::from_vars(|_| None).unwrap_err();
        let cases = [
            (Error::from(missing), "BackupCheckConfig", "BACKUP_BUCKET"),
            (
                Error::failed(report(None)),
                "BackupChecksFailed",
                "passphrase",
            ),
            (
                Error::failed(report(Some(ApiError::new("AccessDenied", "denied")))),
                "BackupCheckUnverified",
                "passphrase: AccessDenied: denied",
            ),
        ];
        for (error, error_type, words) in cases {
            let diagnostic = lambda_runtime::Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, error_type);
            assert!(
                diagnostic.error_message.contains(words),
                "{}",
                diagnostic.error_message
            );
        }
    }
}
