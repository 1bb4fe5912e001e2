//! The edge: the AWS calls that gather [`Findings`], one small function per call or page loop,
//! joined by [`findings`]. Each reads metadata only (object names, the passphrase object's
//! encryption header, snapshot ids and times), never content. A failed call is a fact too
//! (an [`ApiError`] in the findings), judged like any other by [`crate::checks::evaluate`].

use std::sync::atomic::{AtomicU32, Ordering};

use aws_clients::ApiError;
use aws_clients::time::instant;
use aws_sdk_ec2::types::{Filter, SnapshotState};
use serde::Serialize;
use stack_contract::restore_drill::{LAST_SUCCESS_KEY, REPORT_PREFIX};
use stack_contract::volumes::Volume;
use time::OffsetDateTime;

use crate::checks::{
    DatabaseFinding, DrillFinding, DrillReports, Findings, Multipart, Passphrase, Snapshot,
    VolumeFinding,
};
use crate::config::Config;
use crate::duplicity::{BackupScan, EfsFindings};

/// The AWS clients the checker uses.
#[derive(Clone, Debug)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub rds: aws_sdk_rds::Client,
    pub sns: aws_sdk_sns::Client,
}

impl Clients {
    pub fn new(config: &aws_config::SdkConfig) -> Clients {
        Clients {
            s3: aws_clients::s3_client(config),
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
        }
    }
}

/// API requests made by one run (pages, not items), reported with the result.
#[derive(Debug, Default, Serialize)]
pub struct ApiCalls {
    pub s3_list_objects: AtomicU32,
    pub s3_head_object: AtomicU32,
    pub s3_list_multipart_uploads: AtomicU32,
    pub ec2_describe_snapshots: AtomicU32,
    pub rds_describe_db_snapshots: AtomicU32,
    pub sns_publish: AtomicU32,
}

impl ApiCalls {
    pub fn total(&self) -> u32 {
        [
            &self.s3_list_objects,
            &self.s3_head_object,
            &self.s3_list_multipart_uploads,
            &self.ec2_describe_snapshots,
            &self.rds_describe_db_snapshots,
            &self.sns_publish,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

pub(crate) fn count(counter: &AtomicU32) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Everything [`crate::checks::evaluate`] judges, gathered concurrently.
pub async fn findings(clients: &Clients, config: &Config, calls: &ApiCalls) -> Findings {
    let (bucket, prefix) = (config.bucket.as_str(), config.prefix.as_str());
    let passphrase_key = config.passphrase_key();
    let (efs, multipart, passphrase, volumes, database, drill) = tokio::join!(
        scan_backup(&clients.s3, bucket, prefix, calls),
        multipart_uploads(&clients.s3, bucket, prefix, calls),
        passphrase(&clients.s3, bucket, &passphrase_key, calls),
        all_volume_snapshots(&clients.ec2, &config.volumes, calls),
        async {
            let id = config.db_instance.as_deref()?;
            let found = database_snapshots(&clients.rds, id, calls).await;
            Some(found.map_err(|e| (id.to_owned(), e)))
        },
        async {
            let max_age = config.drill_max_age?;
            let reports = drill_reports(&clients.s3, bucket, calls).await;
            Some(DrillFinding { max_age, reports })
        },
    );
    Findings {
        location: config.location(),
        efs,
        passphrase,
        multipart,
        volumes,
        database,
        drill,
    }
}

/// [`volume_snapshots`] of each volume, one after the other (at most two).
async fn all_volume_snapshots(
    ec2: &aws_sdk_ec2::Client,
    volumes: &[Volume],
    calls: &ApiCalls,
) -> Vec<Result<VolumeFinding, (Volume, ApiError)>> {
    let mut found = Vec::with_capacity(volumes.len());
    for volume in volumes {
        let finding = volume_snapshots(ec2, volume, calls).await;
        found.push(finding.map_err(|e| (volume.clone(), e)));
    }
    found
}

/// Every object under `prefix`, page by page as the pages stream in (nothing kept but what
/// `each` keeps).
async fn each_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    calls: &ApiCalls,
    mut each: impl FnMut(&aws_sdk_s3::types::Object),
) -> Result<(), ApiError> {
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        count(&calls.s3_list_objects);
        let page = page.map_err(|e| ApiError::from_sdk(&e))?;
        page.contents().iter().for_each(&mut each);
    }
    Ok(())
}

/// Lists every object under `prefix` into a [`BackupScan`].
pub async fn scan_backup(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    calls: &ApiCalls,
) -> Result<EfsFindings, ApiError> {
    let mut scan = BackupScan::new();
    each_object(s3, bucket, prefix, calls, |object| {
        if let Some(key) = object.key() {
            scan.add(key.strip_prefix(prefix).unwrap_or(key));
        }
    })
    .await?;
    Ok(scan.finish())
}

/// The restore drill's reports under [`REPORT_PREFIX`]: when the last success and the first
/// report were written, from their listing (LastModified; the reports are never read).
pub async fn drill_reports(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    calls: &ApiCalls,
) -> Result<DrillReports, ApiError> {
    let mut reports = DrillReports::default();
    each_object(s3, bucket, REPORT_PREFIX, calls, |object| {
        let (Some(key), Some(written)) = (object.key(), object.last_modified().and_then(instant))
        else {
            return;
        };
        if key == LAST_SUCCESS_KEY {
            reports.last_success = Some(written);
        } else if reports.first.is_none_or(|first| written < first) {
            reports.first = Some(written);
        }
    })
    .await?;
    Ok(reports)
}

/// The passphrase object's encryption, from a HEAD request (the body is never read; the role
/// has no kms:Decrypt for S3, so it could not be).
pub async fn passphrase(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    calls: &ApiCalls,
) -> Result<Passphrase, ApiError> {
    count(&calls.s3_head_object);
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(head) => Ok(Passphrase::Present {
            encryption: head.server_side_encryption().map(|e| e.as_str().to_owned()),
        }),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {
            Ok(Passphrase::Missing)
        }
        Err(error) => Err(ApiError::from_sdk(&error)),
    }
}

/// Incomplete multipart uploads under `prefix`: their number and the oldest.
pub async fn multipart_uploads(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    calls: &ApiCalls,
) -> Result<Multipart, ApiError> {
    let mut found = Multipart::default();
    let (mut key_marker, mut upload_marker) = (None::<String>, None::<String>);
    loop {
        count(&calls.s3_list_multipart_uploads);
        let page = s3
            .list_multipart_uploads()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.take())
            .set_upload_id_marker(upload_marker.take())
            .send()
            .await
            .map_err(|e| ApiError::from_sdk(&e))?;
        for upload in page.uploads() {
            if let (Some(key), Some(initiated)) =
                (upload.key(), upload.initiated().and_then(instant))
            {
                found.count += 1;
                if found.oldest.as_ref().is_none_or(|(_, t)| initiated < *t) {
                    found.oldest = Some((key.to_owned(), initiated));
                }
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(found);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        upload_marker = page.next_upload_id_marker().map(str::to_owned);
        if key_marker.is_none() && upload_marker.is_none() {
            return Ok(found);
        }
    }
}

/// The newest completed snapshot of `volume` owned by this account.
pub async fn volume_snapshots(
    ec2: &aws_sdk_ec2::Client,
    volume: &Volume,
    calls: &ApiCalls,
) -> Result<VolumeFinding, ApiError> {
    let mut finding = VolumeFinding {
        role: volume.role.clone(),
        volume_id: volume.id.clone(),
        newest: None,
        pending: 0,
    };
    let mut pages = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            Filter::builder()
                .name("volume-id")
                .values(&volume.id)
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        count(&calls.ec2_describe_snapshots);
        let page = page.map_err(|e| ApiError::from_sdk(&e))?;
        for s in page.snapshots() {
            match s.state() {
                Some(SnapshotState::Completed) => {
                    if let (Some(id), Some(time)) =
                        (s.snapshot_id(), s.start_time().and_then(instant))
                    {
                        newer(&mut finding.newest, id, time);
                    }
                }
                Some(SnapshotState::Pending) => finding.pending += 1,
                _ => {}
            }
        }
    }
    Ok(finding)
}

/// The newest available snapshot (automated or manual) of the database instance.
pub async fn database_snapshots(
    rds: &aws_sdk_rds::Client,
    instance: &str,
    calls: &ApiCalls,
) -> Result<DatabaseFinding, ApiError> {
    let mut finding = DatabaseFinding {
        instance: instance.to_owned(),
        newest: None,
    };
    let mut pages = rds
        .describe_db_snapshots()
        .db_instance_identifier(instance)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        count(&calls.rds_describe_db_snapshots);
        let page = page.map_err(|e| ApiError::from_sdk(&e))?;
        for s in page.db_snapshots() {
            if s.status() == Some("available") {
                if let (Some(id), Some(time)) = (
                    s.db_snapshot_identifier(),
                    s.snapshot_create_time().and_then(instant),
                ) {
                    newer(&mut finding.newest, id, time);
                }
            }
        }
    }
    Ok(finding)
}

fn newer(newest: &mut Option<Snapshot>, id: &str, time: OffsetDateTime) {
    if newest.as_ref().is_none_or(|n| time > n.time) {
        *newest = Some(Snapshot {
            id: id.to_owned(),
            time,
        });
    }
}
