//! Shared by this package's emulator tests and the recovery drill (`tests/tests/drill.rs`
//! includes this file by path): the data an OpenEMR stack leaves behind, made in moto, and
//! custom-resource events.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_sdk_ec2::types::VolumeType;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption, VersioningConfiguration};
use serde_json::{Value, json};

/// The database password the fixtures use; tests assert it appears nowhere it must not.
pub const PASSWORD: &str = "Pw-9f3a-never-in-logs";
pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/0a1b2c3d";
pub const RECOVERY_STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-recovery/4e5f6a7b";
/// Now as duplicity names a backup set (`20261125T070000Z`): the fixtures' backup is fresh, as
/// the backup checker wants it.
pub fn backup_time() -> String {
    let digits: String = recovery_params::manifest::now_rfc3339()
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    format!("{}T{}Z", &digits[..8], &digits[8..14])
}

/// What the original stack's resources are called.
#[derive(Debug, Clone)]
pub struct Resources {
    pub key_arn: String,
    pub bucket: String,
    pub db_instance: String,
    pub volume_id: String,
}

/// The four recovery inputs the left-behind data answers to.
#[derive(Debug, Clone)]
pub struct Leftovers {
    pub resources: Resources,
    pub rds_snapshot_arn: String,
    pub ebs_snapshot: String,
}

pub async fn create_key(config: &SdkConfig) -> String {
    let kms = aws_sdk_kms::Client::new(config);
    kms.create_key()
        .description("openemr test key")
        .send()
        .await
        .expect("create key")
        .key_metadata
        .unwrap()
        .arn
        .unwrap()
}

pub async fn create_bucket(config: &SdkConfig, bucket: &str) {
    let s3 = aws_clients::s3_client(config);
    let mut create = s3.create_bucket().bucket(bucket);
    let region = config.region().unwrap().to_string();
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    region.as_str(),
                ))
                .build(),
        );
    }
    create.send().await.expect("create bucket");
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
}

pub async fn create_db_instance(config: &SdkConfig, id: &str, key_arn: Option<&str>) {
    let rds = aws_sdk_rds::Client::new(config);
    rds.create_db_instance()
        .db_instance_identifier(id)
        .engine("mysql")
        .engine_version("8.0.39")
        .db_instance_class("db.t3.micro")
        .master_username("openemr")
        .master_user_password(PASSWORD)
        .allocated_storage(20)
        .storage_encrypted(key_arn.is_some())
        .set_kms_key_id(key_arn.map(str::to_owned))
        .send()
        .await
        .expect("create db instance");
}

pub async fn create_volume(config: &SdkConfig, key_arn: Option<&str>) -> String {
    let ec2 = aws_sdk_ec2::Client::new(config);
    ec2.create_volume()
        .availability_zone(format!("{}a", config.region().unwrap()))
        .size(100)
        .volume_type(VolumeType::Sc1)
        .encrypted(key_arn.is_some())
        .set_kms_key_id(key_arn.map(str::to_owned))
        .send()
        .await
        .expect("create volume")
        .volume_id
        .unwrap()
}

/// Key, bucket, database and CouchDB volume, made directly (no CloudFormation).
pub async fn create_resources(config: &SdkConfig, name: &str) -> Resources {
    let key_arn = create_key(config).await;
    let bucket = format!("openemr-{name}");
    create_bucket(config, &bucket).await;
    let db_instance = format!("{name}-db");
    create_db_instance(config, &db_instance, Some(&key_arn)).await;
    let volume_id = create_volume(config, Some(&key_arn)).await;
    Resources {
        key_arn,
        bucket,
        db_instance,
        volume_id,
    }
}

/// The nightly EFS backup's objects: a duplicity full set and the passphrase (SSE-KMS).
pub async fn write_backup(config: &SdkConfig, bucket: &str, key_arn: &str) {
    let s3 = aws_clients::s3_client(config);
    let time = backup_time();
    for name in [
        format!("duplicity-full.{time}.manifest.gpg"),
        format!("duplicity-full.{time}.vol1.difftar.gpg"),
        format!("duplicity-full-signatures.{time}.sigtar.gpg"),
        "passphrase.txt".to_owned(),
    ] {
        s3.put_object()
            .bucket(bucket)
            .key(format!("Backup/{name}"))
            .body(ByteStream::from_static(b"encrypted bytes"))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key_arn)
            .send()
            .await
            .expect("put backup object");
    }
}

pub async fn snapshot_db(config: &SdkConfig, instance: &str, name: &str) -> String {
    let rds = aws_sdk_rds::Client::new(config);
    rds.create_db_snapshot()
        .db_instance_identifier(instance)
        .db_snapshot_identifier(name)
        .send()
        .await
        .expect("create db snapshot")
        .db_snapshot
        .unwrap()
        .db_snapshot_arn
        .unwrap()
}

pub async fn snapshot_volume(config: &SdkConfig, volume: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(config);
    ec2.create_snapshot()
        .volume_id(volume)
        .description("CouchDB documents")
        .send()
        .await
        .expect("create snapshot")
        .snapshot_id
        .unwrap()
}

/// Backups and snapshots of `resources`: what a recovery needs.
pub async fn back_up(config: &SdkConfig, resources: &Resources, name: &str) -> Leftovers {
    write_backup(config, &resources.bucket, &resources.key_arn).await;
    let rds_snapshot_arn =
        snapshot_db(config, &resources.db_instance, &format!("{name}-final")).await;
    let ebs_snapshot = snapshot_volume(config, &resources.volume_id).await;
    Leftovers {
        resources: resources.clone(),
        rds_snapshot_arn,
        ebs_snapshot,
    }
}

/// The properties of `RecoveryManifest` in a normal stack, as the template passes them.
pub fn record_properties(resources: &Resources, time_zone: &str) -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:RecoveryParams",
        "Mode": "record",
        "Bucket": resources.bucket,
        "KmsKeyArn": resources.key_arn,
        "TimeZone": time_zone,
        "PatientRecords": "20",
        "DocumentStorage": "100",
        "Engine": "mysql",
        "EngineVersion": "8.0",
        "MasterUsername": "openemr",
        "Password": PASSWORD,
        "Flags": ["--dual-az"]
    })
}

/// The properties of `RecoveryParameters` for these leftovers.
pub fn resolve_properties(leftovers: &Leftovers, time_zone: &str) -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:RecoveryParams",
        "Mode": "resolve",
        "RecoveryKMSKey": leftovers.resources.key_arn,
        "RecoveryRDSSnapshotARN": leftovers.rds_snapshot_arn,
        "RecoveryCouchDBSnapshot": leftovers.ebs_snapshot,
        "RecoveryS3Bucket": leftovers.resources.bucket,
        "TimeZone": time_zone
    })
}

/// A CloudFormation custom-resource event.
pub fn event(
    kind: &str,
    url: &str,
    stack_id: &str,
    logical_id: &str,
    properties: Value,
    physical_id: Option<&str>,
) -> Value {
    let mut event = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:RecoveryParams",
        "ResponseURL": url,
        "StackId": stack_id,
        "RequestId": format!("req-{kind}-{logical_id}"),
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::CloudFormation::CustomResource",
        "ResourceProperties": properties.clone()
    });
    if let Some(id) = physical_id {
        event["PhysicalResourceId"] = json!(id);
    }
    if kind == "Update" {
        event["OldResourceProperties"] = properties;
    }
    event
}

/// Every object key (all versions) in `bucket`, for "nothing was written" checks.
pub async fn object_versions(config: &SdkConfig, bucket: &str) -> Vec<(String, String)> {
    let s3 = aws_clients::s3_client(config);
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .expect("list versions");
    let mut keys: Vec<(String, String)> = out
        .versions
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.key.unwrap_or_default(), v.version_id.unwrap_or_default()))
        .collect();
    keys.sort();
    keys
}

/// Captures every `tracing` event (all levels, all targets) of the current thread into a
/// buffer, for "the password is never logged" checks. Use with a current-thread runtime.
#[derive(Clone, Default)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(self.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> LogCapture {
        self.clone()
    }
}
