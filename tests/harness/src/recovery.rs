//! What an OpenEMR stack leaves behind for a recovery, made in the emulator, and the
//! custom-resource events recovery-params receives: shared by recovery-params's tests (its
//! `tests/common`) and the recovery drill (`tests/tests/drill.rs`). Feature `recovery` (it needs
//! the KMS, RDS and EC2 clients, which other users of the harness do not build).

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use serde_json::{Value, json};

/// The database password the fixtures use; tests assert it appears nowhere it must not.
pub const PASSWORD: &str = "Pw-9f3a-never-in-logs";
pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/0a1b2c3d";
pub const RECOVERY_STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-recovery/4e5f6a7b";
/// The `ServiceToken` of the events (the function's ARN).
pub const SERVICE_TOKEN: &str = "arn:aws:lambda:us-east-1:123456789012:function:RecoveryParams";

/// Now as duplicity names a backup set (`20261125T070000Z`): the fixtures' backup is fresh, as
/// the backup checker wants it.
pub fn backup_time() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .expect("a UTC time formats")
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

/// A KMS key; its ARN.
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
            .key(format!("{}{name}", stack_contract::bucket::BACKUP_PREFIX))
            .body(ByteStream::from_static(b"encrypted bytes"))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key_arn)
            .send()
            .await
            .expect("put backup object");
    }
}

/// A manual snapshot `name` of the database `instance`; its ARN.
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

/// A CloudFormation custom-resource event for recovery-params.
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
        "ServiceToken": SERVICE_TOKEN,
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

#[cfg(test)]
mod tests {
    #[test]
    fn backup_time_is_duplicitys_form() {
        let time = super::backup_time();
        assert_eq!(time.len(), 16, "{time}");
        assert_eq!(&time[8..9], "T");
        assert!(time.ends_with('Z'));
        assert!(time[..8].chars().all(|c| c.is_ascii_digit()));
    }
}
