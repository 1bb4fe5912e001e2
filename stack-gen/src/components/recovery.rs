//! Recovery: the `recovery-params` custom resource (functions/recovery-params).
//!
//! - In every stack, `RecoveryManifest` (record mode) writes the recovery manifest to
//!   `s3://<stack bucket>/recovery/manifest.json`, SSE-KMS with the stack key: time zone, sizes,
//!   engine version, master user, password (only inside the encrypted object), the flags the
//!   stack was built with. So the stack can be recovered from four identifiers.
//! - In a recovery stack, `RecoveryParameters` (resolve mode) checks the four recovery inputs
//!   within seconds and returns `TimeZone`, `PatientRecords`, `DocumentStorage`,
//!   `MasterUsername`, `EngineVersion` and `Password` (NoEcho), which the database, document
//!   store and application components use. The recovery stack's own `RecoveryManifest` records
//!   those values, so a recovered stack can itself be recovered.
//!
//! One function, `RecoveryParamsFunction`, serves both; its role can write only the manifest
//! key of the stack bucket and, in a recovery stack, read only the recovery bucket's manifest,
//! duplicity listing and passphrase head.

use serde_json::{Value, json};
use stack_contract::bucket::{FULL_BACKUP_PATTERN, PASSPHRASE_KEY};
use stack_contract::recovery_params::{
    MODE, MODE_RECORD, MODE_RESOLVE, attributes, record, resolve,
};

use crate::cfn::{allow, get_att, ref_, resource, sub};
use crate::lambda::{RustFunction, add_function, add_role};
use crate::options::Options;
use crate::stack::key_arn;
use crate::template::Template;

pub const FUNCTION: &str = "RecoveryParamsFunction";
pub const ROLE: &str = "RecoveryParamsRole";
/// Record mode, every stack.
pub const MANIFEST: &str = "RecoveryManifest";
/// Resolve mode, recovery stacks.
pub const PARAMETERS: &str = "RecoveryParameters";
/// Where the manifest lives in a stack bucket (the contract's, as recovery-params reads it).
pub use stack_contract::bucket::MANIFEST_KEY;
/// Master user name of the database (the database component's `MASTER_USER`).
const MASTER_USER: &str = "openemr";

fn role_statements(o: &Options) -> Vec<Value> {
    let mut statements = vec![
        allow(
            &["s3:PutObject"],
            json!([crate::stack::bucket_objects(MANIFEST_KEY)]),
        ),
        allow(
            &["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"],
            json!([key_arn(o)]),
        ),
    ];
    if o.recovery {
        statements.push(allow(
            &["s3:GetBucketLocation"],
            json!([crate::stack::recovery_bucket_arn()]),
        ));
        // Without ListBucket a missing manifest (a stack built by the original) or passphrase
        // answers 403, not 404, and the fallback to the snapshots never runs.
        statements.extend(crate::stack::list_bucket(
            crate::stack::recovery_bucket_arn(),
            &[FULL_BACKUP_PATTERN, PASSPHRASE_KEY, MANIFEST_KEY],
        ));
        // HeadObject of the passphrase needs s3:GetObject; its content stays unread.
        statements.push(allow(
            &["s3:GetObject"],
            json!([
                crate::stack::recovery_bucket_objects(MANIFEST_KEY),
                crate::stack::recovery_bucket_objects(PASSPHRASE_KEY)
            ]),
        ));
        statements.push(allow(
            &["rds:DescribeDBSnapshots"],
            json!([sub(
                "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:snapshot:*"
            )]),
        ));
        if o.document_store() {
            // DescribeSnapshots supports no resource-level permissions.
            statements.push(allow(&["ec2:DescribeSnapshots"], json!(["*"])));
        }
    }
    statements
}

fn custom_resource(type_: &str, properties: Value) -> Value {
    let mut all = json!({ "ServiceToken": get_att(FUNCTION, "Arn") });
    let map = all.as_object_mut().expect("object");
    for (name, value) in properties.as_object().expect("properties are an object") {
        map.insert(name.clone(), value.clone());
    }
    resource(type_, all)
}

/// The manifest's values: the stack's parameters, or in a recovery stack what
/// `RecoveryParameters` resolved.
fn record_properties(o: &Options) -> Value {
    let value = |parameter: &str, attribute: &str| {
        if o.recovery {
            get_att(PARAMETERS, attribute)
        } else {
            ref_(parameter)
        }
    };
    let mut p = json!({
        MODE: MODE_RECORD,
        record::BUCKET: crate::stack::bucket(),
        record::KMS_KEY: key_arn(o),
        record::TIME_ZONE: value("TimeZone", attributes::TIME_ZONE),
        record::PATIENT_RECORDS: value("PatientRecords", attributes::PATIENT_RECORDS),
    });
    let map = p.as_object_mut().expect("object");
    if o.document_store() {
        map.insert(
            record::DOCUMENT_STORAGE.into(),
            value("DocumentStorage", attributes::DOCUMENT_STORAGE),
        );
    }
    map.insert(record::ENGINE.into(), json!("mysql"));
    map.insert(
        record::ENGINE_VERSION.into(),
        value("MySQLVersion", attributes::ENGINE_VERSION),
    );
    map.insert(
        record::MASTER_USERNAME.into(),
        if o.recovery {
            get_att(PARAMETERS, attributes::MASTER_USERNAME)
        } else {
            json!(MASTER_USER)
        },
    );
    map.insert(
        record::PASSWORD.into(),
        value("RDSPassword", attributes::PASSWORD),
    );
    map.insert(record::FLAGS.into(), json!(o.flags()));
    if o.recovery {
        map.insert(record::RECOVERED_FROM.into(), ref_(resolve::BUCKET));
    }
    p
}

/// The recovery inputs are the template parameters of the same names.
fn resolve_properties(o: &Options) -> Value {
    let mut p = json!({
        MODE: MODE_RESOLVE,
        resolve::KMS_KEY: ref_(resolve::KMS_KEY),
        resolve::RDS_SNAPSHOT: ref_(resolve::RDS_SNAPSHOT),
    });
    let map = p.as_object_mut().expect("object");
    if o.document_store() {
        map.insert(
            resolve::COUCHDB_SNAPSHOT.into(),
            ref_(resolve::COUCHDB_SNAPSHOT),
        );
    }
    map.insert(resolve::BUCKET.into(), ref_(resolve::BUCKET));
    map.insert(resolve::TIME_ZONE.into(), ref_(resolve::TIME_ZONE));
    p
}

pub fn add(t: &mut Template, o: &Options) {
    add_role(t, ROLE, FUNCTION, role_statements(o));
    add_function(
        t,
        RustFunction {
            id: FUNCTION,
            code: "RecoveryParams",
            role: ROLE,
            description: "Records the stack's recovery manifest; in a recovery stack, checks the recovery inputs and resolves the values the stack is rebuilt with",
            environment: json!({}),
            timeout_seconds: 60,
            memory_mb: 256,
            reserved_concurrency: 2,
        },
    );
    if o.recovery {
        t.add_resource(
            PARAMETERS,
            custom_resource("Custom::RecoveryParameters", resolve_properties(o)),
        );
    }
    t.add_resource(
        MANIFEST,
        custom_resource("Custom::RecoveryManifest", record_properties(o)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate;

    fn resources(o: &Options) -> serde_json::Map<String, Value> {
        generate(o).expect("valid options").to_json()["Resources"]
            .as_object()
            .unwrap()
            .clone()
    }

    fn text(v: &Value) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn every_stack_records_its_manifest_from_its_parameters() {
        let o = Options {
            dual_az: true,
            ..Options::default()
        };
        let r = resources(&o);
        assert!(!r.contains_key(PARAMETERS));
        let p = &r[MANIFEST]["Properties"];
        assert_eq!(p["ServiceToken"], get_att(FUNCTION, "Arn"));
        assert_eq!(p["Mode"], "record");
        assert_eq!(p["Bucket"], ref_("S3Bucket"));
        assert_eq!(p["KmsKeyArn"], get_att("OpenEMRKey", "Arn"));
        assert_eq!(p["TimeZone"], ref_("TimeZone"));
        assert_eq!(p["DocumentStorage"], ref_("DocumentStorage"));
        assert_eq!(p["EngineVersion"], ref_("MySQLVersion"));
        assert_eq!(p["Password"], ref_("RDSPassword"));
        assert_eq!(p["Flags"], json!(["--dual-az"]));
    }

    #[test]
    fn a_recovery_stack_resolves_then_records_what_it_resolved() {
        let o = Options {
            recovery: true,
            ..Options::default()
        };
        let r = resources(&o);
        let resolve = &r[PARAMETERS]["Properties"];
        for input in [
            "RecoveryKMSKey",
            "RecoveryRDSSnapshotARN",
            "RecoveryCouchDBSnapshot",
            "RecoveryS3Bucket",
            "TimeZone",
        ] {
            assert_eq!(resolve[input], ref_(input), "{input}");
        }
        let record = &r[MANIFEST]["Properties"];
        for attribute in [
            "TimeZone",
            "PatientRecords",
            "DocumentStorage",
            "MasterUsername",
            "EngineVersion",
            "Password",
        ] {
            assert_eq!(
                record[attribute],
                get_att(PARAMETERS, attribute),
                "{attribute}"
            );
        }
        assert_eq!(record["KmsKeyArn"], ref_("RecoveryKMSKey"));
        assert_eq!(record["Flags"], json!(["--recovery"]));
    }

    #[test]
    fn without_document_store_no_couchdb_inputs_or_permissions() {
        let o = Options {
            recovery: true,
            skip_document_store: true,
            ..Options::default()
        };
        let r = resources(&o);
        assert!(
            r[PARAMETERS]["Properties"]
                .get("RecoveryCouchDBSnapshot")
                .is_none()
        );
        assert!(r[MANIFEST]["Properties"].get("DocumentStorage").is_none());
        assert!(!text(&r[ROLE]).contains("ec2:DescribeSnapshots"));
    }

    #[test]
    fn the_role_is_scoped() {
        for o in [
            Options::default(),
            Options {
                recovery: true,
                ..Options::default()
            },
        ] {
            let r = resources(&o);
            let role = &r[ROLE];
            for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
            {
                for action in statement["Action"].as_array().unwrap() {
                    assert!(!action.as_str().unwrap().contains('*'), "{action}");
                }
                let resources = text(&statement["Resource"]);
                if resources == "[\"*\"]" {
                    assert_eq!(
                        statement["Action"],
                        json!(["ec2:DescribeSnapshots"]),
                        "only EC2 describe may use *"
                    );
                }
            }
            let role_text = text(role);
            assert!(role_text.contains("${S3Bucket.Arn}/recovery/manifest.json"));
            assert!(!role_text.contains("s3:DeleteObject"));
            assert_eq!(
                o.recovery,
                role_text.contains("${RecoveryS3Bucket}/Backup/passphrase.txt")
            );
        }
    }

    /// The recovery stack uses what `RecoveryParameters` resolved: database size and engine,
    /// CouchDB volume size(s), OpenEMR's time zone; and every attribute read exists.
    #[test]
    fn the_recovery_template_is_wired_to_the_resolved_values() {
        for dual_az in [false, true] {
            let o = Options {
                recovery: true,
                dual_az,
                ..Options::default()
            };
            let r = resources(&o);
            let db = &r["RDSInstance"]["Properties"];
            assert_eq!(db["DBSnapshotIdentifier"], ref_("RecoveryRDSSnapshotARN"));
            assert_eq!(
                db["AllocatedStorage"],
                get_att(PARAMETERS, "PatientRecords")
            );
            assert_eq!(db["EngineVersion"], get_att(PARAMETERS, "EngineVersion"));
            let volumes: &[&str] = if dual_az {
                &["CouchDBVolume", "RCouchDBVolume"]
            } else {
                &["CouchDBVolume"]
            };
            for volume in volumes {
                let p = &r[*volume]["Properties"];
                assert_eq!(p["SnapshotId"], ref_("RecoveryCouchDBSnapshot"), "{volume}");
                assert_eq!(
                    p["Size"],
                    get_att(PARAMETERS, "DocumentStorage"),
                    "{volume}"
                );
            }
            // Every attribute anyone reads is one the function returns.
            let returned = attributes::ALL;
            for (_, res) in &r {
                let res_text = text(res);
                for piece in res_text.split("[\"RecoveryParameters\",\"").skip(1) {
                    let attribute = piece.split('"').next().unwrap();
                    assert!(
                        returned.contains(&attribute),
                        "RecoveryParameters.{attribute} is not returned by recovery-params"
                    );
                }
            }
        }
    }
}
