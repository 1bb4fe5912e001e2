//! The backup checker: a Lambda run every night after the backup window (see
//! [`backup_schedule::checker_schedule`]) that proves the EFS duplicity backup, the document
//! snapshots and the database snapshot exist, are fresh and line up. It reports through EMF
//! metrics, an SNS message to the operators' topic and a failed invocation; alarms turn the
//! metric (a failed check, or no check for a day after the first), the failed invocation and a
//! schedule that could not invoke it into alerts on the same topic.
//!
//! Its role only reads: names under the bucket's `Backup/`, the passphrase object's metadata
//! (GetObject on that one object, without kms:Decrypt, so its content cannot be read), the
//! snapshots of any volume (EC2 has no resource-level scoping for DescribeSnapshots) and the
//! stack's database instance's snapshots; it may publish to the operators' topic.

use serde_json::{Value, json};
use stack_contract::backup_checker::{
    BUCKET, DB_INSTANCE, DEFAULT_MAX_AGE_HOURS, DEFAULT_MAX_SKEW_HOURS, FAILED_METRIC,
    MAX_AGE_HOURS, MAX_HOURS, MAX_SKEW_HOURS, NAMESPACE, PREFIX, STACK, STACK_DIMENSION, TOPIC,
    VOLUMES,
};
use stack_contract::bucket::{BACKUP_PREFIX, PASSPHRASE_KEY};
use stack_contract::volumes;

use crate::cfn::{allow, ref_, sub};
use crate::components::backup_schedule;
use crate::lambda::{RustFunction, Schedule, add_function, add_role, add_schedule};
use crate::options::Options;
use crate::stack::{ALERT_TOPIC, Tells, alarm};
use crate::template::Template;

pub const FUNCTION: &str = "BackupCheckerFunction";
pub const ROLE: &str = "BackupCheckerRole";
pub const SCHEDULE: &str = "BackupCheckerSchedule";

/// Hours without a check result after which `BackupCheckFailedAlarm` reports the checker
/// silent: a daily check plus 2 hours of slack.
pub const CHECK_SILENCE_HOURS: u32 = 26;

pub fn add(t: &mut Template, o: &Options) {
    t.add_parameter(
        "BackupMaxAgeHours",
        json!({
            "Type": "Number",
            "Default": DEFAULT_MAX_AGE_HOURS,
            "MinValue": 1,
            "MaxValue": MAX_HOURS,
            "Description": "The backup checker fails when the newest EFS backup, document snapshot or database snapshot is older than this many hours (a nightly backup plus slack)."
        }),
    );
    t.add_parameter(
        "BackupMaxSkewHours",
        json!({
            "Type": "Number",
            "Default": DEFAULT_MAX_SKEW_HOURS,
            "MinValue": 0,
            "MaxValue": MAX_HOURS,
            "Description": "The backup checker fails when the newest EFS backup, document snapshot(s) and database snapshot lie more than this many hours apart (records and documents would restore from different times)."
        }),
    );

    let mut environment = environment(o);
    let drill_statements =
        crate::components::restore_drill::add_checker_parts(t, o, &mut environment);
    let mut statements = vec![
        json!({
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [crate::stack::bucket_arn()],
            "Condition": { "StringLike": { "s3:prefix": [BACKUP_PREFIX, format!("{BACKUP_PREFIX}*")] } }
        }),
        // Interrupted volume uploads (incomplete multipart uploads) are leftovers too.
        allow(
            &["s3:ListBucketMultipartUploads"],
            json!([crate::stack::bucket_arn()]),
        ),
        // HeadObject needs s3:GetObject; without kms:Decrypt the content stays unreadable.
        allow(
            &["s3:GetObject"],
            json!([crate::stack::bucket_objects(PASSPHRASE_KEY)]),
        ),
        // DescribeSnapshots supports no resource-level permissions.
        allow(&["ec2:DescribeSnapshots"], json!(["*"])),
        allow(
            &["rds:DescribeDBSnapshots"],
            json!([
                crate::components::database::db_arn(),
                sub("arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:snapshot:*")
            ]),
        ),
        allow(&["sns:Publish"], json!([ref_(ALERT_TOPIC)])),
    ];
    statements.extend(drill_statements);
    add_role(t, ROLE, FUNCTION, statements);

    add_function(
        t,
        RustFunction {
            id: FUNCTION,
            code: "BackupChecker",
            role: ROLE,
            description: "Checks every night that the EFS backup, document snapshots and database snapshot exist, are fresh and line up",
            environment,
            timeout_seconds: 300,
            memory_mb: 256,
            reserved_concurrency: 1,
        },
    );

    // A failed check must alarm, not run again: no retries. The failure record (the error
    // summary, no secrets) goes to the operators' topic too, which also covers crashes and
    // time-outs that never reached the function's own alert.
    add_schedule(
        t,
        Schedule {
            rule: SCHEDULE,
            permission: "BackupCheckerSchedulePermission",
            invoke_config: "BackupCheckerInvokeConfig",
            function: FUNCTION,
            description: "Runs the backup checker after the nightly backup window (BackupHour + 3 h, UTC)",
            expression: backup_schedule::checker_schedule(),
            target: "BackupChecker",
            max_retries: 0,
        },
    );
    // A check that failed pages; so does no check for a day, but not before the first check.
    //
    // What CloudWatch does with an alarm whose metric has never had data: nothing tells "too
    // early" from "never ran". Treated as breaching (as before), a new stack's alarm fires
    // within its first day, before the first check is due; treated as not breaching, a checker
    // that stopped would never be noticed. Treated as missing, an alarm with no data in its
    // whole evaluation range is INSUFFICIENT_DATA, which is also the state every alarm is
    // created in, and alarm actions run only on a change of state. So:
    // - created: INSUFFICIENT_DATA, no data, no change, no message, however long it takes;
    // - a check ran (one datapoint of FailedChecks within the last 26 hours): OK, or ALARM if
    //   it failed (one breaching datapoint is enough);
    // - then no check for 26 hours (a daily check missed, 2 h of slack): INSUFFICIENT_DATA,
    //   a change of state, and InsufficientDataActions sends it to the operators.
    // Hourly periods, not one of a day, keep that evaluation range close to 26 hours.
    t.add_resource(
        "BackupCheckFailedAlarm",
        alarm(
            sub(&format!("A nightly backup check of ${{AWS::StackName}} failed (ALARM), or none ran for {CHECK_SILENCE_HOURS} hours after one did (INSUFFICIENT_DATA): the backups are not proven restorable. The SNS message and the BackupCheckerFunction logs name the check.")),
            json!({
                "Namespace": NAMESPACE,
                "MetricName": FAILED_METRIC,
                "Dimensions": [{ "Name": STACK_DIMENSION, "Value": ref_("AWS::StackName") }],
                "Statistic": "Maximum",
                "Period": 3600,
                "EvaluationPeriods": CHECK_SILENCE_HOURS,
                "DatapointsToAlarm": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold"
            }),
            "missing",
            Tells::FiringClearingAndSilence,
        ),
    );
    // The schedule could not invoke the checker (its permission gone, say): no check, and no
    // error of the function's own either.
    t.add_resource(
        "BackupCheckerScheduleFailedAlarm",
        alarm(
            sub("The schedule of the backup checker of ${AWS::StackName} failed to invoke it: no backup check ran."),
            json!({
                "Namespace": "AWS/Events",
                "MetricName": "FailedInvocations",
                "Dimensions": [{ "Name": "RuleName", "Value": ref_(SCHEDULE) }],
                "Statistic": "Sum",
                "Period": 3600,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold"
            }),
            "notBreaching",
            Tells::Firing,
        ),
    );
    t.add_resource(
        "BackupCheckerErrorsAlarm",
        alarm(
            sub("The backup checker of ${AWS::StackName} failed (a check failed, or the function itself errored or timed out)."),
            json!({
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{ "Name": "FunctionName", "Value": ref_(FUNCTION) }],
                "Statistic": "Sum",
                "Period": 3600,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold"
            }),
            "notBreaching",
            Tells::Firing,
        ),
    );
}

/// The function's environment (names in `stack_contract::backup_checker`, read by the
/// function's `Config`).
fn environment(o: &Options) -> Value {
    let mut env = json!({
        BUCKET: crate::stack::bucket(),
        PREFIX: BACKUP_PREFIX,
        DB_INSTANCE: ref_(crate::components::database::DB_INSTANCE),
        MAX_AGE_HOURS: ref_("BackupMaxAgeHours"),
        MAX_SKEW_HOURS: ref_("BackupMaxSkewHours"),
        TOPIC: ref_(ALERT_TOPIC),
        STACK: ref_("AWS::StackName"),
    });
    if o.document_store() {
        let count = if o.dual_az { 2 } else { 1 };
        env[VOLUMES] = sub(&volumes::sub_template(count));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(o: &Options) -> Value {
        let mut t = Template::new(String::new());
        add(&mut t, o);
        t.to_json()
    }

    #[test]
    fn volumes_follow_the_flags() {
        let env = |o: &Options| {
            template(o)["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"].clone()
        };
        assert_eq!(
            env(&Options::default())[VOLUMES],
            sub("CouchDBVolume=${CouchDBVolume}")
        );
        assert_eq!(
            env(&Options {
                dual_az: true,
                ..Options::default()
            })[VOLUMES],
            sub("CouchDBVolume=${CouchDBVolume},RCouchDBVolume=${RCouchDBVolume}")
        );
        assert!(
            env(&Options {
                skip_document_store: true,
                ..Options::default()
            })
            .get(VOLUMES)
            .is_none()
        );
        assert_eq!(env(&Options::default())[DB_INSTANCE], ref_("RDSInstance"));
    }

    #[test]
    fn role_only_reads_and_names_its_resources() {
        let t = template(&Options::default());
        let statements =
            t["Resources"][ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone();
        for s in &statements {
            for action in s["Action"].as_array().unwrap() {
                let action = action.as_str().unwrap();
                assert!(!action.contains('*'), "{action}");
                let verb = action.split(':').nth(1).unwrap();
                assert!(
                    [
                        "List",
                        "Get",
                        "Describe",
                        "CreateLogStream",
                        "PutLogEvents",
                        "Publish"
                    ]
                    .iter()
                    .any(|v| verb.starts_with(v)),
                    "{action} is not read-only"
                );
            }
            let star = s["Resource"].as_array().unwrap().iter().any(|r| r == "*");
            assert!(
                !star || s["Action"] == json!(["ec2:DescribeSnapshots"]),
                "{s}"
            );
        }
        let list = statements
            .iter()
            .find(|s| s["Action"] == json!(["s3:ListBucket"]))
            .unwrap();
        assert_eq!(
            list["Condition"]["StringLike"]["s3:prefix"],
            json!(["Backup/", "Backup/*"])
        );
        let get = statements
            .iter()
            .find(|s| s["Action"] == json!(["s3:GetObject"]))
            .unwrap();
        assert_eq!(
            get["Resource"],
            json!([sub("${S3Bucket.Arn}/Backup/passphrase.txt")])
        );
        assert!(!t.to_string().contains("kms:Decrypt"));
    }

    #[test]
    fn schedule_alarms_and_no_retries() {
        let t = template(&Options::default());
        let r = &t["Resources"];
        assert_eq!(
            r[SCHEDULE]["Properties"]["ScheduleExpression"],
            backup_schedule::checker_schedule()
        );
        assert_eq!(
            r["BackupCheckerInvokeConfig"]["Properties"]["MaximumRetryAttempts"],
            0
        );
        assert_eq!(
            r["BackupCheckFailedAlarm"]["Properties"]["MetricName"],
            FAILED_METRIC
        );
        assert_eq!(
            r["BackupCheckFailedAlarm"]["Properties"]["AlarmActions"],
            json!([ref_(ALERT_TOPIC)])
        );
        assert_eq!(
            r["BackupCheckerErrorsAlarm"]["Properties"]["Dimensions"][0]["Value"],
            ref_(FUNCTION)
        );
        assert_eq!(t["Parameters"]["BackupMaxAgeHours"]["Default"], 26);
        assert!(
            r.as_object()
                .unwrap()
                .values()
                .all(|v| v["Type"] != "AWS::SNS::Topic")
        );
    }
}
