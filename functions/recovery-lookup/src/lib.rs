//! A stack's recovery inputs, read through the AWS SDK: one implementation for
//! `stack-ops recovery-params --stack NAME` (which writes the parameters file of the recovery
//! stack, so nobody hunts the console for four identifiers) and the restore drill's gather
//! step (which builds that stack itself). Gather ([`stack_facts`], [`db_snapshots`], ...),
//! decide ([`newest_completed`], [`parameters_file`]), and the caller acts.
//!
//! From the stack (`DescribeStacks`, `ListStackResources`):
//! - `RecoveryKMSKey`: the stack's `OpenEMRKey` (its ARN via KMS `DescribeKey`), or the
//!   stack's own `RecoveryKMSKey` parameter when the stack is itself a recovery stack;
//! - `RecoveryS3Bucket`: the `S3Bucket` resource;
//! - `RecoveryRDSSnapshotARN`: the newest *available* snapshot (manual or automated) of the
//!   `RDSInstance` resource's database;
//! - `RecoveryCouchDBSnapshot`: the newest *completed* EBS snapshot of the `CouchDBVolume`
//!   resource (left out when the recovery template has no document store);
//! - `TimeZone`: the stack's own TimeZone parameter (a recovery stack's is usually empty:
//!   "from the manifest"); for a stack built by the original generator this is what the
//!   recovery falls back on, since that stack wrote no manifest;
//! - every other parameter the recovery template shares with the stack (key pair, instance
//!   classes, backup hour, ...), copied, except secret ones.
//!
//! The parameters file is made for a given recovery template's declared parameters
//! ([`declared_parameters`]): stack-ops generates that template from the same flags, the drill
//! reads the uploaded one's (`GetTemplateSummary`). Errors name the stack, the resource and
//! what is missing.

use std::collections::BTreeMap;

use aws_clients::ApiError;
use aws_clients::time::instant;
use aws_config::SdkConfig;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use serde_json::{Value, json};
use stack_contract::recovery_params::resolve;
use time::OffsetDateTime;

/// Logical IDs the look-up reads.
pub use stack_contract::logical_ids::{BUCKET, DATABASE, DOCUMENT_VOLUME, KEY};

/// Why a stack's recovery inputs could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// An AWS call failed: what it was for, and AWS's answer.
    #[error("{doing}: {error}")]
    Call { doing: String, error: ApiError },
    /// The stack rules a recovery out as it is (no such stack, a missing resource or
    /// snapshot): what is missing and what to do.
    #[error("{0}")]
    Stack(String),
}

/// An AWS call's failure, for `doing` (`SdkError` is one type for every service's client).
fn call_failed<E, R>(doing: String) -> impl FnOnce(SdkError<E, R>) -> LookupError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |e| LookupError::Call {
        doing,
        error: ApiError::from_sdk(&e),
    }
}

/// A snapshot candidate: identifier (ARN or id), status, creation time (`None`: AWS gave none;
/// such a snapshot sorts oldest).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub status: String,
    pub created: Option<OffsetDateTime>,
}

/// The newest candidate whose status is `done` (pending and failed snapshots are not restorable).
pub fn newest_completed<'a>(candidates: &'a [Candidate], done: &str) -> Option<&'a Candidate> {
    candidates
        .iter()
        .filter(|c| c.status == done)
        .max_by_key(|c| c.created)
}

/// What was read from the stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackFacts {
    pub name: String,
    /// Parameter values as CloudFormation shows them (NoEcho ones are `****`).
    pub parameters: BTreeMap<String, String>,
    /// Logical ID -> physical ID.
    pub resources: BTreeMap<String, String>,
}

/// The four (or three) recovery identifiers found for the stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub kms_key_arn: String,
    pub bucket: String,
    pub rds_snapshot_arn: String,
    /// When that snapshot was taken: the age of the restored data.
    pub rds_snapshot_time: Option<OffsetDateTime>,
    pub couchdb_snapshot: Option<String>,
}

/// A parameter the recovery template declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    /// NoEcho: a secret, never copied from the stack.
    pub no_echo: bool,
}

/// The parameters a template (JSON) declares, in its order.
pub fn declared_parameters(template: &Value) -> Vec<Declared> {
    template["Parameters"]
        .as_object()
        .map(|parameters| {
            parameters
                .iter()
                .map(|(name, declaration)| Declared {
                    name: name.clone(),
                    no_echo: declaration["NoEcho"] == json!(true),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The parameters file: the recovery template's parameters, in its order, with the values
/// found and the stack's own values for the parameters both share. Secret parameters of the
/// recovery template and masked (`****`) values are never copied.
pub fn parameters_file(
    declared: &[Declared],
    stack: &StackFacts,
    found: &Found,
) -> Result<Value, LookupError> {
    let declares = |name: &str| declared.iter().any(|d| d.name == name);
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    values.insert(resolve::KMS_KEY, found.kms_key_arn.clone());
    values.insert(resolve::BUCKET, found.bucket.clone());
    values.insert(resolve::RDS_SNAPSHOT, found.rds_snapshot_arn.clone());
    match (&found.couchdb_snapshot, declares(resolve::COUCHDB_SNAPSHOT)) {
        (Some(snapshot), true) => {
            values.insert(resolve::COUCHDB_SNAPSHOT, snapshot.clone());
        }
        (None, true) => {
            return Err(LookupError::Stack(format!(
                "stack {} has no {DOCUMENT_VOLUME} resource (built with --skip-document-store?): generate the recovery stack with --skip-document-store too",
                stack.name
            )));
        }
        (Some(_), false) => {
            return Err(LookupError::Stack(format!(
                "stack {} keeps patient documents on {DOCUMENT_VOLUME}, but the recovery template has no document store: leave out --skip-document-store, or the documents are not restored",
                stack.name
            )));
        }
        (None, false) => {}
    }
    let mut file = Vec::new();
    for Declared { name, no_echo } in declared {
        let value = match values.get(name.as_str()) {
            Some(value) => Some(value.clone()),
            None if *no_echo => None,
            None => stack
                .parameters
                .get(name)
                .filter(|v| v.as_str() != "****")
                .cloned(),
        };
        if let Some(value) = value {
            file.push(json!({ "ParameterKey": name, "ParameterValue": value }));
        }
    }
    Ok(Value::Array(file))
}

impl StackFacts {
    /// The physical id of `logical` (`what` says what it is, for the error).
    pub fn resource(&self, logical: &str, what: &str) -> Result<String, LookupError> {
        self.resources.get(logical).cloned().ok_or_else(|| {
            LookupError::Stack(format!(
                "stack {} has no {logical} resource ({what}): is it an OpenEMR stack?",
                self.name
            ))
        })
    }
}

/// The newest available snapshot of the database `db`, or what to do.
pub fn newest_db_snapshot(
    stack: &StackFacts,
    db: &str,
    candidates: &[Candidate],
) -> Result<String, LookupError> {
    newest_completed(candidates, "available")
        .map(|c| c.id.clone())
        .ok_or_else(|| LookupError::Stack(format!(
            "database {db} ({DATABASE} of stack {}) has no available snapshot ({} in other states): take one (aws rds create-db-snapshot) or wait for the nightly backup",
            stack.name,
            candidates.len()
        )))
}

/// The newest completed snapshot of the document volume `volume`, or what to do.
pub fn newest_volume_snapshot(
    stack: &StackFacts,
    volume: &str,
    candidates: &[Candidate],
) -> Result<String, LookupError> {
    newest_completed(candidates, "completed")
        .map(|c| c.id.clone())
        .ok_or_else(|| LookupError::Stack(format!(
            "volume {volume} ({DOCUMENT_VOLUME} of stack {}) has no completed snapshot ({} in other states): wait for the document snapshotter or take one (aws ec2 create-snapshot)",
            stack.name,
            candidates.len()
        )))
}

/// `DescribeStacks` and `ListStackResources` (all pages): the stack's parameters and resources.
pub async fn stack_facts(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
    region: &str,
) -> Result<StackFacts, LookupError> {
    let described = cfn
        .describe_stacks()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(call_failed(format!(
            "reading stack {stack_name} in {region}"
        )))?;
    let stack = described
        .stacks()
        .first()
        .ok_or_else(|| LookupError::Stack(format!("stack {stack_name} not found in {region}")))?;
    let parameters = stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value()?.to_owned(),
            ))
        })
        .collect();
    Ok(StackFacts {
        name: stack_name.to_owned(),
        parameters,
        resources: stack_resources(cfn, stack_name).await?,
    })
}

/// `ListStackResources`, every page: logical ID -> physical ID.
async fn stack_resources(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> Result<BTreeMap<String, String>, LookupError> {
    let mut resources = BTreeMap::new();
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(stack_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call_failed(format!(
            "listing the resources of stack {stack_name}"
        )))?;
        for r in page.stack_resource_summaries() {
            if let (Some(logical), Some(physical)) =
                (r.logical_resource_id(), r.physical_resource_id())
            {
                resources.insert(logical.to_owned(), physical.to_owned());
            }
        }
    }
    Ok(resources)
}

/// KMS `DescribeKey`: the ARN of the stack's key (`key_id` is its physical id).
pub async fn key_arn(
    kms: &aws_sdk_kms::Client,
    stack: &StackFacts,
    key_id: &str,
) -> Result<String, LookupError> {
    kms.describe_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(call_failed(format!(
            "reading KMS key {key_id} ({KEY} of stack {})",
            stack.name
        )))?
        .key_metadata
        .and_then(|m| m.arn)
        .ok_or_else(|| LookupError::Stack(format!("KMS key {key_id} has no ARN")))
}

/// `DescribeDBSnapshots` of the database `db`, every page.
pub async fn db_snapshots(
    rds: &aws_sdk_rds::Client,
    db: &str,
) -> Result<Vec<Candidate>, LookupError> {
    let mut candidates = Vec::new();
    let mut pages = rds
        .describe_db_snapshots()
        .db_instance_identifier(db)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call_failed(format!(
            "listing the snapshots of database {db}"
        )))?;
        candidates.extend(page.db_snapshots().iter().map(|s| Candidate {
            id: s.db_snapshot_arn().unwrap_or_default().to_owned(),
            status: s.status().unwrap_or_default().to_owned(),
            created: s.snapshot_create_time().and_then(instant),
        }));
    }
    Ok(candidates)
}

/// `DescribeSnapshots` (this account's) of the EBS volume `volume`.
pub async fn volume_snapshots(
    ec2: &aws_sdk_ec2::Client,
    volume: &str,
) -> Result<Vec<Candidate>, LookupError> {
    let out = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("volume-id")
                .values(volume)
                .build(),
        )
        .send()
        .await
        .map_err(call_failed(format!(
            "listing the snapshots of volume {volume}"
        )))?;
    Ok(out
        .snapshots()
        .iter()
        .map(|s| Candidate {
            id: s.snapshot_id().unwrap_or_default().to_owned(),
            status: s.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            created: s.start_time().and_then(instant),
        })
        .collect())
}

/// Reads the stack and its snapshots: one gather per question, the choices by the pure
/// functions above.
pub async fn find(
    config: &SdkConfig,
    stack_name: &str,
) -> Result<(StackFacts, Found), LookupError> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let stack = stack_facts(
        &aws_sdk_cloudformation::Client::new(config),
        stack_name,
        &region,
    )
    .await?;
    // A recovery stack's key is the one it was given.
    let kms_key_arn = match stack.parameters.get(resolve::KMS_KEY) {
        Some(arn) => arn.clone(),
        None => {
            let key_id = stack.resource(KEY, "the stack's KMS key")?;
            key_arn(&aws_sdk_kms::Client::new(config), &stack, &key_id).await?
        }
    };
    let bucket = stack.resource(BUCKET, "the stack's bucket")?;
    let db = stack.resource(DATABASE, "the database")?;
    let db_candidates = db_snapshots(&aws_sdk_rds::Client::new(config), &db).await?;
    let rds_snapshot_arn = newest_db_snapshot(&stack, &db, &db_candidates)?;
    let rds_snapshot_time = db_candidates
        .iter()
        .find(|c| c.id == rds_snapshot_arn)
        .and_then(|c| c.created);
    let couchdb_snapshot = match stack.resources.get(DOCUMENT_VOLUME) {
        None => None,
        Some(volume) => {
            let candidates = volume_snapshots(&aws_sdk_ec2::Client::new(config), volume).await?;
            Some(newest_volume_snapshot(&stack, volume, &candidates)?)
        }
    };
    let found = Found {
        kms_key_arn,
        bucket,
        rds_snapshot_arn,
        rds_snapshot_time,
        couchdb_snapshot,
    };
    Ok((stack, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_completed_skips_unfinished_snapshots() {
        let c = |id: &str, status: &str, created: i64| Candidate {
            id: id.into(),
            status: status.into(),
            created: OffsetDateTime::from_unix_timestamp(created).ok(),
        };
        let undated = Candidate {
            created: None,
            ..c("undated", "available", 0)
        };
        let candidates = [
            c("old", "available", 1),
            undated,
            c("newer", "available", 5),
            c("newest-but-creating", "creating", 9),
            c("failed", "failed", 7),
        ];
        assert_eq!(
            newest_completed(&candidates, "available").unwrap().id,
            "newer"
        );
        assert!(newest_completed(&candidates[3..], "available").is_none());
        assert!(newest_completed(&[], "completed").is_none());
    }

    #[test]
    fn missing_resources_and_snapshots_say_what_to_do() {
        let mut facts = stack();
        facts
            .resources
            .insert(BUCKET.into(), "openemr-bucket".into());
        assert_eq!(
            facts.resource(BUCKET, "the stack's bucket").unwrap(),
            "openemr-bucket"
        );
        let error = facts.resource(DATABASE, "the database").unwrap_err();
        assert_eq!(
            error.to_string(),
            "stack openemr has no RDSInstance resource (the database): is it an OpenEMR stack?"
        );
        let creating = [Candidate {
            id: "arn:aws:rds:us-east-1:123456789012:snapshot:x".into(),
            status: "creating".into(),
            created: Some(OffsetDateTime::UNIX_EPOCH),
        }];
        let error = newest_db_snapshot(&facts, "db-1", &creating).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "database db-1 (RDSInstance of stack openemr) has no available snapshot (1 in other states)"
            ),
            "{error}"
        );
        let error = newest_volume_snapshot(&facts, "vol-1", &[]).unwrap_err();
        assert!(
            error.to_string().contains(
                "volume vol-1 (CouchDBVolume of stack openemr) has no completed snapshot"
            ),
            "{error}"
        );
        let done = Candidate {
            id: "snap-0ebb4f155ff27040c".into(),
            status: "completed".into(),
            created: Some(OffsetDateTime::UNIX_EPOCH),
        };
        assert_eq!(
            newest_volume_snapshot(&facts, "vol-1", &[done]).unwrap(),
            "snap-0ebb4f155ff27040c"
        );
    }

    fn stack() -> StackFacts {
        StackFacts {
            name: "openemr".into(),
            parameters: [
                ("EC2KeyPair", "ops"),
                ("TimeZone", "America/Denver"),
                ("RDSPassword", "****"),
                ("BackupHour", "05"),
                ("Unrelated", "x"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            resources: BTreeMap::new(),
        }
    }

    fn found(couch: Option<&str>) -> Found {
        Found {
            kms_key_arn:
                "arn:aws:kms:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a".into(),
            bucket: "openemr-bucket".into(),
            rds_snapshot_arn: "arn:aws:rds:us-east-1:123456789012:snapshot:rds:db-1".into(),
            rds_snapshot_time: Some(OffsetDateTime::UNIX_EPOCH),
            couchdb_snapshot: couch.map(str::to_owned),
        }
    }

    fn as_map(file: &Value) -> BTreeMap<String, String> {
        file.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["ParameterKey"].as_str().unwrap().to_owned(),
                    p["ParameterValue"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn declared(names: &[(&str, bool)]) -> Vec<Declared> {
        names
            .iter()
            .map(|(name, no_echo)| Declared {
                name: (*name).into(),
                no_echo: *no_echo,
            })
            .collect()
    }

    #[test]
    fn the_file_holds_what_was_found_and_the_shared_values_never_secrets() {
        let declared = declared(&[
            (resolve::KMS_KEY, false),
            (resolve::BUCKET, false),
            (resolve::RDS_SNAPSHOT, false),
            (resolve::COUCHDB_SNAPSHOT, false),
            ("TimeZone", false),
            ("RDSPassword", true),
            ("BackupHour", false),
        ]);
        let file = parameters_file(&declared, &stack(), &found(Some("snap-1"))).unwrap();
        let map = as_map(&file);
        assert_eq!(map[resolve::COUCHDB_SNAPSHOT], "snap-1");
        assert_eq!(map[resolve::BUCKET], "openemr-bucket");
        assert_eq!(map["BackupHour"], "05");
        assert!(!map.contains_key("RDSPassword") && !map.contains_key("Unrelated"));
        // In the template's order.
        let order: Vec<&str> = file
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["ParameterKey"].as_str().unwrap())
            .collect();
        assert_eq!(order[0], resolve::KMS_KEY);
        assert_eq!(order.last(), Some(&"BackupHour"));
    }

    /// The recovery template stack-gen generates from `options` (`recovery` forced on).
    fn recovery_template(options: stack_gen::Options) -> Value {
        let options = stack_gen::Options {
            recovery: true,
            ..options
        };
        stack_gen::generate(&options).unwrap().to_json()
    }

    #[test]
    fn the_file_fills_the_recovery_template() {
        let template = recovery_template(stack_gen::Options::default());
        let file = parameters_file(
            &declared_parameters(&template),
            &stack(),
            &found(Some("snap-0ebb4f155ff27040c")),
        )
        .unwrap();
        let map = as_map(&file);
        assert_eq!(map["RecoveryCouchDBSnapshot"], "snap-0ebb4f155ff27040c");
        assert_eq!(map["RecoveryS3Bucket"], "openemr-bucket");
        assert_eq!(map["TimeZone"], "America/Denver");
        assert_eq!(map["EC2KeyPair"], "ops");
        assert!(!map.contains_key("RDSPassword") && !map.contains_key("Unrelated"));
        assert!(map.values().all(|v| v != "****"));
        // Every key is a parameter of the recovery template.
        for key in map.keys() {
            assert!(template["Parameters"].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn document_store_mismatches_are_errors() {
        let with_docs = recovery_template(stack_gen::Options::default());
        let error = parameters_file(&declared_parameters(&with_docs), &stack(), &found(None))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no CouchDBVolume") && error.contains("--skip-document-store"),
            "{error}"
        );
        let without = recovery_template(stack_gen::Options {
            skip_document_store: true,
            ..stack_gen::Options::default()
        });
        let error = parameters_file(
            &declared_parameters(&without),
            &stack(),
            &found(Some("snap-0ebb4f155ff27040c")),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("leave out --skip-document-store"), "{error}");
        let file = parameters_file(&declared_parameters(&without), &stack(), &found(None)).unwrap();
        assert!(!as_map(&file).contains_key("RecoveryCouchDBSnapshot"));
    }

    #[test]
    fn declared_parameters_keep_the_order_and_the_no_echo_flag() {
        let template = json!({"Parameters": {
            "B": {"Type": "String"},
            "A": {"Type": "String", "NoEcho": true},
        }});
        assert_eq!(
            declared_parameters(&template),
            declared(&[("B", false), ("A", true)])
        );
        assert!(declared_parameters(&json!({})).is_empty());
    }
}
