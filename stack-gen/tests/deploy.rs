//! What AWS itself does with the stack at create, update and delete, where the linter and the
//! emulator see nothing (DESIGN.md's deploy facts).

mod common;

use common::{all_templates, resources_of};
use serde_json::Value;

fn depends_on(resource: &Value) -> Vec<String> {
    match &resource["DependsOn"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect(),
        _ => vec![],
    }
}

/// RDS MySQL on gp3 takes 20-65536 GiB: the default stack must create.
#[test]
fn the_database_size_fits_gp3() {
    for (name, options, t) in all_templates() {
        let db = &t["Resources"]["RDSInstance"]["Properties"];
        assert_eq!(db["StorageType"], "gp3", "{name}");
        if !options.recovery {
            let p = &t["Parameters"]["PatientRecords"];
            assert!(
                p["MinValue"].as_u64().unwrap() >= 20 && p["Default"].as_u64().unwrap() >= 20,
                "{name}: {p}"
            );
            assert!(p["MaxValue"].as_u64().unwrap() <= 65536, "{name}");
        }
    }
    // The recovery side: the resolved size is never below gp3's minimum either.
    assert_eq!(recovery_params::resolve::database_storage_gb(10), 20);
    assert_eq!(
        recovery_params::resolve::MIN_DATABASE_STORAGE_GB,
        stack_gen::components::foundation::DATABASE_STORAGE_MIN_GB
    );
}

/// systemd-resolved sends `*.local` to multicast DNS only: the private zone must be a name
/// that unicast DNS serves, and every record and client name must be in it.
#[test]
fn private_names_resolve_on_current_images() {
    for (name, _, t) in all_templates() {
        let zone = t["Resources"]["DNS"]["Properties"]["Name"]
            .as_str()
            .unwrap();
        assert!(
            !zone.ends_with(".local"),
            "{name}: {zone} is mDNS-only on Ubuntu 24.04 / AL2023"
        );
        for (id, r) in resources_of(&t, "AWS::Route53::RecordSet") {
            let record = r["Properties"]["Name"].as_str().unwrap();
            assert!(
                record.ends_with(&format!(".{zone}")),
                "{name}: {id} {record}"
            );
        }
        let text = serde_json::to_string(&t).unwrap();
        assert!(
            !text.contains("openemr.local"),
            "{name}: a client still uses openemr.local"
        );
    }
}

/// Instances in the private subnets reach apt, pip and S3 through the NAT: they must wait for
/// their subnet's route table association and its NAT route.
#[test]
fn private_instances_wait_for_their_way_out() {
    for (name, options, t) in all_templates() {
        for (id, r) in resources_of(&t, "AWS::EC2::Instance") {
            let subnet = r["Properties"]["SubnetId"]["Ref"].as_str();
            let Some(subnet) = subnet.filter(|s| s.starts_with("PrivateSubnet")) else {
                continue;
            };
            let n = subnet.trim_start_matches("PrivateSubnet");
            let deps = depends_on(r);
            let route = if options.dual_az {
                format!("rtPrivate{n}")
            } else {
                "rtPrivate".to_owned()
            };
            for needed in [route, format!("rtPrivate{n}Attach")] {
                assert!(
                    deps.contains(&needed),
                    "{name}: {id} in {subnet} does not wait for {needed}: {deps:?}"
                );
            }
        }
    }
}

/// MySQLVersion 8.0 -> 8.4 on an existing stack is a major version upgrade.
#[test]
fn a_new_mysql_major_version_applies_on_update() {
    for (name, _, t) in all_templates() {
        assert_eq!(
            t["Resources"]["RDSInstance"]["Properties"]["AllowMajorVersionUpgrade"], true,
            "{name}"
        );
    }
}

/// CloudFormation cannot delete a bucket holding objects: a --dev stack would end in
/// DELETE_FAILED. Every bucket is retained (README: deleting a stack); nothing else in --dev
/// blocks the delete.
#[test]
fn a_dev_stack_deletes_cleanly() {
    for (name, options, t) in all_templates() {
        for (id, r) in resources_of(&t, "AWS::S3::Bucket") {
            assert_eq!(
                r["DeletionPolicy"], "Retain",
                "{name}: {id} would stop the delete while it holds objects"
            );
        }
        if options.dev {
            assert_eq!(
                t["Resources"]["RDSInstance"]["Properties"]["DeletionProtection"], false,
                "{name}"
            );
        } else {
            assert_eq!(
                t["Resources"]["RDSInstance"]["Properties"]["DeletionProtection"], true,
                "{name}"
            );
        }
    }
}

/// Dual-AZ: the replica starts after the first node, which alone makes the admin password.
#[test]
fn the_couchdb_replica_starts_after_the_first_node() {
    for (name, options, t) in all_templates() {
        if let Some(replica) = t["Resources"].get("CouchReplicatedDBInstance") {
            assert!(options.dual_az, "{name}");
            assert!(
                depends_on(replica).contains(&"CouchDBInstance".to_owned()),
                "{name}"
            );
        }
    }
}
