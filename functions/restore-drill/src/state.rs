//! The drill's state: the Step Functions execution's `$`, passed to every task and returned by
//! it with the task's part filled in. Every field has a default, because a task may receive
//! the state of a drill that failed before it (the Catch adds `error` and goes on).

use serde::{Deserialize, Serialize};
use stack_contract::restore_drill::{TASK_REPORT, TASK_TEARDOWN};
use time::OffsetDateTime;

use crate::fingerprint::{Fingerprint, Verification};

/// The recovery inputs the drill restores from (the shared recovery look-up's answer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub kms_key_arn: String,
    pub bucket: String,
    pub rds_snapshot_arn: String,
    #[serde(default)]
    pub couchdb_snapshot: Option<String>,
    /// When the database snapshot was taken: the age of the restored data counts from here.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub data_time: Option<OffsetDateTime>,
}

/// A failed step's error as Step Functions' Catch records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl TaskError {
    /// The error's message: a Lambda's Cause is JSON with `errorMessage`; others are text.
    pub fn message(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.cause)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
            .unwrap_or_else(|| self.cause.clone())
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    Ok,
    Failed,
    TimedOut,
    Refused,
}

/// One step of the drill, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished: OffsetDateTime,
    pub result: StepResult,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillState {
    /// The Step Functions execution (its ARN).
    #[serde(default)]
    pub execution: String,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub started: Option<OffsetDateTime>,
    #[serde(default)]
    pub source_stack: String,
    #[serde(default)]
    pub drill_stack: Option<String>,
    #[serde(default)]
    pub stack_id: Option<String>,
    #[serde(default)]
    pub inputs: Option<Inputs>,
    #[serde(default)]
    pub fingerprint: Option<Fingerprint>,
    #[serde(default)]
    pub tolerance_percent: u32,
    /// Until when `check` waits for the drill stack.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ready_by: Option<OffsetDateTime>,
    /// The verifier function in the drill stack (the Verify state invokes it by this name).
    #[serde(default)]
    pub verifier_function: Option<String>,
    #[serde(default)]
    pub application_url: Option<String>,
    /// When the application first answered (the end of the recovery time).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub application_answered: Option<OffsetDateTime>,
    #[serde(default)]
    pub verification: Option<Verification>,
    /// What the Choice states read: `stack_contract::restore_drill::OUTCOME_*`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub teardown_attempts: u32,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub deleted_by: Option<OffsetDateTime>,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Errors of failed steps, in order (from the Catch's `error`).
    #[serde(default)]
    pub failures: Vec<String>,
    /// Set by the Catch of a failed step; moved into `failures` by the next task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TaskError>,
    /// Set by the Catch of a failed teardown or check-teardown (`TEARDOWN_ERROR`), beside
    /// `error`; moved into `failures` by the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown_error: Option<TaskError>,
    /// The drill was not run because another one is running.
    #[serde(default)]
    pub refused: bool,
    #[serde(default)]
    pub report_key: Option<String>,
    /// The final verdict (the last Choice reads it).
    #[serde(default)]
    pub ok: bool,
}

impl DrillState {
    /// The step a caught error (`error`) came from, told by the task it was handed to (the
    /// Catch records only the error) and how far the drill got: Report receives gather's
    /// (nothing built yet); Teardown those of build, wait and verify.
    pub fn failed_step(&self, receiver: &str) -> &'static str {
        if receiver == TASK_REPORT {
            "gather"
        } else if self.verifier_function.is_some() {
            "verify"
        } else if self.stack_id.is_some() {
            "wait"
        } else if self.drill_stack.is_some() {
            "build"
        } else {
            "gather"
        }
    }

    /// Moves a caught error (handed to the task `receiver`) into `failures` and records the
    /// step it came from as failed.
    pub fn absorb_error(&mut self, receiver: &str, now: OffsetDateTime) {
        if let Some(error) = self.error.take() {
            let step = self.failed_step(receiver);
            self.absorb(step, &error, now);
        }
    }

    /// The report's share of caught errors: a failed teardown's (`teardown_error`), and in
    /// `error` either gather's or, when teardown failed before it could take it, the error of
    /// the step that sent the drill to teardown.
    pub fn absorb_report_errors(&mut self, now: OffsetDateTime) {
        let teardown = self.teardown_error.take();
        let receiver = if teardown.is_some() {
            TASK_TEARDOWN
        } else {
            TASK_REPORT
        };
        self.absorb_error(receiver, now);
        if let Some(error) = teardown {
            self.absorb("teardown", &error, now);
        }
    }

    /// Records `error` as step `step`'s failure. A failed teardown leaves the drill stack
    /// standing: the failure says so, and how to delete it. Another drill's running is a
    /// refusal, not a failed drill.
    fn absorb(&mut self, step: &str, error: &TaskError, now: OffsetDateTime) {
        if error.error == crate::error::ALREADY_RUNNING {
            self.refused = true;
        }
        let mut message = format!("{}: {}", error.error, error.message());
        if step == "teardown" {
            let stack = self.drill_stack.as_deref().unwrap_or("the drill stack");
            message.push_str(&format!(
                "; the drill stack {stack} may still exist: delete it by hand (aws cloudformation delete-stack --stack-name {stack})"
            ));
        }
        self.fail(step, now, now, StepResult::Failed, message);
    }

    /// Records step `name` as failed (or timed out) and its failure among the report's
    /// problems: the one way a step fails, so that a report is never ok beside a failed step.
    pub fn fail(
        &mut self,
        name: &str,
        started: OffsetDateTime,
        finished: OffsetDateTime,
        result: StepResult,
        why: impl Into<String>,
    ) {
        let why = why.into();
        self.failures.push(format!("{name}: {why}"));
        self.record(name, started, finished, result, why);
    }

    pub fn record(
        &mut self,
        name: &str,
        started: OffsetDateTime,
        finished: OffsetDateTime,
        result: StepResult,
        detail: impl Into<String>,
    ) {
        self.steps.push(Step {
            name: name.to_owned(),
            started,
            finished,
            result,
            detail: detail.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use stack_contract::restore_drill::{TASK_REPORT, TASK_TEARDOWN};

    use super::*;

    #[test]
    fn a_caught_error_is_charged_to_the_step_that_failed() {
        let name = |drill_stack: bool, stack_id: bool, verifier: bool| DrillState {
            drill_stack: drill_stack.then(|| "openemr-drill-20261206".to_owned()),
            stack_id: stack_id
                .then(|| "arn:aws:cloudformation:…/openemr-drill-20261206/u".to_owned()),
            verifier_function: verifier.then(|| "openemr-drill-20261206-verifier".to_owned()),
            ..DrillState::default()
        };
        // (state, the task the Catch hands it to) → the step that failed
        let cases = [
            (name(false, false, false), TASK_REPORT, "gather"),
            (name(true, false, false), TASK_TEARDOWN, "build"),
            (name(true, true, false), TASK_TEARDOWN, "wait"),
            (name(true, true, true), TASK_TEARDOWN, "verify"),
        ];
        for (state, receiver, step) in cases {
            assert_eq!(state.failed_step(receiver), step, "{state:?} → {receiver}");
        }
    }

    #[test]
    fn a_failed_teardown_says_the_stack_may_still_exist_and_how_to_delete_it() {
        let mut state = DrillState {
            drill_stack: Some("openemr-drill-20261206".into()),
            teardown_error: Some(TaskError {
                error: "DrillAwsCall".into(),
                cause: r#"{"errorMessage":"describing the drill stack: dispatch failure"}"#.into(),
            }),
            ..DrillState::default()
        };
        state.absorb_report_errors(OffsetDateTime::UNIX_EPOCH);
        assert!(state.teardown_error.is_none());
        assert_eq!(state.steps[0].name, "teardown");
        assert_eq!(state.steps[0].result, StepResult::Failed);
        assert!(
            state.failures[0].starts_with("teardown: DrillAwsCall: describing the drill stack")
                && state.failures[0].contains("delete-stack --stack-name openemr-drill-20261206"),
            "{}",
            state.failures[0]
        );
    }

    /// Build failed, and then teardown too: the teardown's Catch keeps build's error beside
    /// its own, and the report has both, each charged to its step.
    #[test]
    fn a_failed_teardown_keeps_the_error_that_sent_the_drill_to_teardown() {
        let caught = |error: &str| TaskError {
            error: error.into(),
            cause: format!(r#"{{"errorMessage":"{error} happened"}}"#),
        };
        let mut state = DrillState {
            drill_stack: Some("openemr-drill-20261206".into()),
            error: Some(caught("DrillStackFailed")),
            teardown_error: Some(caught("DrillAwsCall")),
            ..DrillState::default()
        };
        state.absorb_report_errors(OffsetDateTime::UNIX_EPOCH);
        let steps: Vec<&str> = state.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(steps, ["build", "teardown"]);
        assert!(
            state.failures[0].starts_with("build: DrillStackFailed"),
            "{:?}",
            state.failures
        );
        assert!(
            state.failures[1].starts_with("teardown: DrillAwsCall"),
            "{:?}",
            state.failures
        );
        assert!(state.error.is_none() && state.teardown_error.is_none());
    }
}
