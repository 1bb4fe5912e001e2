//! Document backups: the `document-snapshotter` Lambda, run at the stack's backup hour, takes
//! an EBS snapshot of every document volume (both in dual-AZ stacks), tags it as this stack's,
//! and prunes only this stack's snapshots beyond the newest N completed ones. Optionally it
//! copies each completed snapshot to a second region, re-encrypted there with a given KMS key.
//!
//! Logical IDs kept from the original: DocumentBackupExecutionRole,
//! DocumentBackupManagerFunction, DocumentBackupScheduler, DocumentBackupSchedulerPermission.
//! New: DocumentBackupManagerFunctionLogGroup, DocumentBackupInvokeConfig (retries and the
//! on-failure destination), the `DocumentBackup*` parameters and the
//! `DocumentBackupCopyEnabled` / `DocumentBackupCopyKeyGiven` conditions.
//!
//! The role may snapshot only the stack's volumes, may tag only while creating, and may
//! delete only snapshots whose `openemr:stack-id` tag is this stack's id (the function's own
//! rule, enforced a second time by IAM).

use serde_json::{Value, json};
use stack_contract::document_snapshotter as env;
use stack_contract::tags::SNAPSHOT_STACK_ID;
use stack_contract::volumes;

use crate::cfn::{allow, if_, no_value, ref_, sub};
use crate::components::backup_schedule;
use crate::components::document_store;
use crate::lambda::{RustFunction, Schedule, add_function, add_role, add_schedule};
use crate::options::Options;
use crate::stack::ALERT_TOPIC;
use crate::template::Template;

pub const FUNCTION: &str = "DocumentBackupManagerFunction";
pub const ROLE: &str = "DocumentBackupExecutionRole";
pub const SCHEDULE: &str = "DocumentBackupScheduler";
pub const PERMISSION: &str = "DocumentBackupSchedulerPermission";
pub const INVOKE_CONFIG: &str = "DocumentBackupInvokeConfig";
pub const COPY_ENABLED: &str = "DocumentBackupCopyEnabled";
pub const COPY_KEY_GIVEN: &str = "DocumentBackupCopyKeyGiven";

pub const RETENTION: &str = "DocumentBackupRetention";
pub const DESCRIPTION: &str = "DocumentBackupDescription";
pub const IDEMPOTENCY_HOURS: &str = "DocumentBackupIdempotencyHours";
pub const COPY_REGION: &str = "DocumentBackupCopyRegion";
pub const COPY_KMS_KEY_ID: &str = "DocumentBackupCopyKmsKeyId";

/// Snapshot ARNs in `region` (a template expression): EC2 snapshot ARNs have no account.
fn snapshots_in(region: &str) -> Value {
    sub(&format!("arn:${{AWS::Partition}}:ec2:{region}::snapshot/*"))
}

/// The copy region's KMS key, as an ARN built from the key id parameter.
fn copy_key_arn() -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:kms:${{{COPY_REGION}}}:${{AWS::AccountId}}:key/${{{COPY_KMS_KEY_ID}}}"
    ))
}

/// `{ "StringEquals": { "aws:<context>/openemr:stack-id": <stack id> } }`: the snapshot is
/// (`ResourceTag`) or is being tagged (`RequestTag`) as this stack's.
fn stack_tag_condition(context: &str) -> Value {
    json!({ "StringEquals": { format!("aws:{context}/{SNAPSHOT_STACK_ID}"): ref_("AWS::StackId") } })
}

pub fn add(t: &mut Template, o: &Options) {
    add_parameters(t);
    add_conditions(t);
    let mut statements = snapshot_statements(o);
    statements.extend(copy_statements(o));
    // The on-failure destination publishes with the function's role.
    statements.push(allow(&["sns:Publish"], json!([ref_(ALERT_TOPIC)])));
    add_role(t, ROLE, FUNCTION, statements);
    add_snapshotter(t, o);
    add_nightly_schedule(t);
}

fn add_parameters(t: &mut Template) {
    t.add_parameter(
        RETENTION,
        json!({
            "Type": "Number",
            "Default": 3,
            "MinValue": 1,
            "MaxValue": 1000,
            "Description": "Completed document snapshots kept per CouchDB volume (and per volume in the copy region). Only this stack's snapshots are ever deleted; pending and failed ones do not count."
        }),
    );
    t.add_parameter(
        DESCRIPTION,
        json!({
            "Type": "String",
            "Default": "OpenEMR document store snapshot",
            "MinLength": 1,
            "MaxLength": 200,
            "Description": "Description given to each document snapshot."
        }),
    );
    t.add_parameter(
        IDEMPOTENCY_HOURS,
        json!({
            "Type": "Number",
            "Default": 20,
            "MinValue": 1,
            "MaxValue": 23,
            "Description": "A volume that already has a snapshot younger than this many hours gets no new one (a repeated delivery of the nightly event makes no second snapshot). Below 24 so the next night's runs."
        }),
    );
    t.add_parameter(
        COPY_REGION,
        json!({
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^$|^[a-z]{2}(-[a-z]+)+-[0-9]+$",
            "ConstraintDescription": "empty, or a region name such as us-west-2",
            "Description": "Optional: copy each completed document snapshot to this region (for recovery there without copying by hand). Empty: no copies. Needs DocumentBackupCopyKmsKeyId."
        }),
    );
    t.add_parameter(
        COPY_KMS_KEY_ID,
        json!({
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^$|^(mrk-[a-f0-9]{32}|[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})$",
            "ConstraintDescription": "empty, or a KMS key id (a UUID, or mrk-... for a multi-Region key)",
            "Description": "Id of the KMS key in DocumentBackupCopyRegion (this account) that encrypts the copies. Required when DocumentBackupCopyRegion is set: without it the function fails every night and alerts."
        }),
    );
}

fn add_conditions(t: &mut Template) {
    t.add_condition(
        COPY_ENABLED,
        json!({ "Fn::Not": [{ "Fn::Equals": [ref_(COPY_REGION), ""] }] }),
    );
    t.add_condition(
        COPY_KEY_GIVEN,
        json!({ "Fn::Not": [{ "Fn::Equals": [ref_(COPY_KMS_KEY_ID), ""] }] }),
    );
}

/// Snapshot, tag, describe and delete: only the stack's volumes, only this stack's snapshots.
fn snapshot_statements(o: &Options) -> Vec<Value> {
    let volume_arns = document_store::volume_arns(o);
    let here = snapshots_in("${AWS::Region}");
    let there = snapshots_in(&format!("${{{COPY_REGION}}}"));
    let both_regions = json!([here.clone(), if_(COPY_ENABLED, there, no_value())]);
    vec![
        // Snapshot the stack's document volumes, and nothing else...
        allow(&["ec2:CreateSnapshot"], json!(volume_arns)),
        // ...into snapshots that are tagged as this stack's at creation.
        json!({
            "Effect": "Allow",
            "Action": ["ec2:CreateSnapshot"],
            "Resource": [here],
            "Condition": stack_tag_condition("RequestTag")
        }),
        // Tags only as part of creating (or copying) a snapshot: no re-tagging of others.
        json!({
            "Effect": "Allow",
            "Action": ["ec2:CreateTags"],
            "Resource": both_regions.clone(),
            "Condition": { "StringEquals": { "ec2:CreateAction": ["CreateSnapshot", "CopySnapshot"] } }
        }),
        // Describe calls support no resource-level permissions.
        allow(
            &["ec2:DescribeSnapshots", "ec2:DescribeVolumes"],
            json!(["*"]),
        ),
        // Delete only this stack's snapshots.
        json!({
            "Effect": "Allow",
            "Action": ["ec2:DeleteSnapshot"],
            "Resource": both_regions,
            "Condition": stack_tag_condition("ResourceTag")
        }),
    ]
}

/// Copy enabled only: read our own snapshots here, write tagged copies there, re-encrypt.
fn copy_statements(o: &Options) -> Vec<Value> {
    let copy_statement = |statement: Value| if_(COPY_ENABLED, statement, no_value());
    vec![
        copy_statement(json!({
            "Effect": "Allow",
            "Action": ["ec2:CopySnapshot"],
            "Resource": [snapshots_in("${AWS::Region}")],
            "Condition": stack_tag_condition("ResourceTag")
        })),
        copy_statement(json!({
            "Effect": "Allow",
            "Action": ["ec2:CopySnapshot"],
            "Resource": [snapshots_in(&format!("${{{COPY_REGION}}}"))],
            "Condition": stack_tag_condition("RequestTag")
        })),
        // Re-encrypting a copy uses the stack key (source) and the copy key (target), only
        // through EC2.
        copy_statement(json!({
            "Effect": "Allow",
            "Action": [
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo"
            ],
            "Resource": [crate::stack::key_arn(o), copy_key_arn()],
            "Condition": { "StringLike": { "kms:ViaService": "ec2.*.amazonaws.com" } }
        })),
    ]
}

/// The function's environment: the names are the function's own (`stack_contract`).
fn environment(o: &Options) -> Value {
    let volumes_env = volumes::sub_template(document_store::volumes(o).len());
    json!({
        (env::STACK_ID): ref_("AWS::StackId"),
        (env::VOLUMES): sub(&volumes_env),
        (env::RETAIN_COUNT): ref_(RETENTION),
        (env::DESCRIPTION): ref_(DESCRIPTION),
        (env::IDEMPOTENCY_WINDOW_HOURS): ref_(IDEMPOTENCY_HOURS),
        (env::COPY_REGION): ref_(COPY_REGION),
        (env::COPY_KMS_KEY_ID): if_(COPY_KEY_GIVEN, copy_key_arn(), json!("")),
    })
}

fn add_snapshotter(t: &mut Template, o: &Options) {
    add_function(
        t,
        RustFunction {
            id: FUNCTION,
            code: "DocumentSnapshotter",
            role: ROLE,
            description: "Nightly EBS snapshots of the CouchDB volume(s); prunes only this stack's snapshots",
            environment: environment(o),
            timeout_seconds: 300,
            memory_mb: 128,
            // One at a time: two concurrent deliveries could otherwise both snapshot.
            reserved_concurrency: 1,
        },
    );
}

/// Retries are safe (a run inside the idempotency window makes no second snapshot) and
/// cover throttling; a run that still fails reaches the operators' topic with its summary.
fn add_nightly_schedule(t: &mut Template) {
    add_schedule(
        t,
        Schedule {
            rule: SCHEDULE,
            permission: PERMISSION,
            invoke_config: INVOKE_CONFIG,
            function: FUNCTION,
            description: "Takes the nightly document (CouchDB volume) snapshots at BackupHour (UTC)",
            expression: backup_schedule::snapshot_schedule(),
            target: "DocumentBackupManager",
            max_retries: 2,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::get_att;

    fn template(o: &Options) -> Value {
        let mut t = Template::new(String::new());
        add(&mut t, o);
        t.to_json()
    }

    fn statements(t: &Value) -> Vec<Value> {
        let raw = t["Resources"][ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .clone();
        // Unwrap the copy-only statements (`Fn::If [cond, statement, NoValue]`).
        raw.into_iter()
            .map(|s| {
                if let Some(branches) = s.get("Fn::If") {
                    branches[1].clone()
                } else {
                    s
                }
            })
            .collect()
    }

    fn actions(s: &Value) -> Vec<String> {
        s["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn original_logical_ids_are_kept() {
        let t = template(&Options::default());
        for (id, kind) in [
            (ROLE, "AWS::IAM::Role"),
            (FUNCTION, "AWS::Lambda::Function"),
            (SCHEDULE, "AWS::Events::Rule"),
            (PERMISSION, "AWS::Lambda::Permission"),
            (INVOKE_CONFIG, "AWS::Lambda::EventInvokeConfig"),
        ] {
            assert_eq!(t["Resources"][id]["Type"], kind, "{id}");
        }
        assert_eq!(
            t["Resources"][SCHEDULE]["Properties"]["ScheduleExpression"],
            backup_schedule::snapshot_schedule()
        );
        assert_eq!(
            t["Resources"][PERMISSION]["Properties"]["SourceArn"],
            get_att(SCHEDULE, "Arn")
        );
        assert_eq!(
            t["Resources"][INVOKE_CONFIG]["Properties"]["DestinationConfig"]["OnFailure"]["Destination"],
            ref_(ALERT_TOPIC)
        );
        assert_eq!(t["Parameters"]["DocumentBackupRetention"]["Default"], 3);
        assert_eq!(t["Parameters"]["DocumentBackupRetention"]["MinValue"], 1);
    }

    #[test]
    fn every_document_volume_is_passed_and_snapshot_only_those() {
        for (dual_az, want) in [
            (false, "CouchDBVolume=${CouchDBVolume}"),
            (
                true,
                "CouchDBVolume=${CouchDBVolume},RCouchDBVolume=${RCouchDBVolume}",
            ),
        ] {
            let t = template(&Options {
                dual_az,
                ..Options::default()
            });
            let vars = &t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"];
            assert_eq!(vars[env::VOLUMES], sub(want));
            assert_eq!(vars[env::STACK_ID], ref_("AWS::StackId"));
            let create = statements(&t)
                .into_iter()
                .find(|s| actions(s) == ["ec2:CreateSnapshot"] && s.get("Condition").is_none())
                .unwrap();
            let n = create["Resource"].as_array().unwrap().len();
            assert_eq!(n, if dual_az { 2 } else { 1 });
            assert!(
                create["Resource"]
                    .to_string()
                    .contains("volume/${CouchDBVolume}")
            );
        }
    }

    #[test]
    fn policy_is_scoped() {
        let t = template(&Options {
            dual_az: true,
            ..Options::default()
        });
        for s in statements(&t) {
            for a in actions(&s) {
                assert!(!a.contains('*'), "wildcard action {a}");
            }
            let resource = s["Resource"].to_string();
            let describe_only = actions(&s).iter().all(|a| a.starts_with("ec2:Describe"));
            if resource.contains("\"*\"") {
                assert!(describe_only, "Resource * only for describe calls: {s}");
            }
            if actions(&s).iter().any(|a| a == "ec2:DeleteSnapshot") {
                assert_eq!(
                    s["Condition"]["StringEquals"][format!("aws:ResourceTag/{SNAPSHOT_STACK_ID}")],
                    ref_("AWS::StackId")
                );
            }
            if actions(&s).iter().any(|a| a == "ec2:CreateTags") {
                assert!(s["Condition"]["StringEquals"]["ec2:CreateAction"].is_array());
            }
        }
    }

    #[test]
    fn copy_is_off_by_default_and_conditional() {
        let t = template(&Options::default());
        assert_eq!(t["Parameters"]["DocumentBackupCopyRegion"]["Default"], "");
        assert!(t["Conditions"][COPY_ENABLED].is_object());
        let raw = &t["Resources"][ROLE]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
        let conditional = raw
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Fn::If"][0] == COPY_ENABLED)
            .count();
        assert_eq!(
            conditional, 3,
            "two CopySnapshot statements and the KMS one"
        );
        // Recovery stacks re-encrypt from the recovered key.
        let t = template(&Options {
            recovery: true,
            ..Options::default()
        });
        assert!(t["Resources"][ROLE].to_string().contains("RecoveryKMSKey"));
    }
}
