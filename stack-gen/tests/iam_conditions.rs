//! IAM Conditions, judged the way AWS judges them. The emulator ignores Conditions (and matches
//! non-S3 statements against `*` only), so these tests put the generated policies and the
//! request context AWS documents for each call (Service Authorization Reference) to an IAM
//! simulator nobody here wrote, @cloud-copilot/iam-simulate (tests/node, installed by
//! tests/setup; it knows each action's resources and condition keys from AWS's data), for
//! calls that must pass and calls that must be refused:
//! - S3 HeadBucket is `s3:ListBucket` on the bucket and carries no `s3:prefix`; a ListObjects
//!   carries the prefix it asks for; a Get/HeadObject of a missing key answers 404 only if the
//!   caller may also ListBucket (checked without a prefix), 403 otherwise.
//! - EC2 CreateSnapshot carries `aws:RequestTag/*` for the tags it creates; CreateTags carries
//!   `ec2:CreateAction` only when tagging as part of a create; DeleteSnapshot and CopySnapshot
//!   of a source carry `aws:ResourceTag/*`.
//! - KMS calls made by a service for the caller carry `kms:ViaService`; service principals'
//!   calls carry `aws:SourceArn` / `aws:SourceAccount`; every request `aws:SecureTransport`.
//! - CloudWatch PutMetricData (no resource-level permissions: `*`) carries `cloudwatch:namespace`,
//!   the namespace of the data it puts.
//! - STS AssumeRole by a service carries `sts:ExternalId` when the service passes one (Elastic
//!   Beanstalk passes `elasticbeanstalk` for a service role); a trust policy has no Resource.
//!
//! Every condition key the templates use must have a case here
//! (`every_condition_key_has_a_documented_case`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use stack_gen::Options;
use test_harness::iam::{resolve, role_statements};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/5a3c1f00-0000-4000-8000-000000000001";
const BUCKET: &str = "openemr-5a3c1f00-0000-4000-8000-000000000001";
const OLD_BUCKET: &str = "openemr-0ld00000-0000-4000-8000-000000000000";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const OLD_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555";
const VOLUME: &str = "vol-0123456789abcdef0";
const NFS_ROLE: &str = "arn:aws:iam::123456789012:role/openemr-NFSBackupRole-1A2B3C";
const WEB_ROLE: &str = "arn:aws:iam::123456789012:role/openemr-BeanstalkInstanceRole-4D5E6F";
const ADMIN: &str = "arn:aws:iam::123456789012:role/Admin";
/// The principal of an identity policy's requests: a role of this account.
const PRINCIPAL: &str = "arn:aws:iam::123456789012:role/openemr-component";
const DRILL_ROLE: &str = "arn:aws:iam::123456789012:role/openemr-DrillStackRole-7G8H9I";
const DRILL_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-drill-20261206/0d0d0d0d-0000-4000-8000-000000000002";
/// The drill stack's buckets: `openemr-<source UUID group>-drill-<drill UUID group>`.
const DRILL_BUCKET: &str = "openemr-5a3c1f00-drill-0d0d0d0d";
/// The source stack's Elastic Beanstalk application and environment (generated names).
const SOURCE_APPLICATION: &str = "openemr-EBApplication-1A2B3C4D5E6F";
const SOURCE_ENVIRONMENT: &str = "e-openemr-EBEnv-7G8H";
const EFS: &str =
    "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0";
const ACCESS_POINT: &str =
    "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0";

/// Values of the references a policy makes (one set serves every combination).
fn environment() -> BTreeMap<String, String> {
    [
        ("AWS::Partition", "aws"),
        ("AWS::Region", REGION),
        ("AWS::AccountId", ACCOUNT),
        ("AWS::StackId", STACK_ID),
        ("AWS::StackName", "openemr"),
        ("S3Bucket", BUCKET),
        (
            "S3Bucket.Arn",
            "arn:aws:s3:::openemr-5a3c1f00-0000-4000-8000-000000000001",
        ),
        ("AccessLogBucket", "openemr-access-logs"),
        ("CloudTrailBucket", "openemr-trail-logs"),
        ("CloudTrailBucket.Arn", "arn:aws:s3:::openemr-trail-logs"),
        ("NFSBackupRole.Arn", NFS_ROLE),
        ("AccessLogBucket.Arn", "arn:aws:s3:::openemr-access-logs"),
        ("RDSInstance", "openemr-db"),
        ("OpenEMRKey.Arn", KEY),
        ("RecoveryKMSKey", OLD_KEY),
        ("RecoveryS3Bucket", OLD_BUCKET),
        ("CouchDBVolume", VOLUME),
        ("RCouchDBVolume", "vol-0fedcba9876543210"),
        (
            "OperatorAlerts",
            "arn:aws:sns:us-east-1:123456789012:alerts",
        ),
        ("DocumentBackupCopyRegion", "us-west-2"),
        ("DrillStackRole.Arn", DRILL_ROLE),
        ("EBApplication", SOURCE_APPLICATION),
        ("EBEnvironment", SOURCE_ENVIRONMENT),
        ("LambdaCodeBucket", "openemr-code"),
        (
            "RestoreDrillFunction.Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:openemr-RestoreDrillFunction-X",
        ),
        ("ElasticFileSystem.Arn", EFS),
        ("DataReaderAccessPoint.Arn", ACCESS_POINT),
        ("VPC", "vpc-0123456789abcdef0"),
        ("PrivateSubnet1", "subnet-01"),
        ("PrivateSubnet2", "subnet-02"),
        ("DataReaderSecurityGroup", "sg-0data"),
        (
            "DocumentBackupCopyKmsKeyId",
            "77777777-2222-3333-4444-555555555555",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

/// One request as AWS authorises it.
struct Request<'a> {
    principal: Option<&'a str>,
    action: &'a str,
    resource: String,
    context: BTreeMap<&'a str, &'a str>,
}

fn request<'a>(
    action: &'a str,
    resource: impl Into<String>,
    context: &[(&'a str, &'a str)],
) -> Request<'a> {
    let mut context: BTreeMap<&str, &str> = context.iter().copied().collect();
    context.entry("aws:SecureTransport").or_insert("true");
    Request {
        principal: None,
        action,
        resource: resource.into(),
        context,
    }
}

/// The IAM simulator (tests/node/iam-simulate.cjs, @cloud-copilot/iam-simulate): one child
/// for the whole test binary, asked one request at a time.
struct Simulator {
    _child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

fn simulator() -> &'static std::sync::Mutex<Simulator> {
    static SIMULATOR: std::sync::OnceLock<std::sync::Mutex<Simulator>> = std::sync::OnceLock::new();
    SIMULATOR.get_or_init(|| {
        let script = test_harness::workspace_root().join("tests/node/iam-simulate.cjs");
        let mut child = std::process::Command::new("node")
            .arg(&script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run node tests/node/iam-simulate.cjs (tests/setup installs its package)");
        let stdin = child.stdin.take().unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        std::sync::Mutex::new(Simulator {
            _child: child,
            stdin,
            stdout,
        })
    })
}

/// IAM's verdict on `r` under `statements`: an identity policy of a role in this account, or,
/// with `r.principal`, a resource policy (bucket, key or trust policy) and that principal.
/// From @cloud-copilot/iam-simulate, which knows each action's resources and condition keys
/// from AWS's own data and refuses a request it does not recognise.
fn verdict(statements: &[Value], r: &Request) -> String {
    use std::io::{BufRead, Write};
    let resource = if r.resource.is_empty() {
        // A trust policy: the role being assumed.
        format!("arn:aws:iam::{ACCOUNT}:role/assumed")
    } else {
        r.resource.clone()
    };
    let resource_policy = match (r.principal, r.action.starts_with("kms:")) {
        (Some(_), _) => json!(statements),
        // KMS grants nothing through identity policies unless the key policy lets the account
        // delegate: every key of the stack's does (the default key policy's first statement).
        (None, true) => json!([{
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{ACCOUNT}:root") },
            "Action": "kms:*",
            "Resource": "*"
        }]),
        (None, false) => Value::Null,
    };
    let question = json!({
        "identity": if r.principal.is_none() { json!(statements) } else { Value::Null },
        "resource_policy": resource_policy,
        "principal": r.principal.unwrap_or(PRINCIPAL),
        "action": r.action,
        "resource": resource,
        "account": ACCOUNT,
        "context": r.context,
    });
    let mut simulator = simulator().lock().unwrap_or_else(|e| e.into_inner());
    writeln!(simulator.stdin, "{question}").unwrap();
    simulator.stdin.flush().unwrap();
    let mut line = String::new();
    simulator.stdout.read_line(&mut line).unwrap();
    let answer: Value = serde_json::from_str(&line).expect("the simulator answers a line of JSON");
    answer["result"]
        .as_str()
        .unwrap_or_else(|| panic!("the simulator refused {question}: {answer}"))
        .to_owned()
}

/// An explicit Deny applies (whatever the identity policies allow).
fn denied(statements: &[Value], r: &Request) -> bool {
    verdict(statements, r) == "ExplicitlyDenied"
}

fn allowed(statements: &[Value], r: &Request) -> bool {
    verdict(statements, r) == "Allowed"
}

fn resource_policy(template: &Value, id: &str, env: &BTreeMap<String, String>) -> Vec<Value> {
    let p = &template["Resources"][id]["Properties"];
    let document = if p.get("KeyPolicy").is_some() {
        &p["KeyPolicy"]
    } else {
        &p["PolicyDocument"]
    };
    list(&document["Statement"])
        .iter()
        .map(|s| resolve(s, env))
        .collect()
}

fn template(o: &Options) -> Value {
    stack_gen::generate(o).unwrap().to_json()
}

fn recovery() -> Options {
    Options {
        recovery: true,
        ..Options::default()
    }
}

/// The combinations whose instance roles differ: one CouchDB node, two, a recovery.
fn with_instances() -> [Options; 3] {
    [
        Options::default(),
        Options {
            dual_az: true,
            ..Options::default()
        },
        recovery(),
    ]
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn object(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// The condition keys each case below exercises (collected by the cases as they run would be
/// neater; a fixed list keeps the coverage check readable).
const DOCUMENTED_KEYS: [&str; 26] = [
    "aws:ResourceTag/elasticbeanstalk:environment-name",
    "aws:ResourceTag/aws:cloudformation:stack-id",
    "aws:ResourceTag/aws:cloudformation:logical-id",
    "aws:RequestTag/openemr:drill",
    "aws:RequestTag/openemr:drill-of",
    "aws:ResourceTag/openemr:drill",
    "aws:ResourceTag/aws:cloudformation:stack-name",
    "cloudformation:RoleArn",
    "cloudformation:TemplateUrl",
    "iam:PassedToService",
    "iam:AWSServiceName",
    "elasticfilesystem:AccessPointArn",
    "ec2:Vpc",
    "aws:PrincipalArn",
    "kms:EncryptionContext:aws:logs:arn",
    "cloudwatch:namespace",
    "sts:ExternalId",
    "s3:prefix",
    "aws:RequestTag/openemr:stack-id",
    "aws:ResourceTag/openemr:stack-id",
    "ec2:CreateAction",
    "kms:ViaService",
    "kms:CallerAccount",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SecureTransport",
];

fn condition_keys(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(conditions)) = map.get("Condition") {
                for keys in conditions.values() {
                    if let Some(keys) = keys.as_object() {
                        found.extend(keys.keys().cloned());
                    }
                }
            }
            map.values().for_each(|v| condition_keys(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| condition_keys(v, found)),
        _ => {}
    }
}

#[test]
fn every_condition_key_has_a_documented_case() {
    let mut found = BTreeSet::new();
    for (_, _, t) in common::checked_templates() {
        condition_keys(&t["Resources"], &mut found);
    }
    let documented: BTreeSet<String> = DOCUMENTED_KEYS.iter().map(|k| (*k).to_owned()).collect();
    let missing: Vec<_> = found.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "condition keys without a case in this file: {missing:?}"
    );
}

#[test]
fn nfs_agent_connects_with_duplicity_and_lists_only_its_backups() {
    for o in [Options::default(), recovery()] {
        let t = template(&o);
        let env = environment();
        let policy = role_statements(&t, "NFSBackupRole", &env);
        // duplicity's HeadBucket on connect: ListBucket, no s3:prefix.
        assert!(
            allowed(&policy, &request("s3:ListBucket", bucket_arn(BUCKET), &[])),
            "HeadBucket refused"
        );
        assert!(allowed(
            &policy,
            &request(
                "s3:ListBucket",
                bucket_arn(BUCKET),
                &[("s3:prefix", "Backup/duplicity-")]
            )
        ));
        assert!(
            !allowed(
                &policy,
                &request("s3:ListBucket", bucket_arn(BUCKET), &[("s3:prefix", "CA/")])
            ),
            "lists the CA"
        );
        // A fresh stack's missing passphrase answers 404 (GetObject + ListBucket without prefix).
        assert!(allowed(
            &policy,
            &request("s3:GetObject", object(BUCKET, "Backup/passphrase.txt"), &[])
        ));
        assert!(!allowed(
            &policy,
            &request("s3:GetObject", object(BUCKET, "CA/keys/ca.key"), &[])
        ));
        if o.recovery {
            // duplicity restore from the original bucket: HeadBucket, list, get.
            assert!(
                allowed(
                    &policy,
                    &request("s3:ListBucket", bucket_arn(OLD_BUCKET), &[])
                ),
                "restore's HeadBucket refused"
            );
            assert!(allowed(
                &policy,
                &request(
                    "s3:ListBucket",
                    bucket_arn(OLD_BUCKET),
                    &[("s3:prefix", "Backup/")]
                )
            ));
            assert!(allowed(
                &policy,
                &request(
                    "s3:GetObject",
                    object(
                        OLD_BUCKET,
                        "Backup/duplicity-full.20260101T000000Z.manifest.gpg"
                    ),
                    &[]
                )
            ));
            assert!(
                !allowed(
                    &policy,
                    &request("s3:PutObject", object(OLD_BUCKET, "Backup/x"), &[])
                ),
                "writes into the original's backups"
            );
        } else {
            assert!(!allowed(
                &policy,
                &request("s3:ListBucket", bucket_arn(OLD_BUCKET), &[])
            ));
        }
    }
}

#[test]
fn a_missing_manifest_answers_not_found_so_recovery_falls_back_to_the_snapshots() {
    let o = recovery();
    let t = template(&o);
    let policy = role_statements(&t, "RecoveryParamsRole", &environment());
    // GetObject of recovery/manifest.json in a bucket of the original generator's (absent):
    // 404 needs ListBucket as checked for an object request (no s3:prefix) ...
    assert!(allowed(
        &policy,
        &request(
            "s3:GetObject",
            object(OLD_BUCKET, "recovery/manifest.json"),
            &[]
        )
    ));
    assert!(
        allowed(
            &policy,
            &request("s3:ListBucket", bucket_arn(OLD_BUCKET), &[])
        ),
        "missing manifest would answer 403"
    );
    // ... and a listing of exactly that key (how the function may also ask) passes too.
    assert!(allowed(
        &policy,
        &request(
            "s3:ListBucket",
            bucket_arn(OLD_BUCKET),
            &[("s3:prefix", "recovery/manifest.json")]
        )
    ));
    assert!(allowed(
        &policy,
        &request(
            "s3:ListBucket",
            bucket_arn(OLD_BUCKET),
            &[("s3:prefix", "Backup/duplicity-full.2026")]
        )
    ));
    assert!(!allowed(
        &policy,
        &request(
            "s3:ListBucket",
            bucket_arn(OLD_BUCKET),
            &[("s3:prefix", "CA/")]
        )
    ));
    assert!(!allowed(
        &policy,
        &request("s3:GetObject", object(OLD_BUCKET, "CA/keys/ca.key"), &[])
    ));
}

#[test]
fn instances_tell_a_missing_secret_from_a_failed_read() {
    for o in [Options::default(), recovery()] {
        let t = template(&o);
        let env = environment();
        let couch = role_statements(&t, "CouchDBRole", &env);
        assert!(allowed(
            &couch,
            &request(
                "s3:GetObject",
                object(BUCKET, "CouchDB/admin-password.txt"),
                &[]
            )
        ));
        assert!(
            allowed(&couch, &request("s3:ListBucket", bucket_arn(BUCKET), &[])),
            "a first node's missing password would answer 403"
        );
        assert!(!allowed(
            &couch,
            &request(
                "s3:ListBucket",
                bucket_arn(BUCKET),
                &[("s3:prefix", "Backup/")]
            )
        ));
        assert_eq!(
            allowed(
                &couch,
                &request(
                    "s3:GetObject",
                    object(OLD_BUCKET, "CouchDB/admin-password.txt"),
                    &[]
                )
            ),
            o.recovery,
            "a recovery node reads the password the restored CouchDB has"
        );
        let writer = role_statements(&t, "CertWriterRole", &env);
        assert!(
            allowed(
                &writer,
                &request("s3:GetObject", object(BUCKET, "CA/certs/ca.crt"), &[])
            ),
            "a replacement cannot see the CA exists"
        );
        assert!(allowed(
            &writer,
            &request("s3:ListBucket", bucket_arn(BUCKET), &[])
        ));
        // The writer (a one-shot instance) signs a reissued server certificate with the CA's
        // key; no long-lived instance may read it.
        assert!(allowed(
            &writer,
            &request("s3:GetObject", object(BUCKET, "CA/keys/ca.key"), &[])
        ));
        assert!(!allowed(
            &couch,
            &request("s3:GetObject", object(BUCKET, "CA/keys/ca.key"), &[])
        ));
    }
}

#[test]
fn backup_checker_lists_backups_only() {
    let o = Options::default();
    let t = template(&o);
    let policy = role_statements(&t, "BackupCheckerRole", &environment());
    assert!(allowed(
        &policy,
        &request(
            "s3:ListBucket",
            bucket_arn(BUCKET),
            &[("s3:prefix", "Backup/")]
        )
    ));
    assert!(!allowed(
        &policy,
        &request(
            "s3:ListBucket",
            bucket_arn(BUCKET),
            &[("s3:prefix", "recovery/")]
        )
    ));
}

#[test]
fn document_snapshotter_creates_tags_and_deletes_only_its_own_snapshots() {
    let o = Options::default();
    let t = template(&o);
    let policy = role_statements(&t, "DocumentBackupExecutionRole", &environment());
    let snapshot = format!("arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0");
    let volume = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{VOLUME}");
    let tag = "aws:RequestTag/openemr:stack-id";
    let resource_tag = "aws:ResourceTag/openemr:stack-id";
    // CreateSnapshot is authorised on the volume and on the new snapshot (with its tags).
    assert!(allowed(
        &policy,
        &request("ec2:CreateSnapshot", volume.clone(), &[(tag, STACK_ID)])
    ));
    assert!(allowed(
        &policy,
        &request("ec2:CreateSnapshot", snapshot.clone(), &[(tag, STACK_ID)])
    ));
    assert!(
        !allowed(
            &policy,
            &request("ec2:CreateSnapshot", snapshot.clone(), &[])
        ),
        "untagged snapshot"
    );
    assert!(!allowed(
        &policy,
        &request(
            "ec2:CreateSnapshot",
            snapshot.clone(),
            &[(
                tag,
                "arn:aws:cloudformation:us-east-1:123456789012:stack/other/1"
            )]
        )
    ));
    assert!(!allowed(
        &policy,
        &request(
            "ec2:CreateSnapshot",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0ther"),
            &[(tag, STACK_ID)]
        )
    ));
    assert!(allowed(
        &policy,
        &request(
            "ec2:CreateTags",
            snapshot.clone(),
            &[("ec2:CreateAction", "CreateSnapshot")]
        )
    ));
    assert!(
        !allowed(&policy, &request("ec2:CreateTags", snapshot.clone(), &[])),
        "re-tags an existing snapshot"
    );
    assert!(allowed(
        &policy,
        &request(
            "ec2:DeleteSnapshot",
            snapshot.clone(),
            &[(resource_tag, STACK_ID)]
        )
    ));
    assert!(
        !allowed(
            &policy,
            &request("ec2:DeleteSnapshot", snapshot.clone(), &[])
        ),
        "deletes a manual snapshot"
    );
    assert!(!allowed(
        &policy,
        &request(
            "ec2:DeleteSnapshot",
            snapshot.clone(),
            &[(resource_tag, "other")]
        )
    ));
    // Copies re-encrypt through EC2 only.
    assert!(allowed(
        &policy,
        &request(
            "kms:ReEncryptFrom",
            KEY,
            &[("kms:ViaService", "ec2.us-east-1.amazonaws.com")]
        )
    ));
    assert!(!allowed(&policy, &request("kms:ReEncryptFrom", KEY, &[])));
    assert!(allowed(
        &policy,
        &request(
            "ec2:CopySnapshot",
            snapshot.clone(),
            &[(resource_tag, STACK_ID)]
        )
    ));
    assert!(!allowed(
        &policy,
        &request("ec2:CopySnapshot", snapshot, &[])
    ));
}

/// StopInstances and DetachVolume authorise on the instance with its tags as
/// `aws:ResourceTag/*` (CloudFormation tags every instance it creates with its stack's id and
/// the instance's logical ID); DetachVolume on the volume as well.
#[test]
fn couchdb_nodes_stop_and_detach_only_their_predecessors() {
    for o in with_instances() {
        let t = template(&o);
        let policy = role_statements(&t, "CouchDBRole", &environment());
        let instance = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0");
        let volume = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{VOLUME}");
        let tagged = |stack: &'static str, node: &'static str| {
            [
                ("aws:ResourceTag/aws:cloudformation:stack-id", stack),
                ("aws:ResourceTag/aws:cloudformation:logical-id", node),
            ]
        };
        for node in stack_gen::components::document_store::nodes(&o) {
            for action in ["ec2:StopInstances", "ec2:DetachVolume"] {
                assert!(
                    allowed(
                        &policy,
                        &request(action, instance.clone(), &tagged(STACK_ID, node))
                    ),
                    "{action} {node}"
                );
            }
        }
        assert!(allowed(&policy, &request("ec2:DetachVolume", volume, &[])));
        let other_stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/1";
        for (stack, node) in [
            (other_stack, "CouchDBInstance"),
            (STACK_ID, "NFSBackupInstance"),
            (STACK_ID, "DeveloperBastion"),
        ] {
            for action in [
                "ec2:StopInstances",
                "ec2:DetachVolume",
                "ec2:TerminateInstances",
            ] {
                assert!(
                    !allowed(
                        &policy,
                        &request(action, instance.clone(), &tagged(stack, node))
                    ),
                    "{action} on {node} of {stack}"
                );
            }
        }
        assert!(!allowed(
            &policy,
            &request("ec2:StopInstances", instance.clone(), &[])
        ));
        assert!(!allowed(
            &policy,
            &request(
                "ec2:DetachVolume",
                format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0ther"),
                &[]
            )
        ));
    }
}

#[test]
fn service_principals_act_only_for_this_stack_and_only_over_tls() {
    let o = Options::default();
    let t = template(&o);
    let env = environment();
    let trail = format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/openemr-trail");
    let bucket_policy = resource_policy(&t, "CloudTrailBucketPolicy", &env);
    let put_log = |source: &'static str| Request {
        principal: Some("cloudtrail.amazonaws.com"),
        ..request(
            "s3:PutObject",
            object(
                "openemr-trail-logs",
                &format!("AWSLogs/{ACCOUNT}/CloudTrail/x.json.gz"),
            ),
            &[("aws:SourceArn", source)],
        )
    };
    let ours: &'static str = Box::leak(trail.clone().into_boxed_str());
    assert!(allowed(&bucket_policy, &put_log(ours)));
    assert!(!allowed(
        &bucket_policy,
        &put_log("arn:aws:cloudtrail:us-east-1:999999999999:trail/theirs")
    ));
    let insecure = Request {
        principal: Some("cloudtrail.amazonaws.com"),
        ..request(
            "s3:PutObject",
            object("openemr-trail-logs", &format!("AWSLogs/{ACCOUNT}/x")),
            &[("aws:SourceArn", ours), ("aws:SecureTransport", "false")],
        )
    };
    assert!(!allowed(&bucket_policy, &insecure), "plain HTTP accepted");

    let trail_key = resource_policy(&t, "CloudTrailKey", &env);
    let generate_key = |source: &'static str| Request {
        principal: Some("cloudtrail.amazonaws.com"),
        ..request("kms:GenerateDataKey", KEY, &[("aws:SourceArn", source)])
    };
    assert!(allowed(&trail_key, &generate_key(ours)));
    assert!(!allowed(
        &trail_key,
        &generate_key("arn:aws:cloudtrail:us-east-1:999999999999:trail/theirs")
    ));

    let alerts_key = resource_policy(&t, "OperatorAlertsKey", &env);
    let alarm = |account: &'static str| Request {
        principal: Some("cloudwatch.amazonaws.com"),
        ..request(
            "kms:GenerateDataKey",
            KEY,
            &[("aws:SourceAccount", account)],
        )
    };
    assert!(allowed(&alerts_key, &alarm(ACCOUNT)));
    assert!(!allowed(&alerts_key, &alarm("999999999999")));
    let publisher = |via: &[(&'static str, &'static str)]| Request {
        principal: Some("arn:aws:iam::123456789012:role/any"),
        ..request("kms:Decrypt", KEY, via)
    };
    assert!(allowed(
        &alerts_key,
        &publisher(&[
            ("kms:CallerAccount", ACCOUNT),
            ("kms:ViaService", "sns.us-east-1.amazonaws.com")
        ])
    ));
    assert!(
        !allowed(&alerts_key, &publisher(&[("kms:CallerAccount", ACCOUNT)])),
        "decrypts outside SNS"
    );
    assert!(!allowed(
        &alerts_key,
        &publisher(&[
            ("kms:CallerAccount", "999999999999"),
            ("kms:ViaService", "sns.us-east-1.amazonaws.com")
        ])
    ));

    let log_policy = resource_policy(&t, "AccessLogBucketPolicy", &env);
    let deliver = |account: &'static str| Request {
        principal: Some("logging.s3.amazonaws.com"),
        ..request(
            "s3:PutObject",
            object("openemr-access-logs", "stack-bucket/x"),
            &[("aws:SourceAccount", account)],
        )
    };
    assert!(allowed(&log_policy, &deliver(ACCOUNT)));
    assert!(!allowed(&log_policy, &deliver("999999999999")));
}

/// The evaluator is not a rubber stamp: a prefix-limited ListBucket refuses HeadBucket.
#[test]
fn a_prefix_condition_alone_refuses_head_bucket() {
    let statement = json!({ "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"], "Condition": { "StringLike": { "s3:prefix": ["Backup/*"] } } });
    assert!(!allowed(
        std::slice::from_ref(&statement),
        &request("s3:ListBucket", "arn:aws:s3:::b", &[])
    ));
    assert!(allowed(
        &[statement],
        &request(
            "s3:ListBucket",
            "arn:aws:s3:::b",
            &[("s3:prefix", "Backup/x")]
        )
    ));
}

/// The trail's logs and the backups survive an intruder on any instance: nobody deletes a
/// trail log; only the NFS agent's own role deletes backups (pruning old chains).
#[test]
fn trail_logs_and_backups_are_not_deleted_by_other_roles() {
    for o in [Options::default(), recovery()] {
        let t = template(&o);
        let env = environment();
        let trail_bucket = resource_policy(&t, "CloudTrailBucketPolicy", &env);
        let stack_bucket = resource_policy(&t, "BucketPolicy", &env);
        let by = |principal: &'static str, action: &'static str, resource: String| Request {
            principal: Some(principal),
            ..request(action, resource, &[("aws:PrincipalArn", principal)])
        };
        let trail_log = object(
            "openemr-trail-logs",
            &format!("AWSLogs/{ACCOUNT}/CloudTrail/x.json.gz"),
        );
        for principal in [WEB_ROLE, NFS_ROLE, ADMIN] {
            for action in [
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:BypassGovernanceRetention",
            ] {
                assert!(
                    denied(&trail_bucket, &by(principal, action, trail_log.clone())),
                    "{principal} may {action} a trail log"
                );
            }
            assert!(
                denied(
                    &stack_bucket,
                    &by(
                        principal,
                        "s3:DeleteObject",
                        object(BUCKET, "AWSLogs/123456789012/CloudTrail/old.json.gz")
                    )
                ),
                "{principal} may delete a trail log written before the trail's own bucket"
            );
        }
        let backup = object(
            BUCKET,
            "Backup/duplicity-full.20261201T020000Z.vol1.difftar.gpg",
        );
        for principal in [WEB_ROLE, ADMIN] {
            for action in ["s3:DeleteObject", "s3:DeleteObjectVersion"] {
                assert!(
                    denied(&stack_bucket, &by(principal, action, backup.clone())),
                    "{principal} may {action} a backup"
                );
            }
        }
        assert!(
            !denied(
                &stack_bucket,
                &by(NFS_ROLE, "s3:DeleteObject", backup.clone())
            ),
            "the NFS agent cannot prune its old chains"
        );
        assert!(
            !denied(
                &stack_bucket,
                &by(WEB_ROLE, "s3:GetObject", object(BUCKET, "CA/certs/ca.crt"))
            ),
            "the deny statements reach beyond deletes"
        );
    }
}

/// CloudWatch Logs may use the log key for this account's log groups only.
#[test]
fn the_log_key_serves_this_accounts_log_groups_only() {
    for o in [Options::default(), recovery()] {
        let t = template(&o);
        let key = resource_policy(&t, "LogGroupKey", &environment());
        let encrypt = |group: &'static str| Request {
            principal: Some("logs.us-east-1.amazonaws.com"),
            ..request(
                "kms:GenerateDataKey",
                KEY,
                &[("kms:EncryptionContext:aws:logs:arn", group)],
            )
        };
        // The simulator (iam-simulate 0.1.173) loses a `kms:EncryptionContext:<key>` value whose
        // key holds colons (it places variable parts after a `/` only), so it would refuse
        // this grant: the statement that makes it is read here instead, with the condition
        // CloudWatch Logs documents (ArnLike on this account's log-group ARNs).
        let grants = key.iter().any(|s| {
            s["Principal"]["Service"] == "logs.us-east-1.amazonaws.com"
                && list(&s["Action"]).contains(&json!("kms:GenerateDataKey"))
                && common::glob(
                    s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
                        .as_str()
                        .unwrap_or_default(),
                    "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-openemr",
                )
        });
        assert!(grants, "{key:#?}");
        assert!(!allowed(
            &key,
            &encrypt("arn:aws:logs:us-east-1:999999999999:log-group:theirs")
        ));
        let without_context = Request {
            principal: Some("logs.us-east-1.amazonaws.com"),
            ..request("kms:Decrypt", KEY, &[])
        };
        assert!(!allowed(&key, &without_context));
    }
}

/// The web tier decrypts the stack's objects only through S3, and reads only its own files.
#[test]
fn the_web_tier_reads_its_own_files_through_s3_only() {
    for o in [Options::default(), recovery()] {
        let t = template(&o);
        let env = environment();
        let policy = role_statements(&t, "BeanstalkInstanceRole", &env);
        let key = if o.recovery { OLD_KEY } else { KEY };
        assert!(allowed(
            &policy,
            &request(
                "kms:Decrypt",
                key,
                &[("kms:ViaService", "s3.us-east-1.amazonaws.com")]
            )
        ));
        assert!(
            !allowed(&policy, &request("kms:Decrypt", key, &[])),
            "decrypts outside S3"
        );
        for readable in [
            "CA/certs/beanstalk.crt",
            "CA/web/beanstalk.key",
            "CA/certs/ca.crt",
            "CouchDB/admin-password.txt",
        ] {
            assert!(
                allowed(
                    &policy,
                    &request("s3:GetObject", object(BUCKET, readable), &[])
                ),
                "{readable}"
            );
        }
        for secret in [
            "CA/keys/ca.key",
            "CA/keys/couch.key",
            "CA/keys/beanstalk.key",
            "Backup/passphrase.txt",
            "recovery/manifest.json",
            "AWSLogs/123456789012/CloudTrail/x.json.gz",
        ] {
            for action in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
                assert!(
                    !allowed(&policy, &request(action, object(BUCKET, secret), &[])),
                    "{action} {secret}"
                );
            }
        }
        assert!(
            !allowed(
                &policy,
                &request(
                    "s3:ListBucket",
                    bucket_arn(BUCKET),
                    &[("s3:prefix", "Backup/")]
                )
            ),
            "lists the backups"
        );
    }
}

#[test]
fn instance_agents_publish_only_into_the_instance_namespace() {
    let namespace = stack_gen::instance::METRICS_NAMESPACE;
    for o in with_instances() {
        let t = template(&o);
        for role in ["CouchDBRole", "NFSBackupRole"] {
            let policy = role_statements(&t, role, &environment());
            let put = |context: &[(&'static str, &'static str)]| {
                allowed(&policy, &request("cloudwatch:PutMetricData", "*", context))
            };
            assert!(put(&[("cloudwatch:namespace", namespace)]), "{role}");
            for other in ["OpenEMR/BackupChecker", "AWS/EC2", "openemr/instances"] {
                assert!(
                    !put(&[("cloudwatch:namespace", other)]),
                    "{role} publishes into {other}"
                );
            }
            assert!(!put(&[]), "{role} publishes without a namespace");
        }
    }
    let t = template(&Options {
        skip_document_store: true,
        ..Options::default()
    });
    assert!(t["Resources"].get("CouchDBRole").is_none());
}

#[test]
fn beanstalk_service_role_is_for_elastic_beanstalk_with_its_external_id() {
    let t = template(&Options::default());
    let trust: Vec<Value> = list(
        &t["Resources"]["BeanstalkServiceRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"],
    );
    let assume = |principal: &'static str, context: &[(&'static str, &'static str)]| {
        allowed(
            &trust,
            &Request {
                principal: Some(principal),
                ..request("sts:AssumeRole", "", context)
            },
        )
    };
    assert!(assume(
        "elasticbeanstalk.amazonaws.com",
        &[("sts:ExternalId", "elasticbeanstalk")]
    ));
    assert!(
        !assume("elasticbeanstalk.amazonaws.com", &[]),
        "without the external id"
    );
    assert!(!assume(
        "elasticbeanstalk.amazonaws.com",
        &[("sts:ExternalId", "other")]
    ));
    assert!(!assume(
        "ec2.amazonaws.com",
        &[("sts:ExternalId", "elasticbeanstalk")]
    ));
}

/// The drill template's URL as the orchestrator's environment gives it (and CreateStack sends).
fn drill_template_url(t: &Value) -> String {
    let env = &t["Resources"]["RestoreDrillFunction"]["Properties"]["Environment"]["Variables"];
    resolve(
        &env[stack_contract::restore_drill::orchestrator::TEMPLATE_URL],
        &environment(),
    )
    .as_str()
    .unwrap()
    .to_owned()
}

/// The orchestrator builds only tagged drill stacks of this stack from the drill template with
/// the drill's role, deletes only stacks tagged as drills, and never touches the source stack.
#[test]
fn the_drill_orchestrator_never_touches_the_source_stack() {
    let t = template(&Options::default());
    let policy = role_statements(&t, "RestoreDrillRole", &environment());
    let url = drill_template_url(&t);
    let url: &'static str = Box::leak(url.into_boxed_str());
    assert!(
        url.starts_with("https://openemr-code.s3.us-east-1.amazonaws.com/"),
        "{url}"
    );
    for action in [
        "cloudformation:DeleteStack",
        "cloudformation:UpdateStack",
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
    ] {
        let on_source = request(
            action,
            STACK_ID,
            &[("aws:ResourceTag/openemr:drill", "true")],
        );
        assert!(
            denied(&policy, &on_source),
            "{action} on the source is not denied"
        );
        assert!(!allowed(&policy, &on_source));
    }
    let create = |stack: &str, context: &[(&'static str, &'static str)]| {
        allowed(
            &policy,
            &request("cloudformation:CreateStack", stack, context),
        )
    };
    let good: [(&'static str, &'static str); 4] = [
        ("aws:RequestTag/openemr:drill", "true"),
        ("aws:RequestTag/openemr:drill-of", "openemr"),
        ("cloudformation:RoleArn", DRILL_ROLE),
        ("cloudformation:TemplateUrl", url),
    ];
    assert!(
        create(DRILL_STACK, &good),
        "a tagged drill stack is refused"
    );
    assert!(
        !create(DRILL_STACK, &good[1..]),
        "an untagged drill stack is allowed"
    );
    assert!(
        !create(
            DRILL_STACK,
            &[good[0], good[1], ("cloudformation:RoleArn", ADMIN), good[3]]
        ),
        "another service role"
    );
    assert!(
        !create(DRILL_STACK, &[good[0], good[1], good[2]]),
        "a template body instead of the drill template"
    );
    assert!(
        !create(
            DRILL_STACK,
            &[
                good[0],
                good[1],
                good[2],
                (
                    "cloudformation:TemplateUrl",
                    "https://evil.s3.amazonaws.com/t.json"
                )
            ]
        ),
        "another template"
    );
    assert!(
        !create(
            "arn:aws:cloudformation:us-east-1:123456789012:stack/other/1",
            &good
        ),
        "a stack not named as this stack's drill"
    );
    let delete = |context: &[(&'static str, &'static str)]| {
        allowed(
            &policy,
            &request("cloudformation:DeleteStack", DRILL_STACK, context),
        )
    };
    assert!(delete(&[("aws:ResourceTag/openemr:drill", "true")]));
    assert!(!delete(&[]), "deletes an untagged stack");
    let pass = |service: &'static str| {
        allowed(
            &policy,
            &request(
                "iam:PassRole",
                DRILL_ROLE,
                &[("iam:PassedToService", service)],
            ),
        )
    };
    assert!(pass("cloudformation.amazonaws.com"));
    assert!(!pass("ec2.amazonaws.com"));
    // Leftovers: only what carries the drill tag.
    for (action, resource) in [
        (
            "ec2:DeleteVolume",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{VOLUME}"),
        ),
        (
            "ec2:DeleteSnapshot",
            format!("arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0"),
        ),
    ] {
        assert!(allowed(
            &policy,
            &request(
                action,
                resource.clone(),
                &[("aws:ResourceTag/openemr:drill", "true")]
            )
        ));
        assert!(
            !allowed(&policy, &request(action, resource, &[])),
            "{action} untagged"
        );
    }
    // The drill's buckets are emptied; the source's never.
    assert!(allowed(
        &policy,
        &request(
            "s3:DeleteObjectVersion",
            object(DRILL_BUCKET, "Backup/x"),
            &[]
        )
    ));
    assert!(allowed(
        &policy,
        &request("s3:ListBucketVersions", bucket_arn(DRILL_BUCKET), &[])
    ));
    for key in [
        "Backup/x",
        "recovery/manifest.json",
        "recovery/fingerprint.json",
    ] {
        assert!(
            !allowed(
                &policy,
                &request("s3:DeleteObject", object(BUCKET, key), &[])
            ),
            "{key}"
        );
    }
    assert!(allowed(
        &policy,
        &request(
            "s3:GetObject",
            object(BUCKET, "recovery/fingerprint.json"),
            &[]
        )
    ));
    assert!(allowed(
        &policy,
        &request(
            "s3:PutObject",
            object(BUCKET, "recovery/drills/2026-12-06.json"),
            &[]
        )
    ));
    assert!(!allowed(
        &policy,
        &request(
            "s3:PutObject",
            object(BUCKET, "recovery/manifest.json"),
            &[]
        )
    ));
    assert!(allowed(
        &policy,
        &request(
            "logs:DeleteLogGroup",
            format!(
                "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/rds/instance/{DRILL_BUCKET}/error"
            ),
            &[]
        )
    ));
    assert!(!allowed(
        &policy,
        &request(
            "logs:DeleteLogGroup",
            format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/rds/instance/openemr-db/error"),
            &[]
        )
    ));
}

/// The drill stack's service role: only CloudFormation of this account assumes it, and
/// whatever it may do to the drill stack, the source stack's resources are out of its reach.
#[test]
fn the_drill_stack_role_cannot_change_the_source_stack() {
    let t = template(&Options::default());
    let env = environment();
    let policy = role_statements(&t, "DrillStackRole", &env);
    let source_tag = [("aws:ResourceTag/aws:cloudformation:stack-name", "openemr")];
    let drill_tag = [(
        "aws:ResourceTag/aws:cloudformation:stack-name",
        "openemr-drill-20261206",
    )];
    let instance = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0");
    assert!(denied(
        &policy,
        &request("ec2:TerminateInstances", instance.clone(), &source_tag)
    ));
    assert!(allowed(
        &policy,
        &request("ec2:TerminateInstances", instance, &drill_tag)
    ));
    let db = format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:openemr-db");
    for action in ["rds:DeleteDBInstance", "rds:ModifyDBInstance"] {
        assert!(
            denied(&policy, &request(action, db.clone(), &[])),
            "{action} on the source database"
        );
    }
    assert!(allowed(
        &policy,
        &request(
            "rds:DeleteDBInstance",
            format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{DRILL_BUCKET}"),
            &drill_tag
        )
    ));
    for action in ["s3:DeleteObject", "s3:PutObject", "s3:DeleteObjectVersion"] {
        assert!(
            denied(&policy, &request(action, object(BUCKET, "Backup/x"), &[])),
            "{action} on the source bucket"
        );
    }
    assert!(denied(
        &policy,
        &request("s3:DeleteBucket", bucket_arn(BUCKET), &[])
    ));
    assert!(allowed(
        &policy,
        &request("s3:DeleteBucket", bucket_arn(DRILL_BUCKET), &[])
    ));
    for action in [
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
        "kms:PutKeyPolicy",
    ] {
        assert!(
            denied(&policy, &request(action, KEY, &[])),
            "{action} on the source key"
        );
    }
    for action in ["cloudformation:DeleteStack", "cloudformation:UpdateStack"] {
        assert!(
            denied(&policy, &request(action, STACK_ID, &[])),
            "{action} on the source stack"
        );
    }
    // What Elastic Beanstalk runs for the source environment carries the environment's name,
    // not the source stack's: its instances, scaling group, security groups, target group and
    // its `awseb-*` stack.
    let source_environment = [(
        "aws:ResourceTag/elasticbeanstalk:environment-name",
        SOURCE_ENVIRONMENT,
    )];
    let drill_environment = [(
        "aws:ResourceTag/elasticbeanstalk:environment-name",
        DRILL_BUCKET,
    )];
    let eb_resources = [
        (
            "ec2:TerminateInstances",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0eb0000000000000a"),
        ),
        (
            "ec2:RevokeSecurityGroupIngress",
            format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0eb0000000000000a"),
        ),
        (
            "autoscaling:DeleteAutoScalingGroup",
            format!(
                "arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:0d0d0d0d-0000-4000-8000-000000000003:autoScalingGroupName/awseb-e-abc-stack-AWSEBAutoScalingGroup-1"
            ),
        ),
        (
            "autoscaling:UpdateAutoScalingGroup",
            format!(
                "arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:0d0d0d0d-0000-4000-8000-000000000003:autoScalingGroupName/awseb-e-abc-stack-AWSEBAutoScalingGroup-1"
            ),
        ),
        (
            "elasticloadbalancing:DeleteTargetGroup",
            format!(
                "arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/awseb-AWSEB-1/0123456789abcdef"
            ),
        ),
        (
            "cloudformation:DeleteStack",
            format!(
                "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/awseb-e-abc-stack/0d0d0d0d-0000-4000-8000-000000000004"
            ),
        ),
        (
            "cloudformation:UpdateStack",
            format!(
                "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/awseb-e-abc-stack/0d0d0d0d-0000-4000-8000-000000000004"
            ),
        ),
    ];
    for (action, resource) in &eb_resources {
        assert!(
            denied(
                &policy,
                &request(action, resource.clone(), &source_environment)
            ),
            "{action} on the source environment's {resource}"
        );
        assert!(
            allowed(
                &policy,
                &request(action, resource.clone(), &drill_environment)
            ),
            "{action} on the drill environment's {resource}"
        );
    }
    // The source's application and environment themselves: read only.
    let application =
        format!("arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:application/{SOURCE_APPLICATION}");
    let environment = format!(
        "arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:environment/{SOURCE_APPLICATION}/{SOURCE_ENVIRONMENT}"
    );
    for (action, resource) in [
        ("elasticbeanstalk:TerminateEnvironment", &environment),
        ("elasticbeanstalk:UpdateEnvironment", &environment),
        ("elasticbeanstalk:RebuildEnvironment", &environment),
        ("elasticbeanstalk:DeleteApplication", &application),
    ] {
        assert!(
            denied(&policy, &request(action, resource.clone(), &[])),
            "{action}"
        );
    }
    assert!(!denied(
        &policy,
        &request(
            "elasticbeanstalk:DescribeEnvironments",
            environment.clone(),
            &[]
        )
    ));
    assert!(allowed(
        &policy,
        &request(
            "elasticbeanstalk:TerminateEnvironment",
            format!(
                "arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:environment/{DRILL_BUCKET}-app/{DRILL_BUCKET}"
            ),
            &[]
        )
    ));
    // No bucket but the drill's and Elastic Beanstalk's storage: not the trail's, not the
    // access logs', not another application's.
    for bucket in [
        "openemr-trail-logs",
        "openemr-access-logs",
        "someone-elses-bucket",
    ] {
        for (action, resource) in [
            ("s3:DeleteBucket", bucket_arn(bucket)),
            ("s3:PutBucketPolicy", bucket_arn(bucket)),
            ("s3:PutLifecycleConfiguration", bucket_arn(bucket)),
            ("s3:DeleteObject", object(bucket, "AWSLogs/x")),
            ("s3:PutObject", object(bucket, "AWSLogs/x")),
        ] {
            assert!(
                denied(&policy, &request(action, resource, &[])),
                "{action} on {bucket}"
            );
        }
    }
    let beanstalk_storage = format!("elasticbeanstalk-{REGION}-{ACCOUNT}");
    assert!(allowed(
        &policy,
        &request(
            "s3:PutObject",
            object(&beanstalk_storage, "drill/bundle.zip"),
            &[]
        )
    ));
    assert!(allowed(
        &policy,
        &request("s3:DeleteObject", object(DRILL_BUCKET, "recovery/x"), &[])
    ));
    let role = |name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    // The drill names its roles after its resources (restore_drill::name_everything).
    assert!(allowed(
        &policy,
        &request(
            "iam:CreateRole",
            role(&format!("{DRILL_BUCKET}-CouchDBRole")),
            &[]
        )
    ));
    // Not another stack's drill, nor a name CloudFormation would generate.
    for name in [
        "openemr-0bad0bad-drill-0d0d0d0d-CouchDBRole",
        "openemr-drill-20261206-CouchDBRole-1",
    ] {
        assert!(
            !allowed(&policy, &request("iam:CreateRole", role(name), &[])),
            "{name}"
        );
    }
    assert!(!allowed(
        &policy,
        &request("iam:CreateRole", role("Admin"), &[])
    ));
    assert!(!allowed(
        &policy,
        &request(
            "iam:PutRolePolicy",
            role("openemr-NFSBackupRole-1A2B3C"),
            &[]
        )
    ));
    let linked = |service: &'static str| {
        allowed(
            &policy,
            &request(
                "iam:CreateServiceLinkedRole",
                "*",
                &[("iam:AWSServiceName", service)],
            ),
        )
    };
    assert!(linked("elasticbeanstalk.amazonaws.com"));
    assert!(!linked("support.amazonaws.com"));
    let trust: Vec<Value> = list(
        &t["Resources"]["DrillStackRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"],
    )
    .iter()
    .map(|s| resolve(s, &env))
    .collect();
    let assume = |principal: &'static str, account: &'static str| {
        allowed(
            &trust,
            &Request {
                principal: Some(principal),
                ..request("sts:AssumeRole", "", &[("aws:SourceAccount", account)])
            },
        )
    };
    assert!(assume("cloudformation.amazonaws.com", ACCOUNT));
    assert!(!assume("cloudformation.amazonaws.com", "999999999999"));
    assert!(!assume("lambda.amazonaws.com", ACCOUNT));
}

/// The fingerprint recorder and the drill's verifier mount EFS read-only through their access
/// point, and manage ENIs in the stack's VPC only.
#[test]
fn data_readers_mount_efs_through_their_access_point_in_the_stacks_vpc() {
    let drill = Options::default().drill_options();
    for (o, role) in [
        (Options::default(), "FingerprintRecorderRole"),
        (drill, "DrillVerifierRole"),
    ] {
        let t = template(&o);
        let policy = role_statements(&t, role, &environment());
        let mount = |action: &'static str, context: &[(&'static str, &'static str)]| {
            allowed(&policy, &request(action, EFS, context))
        };
        let through = [("elasticfilesystem:AccessPointArn", ACCESS_POINT)];
        assert!(mount("elasticfilesystem:ClientMount", &through), "{role}");
        assert!(
            !mount("elasticfilesystem:ClientMount", &[]),
            "{role} mounts without the access point"
        );
        assert!(
            !mount("elasticfilesystem:ClientWrite", &through),
            "{role} writes EFS"
        );
        // Lambda's create-time check: the interface actions with no VPC, subnet or interface
        // in the request (AWSLambdaVPCAccessExecutionRole's form, unconditioned on "*").
        for action in [
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ] {
            let any_interface = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*");
            assert!(
                allowed(&policy, &request(action, any_interface, &[])),
                "{role}: {action}"
            );
        }
        let key = if o.recovery { OLD_KEY } else { KEY };
        assert!(allowed(
            &policy,
            &request(
                "kms:Decrypt",
                key,
                &[("kms:ViaService", "s3.us-east-1.amazonaws.com")]
            )
        ));
        assert!(
            !allowed(&policy, &request("kms:Decrypt", key, &[])),
            "{role} decrypts outside S3"
        );
        assert_eq!(
            allowed(
                &policy,
                &request(
                    "s3:PutObject",
                    object(BUCKET, "recovery/fingerprint.json"),
                    &[]
                )
            ),
            !o.drill,
            "{role}: only the recorder writes the fingerprint"
        );
        assert!(!allowed(
            &policy,
            &request("s3:GetObject", object(BUCKET, "Backup/passphrase.txt"), &[])
        ));
    }
}
