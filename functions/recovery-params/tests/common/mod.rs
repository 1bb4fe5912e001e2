//! Shared by this package's emulator tests and its benchmark (`benches/invoke.rs` includes this
//! file by path): the data an OpenEMR stack leaves behind, made in moto, and custom-resource
//! events. What the recovery drill needs too lives in the harness (`test_harness::recovery`) and
//! is re-exported here.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_sdk_ec2::types::VolumeType;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde_json::{Value, json};

pub use test_harness::recovery::*;

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
        "ServiceToken": SERVICE_TOKEN,
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
        "ServiceToken": SERVICE_TOKEN,
        "Mode": "resolve",
        "RecoveryKMSKey": leftovers.resources.key_arn,
        "RecoveryRDSSnapshotARN": leftovers.rds_snapshot_arn,
        "RecoveryCouchDBSnapshot": leftovers.ebs_snapshot,
        "RecoveryS3Bucket": leftovers.resources.bucket,
        "TimeZone": time_zone
    })
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
