//! The restore drill (issue 13): every month, the source stack rebuilds itself from last
//! night's backups in a drill stack, checks from inside it that OpenEMR came back with the
//! data, deletes it and reports.
//!
//! In the source stack (not in a recovery stack, not in a drill stack):
//! - `RestoreDrillFunction`, the orchestrator (the `restore-drill` zip, not in a VPC), run by
//!   `RestoreDrillStateMachine` (Step Functions, [`definition`]) on a schedule
//!   (`DrillSchedule`, the first Sunday of each month at BackupHour + 5 h UTC) or by hand
//!   (`aws stepfunctions start-execution --state-machine-arn <output RestoreDrillStateMachine>`);
//! - `DrillStackRole`, the CloudFormation service role the drill stack is created and deleted
//!   with, which may never touch the source stack (explicit Deny statements);
//! - `FingerprintRecorderFunction` (same zip, in the private subnets, reading the database,
//!   CouchDB and EFS), nightly at BackupHour: counts and sizes into `recovery/fingerprint.json`.
//!
//! In the drill stack ([`Options::drill`]): `DrillVerifierFunction`, the recorder's deployment
//! shape with the verifier's task, named `<drill stack>-verifier`, which the state machine
//! invokes by name.
//!
//! Names the template and the functions share are `stack_contract::restore_drill`'s.

use serde_json::{Value, json};
use stack_contract::restore_drill::{
    BEANSTALK_LOG_GROUPS, DEFAULT_MAX_AGE_DAYS, DRILL_OK, DRILL_TAG, DRILL_TAG_VALUE, ERROR,
    FINGERPRINT_KEY, LAMBDA_LOG_GROUPS, MAX_AGE_DAYS_RANGE, OUTCOME, OUTCOME_DELETED,
    OUTCOME_FAILED, OUTCOME_READY, OUTCOME_WAITING, RDS_LOG_GROUPS, REPORT_PREFIX,
    SOURCE_STACK_TAG, STACK_INFIX, STATE, TASK, TASK_BUILD, TASK_CHECK, TASK_CHECK_TEARDOWN,
    TASK_GATHER, TASK_RECORD_FINGERPRINT, TASK_REPORT, TASK_TEARDOWN, TASK_VERIFY, TEARDOWN_ERROR,
    VERIFIER_FUNCTION, VERIFIER_OUTPUT, VERIFIER_SUFFIX, data, orchestrator,
};

use crate::cfn::{
    allow, find_in_map, get_att, if_, ingress_from_group, no_value, policy_document, ref_,
    resource, security_group, sub, sub_with,
};
use crate::components::document_store::{ADMIN_PASSWORD_KEY, COUCHDB_PORT};
use crate::lambda::{RustFunction, Schedule, add_function, add_role, add_schedule};
use crate::options::Options;
use crate::stack::{
    ALERT_TOPIC, DATA_SECURITY_GROUP, ZONE, drill_name_prefix, drill_resource_name, key_arn,
};
use crate::template::Template;

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
pub use orchestrator::WAIT_MINUTES_RANGE;

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
const ORCHESTRATOR_TIMEOUT: u32 = 120;
const DATA_READER_TIMEOUT: u32 = 900;

/// Whether the stack has the drill of section A (the orchestration, the recorder): a source
/// stack, not a recovery stack or a drill.
pub fn drills(o: &Options) -> bool {
    !o.recovery && !o.drill
}

pub fn add(t: &mut Template, o: &Options) {
    if o.drill {
        add_verifier(t, o);
    } else if drills(o) {
        add_parameters(t);
        add_stack_role(t, o);
        add_orchestrator(t, o);
        add_state_machine(t);
        add_failed_execution_alarm(t);
        add_drill_schedule(t);
        add_recorder(t, o);
    }
}

/// The longest name IAM gives a role and Lambda a function.
pub const MAX_ROLE_OR_FUNCTION_NAME: usize = 64;

/// The name properties of the types a drill names, and the longest each may be.
pub const NAMED_TYPES: [(&str, &str, usize); 4] = [
    ("AWS::IAM::Role", "RoleName", MAX_ROLE_OR_FUNCTION_NAME),
    ("AWS::IAM::InstanceProfile", "InstanceProfileName", 128),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName", 128),
    (
        "AWS::Lambda::Function",
        "FunctionName",
        MAX_ROLE_OR_FUNCTION_NAME,
    ),
];

/// Drill mode: every role, instance profile, managed policy and function is named
/// `openemr-<source group>-drill-<drill group>-<logical id>` ([`drill_resource_name`]), the
/// names the source's `DrillStackRole` may create, pass and delete and whose log groups its
/// orchestrator may delete. The names CloudFormation would generate start with the drill
/// stack's name, which it shortens when the source's name is long: those would fall outside
/// the role's patterns, and a function's could exceed 64 characters.
pub fn name_everything(t: &mut Template) {
    for (id, resource) in t.resources_mut().iter_mut() {
        let Some((_, property, _)) = NAMED_TYPES
            .iter()
            .find(|(type_, _, _)| resource["Type"] == *type_)
        else {
            continue;
        };
        let properties = &mut resource["Properties"];
        if properties.get(*property).is_none() {
            properties[*property] = drill_resource_name(Some(id));
        }
    }
}

/// Drill mode: every resource goes with the stack (no snapshot, nothing retained).
pub fn delete_everything(t: &mut Template) {
    for resource in t.resources_mut().values_mut() {
        resource["DeletionPolicy"] = json!("Delete");
        resource["UpdateReplacePolicy"] = json!("Delete");
    }
}

fn add_parameters(t: &mut Template) {
    t.add_parameter(
        SCHEDULE_PARAMETER,
        json!({
            "Type": "String",
            "Default": "monthly",
            "AllowedValues": ["monthly", "off"],
            "Description": "monthly: the restore drill rebuilds the stack from last night's backups in a temporary drill stack on the first Sunday of each month (BackupHour + 5 h, UTC), verifies it and deletes it. off: no scheduled drill and no overdue alarm (a drill can still be started by hand)."
        }),
    );
    t.add_parameter(
        WAIT_PARAMETER,
        json!({
            "Type": "Number",
            "Default": orchestrator::DEFAULT_WAIT_MINUTES,
            "MinValue": WAIT_MINUTES_RANGE.0,
            "MaxValue": WAIT_MINUTES_RANGE.1,
            "Description": "Minutes the drill waits for its stack to be created before it gives up, reports a failure and deletes it."
        }),
    );
    t.add_parameter(
        TOLERANCE_PARAMETER,
        json!({
            "Type": "Number",
            "Default": orchestrator::DEFAULT_TOLERANCE_PERCENT,
            "MinValue": orchestrator::TOLERANCE_PERCENT_RANGE.0,
            "MaxValue": orchestrator::TOLERANCE_PERCENT_RANGE.1,
            "Description": "Percent by which the drill's row, document and file counts may differ from the nightly fingerprint (writes between the fingerprint and the snapshots) and still pass, reported."
        }),
    );
    t.add_parameter(
        MAX_AGE_PARAMETER,
        json!({
            "Type": "Number",
            "Default": DEFAULT_MAX_AGE_DAYS,
            "MinValue": MAX_AGE_DAYS_RANGE.0,
            "MaxValue": MAX_AGE_DAYS_RANGE.1,
            "Description": "Alarm when no restore drill succeeded for this many days (while DrillSchedule is monthly)."
        }),
    );
    t.add_condition(
        DRILL_ON,
        json!({ "Fn::Not": [{ "Fn::Equals": [ref_(SCHEDULE_PARAMETER), "off"] }] }),
    );
}

/// `arn:<partition>:cloudformation:<region>:<account>:stack/<source>-drill-*/*`: the drill
/// stacks of this stack (`<source>-drill-<yyyymmdd>`).
fn drill_stacks() -> Value {
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

fn template_key() -> Value {
    find_in_map(TEMPLATE_MAPPING, json!("Recovery"), "S3Key")
}

/// The source stack, which nothing of the drill may change: `AWS::StackId`.
fn source_stack() -> Value {
    ref_("AWS::StackId")
}

/// Condition: the resource carries the drill tag.
fn tagged_as_drill() -> Value {
    json!({ "StringEquals": { (format!("aws:ResourceTag/{DRILL_TAG}")): DRILL_TAG_VALUE } })
}

/// `text` (an `Fn::Sub` text) with `${Prefix}` = [`drill_name_prefix`]: the ARNs of what the
/// drill names.
fn with_drill_prefix(text: &str) -> Value {
    sub_with(text, json!({ "Prefix": drill_name_prefix() }))
}

/// Log groups named `prefix*` (an `Fn::Sub` text that may use `${Prefix}`).
fn log_groups(prefix: &str) -> Value {
    with_drill_prefix(&format!(
        "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}*"
    ))
}

fn drill_buckets(objects: bool) -> Value {
    with_drill_prefix(if objects {
        "arn:${AWS::Partition}:s3:::${Prefix}*/*"
    } else {
        "arn:${AWS::Partition}:s3:::${Prefix}*"
    })
}

/// What the orchestrator may do (see the module and docs/roles.md).
fn orchestrator_statements(o: &Options) -> Vec<Value> {
    let kms_via_s3 =
        json!({ "StringEquals": { "kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com") } });
    let mut statements = vec![
        // Gather: the source stack and its resources, as `stack-ops recovery-params` reads them.
        allow(
            &[
                "cloudformation:DescribeStacks",
                "cloudformation:ListStackResources",
            ],
            json!([source_stack()]),
        ),
        // ListStacks (one drill at a time) and GetTemplateSummary (the drill template's
        // parameters) support no resource-level permissions.
        allow(
            &[
                "cloudformation:ListStacks",
                "cloudformation:GetTemplateSummary",
            ],
            json!(["*"]),
        ),
        // Build: only drill stacks of this stack, tagged as drills, from the drill template,
        // with the drill's service role.
        json!({
            "Effect": "Allow",
            "Action": ["cloudformation:CreateStack"],
            "Resource": [drill_stacks()],
            "Condition": { "StringEquals": {
                (format!("aws:RequestTag/{DRILL_TAG}")): DRILL_TAG_VALUE,
                (format!("aws:RequestTag/{SOURCE_STACK_TAG}")): ref_("AWS::StackName"),
                "cloudformation:RoleArn": get_att(STACK_ROLE, "Arn"),
                "cloudformation:TemplateUrl": template_url()
            } }
        }),
        // Tags given with CreateStack are authorised as TagResource too (without the
        // CreateStack-only keys).
        json!({
            "Effect": "Allow",
            "Action": ["cloudformation:TagResource"],
            "Resource": [drill_stacks()],
            "Condition": { "StringEquals": {
                (format!("aws:RequestTag/{DRILL_TAG}")): DRILL_TAG_VALUE,
                (format!("aws:RequestTag/{SOURCE_STACK_TAG}")): ref_("AWS::StackName")
            } }
        }),
        allow(
            &[
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:ListStackResources",
            ],
            json!([drill_stacks()]),
        ),
        json!({
            "Effect": "Allow",
            "Action": ["cloudformation:DeleteStack"],
            "Resource": [drill_stacks()],
            "Condition": tagged_as_drill()
        }),
        json!({
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [get_att(STACK_ROLE, "Arn")],
            "Condition": { "StringEquals": { "iam:PassedToService": "cloudformation.amazonaws.com" } }
        }),
        // CloudFormation fetches TemplateURL with the caller's credentials.
        allow(
            &["s3:GetObject"],
            json!([sub_with(
                "arn:${AWS::Partition}:s3:::${LambdaCodeBucket}/${Key}",
                json!({ "Key": template_key() })
            )]),
        ),
        // The recovery inputs: the newest snapshots and the key.
        allow(
            &["rds:DescribeDBSnapshots"],
            json!([
                crate::components::database::db_arn(),
                sub("arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:snapshot:*")
            ]),
        ),
        // Describe calls of EC2 support no resource-level permissions.
        allow(
            &["ec2:DescribeSnapshots", "ec2:DescribeVolumes"],
            json!(["*"]),
        ),
        allow(&["kms:DescribeKey"], json!([key_arn(o)])),
        // The fingerprint in, the report out (SSE-KMS with the stack key, through S3).
        allow(
            &["s3:GetObject"],
            json!([crate::stack::bucket_objects(FINGERPRINT_KEY)]),
        ),
        allow(
            &["s3:PutObject"],
            json!([crate::stack::bucket_objects(&format!("{REPORT_PREFIX}*"))]),
        ),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn(o)],
            "Condition": kms_via_s3
        }),
        allow(&["sns:Publish"], json!([ref_(ALERT_TOPIC)])),
        // Teardown's leftovers: only what carries the drill tag, or the drill's names.
        json!({
            "Effect": "Allow",
            "Action": ["ec2:DeleteVolume"],
            "Resource": [sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*")],
            "Condition": tagged_as_drill()
        }),
        json!({
            "Effect": "Allow",
            "Action": ["ec2:DeleteSnapshot"],
            "Resource": [sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*")],
            "Condition": tagged_as_drill()
        }),
        // DescribeLogGroups is authorised on the account's log groups as a whole.
        allow(
            &["logs:DescribeLogGroups"],
            json!([sub(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
            )]),
        ),
        // The groups of the leftovers' prefixes (stack_contract::restore_drill::LAMBDA_LOG_GROUPS …).
        allow(
            &["logs:DeleteLogGroup"],
            json!([
                log_groups(&format!("{LAMBDA_LOG_GROUPS}${{Prefix}}")),
                log_groups(&format!("{BEANSTALK_LOG_GROUPS}${{Prefix}}")),
                log_groups(&format!("{RDS_LOG_GROUPS}${{Prefix}}"))
            ]),
        ),
        // Emptying the drill's own buckets, so that DeleteStack can delete them.
        allow(
            &["s3:ListBucket", "s3:ListBucketVersions"],
            json!([drill_buckets(false)]),
        ),
        allow(
            &["s3:DeleteObject", "s3:DeleteObjectVersion"],
            json!([drill_buckets(true)]),
        ),
    ];
    statements.extend(crate::stack::list_bucket(
        crate::stack::bucket_arn(),
        &[FINGERPRINT_KEY, &format!("{REPORT_PREFIX}*")],
    ));
    // Whatever the statements above allow: never the source stack.
    statements.push(json!({
        "Sid": "NeverTheSourceStack",
        "Effect": "Deny",
        "Action": [
            "cloudformation:DeleteStack",
            "cloudformation:UpdateStack",
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet"
        ],
        "Resource": [source_stack()]
    }));
    statements
}

/// The services the recovery template's resources belong to (creating and deleting them is
/// the drill stack's job; their ids do not exist before CloudFormation creates them, so these
/// cannot be scoped by ARN).
const DRILL_SERVICES: [&str; 14] = [
    "ec2:*",
    "elasticloadbalancing:*",
    "elasticbeanstalk:*",
    "autoscaling:*",
    "rds:*",
    "elasticache:*",
    "elasticfilesystem:*",
    "route53:*",
    "logs:*",
    "lambda:*",
    "kms:*",
    "sns:*",
    "cloudwatch:*",
    "s3:*",
];

/// Mutating actions, for the Deny that protects whatever the source stack tagged.
const MUTATING: [&str; 45] = [
    "ec2:Delete*",
    "ec2:Modify*",
    "ec2:Terminate*",
    "ec2:Stop*",
    "ec2:Detach*",
    "ec2:Disassociate*",
    "ec2:Revoke*",
    "ec2:Replace*",
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "rds:Delete*",
    "rds:Modify*",
    "rds:Stop*",
    "rds:Reboot*",
    "rds:RemoveTagsFromResource",
    "elasticache:Delete*",
    "elasticache:Modify*",
    "elasticfilesystem:Delete*",
    "elasticfilesystem:Put*",
    "elasticfilesystem:Update*",
    "elasticloadbalancing:Delete*",
    "elasticloadbalancing:Modify*",
    "elasticloadbalancing:Remove*",
    "elasticbeanstalk:Terminate*",
    "elasticbeanstalk:Update*",
    "elasticbeanstalk:Delete*",
    "lambda:Delete*",
    "lambda:Update*",
    "kms:ScheduleKeyDeletion",
    "kms:Disable*",
    "kms:PutKeyPolicy",
    "ec2:Reboot*",
    "autoscaling:Delete*",
    "autoscaling:Update*",
    "autoscaling:Terminate*",
    "autoscaling:Detach*",
    "autoscaling:Set*",
    "autoscaling:Suspend*",
    "autoscaling:Put*",
    "elasticloadbalancing:Deregister*",
    "elasticloadbalancing:Set*",
    "elasticbeanstalk:Rebuild*",
    "elasticbeanstalk:Restart*",
    "elasticbeanstalk:Swap*",
    "elasticache:Reboot*",
];

/// The drill stack's service role.
fn stack_role_statements(o: &Options) -> Vec<Value> {
    // The drill's IAM names (`name_everything`): `openemr-<source group>-drill-<drill>-<id>`.
    let iam_arn = |kind: &str| {
        with_drill_prefix(&format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{kind}/${{Prefix}}*"
        ))
    };
    use crate::components::application::{EB_APPLICATION, EB_ENVIRONMENT};
    let with_sid = |sid: &str, mut statement: Value| {
        statement["Sid"] = json!(sid);
        statement
    };
    let beanstalk_arn = |kind: &str, tail: &str| {
        sub(&format!(
            "arn:${{AWS::Partition}}:elasticbeanstalk:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/${{{EB_APPLICATION}}}{tail}"
        ))
    };
    let mut mutating_or_stacks: Vec<&str> = MUTATING.to_vec();
    mutating_or_stacks.push("cloudformation:*");
    vec![
        // The reasons for the wildcards: stack-gen/tests/hardening.rs (DRILL_STACK_ROLE_REASONS).
        with_sid(
            "BuildTheDrillsResources",
            allow(&DRILL_SERVICES, json!(["*"])),
        ),
        // Elastic Beanstalk builds the environment with a CloudFormation stack of its own,
        // with the caller's (this role's) permissions.
        with_sid(
            "ElasticBeanstalksOwnStacks",
            allow(
                &["cloudformation:*"],
                json!([sub(
                    "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/awseb-*"
                )]),
            ),
        ),
        with_sid(
            "ReadStacks",
            allow(
                &["cloudformation:DescribeStacks", "cloudformation:ListStacks"],
                json!(["*"]),
            ),
        ),
        // The drill's own roles and instance profiles only (CloudFormation names them
        // `<drill stack>-<logical id>-<suffix>`).
        allow(
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:GetRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:PassRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
            ],
            json!([iam_arn("role")]),
        ),
        // The drill's own managed policies (AWS::IAM::ManagedPolicy's handler permissions in
        // its registry schema), named like its roles.
        allow(
            &[
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:ListEntitiesForPolicy",
            ],
            json!([iam_arn("policy")]),
        ),
        // RDS's create handler lists roles (AWS::RDS::DBInstance's registry schema).
        with_sid("ListRoles", allow(&["iam:ListRoles"], json!(["*"]))),
        // The instances' images are `resolve:ssm:` names in their launch templates: EC2
        // resolves them as the caller of RunInstances (EC2 user guide, "Use a Systems Manager
        // parameter instead of an AMI ID"), which is this role.
        allow(
            &["ssm:GetParameters"],
            json!([sub(
                "arn:${AWS::Partition}:ssm:${AWS::Region}:*:parameter/*"
            )]),
        ),
        allow(
            &[
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
            ],
            json!([iam_arn("instance-profile")]),
        ),
        // The services' own roles, made once per account when missing.
        json!({
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": ["*"],
            "Condition": { "StringLike": { "iam:AWSServiceName": [
                "elasticbeanstalk.amazonaws.com",
                "elasticloadbalancing.amazonaws.com",
                "autoscaling.amazonaws.com",
                "rds.amazonaws.com",
                "elasticache.amazonaws.com",
                "elasticfilesystem.amazonaws.com"
            ] } }
        }),
        // Whatever the statements above allow, never the source stack's resources.
        json!({
            "Sid": "NeverWhatTheSourceStackTagged",
            "Effect": "Deny",
            "Action": MUTATING.as_slice(),
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:ResourceTag/aws:cloudformation:stack-name": ref_("AWS::StackName") } }
        }),
        json!({
            "Sid": "NeverTheSourceStack",
            "Effect": "Deny",
            "Action": ["cloudformation:*"],
            "Resource": [source_stack()]
        }),
        // Elastic Beanstalk's resources carry the environment's name, not the source stack's:
        // its instances, scaling group, security groups, target group and `awseb-*` stack.
        json!({
            "Sid": "NeverWhatTheSourceEnvironmentRuns",
            "Effect": "Deny",
            "Action": mutating_or_stacks,
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:ResourceTag/elasticbeanstalk:environment-name": ref_(EB_ENVIRONMENT) } }
        }),
        // The source's application, its environments, versions and saved configurations:
        // nothing but reading.
        json!({
            "Sid": "NeverTheSourceApplication",
            "Effect": "Deny",
            "NotAction": ["elasticbeanstalk:Describe*", "elasticbeanstalk:List*"],
            "Resource": [
                beanstalk_arn("application", ""),
                beanstalk_arn("environment", "/*"),
                beanstalk_arn("applicationversion", "/*"),
                beanstalk_arn("configurationtemplate", "/*")
            ]
        }),
        // No bucket but the drill's own and Elastic Beanstalk's storage is written to,
        // reconfigured or emptied: not the source's stack, trail or access-log buckets, nor
        // any other in the account.
        json!({
            "Sid": "NeverAnotherBucket",
            "Effect": "Deny",
            "Action": [
                "s3:PutObject*",
                "s3:DeleteObject*",
                "s3:RestoreObject",
                "s3:PutBucket*",
                "s3:DeleteBucket*",
                "s3:PutLifecycleConfiguration",
                "s3:PutEncryptionConfiguration",
                "s3:PutReplicationConfiguration"
            ],
            "NotResource": [
                drill_buckets(false),
                drill_buckets(true),
                sub("arn:${AWS::Partition}:s3:::elasticbeanstalk-${AWS::Region}-${AWS::AccountId}"),
                sub("arn:${AWS::Partition}:s3:::elasticbeanstalk-${AWS::Region}-${AWS::AccountId}/*")
            ]
        }),
        json!({
            "Sid": "NeverTheSourceKey",
            "Effect": "Deny",
            "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation", "kms:RevokeGrant", "kms:RetireGrant"],
            "Resource": [key_arn(o)]
        }),
        json!({
            "Sid": "NeverTheSourceDatabase",
            "Effect": "Deny",
            "Action": ["rds:Delete*", "rds:Modify*", "rds:Stop*", "rds:Reboot*"],
            "Resource": [crate::components::database::db_arn()]
        }),
    ]
}

fn add_stack_role(t: &mut Template, o: &Options) {
    t.add_resource(
        STACK_ROLE,
        resource(
            "AWS::IAM::Role",
            json!({
                "Description": sub("CloudFormation builds and deletes the restore drill stacks of ${AWS::StackName} with this role; it may never change that stack's resources"),
                "AssumeRolePolicyDocument": policy_document(vec![json!({
                    "Effect": "Allow",
                    "Principal": { "Service": ["cloudformation.amazonaws.com"] },
                    "Action": ["sts:AssumeRole"],
                    "Condition": { "StringEquals": { "aws:SourceAccount": ref_("AWS::AccountId") } }
                })]),
                "Policies": [{ "PolicyName": "DrillStack", "PolicyDocument": policy_document(stack_role_statements(o)) }]
            }),
        ),
    );
}

fn add_orchestrator(t: &mut Template, o: &Options) {
    t.add_mapping(
        TEMPLATE_MAPPING,
        json!({ "Recovery": { "S3Key": o.code.drill_template_key() } }),
    );
    add_role(
        t,
        ORCHESTRATOR_ROLE,
        ORCHESTRATOR,
        orchestrator_statements(o),
    );
    add_function(
        t,
        RustFunction {
            id: ORCHESTRATOR,
            code: "RestoreDrill",
            role: ORCHESTRATOR_ROLE,
            description: "The restore drill's steps (RestoreDrillStateMachine): gathers the recovery inputs, builds, checks and deletes the drill stack, reports",
            environment: json!({
                (orchestrator::STACK_NAME): ref_("AWS::StackName"),
                (orchestrator::BUCKET): crate::stack::bucket(),
                (orchestrator::KMS_KEY_ARN): key_arn(o),
                (orchestrator::TEMPLATE_URL): template_url(),
                (orchestrator::STACK_ROLE_ARN): get_att(STACK_ROLE, "Arn"),
                (orchestrator::TOPIC): ref_(ALERT_TOPIC),
                (orchestrator::WAIT_MINUTES): ref_(WAIT_PARAMETER),
                (orchestrator::TOLERANCE_PERCENT): ref_(TOLERANCE_PARAMETER),
            }),
            timeout_seconds: ORCHESTRATOR_TIMEOUT,
            memory_mb: 256,
            reserved_concurrency: 2,
        },
    );
}

/// Errors of the Lambda service itself, worth a retry of any task.
const LAMBDA_ERRORS: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

fn lambda_retry() -> Value {
    json!({ "ErrorEquals": LAMBDA_ERRORS, "IntervalSeconds": 2, "MaxAttempts": 2, "BackoffRate": 2 })
}

fn catch(next: &str) -> Value {
    catch_into(ERROR, next)
}

/// A Catch that puts the error at `$.<field>`: the failed task's input goes on unchanged.
fn catch_into(field: &str, next: &str) -> Value {
    json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": format!("$.{field}"), "Next": next }])
}

/// The placeholder of the orchestrator's ARN in the definition (`DefinitionSubstitutions`).
pub const ORCHESTRATOR_ARN: &str = "${RestoreDrillFunctionArn}";

/// An orchestrator task: the function's output becomes the state.
fn task(task: &str, next: &str, on_error: &str) -> Value {
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

fn wait(next: &str) -> Value {
    json!({ "Type": "Wait", "Seconds": 60, "Next": next })
}

fn outcome_is(value: &str, next: &str) -> Value {
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

fn add_state_machine(t: &mut Template) {
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
                "AssumeRolePolicyDocument": policy_document(vec![json!({
                    "Effect": "Allow",
                    "Principal": { "Service": ["states.amazonaws.com"] },
                    "Action": ["sts:AssumeRole"],
                    "Condition": { "StringEquals": { "aws:SourceAccount": ref_("AWS::AccountId") } }
                })]),
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

/// Alarms when a drill execution fails: a failed drill (its report has already alerted) and
/// what no report tells, a drill that could not report at all.
fn add_failed_execution_alarm(t: &mut Template) {
    t.add_resource(
        FAILED_EXECUTION_ALARM,
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": sub("A restore drill execution of ${AWS::StackName} failed. Its report (recovery/drills/ in the stack bucket) says why; without a report, the execution's history in Step Functions does."),
                "Namespace": "AWS/States",
                "MetricName": "ExecutionsFailed",
                "Dimensions": [{ "Name": "StateMachineArn", "Value": ref_(STATE_MACHINE) }],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [ref_(ALERT_TOPIC)]
            }
        }),
    );
}

fn add_drill_schedule(t: &mut Template) {
    t.add_resource(
        SCHEDULE_ROLE,
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": policy_document(vec![json!({
                    "Effect": "Allow",
                    "Principal": { "Service": ["events.amazonaws.com"] },
                    "Action": ["sts:AssumeRole"],
                    "Condition": { "StringEquals": { "aws:SourceAccount": ref_("AWS::AccountId") } }
                })]),
                "Policies": [{ "PolicyName": "StartDrill", "PolicyDocument": policy_document(vec![
                    allow(&["states:StartExecution"], json!([ref_(STATE_MACHINE)]))
                ]) }]
            }),
        ),
    );
    t.add_resource(
        SCHEDULE,
        resource(
            "AWS::Events::Rule",
            json!({
                "Description": "Starts the restore drill on the first Sunday of each month (BackupHour + 5 h, UTC), unless DrillSchedule is off",
                "ScheduleExpression": crate::components::backup_schedule::drill_schedule(),
                "State": if_(DRILL_ON, json!("ENABLED"), json!("DISABLED")),
                "Targets": [{ "Arn": ref_(STATE_MACHINE), "Id": "RestoreDrill", "RoleArn": get_att(SCHEDULE_ROLE, "Arn") }]
            }),
        ),
    );
    t.add_output(
        STATE_MACHINE,
        json!({
            "Description": "The restore drill. Start one by hand: aws stepfunctions start-execution --state-machine-arn <this value>",
            "Value": ref_(STATE_MACHINE)
        }),
    );
}

/// The recorder's and the verifier's deployment: the same zip in the stack's private subnets,
/// allowed into the database, CouchDB and EFS, mounting EFS read-only through an access point.
struct DataReader<'a> {
    id: &'a str,
    role: &'a str,
    description: &'a str,
    environment: Value,
    /// Statements besides the shared ones (the recorder's fingerprint write).
    statements: Vec<Value>,
}

fn add_data_reader_network(t: &mut Template, o: &Options) {
    t.add_resource(
        DATA_SECURITY_GROUP,
        security_group(
            if o.drill {
                "OpenEMR drill verifier (Lambda): reads the restored database, CouchDB and EFS, asks the load balancer for the login page"
            } else {
                "OpenEMR fingerprint recorder (Lambda): reads the database, CouchDB and EFS"
            },
            "data-reader",
        ),
    );
    t.add_resource(
        "DBDataReaderIngress",
        ingress_from_group(
            "DBSecurityGroup",
            3306,
            DATA_SECURITY_GROUP,
            "MySQL from the fingerprint recorder / drill verifier (counts only)",
        ),
    );
    if o.document_store() {
        t.add_resource(
            "CouchDBDataReaderIngress",
            ingress_from_group(
                "CouchDBSecurityGroup",
                COUCHDB_PORT,
                DATA_SECURITY_GROUP,
                "CouchDB (TLS) from the fingerprint recorder / drill verifier (counts only)",
            ),
        );
    }
    t.add_resource(
        "EFSDataReaderIngress",
        ingress_from_group(
            "EFSSecurityGroup",
            2049,
            DATA_SECURITY_GROUP,
            "NFS from the fingerprint recorder / drill verifier (read-only mount)",
        ),
    );
    t.add_resource(
        ACCESS_POINT,
        resource(
            "AWS::EFS::AccessPoint",
            json!({
                "FileSystemId": ref_("ElasticFileSystem"),
                // Root, to read every file of the site whatever its owner; read-only through
                // IAM (ClientMount without ClientWrite).
                "PosixUser": { "Uid": "0", "Gid": "0" },
                "RootDirectory": { "Path": "/" },
                "AccessPointTags": [crate::cfn::name_tag("data-reader")]
            }),
        ),
    );
}

fn data_reader_statements(o: &Options) -> Vec<Value> {
    use crate::components::certs::CA_CERT_KEY;
    let mut objects = vec![
        crate::stack::bucket_objects(stack_contract::bucket::MANIFEST_KEY),
        crate::stack::bucket_objects(CA_CERT_KEY),
    ];
    if o.document_store() {
        objects.push(crate::stack::bucket_objects(ADMIN_PASSWORD_KEY));
    }
    vec![
        allow(&["s3:GetObject"], json!(objects)),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn(o)],
            "Condition": { "StringEquals": { "kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com") } }
        }),
        // Lambda mounts EFS with the function's role: read-only (no ClientWrite), as root
        // (the access point's user), through the access point only.
        json!({
            "Effect": "Allow",
            "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"],
            "Resource": [get_att("ElasticFileSystem", "Arn")],
            "Condition": { "StringEquals": { "elasticfilesystem:AccessPointArn": get_att(ACCESS_POINT, "Arn") } }
        }),
        // AWSLambdaVPCAccessExecutionRole's network-interface actions, in its form: on "*"
        // without conditions. Lambda checks them with the execution role when it creates the
        // function, with no subnet, VPC or interface in the request; a statement scoped to
        // ARNs or by `ec2:Vpc` fails that check (tests/lambda_create.rs).
        allow(
            &[
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            json!(["*"]),
        ),
    ]
}

fn data_environment(o: &Options) -> Value {
    let mut env = json!({
        (data::STACK_NAME): ref_("AWS::StackName"),
        (data::BUCKET): crate::stack::bucket(),
        (data::KMS_KEY_ARN): key_arn(o),
        (data::DB_HOST): get_att(crate::components::database::DB_INSTANCE, "Endpoint.Address"),
        (data::DB_PORT): get_att(crate::components::database::DB_INSTANCE, "Endpoint.Port"),
        (data::DB_TLS): ref_(crate::components::database::REQUIRE_TLS_PARAMETER),
        (data::EFS_MOUNT): data::DEFAULT_EFS_MOUNT,
    });
    if o.document_store() {
        env[data::COUCHDB_URL] = json!(format!("https://couchdb.{ZONE}:{COUCHDB_PORT}"));
    }
    env
}

fn add_data_reader(t: &mut Template, o: &Options, r: DataReader) {
    let mut statements = data_reader_statements(o);
    statements.extend(r.statements);
    add_role(t, r.role, r.id, statements);
    add_function(
        t,
        RustFunction {
            id: r.id,
            code: "RestoreDrill",
            role: r.role,
            description: r.description,
            environment: r.environment,
            timeout_seconds: DATA_READER_TIMEOUT,
            memory_mb: 512,
            reserved_concurrency: 1,
        },
    );
    let mut depends_on = vec![json!("EFSMountPrivate1"), json!("EFSMountPrivate2")];
    for subnet in ["PrivateSubnet1", "PrivateSubnet2"] {
        for id in crate::components::network::private_egress(o, subnet) {
            if !depends_on.contains(&json!(id)) {
                depends_on.push(json!(id));
            }
        }
    }
    let function = t.resource_mut(r.id).expect("just added");
    function["DependsOn"] = json!(depends_on);
    let p = &mut function["Properties"];
    p["VpcConfig"] = json!({
        "SubnetIds": [ref_("PrivateSubnet1"), ref_("PrivateSubnet2")],
        "SecurityGroupIds": [ref_(DATA_SECURITY_GROUP)]
    });
    p["FileSystemConfigs"] =
        json!([{ "Arn": get_att(ACCESS_POINT, "Arn"), "LocalMountPath": data::DEFAULT_EFS_MOUNT }]);
}

fn add_recorder(t: &mut Template, o: &Options) {
    add_data_reader_network(t, o);
    add_data_reader(
        t,
        o,
        DataReader {
            id: RECORDER,
            role: RECORDER_ROLE,
            description: "Records the restore drill's fingerprint every night: row counts of the main tables, CouchDB document counts, EFS file count and bytes (no patient data)",
            environment: data_environment(o),
            statements: vec![
                allow(
                    &["s3:PutObject"],
                    json!([crate::stack::bucket_objects(FINGERPRINT_KEY)]),
                ),
                // Its invoke configuration's on-failure destination: Lambda checks at create
                // that the role may publish there (tests/lambda_create.rs).
                allow(&["sns:Publish"], json!([ref_(crate::stack::ALERT_TOPIC)])),
            ],
        },
    );
    add_schedule(
        t,
        Schedule {
            rule: RECORDER_SCHEDULE,
            permission: "FingerprintRecorderSchedulePermission",
            invoke_config: "FingerprintRecorderInvokeConfig",
            function: RECORDER,
            description: "Records the restore drill's fingerprint in the nightly backup window (BackupHour, UTC)",
            expression: crate::components::backup_schedule::fingerprint_schedule(),
            target: "FingerprintRecorder",
            max_retries: 1,
        },
    );
    let rule = t.resource_mut(RECORDER_SCHEDULE).expect("just added");
    rule["Properties"]["Targets"][0]["Input"] =
        json!(json!({ (TASK): TASK_RECORD_FINGERPRINT }).to_string());
}

fn add_verifier(t: &mut Template, o: &Options) {
    add_data_reader_network(t, o);
    let mut environment = data_environment(o);
    environment[data::APPLICATION_URL] = crate::components::application::drill_application_url();
    add_data_reader(
        t,
        o,
        DataReader {
            id: VERIFIER,
            role: VERIFIER_ROLE,
            description: "Verifies the restore drill from inside its stack: the login page answers, and the database, CouchDB and EFS match the source's fingerprint",
            environment,
            statements: vec![],
        },
    );
    let function = t.resource_mut(VERIFIER).expect("just added");
    function["Properties"]["FunctionName"] =
        drill_resource_name(Some(VERIFIER_SUFFIX.trim_start_matches('-')));
    t.add_output(
        VERIFIER_OUTPUT,
        json!({ "Description": "The drill's verifier function (the state machine invokes it by name)", "Value": ref_(VERIFIER) }),
    );
    t.add_output(
        stack_contract::restore_drill::APPLICATION_URL_OUTPUT,
        json!({ "Description": "OpenEMR's login page inside the drill network (internal load balancer, plain HTTP)", "Value": crate::components::application::drill_application_url() }),
    );
}

/// The backup checker's part of the drill (source stacks): `DRILL_MAX_AGE_DAYS` while the drill
/// is scheduled (it then publishes the days since the last successful drill), listing the
/// reports' names and times (never their content), and the alarm on that age.
pub fn add_checker_parts(t: &mut Template, o: &Options, environment: &mut Value) -> Vec<Value> {
    if !drills(o) {
        return vec![];
    }
    use stack_contract::backup_checker::{
        CHECK_DIMENSION, DRILL_CHECK, DRILL_MAX_AGE_DAYS, NAMESPACE, STACK_DIMENSION,
    };
    use stack_contract::restore_drill::DAYS_SINCE_SUCCESS_METRIC;
    environment[DRILL_MAX_AGE_DAYS] = if_(DRILL_ON, ref_(MAX_AGE_PARAMETER), no_value());
    t.add_resource(
        OVERDUE_ALARM,
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Condition": DRILL_ON,
            "Properties": {
                "AlarmDescription": sub("No restore drill of ${AWS::StackName} succeeded within DrillMaxAgeDays: the backups are not proven to rebuild the application. The reports in recovery/drills/ of the stack bucket say why."),
                "Namespace": NAMESPACE,
                "MetricName": DAYS_SINCE_SUCCESS_METRIC,
                "Dimensions": [
                    { "Name": STACK_DIMENSION, "Value": ref_("AWS::StackName") },
                    { "Name": CHECK_DIMENSION, "Value": DRILL_CHECK }
                ],
                "Statistic": "Maximum",
                "Period": 86400,
                "EvaluationPeriods": 1,
                "Threshold": ref_(MAX_AGE_PARAMETER),
                "ComparisonOperator": "GreaterThanThreshold",
                // Before the first drill the checker publishes nothing: not overdue yet.
                "TreatMissingData": "notBreaching",
                "AlarmActions": [ref_(ALERT_TOPIC)],
                "OKActions": [ref_(ALERT_TOPIC)]
            }
        }),
    );
    vec![json!({
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [crate::stack::bucket_arn()],
        "Condition": { "StringLike": { "s3:prefix": [REPORT_PREFIX, format!("{REPORT_PREFIX}*")] } }
    })]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;

    fn template(o: &Options) -> Value {
        generate(o).expect("valid options").to_json()
    }

    fn drill() -> Value {
        template(&Options::default().drill_options())
    }

    fn state<'a>(d: &'a Value, name: &str) -> &'a Value {
        let s = &d["States"][name];
        assert!(s.is_object(), "no state {name}");
        s
    }

    #[test]
    fn the_drill_waits_at_least_as_long_as_its_stack_may_take_to_create() {
        assert!(creation_timeout_minutes() <= WAIT_MINUTES_RANGE.0);
        let default = stack_contract::restore_drill::orchestrator::DEFAULT_WAIT_MINUTES;
        assert!((WAIT_MINUTES_RANGE.0..=WAIT_MINUTES_RANGE.1).contains(&default));
        // The template's time-outs are the ones the sum is made of.
        let drill = crate::generate(&Options::default().drill_options())
            .unwrap()
            .to_json();
        assert_eq!(
            drill["Resources"]["NFSBackupInstance"]["CreationPolicy"]["ResourceSignal"]["Timeout"],
            format!(
                "PT{}M",
                crate::components::nfs_backup::RECOVERY_SIGNAL_MINUTES
            )
        );
        let settings = drill["Resources"]["EBEnvironment"]["Properties"]["OptionSettings"]
            .as_array()
            .unwrap();
        let timeout = crate::components::application::DRILL_DEPLOYMENT_TIMEOUT_SECONDS.to_string();
        assert!(
            settings
                .iter()
                .any(|s| s["Namespace"] == "aws:elasticbeanstalk:command"
                    && s["OptionName"] == "Timeout"
                    && s["Value"].as_str() == Some(timeout.as_str()))
        );
    }

    #[test]
    fn the_orchestration_is_in_source_stacks_only() {
        let source = template(&Options::default());
        for id in [
            ORCHESTRATOR,
            STATE_MACHINE,
            STACK_ROLE,
            SCHEDULE,
            RECORDER,
            OVERDUE_ALARM,
        ] {
            assert!(source["Resources"][id].is_object(), "{id}");
        }
        assert_eq!(
            source["Outputs"][STATE_MACHINE]["Value"],
            ref_(STATE_MACHINE)
        );
        for o in [
            Options {
                recovery: true,
                ..Options::default()
            },
            Options::default().drill_options(),
        ] {
            let t = template(&o);
            for id in [
                ORCHESTRATOR,
                STATE_MACHINE,
                STACK_ROLE,
                RECORDER,
                OVERDUE_ALARM,
            ] {
                assert!(t["Resources"].get(id).is_none(), "{id} in {:?}", o.flags());
            }
            assert!(t["Parameters"].get(SCHEDULE_PARAMETER).is_none());
        }
        assert!(drill()["Resources"][VERIFIER].is_object());
        assert!(
            template(&Options::default())["Resources"]
                .get(VERIFIER)
                .is_none()
        );
    }

    #[test]
    fn every_task_state_runs_the_orchestrator_with_retries_and_a_catch() {
        let d = definition();
        // (state, task, its Catch's next state, where its Catch puts the error)
        let tasks = [
            ("Gather", TASK_GATHER, "Report", "$.error"),
            ("Build", TASK_BUILD, "Teardown", "$.error"),
            ("CheckStack", TASK_CHECK, "Teardown", "$.error"),
            ("Teardown", TASK_TEARDOWN, "Report", "$.teardown_error"),
            (
                "CheckTeardown",
                TASK_CHECK_TEARDOWN,
                "Report",
                "$.teardown_error",
            ),
            ("Report", TASK_REPORT, "DrillFailed", "$.error"),
        ];
        for (name, task, on_error, error_path) in tasks {
            let s = state(&d, name);
            assert_eq!(s["Resource"], ORCHESTRATOR_ARN, "{name}");
            assert_eq!(s["Parameters"][TASK], task, "{name}");
            assert_eq!(s["ResultPath"], "$", "{name}");
            assert_eq!(s["Retry"][0]["ErrorEquals"], json!(LAMBDA_ERRORS), "{name}");
            assert_eq!(
                s["Catch"][0]["ErrorEquals"],
                json!(["States.ALL"]),
                "{name}"
            );
            assert_eq!(s["Catch"][0]["ResultPath"], error_path, "{name}");
            assert_eq!(s["Catch"][0]["Next"], on_error, "{name}");
            assert_eq!(s["Parameters"]["state.$"], "$", "{name}");
        }
        // The execution's id and start time are in the state before the first task (and so in
        // whatever Gather's Catch hands on).
        assert_eq!(d["StartAt"], "Start");
        assert_eq!(
            state(&d, "Start")["Parameters"],
            json!({ "execution.$": "$$.Execution.Id", "started.$": "$$.Execution.StartTime" })
        );
        assert_eq!(state(&d, "Start")["Next"], "Gather");
        assert_eq!(
            state(&d, "Teardown")["Retry"][1],
            json!({ "ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 2, "BackoffRate": 2 })
        );
        // Any error of the report is retried (S3, SNS): lost, it would leave no report.
        assert_eq!(
            state(&d, "Report")["Retry"][1]["ErrorEquals"],
            json!(["States.ALL"])
        );
        let verify = state(&d, "Verify");
        assert_eq!(verify["Resource"], "arn:aws:states:::lambda:invoke");
        assert_eq!(
            verify["Parameters"]["FunctionName.$"],
            "$.verifier_function"
        );
        assert_eq!(verify["Parameters"]["Payload"]["task"], TASK_VERIFY);
        assert_eq!(verify["OutputPath"], "$.Payload");
        assert_eq!(verify["Catch"][0]["Next"], "Teardown");
        assert_eq!(verify["Next"], "Teardown");
    }

    #[test]
    fn every_transition_names_a_state_and_every_state_is_reached() {
        let d = definition();
        let states = d["States"].as_object().unwrap();
        let mut reached = std::collections::BTreeSet::from(["Start".to_owned()]);
        for (name, s) in states {
            let mut next: Vec<&Value> = vec![&s["Next"], &s["Default"]];
            for c in s["Catch"].as_array().into_iter().flatten() {
                next.push(&c["Next"]);
            }
            for c in s["Choices"].as_array().into_iter().flatten() {
                next.push(&c["Next"]);
            }
            for n in next.into_iter().filter_map(Value::as_str) {
                assert!(states.contains_key(n), "{name} -> {n}");
                reached.insert(n.to_owned());
            }
        }
        let all: std::collections::BTreeSet<String> = states.keys().cloned().collect();
        assert_eq!(reached, all);
        let choices = |name: &str| {
            state(&d, name)["Choices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["StringEquals"].clone(), c["Next"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            choices("StackReady"),
            [
                (json!(OUTCOME_WAITING), json!("WaitForStack")),
                (json!(OUTCOME_READY), json!("Verify"))
            ]
        );
        assert_eq!(state(&d, "StackReady")["Default"], "Teardown");
        assert_eq!(
            choices("TeardownDone"),
            [
                (json!(OUTCOME_WAITING), json!("WaitForTeardown")),
                (json!(OUTCOME_DELETED), json!("Report")),
                (json!(OUTCOME_FAILED), json!("Teardown"))
            ]
        );
        assert_eq!(state(&d, "Outcome")["Choices"][0]["Variable"], "$.ok");
        assert_eq!(state(&d, "DrillSucceeded")["Type"], "Succeed");
        assert_eq!(state(&d, "DrillFailed")["Type"], "Fail");
    }

    #[test]
    fn the_state_machine_gets_the_orchestrators_arn_and_logs_to_a_stack_log_group() {
        let t = template(&Options::default());
        let p = &t["Resources"][STATE_MACHINE]["Properties"];
        assert_eq!(p["StateMachineType"], "STANDARD");
        assert_eq!(p["Definition"], definition());
        assert_eq!(
            p["DefinitionSubstitutions"]["RestoreDrillFunctionArn"],
            get_att(ORCHESTRATOR, "Arn")
        );
        assert_eq!(
            p["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"],
            get_att(STATE_MACHINE_LOG_GROUP, "Arn")
        );
        let schedule = &t["Resources"][SCHEDULE]["Properties"];
        assert_eq!(
            schedule["ScheduleExpression"],
            crate::components::backup_schedule::drill_schedule()
        );
        assert_eq!(
            schedule["State"],
            if_(DRILL_ON, json!("ENABLED"), json!("DISABLED"))
        );
        assert_eq!(
            t["Mappings"]["BackupWindow"]["07"]["DrillSchedule"],
            "cron(0 12 ? * SUN#1 *)"
        );
        assert_eq!(
            t["Mappings"]["BackupWindow"]["22"]["DrillSchedule"],
            "cron(0 3 ? * SUN#1 *)"
        );
        let env = &t["Resources"][ORCHESTRATOR]["Properties"]["Environment"]["Variables"];
        assert_eq!(env[orchestrator::TEMPLATE_URL], template_url());
        assert_eq!(
            env[orchestrator::STACK_ROLE_ARN],
            get_att(STACK_ROLE, "Arn")
        );
        assert_eq!(env[orchestrator::TOPIC], ref_(ALERT_TOPIC));
        let recorder = &t["Resources"][RECORDER_SCHEDULE]["Properties"]["Targets"][0];
        assert_eq!(
            recorder["Input"],
            json!({ "task": "record-fingerprint" }).to_string()
        );
    }

    #[test]
    fn the_drill_is_internal_single_az_and_leaves_nothing_behind() {
        let t = drill();
        let r = t["Resources"].as_object().unwrap();
        for (id, res) in r {
            assert_eq!(res["DeletionPolicy"], "Delete", "{id}");
            assert_eq!(res["UpdateReplacePolicy"], "Delete", "{id}");
            assert_ne!(
                res["Properties"]["CidrIp"], "0.0.0.0/0",
                "{id} open to the internet"
            );
            for kind in [
                "AWS::WAFv2::WebACL",
                "AWS::CloudTrail::Trail",
                "AWS::CloudWatch::Alarm",
            ] {
                assert_ne!(res["Type"], kind, "{id}");
            }
            assert_ne!(
                res["Type"], "AWS::Events::Rule",
                "{id}: a drill schedules nothing"
            );
        }
        assert_eq!(
            r["ApplicationLoadBalancer"]["Properties"]["Scheme"],
            "internal"
        );
        assert!(r.get("DeveloperBastion").is_none());
        assert!(r.get("RCouchDBVolume").is_none());
        let db = &r["RDSInstance"]["Properties"];
        assert_eq!(db["DeleteAutomatedBackups"], true);
        assert_eq!(db["DeletionProtection"], false);
        assert_eq!(db["MultiAZ"], false);
        assert_eq!(
            r[VERIFIER]["Properties"]["FunctionName"],
            drill_resource_name(Some("verifier"))
        );
        // Every role, profile, policy and function is named like the drill's resources.
        for (id, res) in r {
            if let Some((_, property, _)) = NAMED_TYPES.iter().find(|(t, _, _)| res["Type"] == *t) {
                assert!(
                    res["Properties"][*property]["Fn::Sub"][0]
                        .as_str()
                        .is_some_and(|name| name.starts_with("openemr-${Source}-drill-${Drill}-")),
                    "{id}"
                );
            }
        }
        let env = &r[VERIFIER]["Properties"]["Environment"]["Variables"];
        assert_eq!(env[data::BUCKET], ref_("S3Bucket"));
        assert_eq!(env[data::KMS_KEY_ARN], ref_("RecoveryKMSKey"));
        assert_eq!(
            env[data::APPLICATION_URL],
            crate::components::application::drill_application_url()
        );
        assert_eq!(t["Outputs"][VERIFIER_OUTPUT]["Value"], ref_(VERIFIER));
        // Every parameter the orchestrator overrides exists in the drill template.
        for (parameter, _) in DRILL_PARAMETER_OVERRIDES {
            assert!(t["Parameters"][*parameter].is_object(), "{parameter}");
        }
        // The HTTP listener serves OpenEMR (Elastic Beanstalk's rule), it does not redirect.
        let listener = &r["HTTPListener"]["Properties"]["DefaultActions"][0];
        assert_eq!(listener["Type"], "fixed-response");
        assert!(r.get("HTTPSListener").is_none());
    }

    #[test]
    fn a_drill_must_have_the_drill_shape() {
        let shaped = Options::default().drill_options();
        assert!(generate(&shaped).is_ok());
        let two_az = Options {
            dual_az: true,
            ..shaped
        };
        assert_eq!(
            generate(&two_az).unwrap_err(),
            crate::OptionsError::DrillShape
        );
        assert_eq!(
            Options {
                dual_az: true,
                dev: true,
                ..Options::default()
            }
            .drill_options(),
            Options::default().drill_options()
        );
    }
}
