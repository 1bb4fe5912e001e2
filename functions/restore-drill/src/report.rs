//! The drill's report (`recovery/drills/<yyyy-mm-dd>.json`), its EMF metrics and the
//! operators' alert, all made from the state only: names, times, counts — never data.

use aws_clients::EmfLine;
use serde::{Deserialize, Serialize};
use stack_contract::restore_drill::{
    DATA_AGE_HOURS_METRIC, NAMESPACE, OK_METRIC, RECOVERY_MINUTES_METRIC, REPORT_PREFIX,
    STACK_DIMENSION,
};
use time::OffsetDateTime;

use crate::fingerprint::{Check, Verification};
use crate::state::{DrillState, Step};

/// Format of the report.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format_version: u32,
    pub stack: String,
    pub drill_stack: Option<String>,
    pub execution: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub finished: OffsetDateTime,
    pub ok: bool,
    /// Recovery time: drill start to the application answering, minutes.
    pub recovery_minutes: Option<f64>,
    /// Recovery point: age of the restored data (database snapshot) at drill start, hours.
    pub data_age_hours: Option<f64>,
    pub restored_from: Option<RestoredFrom>,
    pub steps: Vec<Step>,
    pub verification: Option<Verification>,
    /// Why it failed, one line each.
    pub problems: Vec<String>,
    /// Differences within the tolerance, one line each.
    pub drift: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoredFrom {
    pub rds_snapshot_arn: String,
    pub couchdb_snapshot: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub fingerprint_recorded_at: Option<OffsetDateTime>,
}

fn minutes(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    ((to - from).as_seconds_f64() / 60.0 * 10.0).round() / 10.0
}

/// The report of a finished drill. It passed only if the application answered, every check
/// passed, no step failed and the drill stack is gone.
pub fn build(state: &DrillState, finished: OffsetDateTime) -> Report {
    // Every failed step is among the failures (`DrillState::fail`), even one a retry went on
    // to mend (a failed teardown attempt): a report never says ok beside a failed step.
    let mut problems = state.failures.clone();
    if let Some(v) = &state.verification {
        problems.extend(v.failed().map(Check::describe));
    } else if state.failures.is_empty() {
        problems.push("the restored application was not verified".into());
    }
    let drift = state
        .verification
        .iter()
        .flat_map(|v| v.drifted().map(Check::describe))
        .collect();
    let recovery_minutes = match (state.started, state.application_answered) {
        (Some(s), Some(a)) => Some(minutes(s, a)),
        _ => None,
    };
    let data_age_hours = match (
        state.started,
        state.inputs.as_ref().and_then(|i| i.data_time),
    ) {
        (Some(s), Some(d)) => Some((minutes(d, s) / 60.0 * 10.0).round() / 10.0),
        _ => None,
    };
    Report {
        format_version: FORMAT_VERSION,
        stack: state.source_stack.clone(),
        drill_stack: state.drill_stack.clone(),
        execution: state.execution.clone(),
        started: state.started,
        finished,
        ok: problems.is_empty() && state.application_answered.is_some(),
        recovery_minutes,
        data_age_hours,
        restored_from: state.inputs.as_ref().map(|i| RestoredFrom {
            rds_snapshot_arn: i.rds_snapshot_arn.clone(),
            couchdb_snapshot: i.couchdb_snapshot.clone(),
            fingerprint_recorded_at: state.fingerprint.as_ref().map(|f| f.recorded_at),
        }),
        steps: state.steps.clone(),
        verification: state.verification.clone(),
        problems,
        drift,
    }
}

/// `recovery/drills/<yyyy-mm-dd>.json`, by the drill's start (its finish without one).
pub fn key(report: &Report) -> String {
    let day = report.started.unwrap_or(report.finished).date();
    format!(
        "{REPORT_PREFIX}{:04}-{:02}-{:02}.json",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The EMF line: `DrillOk` always, `RecoveryMinutes` and `DataAgeHours` when measured.
pub fn emf_line(report: &Report) -> String {
    let mut line = EmfLine::new(NAMESPACE, report.finished)
        .dimension(STACK_DIMENSION, report.stack.as_str())
        .metric(OK_METRIC, "Count", u8::from(report.ok));
    if let Some(m) = report.recovery_minutes {
        line = line.metric(RECOVERY_MINUTES_METRIC, "None", m);
    }
    if let Some(h) = report.data_age_hours {
        line = line.metric(DATA_AGE_HOURS_METRIC, "None", h);
    }
    line.render()
}

/// Subject and body of the operators' alert for a failed (or refused) drill.
pub fn alert(report: &Report, report_location: Option<&str>) -> (String, String) {
    let subject =
        aws_clients::alert::subject(&format!("OpenEMR restore drill FAILED ({})", report.stack));
    let mut body = format!(
        "The restore drill of stack {} ({}) did not prove that the backups restore the application.\n\n",
        report.stack,
        report
            .drill_stack
            .as_deref()
            .unwrap_or("no drill stack was built")
    );
    for problem in &report.problems {
        body.push_str(&format!("- {problem}\n"));
    }
    if let Some(location) = report_location {
        body.push_str(&format!("\nReport: {location}\n"));
    }
    body.push_str("\nWhat to do: README, \"When a restore drill fails\".\n");
    (subject, body)
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::fingerprint::Verification;
    use crate::state::StepResult;

    /// A verified, answering drill is ok only while no step failed: a teardown attempt that
    /// failed (the stack's deletion failed once, then went through) makes it not ok, and says so.
    #[test]
    fn a_report_is_never_ok_beside_a_failed_step() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut passed = DrillState {
            started: Some(now - Duration::hours(1)),
            application_answered: Some(now - Duration::minutes(30)),
            verification: Some(Verification {
                ok: true,
                checks: vec![],
            }),
            ..DrillState::default()
        };
        passed.record("teardown", now, now, StepResult::Ok, "drill stack deleted");
        assert!(build(&passed, now).ok);
        let mut retried = DrillState {
            steps: vec![],
            ..passed.clone()
        };
        let why = "DELETE_FAILED: the bucket was not empty";
        retried.fail("teardown", now, now, StepResult::Failed, why);
        retried.record("teardown", now, now, StepResult::Ok, "drill stack deleted");
        let report = build(&retried, now);
        assert!(!report.ok);
        assert_eq!(
            report.problems,
            ["teardown: DELETE_FAILED: the bucket was not empty"]
        );
    }
}
