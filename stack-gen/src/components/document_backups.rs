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

use crate::cfn::{allow, if_, no_value, ref_, sub};
use crate::components::backup_schedule;
use crate::components::document_store;
use crate::components::foundation::{self, ALERT_TOPIC};
use crate::lambda::{RustFunction, Schedule, add_function, add_role, add_schedule};
use crate::options::Options;
use crate::template::Template;

pub const FUNCTION: &str = "DocumentBackupManagerFunction";
pub const ROLE: &str = "DocumentBackupExecutionRole";
pub const SCHEDULE: &str = "DocumentBackupScheduler";
pub const PERMISSION: &str = "DocumentBackupSchedulerPermission";
pub const INVOKE_CONFIG: &str = "DocumentBackupInvokeConfig";
pub const COPY_ENABLED: &str = "DocumentBackupCopyEnabled";
pub const COPY_KEY_GIVEN: &str = "DocumentBackupCopyKeyGiven";

/// The tag that marks a snapshot as this stack's (`document_snapshotter::tags::STACK_ID`).
pub const STACK_TAG: &str = "openemr:stack-id";

/// Snapshot ARNs in `region` (a template expression): EC2 snapshot ARNs have no account.
fn snapshots_in(region: &str) -> Value {
    sub(&format!("arn:${{AWS::Partition}}:ec2:{region}::snapshot/*"))
}

pub fn add(t: &mut Template, o: &Options) {
    t.add_parameter(
        "DocumentBackupRetention",
        json!({
            "Type": "Number",
            "Default": 3,
            "MinValue": 1,
            "MaxValue": 1000,
            "Description": "Completed document snapshots kept per CouchDB volume (and per volume in the copy region). Only this stack's snapshots are ever deleted; pending and failed ones do not count."
        }),
    );
    t.add_parameter(
        "DocumentBackupDescription",
        json!({
            "Type": "String",
            "Default": "OpenEMR document store snapshot",
            "MinLength": 1,
            "MaxLength": 200,
            "Description": "Description given to each document snapshot."
        }),
    );
    t.add_parameter(
        "DocumentBackupIdempotencyHours",
        json!({
            "Type": "Number",
            "Default": 20,
            "MinValue": 1,
            "MaxValue": 23,
            "Description": "A volume that already has a snapshot younger than this many hours gets no new one (a repeated delivery of the nightly event makes no second snapshot). Below 24 so the next night's runs."
        }),
    );
    t.add_parameter(
        "DocumentBackupCopyRegion",
        json!({
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^$|^[a-z]{2}(-[a-z]+)+-[0-9]+$",
            "ConstraintDescription": "empty, or a region name such as us-west-2",
            "Description": "Optional: copy each completed document snapshot to this region (for recovery there without copying by hand). Empty: no copies. Needs DocumentBackupCopyKmsKeyId."
        }),
    );
    t.add_parameter(
        "DocumentBackupCopyKmsKeyId",
        json!({
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^$|^(mrk-[a-f0-9]{32}|[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})$",
            "ConstraintDescription": "empty, or a KMS key id (a UUID, or mrk-... for a multi-Region key)",
            "Description": "Id of the KMS key in DocumentBackupCopyRegion (this account) that encrypts the copies. Required when DocumentBackupCopyRegion is set: without it the function fails every night and alerts."
        }),
    );
    t.add_condition(
        COPY_ENABLED,
        json!({ "Fn::Not": [{ "Fn::Equals": [ref_("DocumentBackupCopyRegion"), ""] }] }),
    );
    t.add_condition(
        COPY_KEY_GIVEN,
        json!({ "Fn::Not": [{ "Fn::Equals": [ref_("DocumentBackupCopyKmsKeyId"), ""] }] }),
    );
    let copy_key_arn = sub(
        "arn:${AWS::Partition}:kms:${DocumentBackupCopyRegion}:${AWS::AccountId}:key/${DocumentBackupCopyKmsKeyId}",
    );

    let volumes = document_store::volumes(o);
    let volume_arns: Vec<Value> = volumes
        .iter()
        .map(|(id, _)| {
            sub(&format!(
                "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:volume/${{{id}}}"
            ))
        })
        .collect();
    let here = snapshots_in("${AWS::Region}");
    let there = snapshots_in("${DocumentBackupCopyRegion}");
    let both_regions = json!([here.clone(), if_(COPY_ENABLED, there.clone(), no_value())]);
    let stack_id = ref_("AWS::StackId");
    let copy_statement = |statement: Value| if_(COPY_ENABLED, statement, no_value());

    add_role(
        t,
        ROLE,
        FUNCTION,
        vec![
            // Snapshot the stack's document volumes, and nothing else...
            allow(&["ec2:CreateSnapshot"], json!(volume_arns)),
            // ...into snapshots that are tagged as this stack's at creation.
            json!({
                "Effect": "Allow",
                "Action": ["ec2:CreateSnapshot"],
                "Resource": [here.clone()],
                "Condition": { "StringEquals": { format!("aws:RequestTag/{STACK_TAG}"): stack_id.clone() } }
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
                "Condition": { "StringEquals": { format!("aws:ResourceTag/{STACK_TAG}"): stack_id.clone() } }
            }),
            // Copy: read our own snapshots here, write tagged copies there.
            copy_statement(json!({
                "Effect": "Allow",
                "Action": ["ec2:CopySnapshot"],
                "Resource": [here],
                "Condition": { "StringEquals": { format!("aws:ResourceTag/{STACK_TAG}"): stack_id.clone() } }
            })),
            copy_statement(json!({
                "Effect": "Allow",
                "Action": ["ec2:CopySnapshot"],
                "Resource": [there],
                "Condition": { "StringEquals": { format!("aws:RequestTag/{STACK_TAG}"): stack_id } }
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
                "Resource": [foundation::key_arn(o), copy_key_arn.clone()],
                "Condition": { "StringLike": { "kms:ViaService": "ec2.*.amazonaws.com" } }
            })),
            // The on-failure destination publishes with the function's role.
            allow(&["sns:Publish"], json!([ref_(ALERT_TOPIC)])),
        ],
    );

    let volumes_env = volumes
        .iter()
        .map(|(id, _)| format!("{id}=${{{id}}}"))
        .collect::<Vec<_>>()
        .join(",");
    add_function(
        t,
        RustFunction {
            id: FUNCTION,
            code: "DocumentSnapshotter",
            role: ROLE,
            description: "Nightly EBS snapshots of the CouchDB volume(s); prunes only this stack's snapshots",
            environment: json!({
                "STACK_ID": ref_("AWS::StackId"),
                "VOLUMES": sub(&volumes_env),
                "RETAIN_COUNT": ref_("DocumentBackupRetention"),
                "DESCRIPTION": ref_("DocumentBackupDescription"),
                "IDEMPOTENCY_WINDOW_HOURS": ref_("DocumentBackupIdempotencyHours"),
                "COPY_REGION": ref_("DocumentBackupCopyRegion"),
                "COPY_KMS_KEY_ID": if_(COPY_KEY_GIVEN, copy_key_arn, json!("")),
            }),
            timeout_seconds: 300,
            memory_mb: 128,
            // One at a time: two concurrent deliveries could otherwise both snapshot.
            reserved_concurrency: 1,
        },
    );

    // Retries are safe (a run inside the idempotency window makes no second snapshot) and
    // cover throttling; a run that still fails reaches the operators' topic with its summary.
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
            let env = &t["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"];
            assert_eq!(env["VOLUMES"], sub(want));
            assert_eq!(env["STACK_ID"], ref_("AWS::StackId"));
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
                    s["Condition"]["StringEquals"]["aws:ResourceTag/openemr:stack-id"],
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
