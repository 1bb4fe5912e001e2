//! recovery-params against moto (one server per test) through the protocol crate and a loopback
//! ResponseURL: what CloudFormation would receive, what is in the bucket, what was logged.
//! States moto cannot show (a snapshot still pending, an EBS snapshot naming its key) come from
//! an SDK-level fake (aws-smithy-mocks) for EC2/RDS, with S3 and KMS still in moto.

mod common;

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use common::*;
use custom_resource::{Context, Options};
use recovery_params::Clients;
use recovery_params::Request;
use recovery_params::manifest::{MANIFEST_KEY, Manifest};
use serde_json::{Value, json};
use test_harness::Moto;
use test_harness::response_url::ResponseUrl;

/// The bound every bad input must fail within, against the emulator.
const FAIL_FAST: Duration = Duration::from_secs(5);

/// Sends one event through the protocol crate to the handler; returns the one body
/// CloudFormation received and how long the invocation took.
async fn invoke(
    clients: &Clients,
    kind: &str,
    stack_id: &str,
    logical_id: &str,
    properties: Value,
    physical_id: Option<&str>,
) -> (Value, Duration) {
    let server = ResponseUrl::start();
    let event = event(
        kind,
        &server.url(),
        stack_id,
        logical_id,
        properties,
        physical_id,
    );
    let handler = |request: Request, _context: Context| {
        let clients = clients.clone();
        async move { recovery_params::handler(&clients, request).await }
    };
    let started = Instant::now();
    custom_resource::handle(&handler, event, Context::default(), &Options::default())
        .await
        .expect("answer delivered");
    let elapsed = started.elapsed();
    let answers = server.requests();
    assert_eq!(answers.len(), 1, "exactly one answer");
    (answers[0].json(), elapsed)
}

fn status(body: &Value) -> &str {
    body["Status"].as_str().unwrap_or_default()
}

fn reason(body: &Value) -> &str {
    body["Reason"].as_str().unwrap_or_default()
}

/// A stack's leftovers with a recorded manifest.
async fn recorded_stack(config: &SdkConfig, clients: &Clients, name: &str) -> Leftovers {
    let resources = create_resources(config, name).await;
    let leftovers = back_up(config, &resources, name).await;
    let (body, _) = invoke(
        clients,
        "Create",
        STACK_ID,
        "RecoveryManifest",
        record_properties(&resources, "America/Chicago"),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    leftovers
}

#[tokio::test(flavor = "current_thread")]
async fn record_then_resolve_round_trip_without_logging_the_password() {
    let logs = test_harness::logs::capture();
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let clients = Clients::new(&config);
    let resources = create_resources(&config, "round-trip").await;
    let leftovers = back_up(&config, &resources, "round-trip").await;

    // Record (Create): the manifest is in the bucket, SSE-KMS with the stack key.
    let (body, _) = invoke(
        &clients,
        "Create",
        STACK_ID,
        "RecoveryManifest",
        record_properties(&resources, "America/Chicago"),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    let physical = body["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(
        physical,
        format!("s3://{}/{MANIFEST_KEY}", resources.bucket)
    );
    assert_eq!(body["NoEcho"], json!(false));
    assert!(
        !body.to_string().contains(PASSWORD),
        "record answer must not carry the password"
    );
    let s3 = aws_clients::s3_client(&config);
    let head = s3
        .head_object()
        .bucket(&resources.bucket)
        .key(MANIFEST_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    assert_eq!(head.ssekms_key_id(), Some(resources.key_arn.as_str()));
    let stored = s3
        .get_object()
        .bucket(&resources.bucket)
        .key(MANIFEST_KEY)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec();
    let manifest = Manifest::parse(&stored).unwrap();
    assert_eq!(manifest.stack_id, STACK_ID);
    assert_eq!(manifest.time_zone, "America/Chicago");
    assert!(
        manifest
            .database
            .password
            .as_ref()
            .is_some_and(|p| p.expose() == PASSWORD),
        "password recorded inside the encrypted manifest"
    );

    // Resolve: every value back, password with NoEcho.
    let (body, _) = invoke(
        &clients,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&leftovers, ""),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    assert_eq!(body["NoEcho"], json!(true));
    let data = &body["Data"];
    assert_eq!(data["TimeZone"], "America/Chicago");
    assert_eq!(data["PatientRecords"], "20");
    assert_eq!(data["DocumentStorage"], "125"); // the 100 GB fixture volume, raised to sc1's minimum
    assert_eq!(data["MasterUsername"], "openemr");
    assert_eq!(data["EngineVersion"], "8.0");
    assert_eq!(data["Source"], "manifest");
    assert!(
        data["Password"] == PASSWORD,
        "resolved password differs from the recorded one"
    );
    assert!(!data["Notes"].as_str().unwrap().contains(PASSWORD));

    // Update rewrites it (a new S3 version); Delete leaves it.
    let (body, _) = invoke(
        &clients,
        "Update",
        STACK_ID,
        "RecoveryManifest",
        record_properties(&resources, "Europe/Berlin"),
        Some(&physical),
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    let versions: Vec<_> = object_versions(&config, &resources.bucket)
        .await
        .into_iter()
        .filter(|(k, _)| k == MANIFEST_KEY)
        .collect();
    assert_eq!(
        versions.len(),
        2,
        "the Update wrote a second version of the manifest"
    );
    let (body, _) = invoke(
        &clients,
        "Delete",
        STACK_ID,
        "RecoveryManifest",
        record_properties(&resources, "Europe/Berlin"),
        Some(&physical),
    )
    .await;
    assert_eq!(status(&body), "SUCCESS");
    let stored = s3
        .get_object()
        .bucket(&resources.bucket)
        .key(MANIFEST_KEY)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec();
    assert_eq!(
        Manifest::parse(&stored).unwrap().time_zone,
        "Europe/Berlin",
        "Delete left the manifest"
    );

    let text = logs.text();
    assert!(
        text.contains("recovery manifest written") && text.contains("recovery parameters resolved"),
        "logs were captured"
    );
    assert!(
        !text.contains(PASSWORD),
        "the password appeared in the logs"
    );
}

/// One bad input per case, against the emulator: FAILED within [`FAIL_FAST`], the Reason names
/// the input and what is wrong, never the password, and nothing is written to the bucket.
#[tokio::test(flavor = "current_thread")]
async fn every_bad_input_fails_fast_naming_the_input() {
    let logs = test_harness::logs::capture();
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let clients = Clients::new(&config);
    let good = recorded_stack(&config, &clients, "bad-inputs").await;

    // The states the cases need, made in moto.
    let other_key = create_key(&config).await;
    create_db_instance(&config, "plain-db", None).await;
    let plain_rds = snapshot_db(&config, "plain-db", "plain-final").await;
    create_db_instance(&config, "other-key-db", Some(&other_key)).await;
    let other_key_rds = snapshot_db(&config, "other-key-db", "other-key-final").await;
    let plain_volume = create_volume(&config, None).await;
    let plain_ebs = snapshot_volume(&config, &plain_volume).await;
    create_bucket(&config, "openemr-empty-bucket").await;
    create_bucket(&config, "openemr-no-passphrase").await;
    write_backup(&config, "openemr-no-passphrase", &good.resources.key_arn).await;
    aws_clients::s3_client(&config)
        .delete_object()
        .bucket("openemr-no-passphrase")
        .key("Backup/passphrase.txt")
        .send()
        .await
        .unwrap();
    let eu = moto.sdk_config_in("eu-west-1").await;
    create_bucket(&eu, "openemr-in-ireland").await;

    let key = good.resources.key_arn.clone();
    let missing_key = format!(
        "{}:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a",
        key.rsplit_once(":key/").unwrap().0
    );
    type Case = (
        &'static str,
        &'static str,
        String,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "key malformed",
            "RecoveryKMSKey",
            "alias/openemr".into(),
            "RecoveryKMSKey:",
            "not a KMS key ARN",
        ),
        (
            "key not found",
            "RecoveryKMSKey",
            missing_key,
            "RecoveryKMSKey:",
            "not found",
        ),
        (
            "key in another region",
            "RecoveryKMSKey",
            key.replace("us-east-1", "eu-west-1"),
            "RecoveryKMSKey:",
            "is in region eu-west-1",
        ),
        (
            "rds malformed",
            "RecoveryRDSSnapshotARN",
            "openemr-final".into(),
            "RecoveryRDSSnapshotARN:",
            "not an RDS snapshot ARN",
        ),
        (
            "rds not found",
            "RecoveryRDSSnapshotARN",
            good.rds_snapshot_arn
                .replace("bad-inputs-final", "no-such-snapshot"),
            "RecoveryRDSSnapshotARN:",
            "not found",
        ),
        (
            "rds in another region",
            "RecoveryRDSSnapshotARN",
            good.rds_snapshot_arn.replace("us-east-1", "us-west-2"),
            "RecoveryRDSSnapshotARN:",
            "is in region us-west-2",
        ),
        (
            "rds not encrypted",
            "RecoveryRDSSnapshotARN",
            plain_rds,
            "RecoveryRDSSnapshotARN:",
            "not encrypted",
        ),
        (
            "rds other key",
            "RecoveryRDSSnapshotARN",
            other_key_rds,
            "RecoveryRDSSnapshotARN:",
            "not with RecoveryKMSKey",
        ),
        (
            "ebs malformed",
            "RecoveryCouchDBSnapshot",
            "vol-0ebb4f155ff27040c".into(),
            "RecoveryCouchDBSnapshot:",
            "not an EBS snapshot id",
        ),
        (
            "ebs not found",
            "RecoveryCouchDBSnapshot",
            "snap-0123456789abcdef0".into(),
            "RecoveryCouchDBSnapshot:",
            "not found",
        ),
        (
            "ebs not encrypted",
            "RecoveryCouchDBSnapshot",
            plain_ebs,
            "RecoveryCouchDBSnapshot:",
            "not encrypted",
        ),
        (
            "bucket malformed",
            "RecoveryS3Bucket",
            "s3://openemr-bad-inputs".into(),
            "RecoveryS3Bucket:",
            "not an S3 bucket name",
        ),
        (
            "bucket not found",
            "RecoveryS3Bucket",
            "openemr-no-such-bucket".into(),
            "RecoveryS3Bucket:",
            "not found",
        ),
        (
            "bucket in another region",
            "RecoveryS3Bucket",
            "openemr-in-ireland".into(),
            "RecoveryS3Bucket:",
            "is in region eu-west-1",
        ),
        (
            "bucket without backup",
            "RecoveryS3Bucket",
            "openemr-empty-bucket".into(),
            "RecoveryS3Bucket:",
            "no duplicity full backup",
        ),
        (
            "bucket without passphrase",
            "RecoveryS3Bucket",
            "openemr-no-passphrase".into(),
            "RecoveryS3Bucket:",
            "no Backup/passphrase.txt",
        ),
        (
            "time zone malformed",
            "TimeZone",
            "Mars/Olympus Mons".into(),
            "TimeZone:",
            "not a time zone",
        ),
    ];
    let before = object_versions(&config, &good.resources.bucket).await;
    let mut slowest = Duration::ZERO;
    for (name, input, value, named, expect) in cases {
        let mut properties = resolve_properties(&good, "");
        properties[input] = json!(value);
        let (body, elapsed) = invoke(
            &clients,
            "Create",
            RECOVERY_STACK_ID,
            "RecoveryParameters",
            properties,
            None,
        )
        .await;
        assert_eq!(status(&body), "FAILED", "{name}: {body}");
        assert!(
            reason(&body).starts_with(named),
            "{name}: {}",
            reason(&body)
        );
        assert!(reason(&body).contains(expect), "{name}: {}", reason(&body));
        assert!(
            !body.to_string().contains(PASSWORD),
            "{name}: the password is in the answer"
        );
        assert!(
            body["PhysicalResourceId"]
                .as_str()
                .unwrap()
                .starts_with("create-failed:"),
            "{name}"
        );
        assert!(elapsed < FAIL_FAST, "{name}: took {elapsed:?}");
        slowest = slowest.max(elapsed);
    }

    // Key states, on the real key (restored after each).
    let kms = aws_sdk_kms::Client::new(&config);
    // moto's key-state calls take the key id, not the ARN.
    let key_id = key.rsplit_once("key/").unwrap().1.to_owned();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let (body, elapsed) = invoke(
        &clients,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&good, ""),
        None,
    )
    .await;
    assert_eq!(status(&body), "FAILED");
    assert!(
        reason(&body).starts_with("RecoveryKMSKey:") && reason(&body).contains("is disabled"),
        "{}",
        reason(&body)
    );
    slowest = slowest.max(elapsed);
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    kms.schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let (body, elapsed) = invoke(
        &clients,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&good, ""),
        None,
    )
    .await;
    assert_eq!(status(&body), "FAILED");
    assert!(
        reason(&body).starts_with("RecoveryKMSKey:") && reason(&body).contains("pending deletion"),
        "{}",
        reason(&body)
    );
    slowest = slowest.max(elapsed);
    kms.cancel_key_deletion()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    kms.enable_key().key_id(&key_id).send().await.unwrap();

    // The good inputs still resolve (the cases failed for their own reason), and nothing was written.
    let (body, _) = invoke(
        &clients,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&good, ""),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    assert_eq!(
        object_versions(&config, &good.resources.bucket).await,
        before,
        "a resolve wrote to the bucket"
    );
    assert!(
        !logs.text().contains(PASSWORD),
        "the password appeared in the logs"
    );
    eprintln!(
        "slowest bad-input FAILED against the emulator: {} ms",
        slowest.as_millis()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_stack_without_manifest_falls_back_to_the_snapshots() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let clients = Clients::new(&config);
    let resources = create_resources(&config, "original-built").await;
    let leftovers = back_up(&config, &resources, "original-built").await;

    let (body, _) = invoke(
        &clients,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&leftovers, ""),
        None,
    )
    .await;
    assert_eq!(status(&body), "FAILED");
    assert!(
        reason(&body).starts_with("TimeZone:")
            && reason(&body).contains("no recovery/manifest.json"),
        "{}",
        reason(&body)
    );

    let (body, _) = invoke(
        &clients,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&leftovers, "America/New_York"),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    let data = &body["Data"];
    assert_eq!(data["Source"], "snapshots");
    assert_eq!(data["TimeZone"], "America/New_York");
    assert_eq!(
        (
            data["PatientRecords"].as_str(),
            data["DocumentStorage"].as_str()
        ),
        (Some("20"), Some("125"))
    );
    assert_eq!(
        (
            data["MasterUsername"].as_str(),
            data["EngineVersion"].as_str()
        ),
        (Some("openemr"), Some("8.0"))
    );
    assert_eq!(
        data["Password"], "",
        "the password is unknown without a manifest (the snapshot keeps it)"
    );
    assert!(
        data["Notes"]
            .as_str()
            .unwrap()
            .contains("original generator")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_record_fails_and_writes_nothing() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let clients = Clients::new(&config);
    let resources = create_resources(&config, "bad-record").await;

    let mut properties = record_properties(&resources, "America/Chicago");
    properties["KmsKeyArn"] = json!("alias/openemr");
    properties["PatientRecords"] = json!("lots");
    let (body, elapsed) = invoke(
        &clients,
        "Create",
        STACK_ID,
        "RecoveryManifest",
        properties,
        None,
    )
    .await;
    assert_eq!(status(&body), "FAILED");
    assert!(
        reason(&body).starts_with("KmsKeyArn:") && reason(&body).contains("PatientRecords:"),
        "{}",
        reason(&body)
    );
    assert!(!body.to_string().contains(PASSWORD));
    assert!(elapsed < FAIL_FAST);

    let mut properties = record_properties(&resources, "America/Chicago");
    properties["Bucket"] = json!("openemr-no-such-bucket");
    let (body, _) = invoke(
        &clients,
        "Create",
        STACK_ID,
        "RecoveryManifest",
        properties,
        None,
    )
    .await;
    assert_eq!(status(&body), "FAILED");
    assert!(
        reason(&body).starts_with("Bucket:") && reason(&body).contains("NoSuchBucket"),
        "{}",
        reason(&body)
    );
    assert!(
        object_versions(&config, &resources.bucket).await.is_empty(),
        "nothing written"
    );
}

/// States moto cannot show: a DB snapshot still being created, an EBS snapshot still pending,
/// an EBS snapshot encrypted with another key. EC2/RDS are SDK-level fakes; S3/KMS are moto.
#[tokio::test(flavor = "current_thread")]
async fn unfinished_snapshots_and_foreign_keys_fail_fast() {
    use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
    use aws_sdk_ec2::types::{Snapshot, SnapshotState};
    use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
    use aws_sdk_rds::types::DbSnapshot;
    use aws_smithy_mocks::{Rule, RuleMode, mock};

    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let good = recorded_stack(&config, &Clients::new(&config), "fakes").await;
    let key = good.resources.key_arn.clone();
    let other_key =
        "arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444".to_owned();

    let ebs = |state: SnapshotState, key: String| {
        let id = good.ebs_snapshot.clone();
        mock!(aws_sdk_ec2::Client::describe_snapshots).then_output(move || {
            DescribeSnapshotsOutput::builder()
                .snapshots(
                    Snapshot::builder()
                        .snapshot_id(&id)
                        .state(state.clone())
                        .progress("40%")
                        .encrypted(true)
                        .kms_key_id(&key)
                        .volume_size(100)
                        .build(),
                )
                .build()
        })
    };
    let rds = |status: &str| {
        let status = status.to_owned();
        let key = key.clone();
        mock!(aws_sdk_rds::Client::describe_db_snapshots).then_output(move || {
            DescribeDbSnapshotsOutput::builder()
                .db_snapshots(
                    DbSnapshot::builder()
                        .db_snapshot_identifier("fakes-final")
                        .status(&status)
                        .percent_progress(if status == "available" { 100 } else { 40 })
                        .encrypted(true)
                        .kms_key_id(&key)
                        .engine("mysql")
                        .engine_version("8.0.39")
                        .master_username("openemr")
                        .allocated_storage(20)
                        .build(),
                )
                .build()
        })
    };
    let faked = |ec2_rule: &Rule, rds_rule: &Rule| {
        let mut clients = Clients::new(&config);
        clients.ec2 = test_harness::mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [ec2_rule]);
        clients.rds = test_harness::mock_client!(aws_sdk_rds, RuleMode::MatchAny, [rds_rule]);
        clients
    };

    let cases = [
        (
            "ebs pending",
            ebs(SnapshotState::Pending, key.clone()),
            rds("available"),
            "RecoveryCouchDBSnapshot:",
            "not completed (state pending, 40% done)",
        ),
        (
            "ebs failed",
            ebs(SnapshotState::Error, key.clone()),
            rds("available"),
            "RecoveryCouchDBSnapshot:",
            "it failed",
        ),
        (
            "ebs other key",
            ebs(SnapshotState::Completed, other_key.clone()),
            rds("available"),
            "RecoveryCouchDBSnapshot:",
            "not with RecoveryKMSKey",
        ),
        (
            "rds creating",
            ebs(SnapshotState::Completed, key.clone()),
            rds("creating"),
            "RecoveryRDSSnapshotARN:",
            "not completed (status creating, 40% done)",
        ),
    ];
    for (name, ec2_rule, rds_rule, named, expect) in cases {
        let clients = faked(&ec2_rule, &rds_rule);
        let (body, elapsed) = invoke(
            &clients,
            "Create",
            RECOVERY_STACK_ID,
            "RecoveryParameters",
            resolve_properties(&good, ""),
            None,
        )
        .await;
        assert_eq!(status(&body), "FAILED", "{name}");
        assert!(
            reason(&body).starts_with(named) && reason(&body).contains(expect),
            "{name}: {}",
            reason(&body)
        );
        assert!(elapsed < FAIL_FAST, "{name}: {elapsed:?}");
        assert_eq!(
            (ec2_rule.num_calls(), rds_rule.num_calls()),
            (1, 1),
            "{name}: one look-up each"
        );
    }
    // And the same fakes in their finished state resolve.
    let (ec2_rule, rds_rule) = (ebs(SnapshotState::Completed, key.clone()), rds("available"));
    let (body, _) = invoke(
        &faked(&ec2_rule, &rds_rule),
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&good, ""),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
}

/// With only what the templates give `RecoveryParamsRole`, IAM enforced by the emulator: the
/// stack records its manifest; the recovery stack resolves from it, and from the snapshots
/// when the bucket has no manifest (a stack built by the original: the missing object must
/// answer 404, which needs the role's ListBucket).
#[tokio::test]
async fn its_own_role_records_and_resolves_with_or_without_a_manifest() {
    use test_harness::iam::{component, stack_env};
    let moto = Moto::start_with_iam();
    let admin = moto.sdk_config().await;
    let resources = create_resources(&admin, "iam").await;
    let leftovers = back_up(&admin, &resources, "iam").await;

    let stack = stack_gen::generate(&stack_gen::Options::default())
        .unwrap()
        .to_json();
    let recorder = component(
        &moto,
        &stack,
        "RecoveryParamsRole",
        &stack_env(&resources.bucket),
    )
    .await;
    let (body, _) = invoke(
        &Clients::new(&recorder),
        "Create",
        STACK_ID,
        "RecoveryManifest",
        record_properties(&resources, "America/Chicago"),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));

    let recovery = stack_gen::generate(&stack_gen::Options {
        recovery: true,
        ..Default::default()
    })
    .unwrap()
    .to_json();
    let mut env = stack_env("openemr-recovered");
    env.insert("RecoveryS3Bucket".into(), resources.bucket.clone());
    let resolver = Clients::new(&component(&moto, &recovery, "RecoveryParamsRole", &env).await);
    let (body, _) = invoke(
        &resolver,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&leftovers, ""),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    assert_eq!(body["Data"]["Source"], "manifest");

    aws_clients::s3_client(&admin)
        .delete_object()
        .bucket(&resources.bucket)
        .key(MANIFEST_KEY)
        .send()
        .await
        .unwrap();
    let (body, _) = invoke(
        &resolver,
        "Create",
        RECOVERY_STACK_ID,
        "RecoveryParameters",
        resolve_properties(&leftovers, "America/Chicago"),
        None,
    )
    .await;
    assert_eq!(status(&body), "SUCCESS", "{}", reason(&body));
    assert_eq!(body["Data"]["Source"], "snapshots");
}
