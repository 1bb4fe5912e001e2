//! Database: RDS MySQL by major version (minor versions upgrade themselves), encrypted with the
//! stack key, backed up daily in the stack's backup window and snapshotted on delete. A
//! recovery stack restores it from `RecoveryRDSSnapshotARN`, sized as recorded.

use serde_json::{Value, json};

use crate::cfn::{get_att, ingress_from_group, ref_, resource, security_group, sub};
use crate::components::backup_schedule::{rds_backup_window, rds_maintenance_window};
use crate::options::Options;
use crate::stack::dns_record;
use crate::stack::{ZONE, keep_policy, key_arn};
use crate::template::Template;

/// The database instance's logical ID (the functions that read a stack know it by the same
/// constant).
pub use stack_contract::logical_ids::DATABASE as DB_INSTANCE;

/// The database instance's ARN (for IAM statements).
pub fn db_arn() -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:rds:${{AWS::Region}}:${{AWS::AccountId}}:db:${{{DB_INSTANCE}}}"
    ))
}

/// Master user of the database (as in the original); also OpenEMR's own user, so that the
/// image's installer finds the schema RDS made (`DBName`) and uses it.
pub const MASTER_USER: &str = "openemr";
/// OpenEMR's schema (`DBName`, as in the original).
pub const SCHEMA: &str = "openemr";
/// The logs RDS exports to CloudWatch Logs, each into `/aws/rds/instance/<id>/<log>` (a group
/// RDS creates unless it exists: `logs::add_service_log_groups` makes or adopts them).
pub const LOG_EXPORTS: [&str; 2] = ["error", "slowquery"];
/// The parameter that makes the database refuse connections without TLS, and its condition.
pub const REQUIRE_TLS_PARAMETER: &str = "DatabaseRequireTLS";
const REQUIRE_TLS_CONDITION: &str = "DatabaseRequiresTLS";
/// Days RDS keeps automated backups (the original left the default, 1).
pub const BACKUP_RETENTION_DAYS: u32 = 35;

/// The MySQL major versions a stack may run, oldest first: RDS's major-upgrade path, one step
/// per update (5.7 -> 8.0 -> 8.4; RDS has no 5.7 -> 8.4). 5.7 is where the original's
/// databases are (5.6 in its template, upgraded by RDS at 5.6's end of life); the newest is
/// the default of a new stack.
pub const MYSQL_VERSIONS: [&str; 3] = ["5.7", "8.0", "8.4"];

pub fn add(t: &mut Template, o: &Options) {
    if !o.recovery {
        // A recovery stack runs the engine version of its snapshot (see recovery_overrides).
        t.add_parameter(
        "MySQLVersion",
        json!({ "Type": "String", "Default": MYSQL_VERSIONS[MYSQL_VERSIONS.len() - 1], "AllowedValues": MYSQL_VERSIONS, "Description": "MySQL major version; minor versions are upgraded automatically in the maintenance window. 5.7 only for a stack updated from the original generator's (whose database RDS moved to 5.7): keep it in that update, then upgrade 5.7 -> 8.0 -> 8.4 in one update each (RDS's upgrade path; README)." }),
        );
    }
    t.add_switch(
        REQUIRE_TLS_PARAMETER,
        REQUIRE_TLS_CONDITION,
        "true: the database refuses connections without TLS (require_secure_transport). The application bundle must connect with TLS (README, \"The application bundle\"); false only for a bundle that cannot yet.",
    );
    t.add_parameter(
        "DBInstanceClass",
        json!({ "Type": "String", "Default": "db.t4g.medium", "AllowedPattern": "^db\\.[a-z0-9]+\\.[a-z0-9]+$", "Description": "RDS instance class of the database." }),
    );
    t.add_resource(
        "DBSecurityGroup",
        security_group("OpenEMR database (RDS MySQL)", "database"),
    );
    t.add_resource(
        "DBSGIngress",
        ingress_from_group(
            "DBSecurityGroup",
            3306,
            "ApplicationSecurityGroup",
            "MySQL from the application servers",
        ),
    );
    t.add_resource(
        "RDSSubnetGroup",
        resource(
            "AWS::RDS::DBSubnetGroup",
            json!({ "DBSubnetGroupDescription": "OpenEMR database private subnets", "SubnetIds": [ref_("PrivateSubnet1"), ref_("PrivateSubnet2")] }),
        ),
    );
    if !o.recovery {
        t.add_resource(
            "DatabaseSecret",
            json!({
                "Type": "AWS::SecretsManager::Secret",
                // Kept with the database's final snapshot, which it opens.
                "DeletionPolicy": keep_policy(o, "Retain"),
                "UpdateReplacePolicy": keep_policy(o, "Retain"),
                "Properties": {
                    "Description": sub("OpenEMR ${AWS::StackName}: database master user"),
                    "KmsKeyId": key_arn(o),
                    // RDSPassword's AllowedPattern keeps quotes and backslashes out of the JSON.
                    "SecretString": sub(&format!("{{\"username\":\"{MASTER_USER}\",\"password\":\"${{RDSPassword}}\"}}"))
                }
            }),
        );
    }
    t.add_resource(
        "DatabaseParameters",
        resource(
            "AWS::RDS::DBParameterGroup",
            json!({
                "Description": sub("OpenEMR ${AWS::StackName}: MySQL settings (TLS required)"),
                "Family": parameter_group_family(o),
                "Parameters": {
                    "require_secure_transport": crate::cfn::if_(REQUIRE_TLS_CONDITION, json!("1"), json!("0"))
                }
            }),
        ),
    );
    let mut p = json!({
        "Engine": "mysql",
        "DBParameterGroupName": ref_("DatabaseParameters"),
        "EngineVersion": ref_("MySQLVersion"),
        "AutoMinorVersionUpgrade": true,
        // MySQLVersion 8.0 -> 8.4 on an existing stack is a major upgrade: RDS refuses it
        // without this (a downgrade stays impossible, as in RDS).
        "AllowMajorVersionUpgrade": true,
        "DBInstanceClass": ref_("DBInstanceClass"),
        "StorageType": "gp3",
        "AllocatedStorage": ref_("PatientRecords"),
        "StorageEncrypted": true,
        "KmsKeyId": crate::stack::key_id(o),
        "DBName": SCHEMA,
        "MasterUsername": MASTER_USER,
        // Resolved from Secrets Manager at deploy time: the password stays out of the
        // template's resolved properties and is kept (encrypted) for the application.
        "MasterUserPassword": sub("{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"),
        "MultiAZ": o.dual_az,
        "DBSubnetGroupName": ref_("RDSSubnetGroup"),
        "VPCSecurityGroups": [ref_("DBSecurityGroup")],
        "PubliclyAccessible": false,
        "BackupRetentionPeriod": BACKUP_RETENTION_DAYS,
        "PreferredBackupWindow": rds_backup_window(),
        "PreferredMaintenanceWindow": rds_maintenance_window(),
        "CopyTagsToSnapshot": true,
        "DeletionProtection": !(o.dev || o.drill),
        "EnableCloudwatchLogsExports": LOG_EXPORTS,
        "Tags": [crate::cfn::name_tag("database")]
    });
    if o.recovery {
        recovery_overrides(&mut p);
    }
    if o.drill {
        // No final snapshot, no automated backups left behind; named so that the source
        // stack's drill role may delete its log groups (see restore_drill).
        p["DeleteAutomatedBackups"] = json!(true);
        p["DBInstanceIdentifier"] = crate::stack::drill_resource_name(None);
    }
    t.add_resource(
        DB_INSTANCE,
        json!({
            "Type": "AWS::RDS::DBInstance",
            "DeletionPolicy": keep_policy(o, "Snapshot"),
            "UpdateReplacePolicy": keep_policy(o, "Snapshot"),
            "Properties": p
        }),
    );
    t.add_resource(
        "DNSMySQL",
        dns_record(
            &format!("mysql.{ZONE}"),
            "CNAME",
            get_att(DB_INSTANCE, "Endpoint.Address"),
        ),
    );
}

/// The parameter group family of the engine's major version: `mysql8.4` for 8.4 or 8.4.x (a
/// recovery stack's version is the snapshot's, as the manifest recorded it).
fn parameter_group_family(o: &Options) -> Value {
    let version = if o.recovery {
        get_att(crate::components::recovery::PARAMETERS, "EngineVersion")
    } else {
        ref_("MySQLVersion")
    };
    let parts = json!({ "Fn::Split": [".", version] });
    crate::cfn::join(
        "",
        vec![
            json!("mysql"),
            crate::cfn::select(0, parts.clone()),
            json!("."),
            crate::cfn::select(1, parts),
        ],
    )
}

/// A restore takes the schema, master user and password from the snapshot (CloudFormation
/// rejects them beside `DBSnapshotIdentifier`), and its encryption and key too (the
/// CloudFormation reference: with `DBSnapshotIdentifier`, "don't specify" `KmsKeyId` or
/// `StorageEncrypted`, "the value is inherited from the snapshot"; the original's recovery
/// stacks set neither, so setting them would replace their database on update); size and
/// engine version come from the recovery manifest, resolved by `RecoveryParameters`.
fn recovery_overrides(p: &mut Value) {
    let p = p.as_object_mut().expect("object");
    for property in [
        "DBName",
        "MasterUsername",
        "MasterUserPassword",
        "KmsKeyId",
        "StorageEncrypted",
    ] {
        p.remove(property);
    }
    p.insert(
        "DBSnapshotIdentifier".into(),
        ref_(stack_contract::recovery_params::resolve::RDS_SNAPSHOT),
    );
    p.insert(
        "AllocatedStorage".into(),
        get_att(crate::components::recovery::PARAMETERS, "PatientRecords"),
    );
    p.insert(
        "EngineVersion".into(),
        get_att(crate::components::recovery::PARAMETERS, "EngineVersion"),
    );
}
