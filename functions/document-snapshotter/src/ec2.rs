//! The EC2 calls the function makes, behind a small seam ([`Ec2`]).
//!
//! [`SdkEc2`] is the real thing (used in the Lambda and against the emulator); tests that need
//! states the emulator cannot produce (pending snapshots, several pages, throttling) implement
//! [`Ec2`] with a fake. Every call maps its failure to an [`ApiError`] carrying EC2's error code.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use crate::plan::State;

/// A volume as described: its id and its `Name` tag, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub id: String,
    pub name: Option<String>,
}

/// A snapshot as described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub id: String,
    pub volume_id: String,
    pub state: State,
    /// EC2's StartTime, unix seconds (0 if missing).
    pub start_time: i64,
    pub tags: BTreeMap<String, String>,
}

/// One page of `DescribeSnapshots`.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub snapshots: Vec<SnapshotInfo>,
    pub next_token: Option<String>,
}

/// A failed call: EC2's error code (e.g. `InvalidVolume.NotFound`, `RequestLimitExceeded`) or
/// a transport-level kind (`Timeout`, `Dispatch`), and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &str, message: &str) -> ApiError {
        ApiError {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    /// The snapshot does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        self.code == "InvalidSnapshot.NotFound"
    }

    /// The snapshot backs an AMI and cannot be deleted until the AMI is deregistered.
    pub fn is_in_use(&self) -> bool {
        self.code == "InvalidSnapshot.InUse"
    }
}

/// What `CreateSnapshot` / `CopySnapshot` are asked to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSnapshot {
    pub description: String,
    pub tags: Vec<(String, String)>,
}

/// The EC2 operations the snapshotter uses. One value talks to one region.
pub trait Ec2: Sync {
    /// The volumes among `ids` that exist, with their Name tags (missing ones are left out).
    fn describe_volumes(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<VolumeInfo>, ApiError>> + Send;
    /// One page of this account's snapshots whose tag `tag_key` equals `tag_value`.
    fn describe_snapshots(
        &self,
        tag_key: &str,
        tag_value: &str,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<Page, ApiError>> + Send;
    /// Starts a snapshot of `volume_id`; returns its id.
    fn create_snapshot(
        &self,
        volume_id: &str,
        new: &NewSnapshot,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;
    fn delete_snapshot(
        &self,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Copies `source_id` from `source_region` into this client's region, encrypted with
    /// `kms_key_id`; returns the copy's id.
    fn copy_snapshot(
        &self,
        source_region: &str,
        source_id: &str,
        kms_key_id: &str,
        new: &NewSnapshot,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;
}

/// Page size asked of `DescribeSnapshots` (EC2's maximum).
pub const PAGE_SIZE: i32 = 1000;

/// The SDK-backed [`Ec2`].
#[derive(Debug, Clone)]
pub struct SdkEc2 {
    pub client: Client,
}

impl SdkEc2 {
    pub fn new(client: Client) -> SdkEc2 {
        SdkEc2 { client }
    }
}

fn api_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: SdkError<E, R>,
) -> ApiError {
    let code = match &err {
        SdkError::ServiceError(e) => e.err().code().unwrap_or("Unknown").to_owned(),
        SdkError::TimeoutError(_) => "Timeout".to_owned(),
        SdkError::DispatchFailure(_) => "Dispatch".to_owned(),
        SdkError::ResponseError(_) => "Response".to_owned(),
        SdkError::ConstructionFailure(_) => "Construction".to_owned(),
        _ => "Unknown".to_owned(),
    };
    let message = match &err {
        SdkError::ServiceError(e) => e.err().message().unwrap_or("").to_owned(),
        _ => DisplayErrorContext(&err).to_string(),
    };
    ApiError { code, message }
}

/// The tags of a new snapshot; none at all when there are none (EC2 rejects an empty spec).
fn tag_spec(new: &NewSnapshot) -> Option<Vec<TagSpecification>> {
    if new.tags.is_empty() {
        return None;
    }
    let tags = new
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    Some(vec![
        TagSpecification::builder()
            .resource_type(ResourceType::Snapshot)
            .set_tags(Some(tags))
            .build(),
    ])
}

impl Ec2 for SdkEc2 {
    async fn describe_volumes(&self, ids: &[String]) -> Result<Vec<VolumeInfo>, ApiError> {
        // A filter, not VolumeIds: a missing volume is then absent rather than failing the call
        // for every volume.
        let filter = Filter::builder()
            .name("volume-id")
            .set_values(Some(ids.to_vec()))
            .build();
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_volumes()
            .filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(api_error)?;
            for v in page.volumes() {
                let name = v
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some("Name"))
                    .and_then(|t| t.value())
                    .map(str::to_owned);
                out.push(VolumeInfo {
                    id: v.volume_id().unwrap_or_default().to_owned(),
                    name,
                });
            }
        }
        Ok(out)
    }

    async fn describe_snapshots(
        &self,
        tag_key: &str,
        tag_value: &str,
        next_token: Option<String>,
    ) -> Result<Page, ApiError> {
        let filter = Filter::builder()
            .name(format!("tag:{tag_key}"))
            .values(tag_value)
            .build();
        let out = self
            .client
            .describe_snapshots()
            .owner_ids("self")
            .filters(filter)
            .max_results(PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(api_error)?;
        let snapshots = out
            .snapshots()
            .iter()
            .map(|s| SnapshotInfo {
                id: s.snapshot_id().unwrap_or_default().to_owned(),
                volume_id: s.volume_id().unwrap_or_default().to_owned(),
                state: State::parse(s.state().map(|st| st.as_str()).unwrap_or("unknown")),
                start_time: s.start_time().map(|t| t.secs()).unwrap_or(0),
                tags: s
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .collect(),
            })
            .collect();
        Ok(Page {
            snapshots,
            next_token: out
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
    }

    async fn create_snapshot(
        &self,
        volume_id: &str,
        new: &NewSnapshot,
    ) -> Result<String, ApiError> {
        let out = self
            .client
            .create_snapshot()
            .volume_id(volume_id)
            .description(&new.description)
            .set_tag_specifications(tag_spec(new))
            .send()
            .await
            .map_err(api_error)?;
        out.snapshot_id()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new("Response", "CreateSnapshot returned no SnapshotId"))
    }

    async fn delete_snapshot(&self, snapshot_id: &str) -> Result<(), ApiError> {
        self.client
            .delete_snapshot()
            .snapshot_id(snapshot_id)
            .send()
            .await
            .map_err(api_error)?;
        Ok(())
    }

    async fn copy_snapshot(
        &self,
        source_region: &str,
        source_id: &str,
        kms_key_id: &str,
        new: &NewSnapshot,
    ) -> Result<String, ApiError> {
        let out = self
            .client
            .copy_snapshot()
            .source_region(source_region)
            .source_snapshot_id(source_id)
            .encrypted(true)
            .kms_key_id(kms_key_id)
            .description(&new.description)
            .set_tag_specifications(tag_spec(new))
            .send()
            .await
            .map_err(api_error)?;
        out.snapshot_id()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new("Response", "CopySnapshot returned no SnapshotId"))
    }
}
