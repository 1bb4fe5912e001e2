//! Acting on a [`Report`]: the EMF lines out, a log line per check, the operators' alert.
//! What is written is built purely in [`crate::output`]; here it only goes out.

use std::io::Write;

use aws_clients::ApiError;
use time::OffsetDateTime;

use crate::checks::Report;
use crate::gather::{ApiCalls, count};
use crate::output;

/// Writes one EMF line per check and the `FailedChecks` line (stdout in Lambda, where
/// CloudWatch extracts the metrics), timestamped `now`.
pub fn write_metrics(
    report: &Report,
    stack: &str,
    now: OffsetDateTime,
    out: &mut (dyn Write + Send),
) {
    for line in output::emf_lines(report, stack, now) {
        // A lost metric line must not hide the verdict: the error alarm still fires on failure.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// One `tracing` line per check: info when it passed, error when it failed.
pub fn log_checks(report: &Report) {
    for c in &report.checks {
        if c.ok {
            tracing::info!(check = %c.name, "{}", c.message);
        } else {
            tracing::error!(check = %c.name, "{}", c.message);
        }
    }
}

/// Sends the operators' alert about a failed `report`. A failure to send is logged only: the
/// failed invocation still raises the error alarm.
pub async fn alert(
    sns: &aws_sdk_sns::Client,
    topic: &str,
    report: &Report,
    stack: &str,
    calls: &ApiCalls,
) {
    let log_group = std::env::var("AWS_LAMBDA_LOG_GROUP_NAME").ok();
    let (subject, message) = output::alert(report, stack, log_group.as_deref());
    if let Err(error) = publish(sns, topic, &subject, &message, calls).await {
        tracing::error!(%error, "could not publish the alert; the failed invocation still raises the error alarm");
    }
}

/// Sends one SNS message.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic: &str,
    subject: &str,
    message: &str,
    calls: &ApiCalls,
) -> Result<(), ApiError> {
    count(&calls.sns_publish);
    aws_clients::alert::publish(sns, topic, subject, message).await
}
