//! The EC2 calls, one small async function each, on the SDK's own client: the *gather* side
//! (describe volumes, list our snapshots page by page) returns the plain structs of
//! [`crate::facts`]; the *act* side (create, delete, copy) executes what [`crate::plan`]
//! decided. Every failure is an [`ApiError`] carrying EC2's error code.

use aws_clients::ApiError;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, ResourceType, Snapshot, Tag, TagSpecification, Volume};

use crate::facts::{NewCopy, NewSnapshot, Page, SnapshotInfo, State, VolumeInfo};
use crate::plan;
use crate::tags;

/// Page size asked of `DescribeSnapshots` (EC2's maximum).
pub const PAGE_SIZE: i32 = 1000;

/// The volumes among `ids` that exist, with their Name tags (missing ones are left out).
pub async fn describe_volumes(ec2: &Client, ids: &[String]) -> Result<Vec<VolumeInfo>, ApiError> {
    // A filter, not VolumeIds: a missing volume is then absent rather than failing the call
    // for every volume.
    let filter = Filter::builder()
        .name("volume-id")
        .set_values(Some(ids.to_vec()))
        .build();
    let mut out = Vec::new();
    let mut pages = ec2
        .describe_volumes()
        .filters(filter)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ApiError::from_sdk(&e))?;
        out.extend(page.volumes().iter().map(volume_info));
    }
    Ok(out)
}

/// One page of this account's snapshots whose tag `tag_key` equals `tag_value`.
pub async fn snapshots_page(
    ec2: &Client,
    tag_key: &str,
    tag_value: &str,
    next_token: Option<String>,
) -> Result<Page, ApiError> {
    let filter = Filter::builder()
        .name(format!("tag:{tag_key}"))
        .values(tag_value)
        .build();
    let out = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(filter)
        .max_results(PAGE_SIZE)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(&e))?;
    Ok(Page {
        snapshots: out.snapshots().iter().map(snapshot_info).collect(),
        next_token: out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
    })
}

/// Every snapshot tagged `tag_key = tag_value`, following `NextToken` (guarded by
/// [`plan::next_token`] against a server that never finishes).
pub async fn tagged_snapshots(
    ec2: &Client,
    tag_key: &str,
    tag_value: &str,
) -> Result<Vec<SnapshotInfo>, ApiError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = snapshots_page(ec2, tag_key, tag_value, token.clone()).await?;
        pages += 1;
        all.extend(page.snapshots);
        match plan::next_token(token.as_deref(), page.next_token, pages)? {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

/// Starts a snapshot of `volume_id`; returns its id.
pub async fn create_snapshot(
    ec2: &Client,
    volume_id: &str,
    new: &NewSnapshot,
) -> Result<String, ApiError> {
    let out = ec2
        .create_snapshot()
        .volume_id(volume_id)
        .description(&new.description)
        .set_tag_specifications(tag_spec(new))
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(&e))?;
    out.snapshot_id()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::new("Response", "CreateSnapshot returned no SnapshotId"))
}

pub async fn delete_snapshot(ec2: &Client, snapshot_id: &str) -> Result<(), ApiError> {
    ec2.delete_snapshot()
        .snapshot_id(snapshot_id)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(&e))?;
    Ok(())
}

/// Copies `copy.source_id` from `copy.source_region` into `ec2`'s region, encrypted with
/// `copy.kms_key_id`; returns the copy's id.
pub async fn copy_snapshot(ec2: &Client, copy: &NewCopy) -> Result<String, ApiError> {
    let out = ec2
        .copy_snapshot()
        .source_region(&copy.source_region)
        .source_snapshot_id(&copy.source_id)
        .encrypted(true)
        .kms_key_id(&copy.kms_key_id)
        .description(&copy.new.description)
        .set_tag_specifications(tag_spec(&copy.new))
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(&e))?;
    out.snapshot_id()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::new("Response", "CopySnapshot returned no SnapshotId"))
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

fn volume_info(v: &Volume) -> VolumeInfo {
    VolumeInfo {
        id: v.volume_id().unwrap_or_default().to_owned(),
        name: v
            .tags()
            .iter()
            .find(|t| t.key() == Some(tags::NAME))
            .and_then(|t| t.value())
            .map(str::to_owned),
    }
}

fn snapshot_info(s: &Snapshot) -> SnapshotInfo {
    SnapshotInfo {
        id: s.snapshot_id().unwrap_or_default().to_owned(),
        volume_id: s.volume_id().unwrap_or_default().to_owned(),
        state: State::parse(s.state().map(|st| st.as_str()).unwrap_or("unknown")),
        start_time: s.start_time().and_then(aws_clients::time::instant),
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
    }
}
