//! What AWS itself does with the stack at create, update and delete, where the linter and the
//! emulator see nothing (DESIGN.md's deploy facts).

mod common;

use common::{all_templates, checked_templates, resources_of};
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
            let min = u64::from(stack_contract::storage::MIN_DATABASE_GB);
            assert_eq!(p["MinValue"], min, "{name}: {p}");
            assert!(p["Default"].as_u64().unwrap() >= min, "{name}: {p}");
            assert!(p["MaxValue"].as_u64().unwrap() <= 65536, "{name}");
        }
    }
    // The recovery side: the resolved size is never below gp3's minimum either.
    assert_eq!(recovery_params::resolve::database_storage_gb(10), 20);
}

/// sc1, the document volumes' type, takes 125-16384 GiB: the parameter and the size a
/// recovery resolves both start there.
#[test]
fn the_document_volume_size_fits_sc1() {
    let min = stack_contract::storage::MIN_DOCUMENT_GB;
    for (name, options, t) in all_templates() {
        if options.recovery || !options.document_store() {
            continue;
        }
        let p = &t["Parameters"]["DocumentStorage"];
        assert_eq!(p["MinValue"], min, "{name}: {p}");
        assert!(p["MaxValue"].as_u64().unwrap() <= 16384, "{name}");
    }
    assert_eq!(recovery_params::resolve::document_storage_gb(10), min);
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

/// The panic probe of the packaging test (`custom_resource::PANIC_PROBE_VAR`) makes every
/// request of a custom resource fail: no generated function may carry it.
#[test]
fn no_function_carries_the_panic_probe() {
    let mut functions = 0;
    for (name, _, t) in checked_templates() {
        for (id, function) in resources_of(&t, "AWS::Lambda::Function") {
            functions += 1;
            let variables = &function["Properties"]["Environment"]["Variables"];
            assert!(
                variables.get(custom_resource::PANIC_PROBE_VAR).is_none(),
                "{name}: {id} sets {}",
                custom_resource::PANIC_PROBE_VAR
            );
        }
    }
    assert!(functions > 0);
}

/// A bucket that outlives the stack keeps its policy (TLS only, backups and trail logs
/// undeletable): CloudFormation deletes a policy whose DeletionPolicy is not Retain even when
/// its bucket stays.
#[test]
fn a_retained_bucket_keeps_its_policy() {
    let mut checked = 0;
    for (name, _, t) in checked_templates() {
        for (id, policy) in resources_of(&t, "AWS::S3::BucketPolicy") {
            let bucket = policy["Properties"]["Bucket"]["Ref"].as_str().unwrap();
            let bucket = &t["Resources"][bucket];
            for key in ["DeletionPolicy", "UpdateReplacePolicy"] {
                assert_eq!(policy[key], bucket[key], "{name}: {id} {key}");
            }
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// Elastic Beanstalk's log streaming takes only the retentions its option
/// `aws:elasticbeanstalk:cloudwatch:logs RetentionInDays` lists (Elastic Beanstalk developer
/// guide, "General options for all environments"), a subset of CloudWatch Logs' values: the
/// stack's one `LogRetentionDays` reaches it, so every allowed value must be in that list.
#[test]
fn every_log_retention_is_one_elastic_beanstalk_accepts() {
    const ELASTIC_BEANSTALK_RETENTION_DAYS: [u64; 17] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653,
    ];
    for (name, _, t) in all_templates() {
        let parameter = &t["Parameters"]["LogRetentionDays"];
        let allowed = parameter["AllowedValues"].as_array().unwrap();
        for days in allowed.iter().chain([&parameter["Default"]]) {
            assert!(
                ELASTIC_BEANSTALK_RETENTION_DAYS.contains(&days.as_u64().unwrap()),
                "{name}: LogRetentionDays allows {days}, which Elastic Beanstalk's log streaming rejects"
            );
        }
        let streamed = t["Resources"]["EBEnvironment"]["Properties"]["OptionSettings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["OptionName"] == "RetentionInDays")
            .map(|o| o["Value"].clone());
        assert_eq!(
            streamed,
            Some(serde_json::json!({ "Ref": "LogRetentionDays" })),
            "{name}"
        );
    }
}
