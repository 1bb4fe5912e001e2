//! The AWS edge: the calls that find the facts [`crate::resolve`] decides on, and the one write
//! (the manifest). Each call has a short timeout, so a recovery input is judged in seconds.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_clients::ApiError;
use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use stack_contract::bucket::{FULL_BACKUP_PATTERN, PASSPHRASE_KEY};

use crate::manifest::MANIFEST_KEY;
use crate::resolve::{BucketFacts, CallFailed, DbSnapshotFacts, EbsSnapshotFacts, Found, KeyFacts};

/// Per-attempt and per-operation limits: the whole resolve stays well inside the Lambda timeout
/// and the "fails in seconds" promise, retries included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// The clients the function calls (four services), built once per process.
#[derive(Clone, Debug)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub rds: aws_sdk_rds::Client,
    pub ec2: aws_sdk_ec2::Client,
    /// The function's region (the stack's).
    pub region: String,
}

impl Clients {
    /// Clients for `config`, with this module's timeouts.
    pub fn new(config: &SdkConfig) -> Clients {
        let config = config
            .to_builder()
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        Clients {
            s3: aws_clients::s3_client(&config),
            kms: aws_sdk_kms::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            region: config.region().map(ToString::to_string).unwrap_or_default(),
        }
    }

    /// `DescribeKey`.
    pub async fn key(&self, key_arn: &str) -> Found<KeyFacts> {
        match self.kms.describe_key().key_id(key_arn).send().await {
            Ok(out) => Ok(out.key_metadata.map(|m| KeyFacts {
                state: m
                    .key_state
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(failed("KMS DescribeKey", &e)),
        }
    }

    /// `DescribeDBSnapshots` by name (the emulator does not take ARNs there).
    pub async fn db_snapshot(&self, name: &str) -> Found<DbSnapshotFacts> {
        let out = match self
            .rds
            .describe_db_snapshots()
            .db_snapshot_identifier(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_db_snapshot_not_found_fault()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(failed("RDS DescribeDBSnapshots", &e)),
        };
        Ok(out
            .db_snapshots
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|s| DbSnapshotFacts {
                status: s.status.unwrap_or_default(),
                percent_progress: s.percent_progress,
                encrypted: s.encrypted.unwrap_or(false),
                kms_key_id: s.kms_key_id,
                engine: s.engine.unwrap_or_default(),
                engine_version: s.engine_version.unwrap_or_default(),
                master_username: s.master_username.unwrap_or_default(),
                allocated_storage_gb: s.allocated_storage.unwrap_or(0),
            }))
    }

    /// `DescribeSnapshots` by id.
    pub async fn ebs_snapshot(&self, id: &str) -> Found<EbsSnapshotFacts> {
        let out = match self.ec2.describe_snapshots().snapshot_ids(id).send().await {
            Ok(out) => out,
            Err(e) if e.code() == Some("InvalidSnapshot.NotFound") => return Ok(None),
            Err(e) => return Err(failed("EC2 DescribeSnapshots", &e)),
        };
        Ok(out
            .snapshots
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.snapshot_id.as_deref() == Some(id))
            .map(|s| EbsSnapshotFacts {
                state: s.state.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                progress: s.progress,
                encrypted: s.encrypted.unwrap_or(false),
                kms_key_id: s.kms_key_id,
                volume_size_gb: s.volume_size.unwrap_or(0),
            }))
    }

    /// The bucket's region, then (concurrently) its backup, passphrase and manifest.
    pub async fn bucket(&self, bucket: &str) -> Found<BucketFacts> {
        let region = match self.s3.get_bucket_location().bucket(bucket).send().await {
            Ok(out) => match out
                .location_constraint
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default()
                .as_str()
            {
                "" => "us-east-1".to_owned(),
                "EU" => "eu-west-1".to_owned(),
                other => other.to_owned(),
            },
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(None),
            Err(e) => return Err(failed("S3 GetBucketLocation", &e)),
        };
        if region != self.region {
            // Nothing else is readable from here; the decision names the region.
            return Ok(Some(BucketFacts {
                region,
                ..BucketFacts::default()
            }));
        }
        let (full_backup, passphrase, manifest) = tokio::join!(
            self.full_backup(bucket),
            self.exists(bucket, PASSPHRASE_KEY),
            self.manifest(bucket)
        );
        Ok(Some(BucketFacts {
            region,
            full_backup: full_backup?,
            passphrase: passphrase?,
            manifest: manifest?,
        }))
    }

    /// Whether `Backup/` holds a duplicity full set: a manifest and its first volume with the
    /// same time. Pages through the listing; remembers only the set times.
    pub async fn full_backup(&self, bucket: &str) -> Result<bool, CallFailed> {
        // The pattern the role's ListBucket condition allows, as a listing prefix.
        let prefix = FULL_BACKUP_PATTERN.trim_end_matches('*');
        let mut manifests = BTreeSet::new();
        let mut volumes = BTreeSet::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed("S3 ListObjectsV2", &e))?;
            for object in page.contents.unwrap_or_default() {
                let Some(rest) = object.key.as_deref().and_then(|k| k.strip_prefix(prefix)) else {
                    continue;
                };
                let Some((time, kind)) = rest.split_once('.') else {
                    continue;
                };
                if kind.starts_with("manifest") {
                    manifests.insert(time.to_owned());
                } else if kind.starts_with("vol1.difftar") {
                    volumes.insert(time.to_owned());
                }
                if manifests.intersection(&volumes).next().is_some() {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// `HeadObject`: whether `key` exists.
    pub async fn exists(&self, bucket: &str, key: &str) -> Result<bool, CallFailed> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(e) => Err(failed("S3 HeadObject", &e)),
        }
    }

    /// The stored manifest's bytes, if any.
    pub async fn manifest(&self, bucket: &str) -> Result<Option<Vec<u8>>, CallFailed> {
        match self
            .s3
            .get_object()
            .bucket(bucket)
            .key(MANIFEST_KEY)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| CallFailed {
                    call: "S3 GetObject",
                    error: ApiError::new("Body", &format!("reading {MANIFEST_KEY} failed: {e}")),
                })?;
                Ok(Some(bytes.to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(e) => Err(failed("S3 GetObject", &e)),
        }
    }

    /// Writes the manifest SSE-KMS with `key_arn`; returns the S3 version id, if versioned.
    pub async fn put_manifest(
        &self,
        bucket: &str,
        key_arn: &str,
        bytes: Vec<u8>,
    ) -> Result<Option<String>, CallFailed> {
        let out = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(MANIFEST_KEY)
            .body(ByteStream::from(bytes))
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key_arn)
            .send()
            .await
            .map_err(|e| failed("S3 PutObject", &e))?;
        Ok(out.version_id)
    }
}

/// A failed call, as the decisions and the Reason show it (`<call>: <code>: <message>`). AWS
/// error messages never carry request bodies, so no secret can leak through here.
fn failed<E, R>(call: &'static str, error: &SdkError<E, R>) -> CallFailed
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    CallFailed {
        call,
        error: ApiError::from_sdk(error),
    }
}
