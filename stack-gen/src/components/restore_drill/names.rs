//! The drill component's names: its logical IDs and parameters, its bounds and time-outs, and
//! the ARNs of what a drill names.

use serde_json::{Value, json};
use stack_contract::restore_drill::{DRILL_TAG, DRILL_TAG_VALUE, STACK_INFIX};

use crate::cfn::{find_in_map, ref_, sub, sub_with};
use crate::stack::drill_name_prefix;

pub const ORCHESTRATOR: &str = "RestoreDrillFunction";
pub const ORCHESTRATOR_ROLE: &str = "RestoreDrillRole";
pub const STACK_ROLE: &str = "DrillStackRole";
pub const STATE_MACHINE: &str = "RestoreDrillStateMachine";
pub const STATE_MACHINE_ROLE: &str = "RestoreDrillStateMachineRole";
pub const STATE_MACHINE_LOG_GROUP: &str = "RestoreDrillStateMachineLogGroup";
pub const SCHEDULE: &str = "RestoreDrillSchedule";
pub const SCHEDULE_ROLE: &str = "RestoreDrillScheduleRole";
pub const RECORDER: &str = "FingerprintRecorderFunction";
pub const RECORDER_ROLE: &str = "FingerprintRecorderRole";
pub const RECORDER_SCHEDULE: &str = "FingerprintRecorderSchedule";
pub const VERIFIER: &str = "DrillVerifierFunction";
pub const VERIFIER_ROLE: &str = "DrillVerifierRole";
/// The EFS access point the recorder and the verifier mount.
pub const ACCESS_POINT: &str = "DataReaderAccessPoint";
/// Condition: `DrillSchedule` is not `off`.
pub const DRILL_ON: &str = "DrillScheduled";
pub const SCHEDULE_PARAMETER: &str = "DrillSchedule";
pub const WAIT_PARAMETER: &str = "DrillWaitMinutes";
pub const TOLERANCE_PARAMETER: &str = "DrillTolerancePercent";
pub const MAX_AGE_PARAMETER: &str = "DrillMaxAgeDays";
pub const OVERDUE_ALARM: &str = "RestoreDrillOverdueAlarm";
/// Alarms when a drill execution fails.
pub const FAILED_EXECUTION_ALARM: &str = "RestoreDrillFailedAlarm";
/// The mapping holding the drill template's S3 key (in `LambdaCodeBucket`).
pub const TEMPLATE_MAPPING: &str = "DrillTemplate";
/// Bounds of `DrillWaitMinutes` (`stack_contract`): at least the drill stack's own creation
/// time-outs, [`creation_timeout_minutes`].
pub use stack_contract::restore_drill::orchestrator::WAIT_MINUTES_RANGE;

/// The longest a drill stack's creation can take before CloudFormation itself gives up: the
/// NFS agent's restore (its signal's time-out), then the application's deployment (Elastic
/// Beanstalk's command time-out plus the 4 minutes it adds).
pub const fn creation_timeout_minutes() -> u32 {
    crate::components::nfs_backup::RECOVERY_SIGNAL_MINUTES
        + crate::components::application::DRILL_DEPLOYMENT_TIMEOUT_SECONDS / 60
        + 4
}

/// The drill stack's parameters the orchestrator sets to the smallest instance classes (the
/// contract's table: the function passes it, the tests here check the template accepts it).
pub use stack_contract::restore_drill::DRILL_PARAMETER_OVERRIDES;

/// Timeouts of the three functions (seconds).
pub(super) const ORCHESTRATOR_TIMEOUT: u32 = 120;
pub(super) const DATA_READER_TIMEOUT: u32 = 900;

/// `arn:<partition>:cloudformation:<region>:<account>:stack/<source>-drill-*/*`: the drill
/// stacks of this stack (`<source>-drill-<yyyymmdd>`).
pub(super) fn drill_stacks() -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/${{AWS::StackName}}{STACK_INFIX}*/*"
    ))
}

/// The drill template's HTTPS URL in the code bucket (CloudFormation's TemplateURL).
pub fn template_url() -> Value {
    sub_with(
        "https://${LambdaCodeBucket}.s3.${AWS::Region}.amazonaws.com/${Key}",
        json!({ "Key": template_key() }),
    )
}

pub(super) fn template_key() -> Value {
    find_in_map(TEMPLATE_MAPPING, json!("Recovery"), "S3Key")
}

/// The source stack, which nothing of the drill may change: `AWS::StackId`.
pub(super) fn source_stack() -> Value {
    ref_("AWS::StackId")
}

/// Condition: the resource carries the drill tag.
pub(super) fn tagged_as_drill() -> Value {
    json!({ "StringEquals": { (format!("aws:ResourceTag/{DRILL_TAG}")): DRILL_TAG_VALUE } })
}

/// `text` (an `Fn::Sub` text) with `${Prefix}` = [`drill_name_prefix`]: the ARNs of what the
/// drill names.
pub(super) fn with_drill_prefix(text: &str) -> Value {
    sub_with(text, json!({ "Prefix": drill_name_prefix() }))
}

/// Log groups named `prefix*` (an `Fn::Sub` text that may use `${Prefix}`).
pub(super) fn log_groups(prefix: &str) -> Value {
    with_drill_prefix(&format!(
        "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}*"
    ))
}

pub(super) fn drill_buckets(objects: bool) -> Value {
    with_drill_prefix(if objects {
        "arn:${AWS::Partition}:s3:::${Prefix}*/*"
    } else {
        "arn:${AWS::Partition}:s3:::${Prefix}*"
    })
}
