//! `RestoreDrillStateMachine`: the drill's steps as Step Functions runs them ([`definition`]),
//! and the state machine with its role and log group.

use serde_json::{Value, json};
use stack_contract::restore_drill::{
    DRILL_OK, ERROR, OUTCOME, OUTCOME_DELETED, OUTCOME_FAILED, OUTCOME_READY, OUTCOME_WAITING,
    STATE, TASK, TASK_BUILD, TASK_CHECK, TASK_CHECK_TEARDOWN, TASK_GATHER, TASK_REPORT,
    TASK_TEARDOWN, TASK_VERIFY, TEARDOWN_ERROR, VERIFIER_FUNCTION, VERIFIER_SUFFIX,
};

use super::names::*;
use crate::cfn::{allow, get_att, policy_document, resource, sub};
use crate::template::Template;
/// Errors of the Lambda service itself, worth a retry of any task.
pub(super) const LAMBDA_ERRORS: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

pub(super) fn lambda_retry() -> Value {
    json!({ "ErrorEquals": LAMBDA_ERRORS, "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 2 })
}

pub(super) fn catch(next: &str) -> Value {
    catch_into(ERROR, next)
}

/// A Catch that puts the error at `$.<field>`: the failed task's input goes on unchanged.
pub(super) fn catch_into(field: &str, next: &str) -> Value {
    json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": format!("$.{field}"), "Next": next }])
}

/// The placeholder of the orchestrator's ARN in the definition (`DefinitionSubstitutions`).
pub const ORCHESTRATOR_ARN: &str = "${RestoreDrillFunctionArn}";

/// An orchestrator task: the function's output becomes the state.
pub(super) fn task(task: &str, next: &str, on_error: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": ORCHESTRATOR_ARN,
        "Parameters": { (TASK): task, (format!("{STATE}.$")): "$" },
        "ResultPath": "$",
        "Retry": [lambda_retry()],
        "Catch": catch(on_error),
        "Next": next
    })
}

pub(super) fn wait(next: &str) -> Value {
    json!({ "Type": "Wait", "Seconds": 60, "Next": next })
}

pub(super) fn outcome_is(value: &str, next: &str) -> Value {
    json!({ "Variable": format!("$.{OUTCOME}"), "StringEquals": value, "Next": next })
}

/// The state machine's definition (Amazon States Language), with [`ORCHESTRATOR_ARN`] for the
/// orchestrator's ARN. State names are stable: tests and the README name them.
pub fn definition() -> Value {
    // A failed teardown step keeps, beside its own error, the error that sent the drill to
    // teardown (still in its input): the report has both.
    let teardown_task = |task_name: &str, next: &str| {
        let mut t = task(task_name, next, "Report");
        t["Catch"] = catch_into(TEARDOWN_ERROR, "Report");
        t
    };
    let mut teardown = teardown_task(TASK_TEARDOWN, "WaitForTeardown");
    // Teardown fails once: retried.
    teardown["Retry"] = json!([
        lambda_retry(),
        { "ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 2, "BackoffRate": 2 }
    ]);
    let mut report = task(TASK_REPORT, "Outcome", "DrillFailed");
    // A report lost to a transient S3 or SNS error would leave no report, no alert and no
    // metric: retried for a few minutes (the task is idempotent: same key, same message).
    report["Retry"] = json!([
        lambda_retry(),
        { "ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 4, "BackoffRate": 2 }
    ]);
    json!({
        "Comment": "OpenEMR restore drill: rebuild the stack from last night's backups in a drill stack, verify, delete it, report",
        "StartAt": "Start",
        "States": {
            // The execution's id and start time are the state from the first step on, so that
            // every Catch (Gather's too) hands on a state that has them.
            "Start": {
                "Type": "Pass",
                "Parameters": { "execution.$": "$$.Execution.Id", "started.$": "$$.Execution.StartTime" },
                "Next": "Gather"
            },
            "Gather": task(TASK_GATHER, "Build", "Report"),
            "Build": task(TASK_BUILD, "WaitForStack", "Teardown"),
            "WaitForStack": wait("CheckStack"),
            "CheckStack": task(TASK_CHECK, "StackReady", "Teardown"),
            "StackReady": {
                "Type": "Choice",
                "Choices": [outcome_is(OUTCOME_WAITING, "WaitForStack"), outcome_is(OUTCOME_READY, "Verify")],
                "Default": "Teardown"
            },
            "Verify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName.$": format!("$.{VERIFIER_FUNCTION}"),
                    "Payload": { (TASK): TASK_VERIFY, (format!("{STATE}.$")): "$" }
                },
                "ResultPath": "$",
                "OutputPath": "$.Payload",
                "TimeoutSeconds": DATA_READER_TIMEOUT,
                "Retry": [lambda_retry()],
                "Catch": catch("Teardown"),
                "Next": "Teardown"
            },
            "Teardown": teardown,
            "WaitForTeardown": wait("CheckTeardown"),
            "CheckTeardown": teardown_task(TASK_CHECK_TEARDOWN, "TeardownDone"),
            "TeardownDone": {
                "Type": "Choice",
                "Choices": [
                    outcome_is(OUTCOME_WAITING, "WaitForTeardown"),
                    outcome_is(OUTCOME_DELETED, "Report"),
                    outcome_is(OUTCOME_FAILED, "Teardown")
                ],
                "Default": "Report"
            },
            "Report": report,
            "Outcome": {
                "Type": "Choice",
                "Choices": [{ "Variable": format!("$.{DRILL_OK}"), "BooleanEquals": true, "Next": "DrillSucceeded" }],
                "Default": "DrillFailed"
            },
            "DrillSucceeded": { "Type": "Succeed" },
            "DrillFailed": {
                "Type": "Fail",
                "Error": "DrillFailed",
                "Cause": "The restore drill failed: its report in the stack bucket (recovery/drills/) and the OperatorAlerts message say which step."
            }
        }
    })
}

pub(super) fn add_state_machine(t: &mut Template) {
    t.add_resource(STATE_MACHINE_LOG_GROUP, crate::stack::log_group(None));
    let verifiers = |tail: &str| {
        with_drill_prefix(&format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:${{Prefix}}*{VERIFIER_SUFFIX}{tail}"
        ))
    };
    t.add_resource(
        STATE_MACHINE_ROLE,
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": crate::cfn::assume_role_policy_for_this_account("states.amazonaws.com"),
                "Policies": [{ "PolicyName": "RestoreDrill", "PolicyDocument": policy_document(vec![
                    allow(
                        &["lambda:InvokeFunction"],
                        json!([
                            get_att(ORCHESTRATOR, "Arn"),
                            sub("${RestoreDrillFunction.Arn}:*"),
                            verifiers(""),
                            verifiers(":*")
                        ]),
                    ),
                    // Step Functions' log delivery: these support no resource-level permissions.
                    allow(
                        &[
                            "logs:CreateLogDelivery",
                            "logs:GetLogDelivery",
                            "logs:UpdateLogDelivery",
                            "logs:DeleteLogDelivery",
                            "logs:ListLogDeliveries",
                            "logs:PutResourcePolicy",
                            "logs:DescribeResourcePolicies",
                            "logs:DescribeLogGroups"
                        ],
                        json!(["*"]),
                    )
                ]) }]
            }),
        ),
    );
    t.add_resource(
        STATE_MACHINE,
        resource(
            "AWS::StepFunctions::StateMachine",
            json!({
                "StateMachineType": "STANDARD",
                "RoleArn": get_att(STATE_MACHINE_ROLE, "Arn"),
                "Definition": definition(),
                "DefinitionSubstitutions": {
                    (ORCHESTRATOR_ARN.trim_start_matches("${").trim_end_matches('}')): get_att(ORCHESTRATOR, "Arn")
                },
                "LoggingConfiguration": {
                    "Level": "ERROR",
                    // The drill's state names stacks and snapshots, no patient data; kept out of
                    // the logs anyway.
                    "IncludeExecutionData": false,
                    "Destinations": [{ "CloudWatchLogsLogGroup": { "LogGroupArn": get_att(STATE_MACHINE_LOG_GROUP, "Arn") } }]
                },
                "TracingConfiguration": { "Enabled": false }
            }),
        ),
    );
}
