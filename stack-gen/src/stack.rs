//! What the stack's parts share, below every component: the names and references of the
//! foundation's resources that other parts use (the bucket, the data key, the private zone,
//! the alert topic, the log key and retention), and the builders every part uses alike (a
//! bucket listing statement, a KMS key, an alarm, a log group, a DNS record, a drill's
//! resource names).
//! A component writes only its own resources; what it needs of another's is here, or that
//! component's constant. Nothing here imports a component (crate_rules: no import circle).

use serde_json::{Value, json};
use stack_contract::logical_ids::{BUCKET, KEY};
use stack_contract::recovery_params::resolve as recovery_inputs;
use stack_contract::restore_drill::{RESOURCE_NAME_HEAD, STACK_INFIX};

use crate::cfn::{get_att, ref_, resource, select, sub, sub_with};
use crate::options::Options;

// The alert topic and the private zone.

/// Logical ID of the SNS topic every alarm and failed asynchronous invocation reports to.
pub const ALERT_TOPIC: &str = "OperatorAlerts";

/// The private hosted zone the instances find each other in. Not `openemr.local` (the
/// original's): systemd-resolved on current images (Ubuntu 24.04, Amazon Linux 2023) sends
/// `*.local` to multicast DNS only, so a Route 53 private zone of that name never answers.
pub const ZONE: &str = "openemr.internal";

/// Logical ID of the private hosted zone ([`ZONE`]).
pub const DNS_ZONE: &str = "DNS";

/// A record in the stack's private zone.
pub fn dns_record(name: &str, type_: &str, value: Value) -> Value {
    resource(
        "AWS::Route53::RecordSet",
        json!({ "HostedZoneId": ref_(DNS_ZONE), "Name": name, "Type": type_, "TTL": "900", "ResourceRecords": [value] }),
    )
}

// The stack bucket, and a recovery stack's source bucket.

/// The stack bucket's name.
pub fn bucket() -> Value {
    ref_(BUCKET)
}

/// The stack bucket's ARN.
pub fn bucket_arn() -> Value {
    get_att(BUCKET, "Arn")
}

/// ARN of objects under `prefix` in the stack bucket (`prefix` may end in `*`).
pub fn bucket_objects(prefix: &str) -> Value {
    sub(&format!("${{{BUCKET}.Arn}}/{prefix}"))
}

/// `s3:ListBucket` on `bucket` (an ARN) the way S3 authorises it: listing under `prefixes`,
/// and the requests that carry no `s3:prefix` at all: HeadBucket (duplicity's check on
/// connect) and the existence check behind a Get/HeadObject of a missing key, which answers
/// 403 instead of 404 without it. Listing under any other prefix stays refused.
pub fn list_bucket(bucket: Value, prefixes: &[&str]) -> Vec<Value> {
    vec![
        json!({
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket.clone()],
            "Condition": { "StringLike": { "s3:prefix": prefixes } }
        }),
        json!({
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket],
            "Condition": { "Null": { "s3:prefix": "true" } }
        }),
    ]
}

/// A recovery stack's source bucket (the `RecoveryS3Bucket` parameter): its name.
pub fn recovery_bucket() -> Value {
    ref_(recovery_inputs::BUCKET)
}

/// The source bucket's ARN.
pub fn recovery_bucket_arn() -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:s3:::${{{}}}",
        recovery_inputs::BUCKET
    ))
}

/// ARN of objects under `prefix` in the source bucket (`prefix` may end in `*`).
pub fn recovery_bucket_objects(prefix: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:s3:::${{{}}}/{prefix}",
        recovery_inputs::BUCKET
    ))
}

// Keys, and what a stack keeps when it goes.

/// ARN of the KMS key protecting the stack's data: the stack's own, or in a recovery stack
/// the original stack's (`RecoveryKMSKey`), since every snapshot and backup is encrypted with it.
pub fn key_arn(o: &Options) -> Value {
    if o.recovery {
        ref_(recovery_inputs::KMS_KEY)
    } else {
        get_att(KEY, "Arn")
    }
}

/// The data key as the create-only `KmsKeyId` of the database, the file system and the
/// document volumes: in the form the original wrote it (the key id: `Ref OpenEMRKey`, or in a
/// recovery stack the id cut from `RecoveryKMSKey`'s ARN). The same key as its ARN is another
/// value to CloudFormation, which would replace each of them, empty, on the update from the
/// original (stack-gen/tests/updates.rs).
pub fn key_id(o: &Options) -> Value {
    if o.recovery {
        select(
            1,
            json!({ "Fn::Split": ["/", ref_(recovery_inputs::KMS_KEY)] }),
        )
    } else {
        ref_(KEY)
    }
}

/// `Retain`-like policy for stateful resources: `Snapshot` (or `Retain`) in production,
/// `Delete` with `--dev`.
pub fn keep_policy(o: &Options, production: &str) -> Value {
    json!(if o.dev || o.drill {
        "Delete"
    } else {
        production
    })
}

/// A KMS key of the stack: rotating, 30 days' deletion window, kept when the stack goes (what
/// it encrypted may outlive the stack), administered by the account through IAM, and usable
/// by whatever `statements` allow. `purpose` ends its Description.
pub fn stack_key(o: &Options, purpose: &str, statements: Vec<Value>) -> Value {
    let mut all = vec![account_administers_key()];
    all.extend(statements);
    json!({
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": keep_policy(o, "Retain"),
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": sub(&format!("OpenEMR ${{AWS::StackName}}: {purpose}")),
            "EnableKeyRotation": true,
            // A drill's keys encrypt nothing that outlives it: the shortest window.
            "PendingWindowInDays": if o.drill { 7 } else { 30 },
            "KeyPolicy": { "Version": "2012-10-17", "Statement": all }
        }
    })
}

/// The account administers a key through IAM (AWS's default key policy statement).
fn account_administers_key() -> Value {
    json!({
        "Sid": "AccountAdministersThroughIAM",
        "Effect": "Allow",
        "Principal": { "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") },
        "Action": "kms:*",
        "Resource": "*"
    })
}

// Alarms.

/// Whom an alarm tells besides when it fires: the operators' topic ([`ALERT_TOPIC`]) hears of
/// every state it says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tells {
    /// When it fires only: an event counted in a period (a failed execution), not a state.
    Firing,
    /// When it fires and when it clears: a state (a busy database, an overdue drill).
    FiringAndClearing,
    /// When it fires, when it clears, and when its metric stops coming (a nightly check that
    /// stopped running).
    FiringClearingAndSilence,
}

/// An alarm of the stack: `description` (what fired and what to do), `judged` (the metric or
/// metric math, statistic, periods, threshold and comparison), how a period without data
/// counts (`missing_data`: `missing`, `notBreaching`, ...), and what it tells the operators.
/// Every alarm of the stack is built here.
pub fn alarm(description: Value, judged: Value, missing_data: &str, tells: Tells) -> Value {
    let mut properties = judged;
    let topic = json!([ref_(ALERT_TOPIC)]);
    properties["AlarmDescription"] = description;
    properties["TreatMissingData"] = json!(missing_data);
    properties["AlarmActions"] = topic.clone();
    if tells != Tells::Firing {
        properties["OKActions"] = topic.clone();
    }
    if tells == Tells::FiringClearingAndSilence {
        properties["InsufficientDataActions"] = topic;
    }
    resource("AWS::CloudWatch::Alarm", properties)
}

// Log groups.

/// The retention parameter (days).
pub const RETENTION_PARAMETER: &str = "LogRetentionDays";

/// The key every log group of the stack is encrypted with.
pub const LOG_KEY: &str = "LogGroupKey";

/// A log group of the stack: the retention parameter, the log key, and kept when the stack
/// (or the group's resource) goes, so an audit can still read it. `name`: a fixed name, for
/// services that find their group by name (the firewall's must start `aws-waf-logs-`).
pub fn log_group(name: Option<Value>) -> Value {
    let mut properties = json!({
        "RetentionInDays": ref_(RETENTION_PARAMETER),
        "KmsKeyId": get_att(LOG_KEY, "Arn")
    });
    if let Some(name) = name {
        properties["LogGroupName"] = name;
    }
    json!({
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties
    })
}

// A drill's names, and the group through which its data readers reach the data.

/// The security group of the recorder (source) and the verifier (drill): allowed into the
/// database, CouchDB and EFS (and, in a drill, the load balancer's HTTP listener).
pub const DATA_SECURITY_GROUP: &str = "DataReaderSecurityGroup";

/// The first group of a stack id's UUID, from `stack_id` (an ARN value).
fn uuid_group(stack_id: Value) -> Value {
    select(
        0,
        json!({ "Fn::Split": ["-", select(2, json!({ "Fn::Split": ["/", stack_id] }))] }),
    )
}

/// In the source stack: `openemr-<first group of the stack's UUID>-drill-`, the prefix of the
/// names its drill stacks give their buckets, database and Elastic Beanstalk environment
/// ([`drill_resource_name`]): lower case, as S3 and RDS need, which a stack name need not be
/// (CloudFormation cannot lower-case). The source's own bucket is `openemr-<its UUID>`.
pub fn drill_name_prefix() -> Value {
    sub_with(
        &format!("{RESOURCE_NAME_HEAD}${{Group}}{STACK_INFIX}"),
        json!({ "Group": uuid_group(ref_("AWS::StackId")) }),
    )
}

/// In a drill stack: `openemr-<source UUID group>-drill-<drill UUID group>[-suffix]`, the source
/// UUID group read from the source bucket's name (`RecoveryS3Bucket`, `openemr-<UUID>`).
pub fn drill_resource_name(suffix: Option<&str>) -> Value {
    let suffix = suffix.map(|s| format!("-{s}")).unwrap_or_default();
    sub_with(
        &format!("{RESOURCE_NAME_HEAD}${{Source}}{STACK_INFIX}${{Drill}}{suffix}"),
        json!({
            "Source": select(1, json!({ "Fn::Split": ["-", recovery_bucket()] })),
            "Drill": uuid_group(ref_("AWS::StackId"))
        }),
    )
}
