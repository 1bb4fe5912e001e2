//! One run: list our snapshots, snapshot each volume not yet backed up in this window, prune,
//! and (when enabled) copy the newest completed snapshot of each volume to the second region and
//! prune there by the same rules.
//!
//! Safety rules, in the order they apply:
//! 1. Only snapshots carrying this stack's tags are ever looked at for pruning ([`tags::is_ours`]).
//! 2. If listing fails, nothing is created or deleted.
//! 3. If any volume's create fails (volume gone, throttled past the SDK's retries, ...), nothing
//!    is deleted anywhere in this run: a failing backup must never also lose the old ones.
//! 4. Only completed snapshots count toward the retention, and only completed ones beyond the
//!    newest N are deleted ([`plan::prune`]).
//! 5. A failing delete does not stop the others; it is reported, and the invocation fails unless
//!    the snapshot was already gone or is held by an AMI (reported as skipped).

use std::collections::BTreeMap;

use serde::Serialize;
use tracing::{info, warn};

use crate::config::Config;
use crate::ec2::{ApiError, Ec2, NewSnapshot, SnapshotInfo};
use crate::plan::{self, Skip, Snap, State};
use crate::tags;

/// Stop following `NextToken` after this many pages (10 million snapshots): a loop guard.
const MAX_PAGES: usize = 10_000;

/// Deletes per run, over all volumes and regions: a long backlog (say, the retention lowered
/// from 1000 to 3) is worked off over several nights instead of running into the Lambda's
/// time-out. Deletes beyond it are reported as skipped ("deferred").
pub const MAX_DELETES_PER_RUN: usize = 500;

/// What happened to one volume in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VolumeReport {
    /// Logical ID of the volume in the template (`CouchDBVolume`, `RCouchDBVolume`).
    pub role: String,
    pub region: String,
    pub volume_id: String,
    /// The snapshot (or, in the copy region, the copy) started by this run.
    pub created: Option<String>,
    /// Dry run: a snapshot (or copy) would have been started.
    pub would_create: bool,
    /// Copy region only: the source snapshot copied, or that would be copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<String>,
    /// Completed snapshots kept by the retention (newest first).
    pub kept: Vec<String>,
    pub deleted: Vec<String>,
    /// Dry run: the snapshots that would have been deleted.
    pub would_delete: Vec<String>,
    /// Snapshots left alone, and why (pending, error, already covering this window, in use…).
    pub skipped: Vec<Skip>,
}

impl VolumeReport {
    fn new(role: &str, region: &str, volume_id: &str) -> VolumeReport {
        VolumeReport {
            role: role.to_owned(),
            region: region.to_owned(),
            volume_id: volume_id.to_owned(),
            ..Default::default()
        }
    }
}

/// The run's result: the function's output, and what it logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub stack_id: String,
    pub dry_run: bool,
    /// The `openemr:backup-time` given to this run's snapshots.
    pub backup_time: String,
    pub retain: usize,
    pub volumes: Vec<VolumeReport>,
    /// Copy region reports (empty when copying is off).
    pub copies: Vec<VolumeReport>,
    /// Why nothing was pruned, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruning_skipped: Option<String>,
    /// Everything that went wrong; non-empty fails the invocation.
    pub errors: Vec<String>,
}

impl Summary {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The decisions' view of a snapshot. Its time is the `openemr:backup-time` tag, but never
/// later than EC2's StartTime: the tag is written just before the snapshot starts (and a copy
/// carries its source's time), so a later tag can only be wrong, and a tag in the future must
/// not make a snapshot look like it covers every coming night.
fn to_snap(s: &SnapshotInfo) -> Snap {
    let time = match (tags::backup_time(&s.tags), s.start_time) {
        (Some(tag), 0) => tag,
        (Some(tag), start) => tag.min(start),
        (None, start) => start,
    };
    Snap {
        id: s.id.clone(),
        state: s.state.clone(),
        time,
    }
}

/// All of this stack's snapshots in `ec2`'s region, by volume role (roles not configured are
/// left out: they are never touched).
pub async fn list_ours<E: Ec2>(
    ec2: &E,
    cfg: &Config,
) -> Result<BTreeMap<String, Vec<SnapshotInfo>>, ApiError> {
    let mut by_role: BTreeMap<String, Vec<SnapshotInfo>> = BTreeMap::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = ec2
            .describe_snapshots(tags::STACK_ID, &cfg.stack_id, token.clone())
            .await?;
        for s in page.snapshots {
            // The filter is the server's; the decision is ours: check the tags again.
            if let Some(v) = cfg
                .volumes
                .iter()
                .find(|v| tags::is_ours(&s.tags, &cfg.stack_id, &v.role))
            {
                by_role.entry(v.role.clone()).or_default().push(s);
            }
        }
        match page.next_token {
            Some(next) if Some(&next) == token.as_ref() => {
                return Err(ApiError::new(
                    "Pagination",
                    "DescribeSnapshots returned the same NextToken twice",
                ));
            }
            Some(next) => token = Some(next),
            None => return Ok(by_role),
        }
    }
    Err(ApiError::new(
        "Pagination",
        "DescribeSnapshots did not finish within the page limit",
    ))
}

fn snapshot_tags(
    cfg: &Config,
    role: &str,
    backup_time: &str,
    name: Option<&str>,
) -> Vec<(String, String)> {
    let mut t = vec![
        (tags::STACK_ID.to_owned(), cfg.stack_id.clone()),
        (tags::VOLUME_ROLE.to_owned(), role.to_owned()),
        (tags::BACKUP_TIME.to_owned(), backup_time.to_owned()),
        (
            tags::MANAGED_BY.to_owned(),
            tags::MANAGED_BY_VALUE.to_owned(),
        ),
    ];
    if let Some(name) = name {
        t.push(("Name".to_owned(), name.to_owned()));
    }
    t
}

/// Deletes `plan.delete` (or records it, in a dry run) and fills the report.
async fn apply_prune<E: Ec2>(
    ec2: &E,
    plan: plan::Prune,
    dry_run: bool,
    report: &mut VolumeReport,
    errors: &mut Vec<String>,
    budget: &mut usize,
) {
    report.kept = plan.keep;
    report.skipped.extend(plan.skip);
    for id in plan.delete {
        if *budget == 0 {
            report.skipped.push(Skip {
                snapshot_id: id,
                reason: format!(
                    "deferred to the next run (at most {MAX_DELETES_PER_RUN} deletes a run)"
                ),
            });
            continue;
        }
        *budget -= 1;
        if dry_run {
            info!(snapshot_id = %id, role = %report.role, region = %report.region, "dry run: would delete snapshot");
            report.would_delete.push(id);
            continue;
        }
        match ec2.delete_snapshot(&id).await {
            Ok(()) => {
                info!(snapshot_id = %id, role = %report.role, region = %report.region, "deleted snapshot");
                report.deleted.push(id);
            }
            Err(e) if e.is_not_found() => {
                warn!(snapshot_id = %id, role = %report.role, "snapshot already gone");
                report.skipped.push(Skip {
                    snapshot_id: id,
                    reason: "already gone (deleted by someone else)".into(),
                });
            }
            Err(e) if e.is_in_use() => {
                warn!(snapshot_id = %id, role = %report.role, error = %e, "snapshot in use by an AMI, not deleted");
                report.skipped.push(Skip {
                    snapshot_id: id,
                    reason: format!("in use, not deleted: {e}"),
                });
            }
            Err(e) => {
                warn!(snapshot_id = %id, role = %report.role, error = %e, "delete failed");
                errors.push(format!(
                    "{} ({}): deleting {id} failed: {e}",
                    report.role, report.region
                ));
            }
        }
    }
}

/// One run against `ec2` (the stack's region, `region`) and, when the config asks for copies,
/// `copy_ec2` (the copy region). `now` is unix seconds.
pub async fn run<E: Ec2>(
    ec2: &E,
    region: &str,
    copy_ec2: Option<&E>,
    cfg: &Config,
    now: i64,
    dry_run: bool,
) -> Summary {
    let backup_time = tags::format_time(now);
    let mut s = Summary {
        stack_id: cfg.stack_id.clone(),
        dry_run,
        backup_time: backup_time.clone(),
        retain: cfg.retain,
        ..Default::default()
    };

    let existing = match list_ours(ec2, cfg).await {
        Ok(m) => m,
        Err(e) => {
            s.errors.push(format!(
                "listing this stack's snapshots in {region} failed: {e}; nothing created or deleted"
            ));
            s.pruning_skipped = Some("listing failed".into());
            return s;
        }
    };
    let ids: Vec<String> = cfg.volumes.iter().map(|v| v.id.clone()).collect();
    let described = match ec2.describe_volumes(&ids).await {
        Ok(v) => v,
        Err(e) => {
            s.errors.push(format!(
                "describing the document volumes failed: {e}; nothing created or deleted"
            ));
            s.pruning_skipped = Some("describing the volumes failed".into());
            return s;
        }
    };
    let snaps_of = |role: &str| -> Vec<Snap> {
        existing
            .get(role)
            .map(|v| v.iter().map(to_snap).collect())
            .unwrap_or_default()
    };

    // 1. Create, unless this window is already covered.
    let mut create_failed = false;
    let mut budget = MAX_DELETES_PER_RUN;
    for vol in &cfg.volumes {
        let mut report = VolumeReport::new(&vol.role, region, &vol.id);
        let snaps = snaps_of(&vol.role);
        let volume = described.iter().find(|d| d.id == vol.id);
        if volume.is_none() {
            create_failed = true;
            warn!(role = %vol.role, volume_id = %vol.id, "volume not found");
            s.errors.push(format!(
                "{} ({region}): volume {} not found, no snapshot taken",
                vol.role, vol.id
            ));
        } else if let Some(cover) = plan::covering(&snaps, now, cfg.window_secs) {
            info!(role = %vol.role, snapshot_id = %cover.id, "this window is already backed up");
            report.skipped.push(Skip {
                snapshot_id: cover.id.clone(),
                reason: format!(
                    "{} snapshot from {} already covers this window; no new snapshot",
                    cover.state.as_str(),
                    tags::format_time(cover.time)
                ),
            });
        } else if dry_run {
            info!(role = %vol.role, volume_id = %vol.id, "dry run: would create snapshot");
            report.would_create = true;
        } else {
            let new = NewSnapshot {
                description: cfg.description.clone(),
                tags: snapshot_tags(
                    cfg,
                    &vol.role,
                    &backup_time,
                    volume.and_then(|v| v.name.as_deref()),
                ),
            };
            match ec2.create_snapshot(&vol.id, &new).await {
                Ok(id) => {
                    info!(role = %vol.role, volume_id = %vol.id, snapshot_id = %id, "created snapshot");
                    report.created = Some(id);
                }
                Err(e) => {
                    create_failed = true;
                    warn!(role = %vol.role, volume_id = %vol.id, error = %e, "create failed");
                    s.errors.push(format!(
                        "{} ({region}): snapshot of {} failed: {e}",
                        vol.role, vol.id
                    ));
                }
            }
        }
        s.volumes.push(report);
    }

    // 2. Prune, unless a create failed.
    if create_failed {
        s.pruning_skipped =
            Some("a snapshot could not be created in this run: nothing is deleted".into());
    } else {
        for report in &mut s.volumes {
            let plan = plan::prune(&snaps_of(&report.role), cfg.retain);
            apply_prune(ec2, plan, dry_run, report, &mut s.errors, &mut budget).await;
        }
    }

    // 3. Copy to the second region and prune there.
    if let Some(target) = cfg.copy.as_ref().filter(|t| t.region == region) {
        s.errors.push(format!(
            "the copy region {} is the stack's own region: copies would be indistinguishable from the snapshots; nothing copied",
            target.region
        ));
    } else if let (Some(target), Some(copy_ec2)) = (&cfg.copy, copy_ec2) {
        copy_and_prune(
            copy_ec2,
            region,
            &target.region,
            &target.kms_key_id,
            cfg,
            &existing,
            create_failed,
            dry_run,
            &mut s,
            &mut budget,
        )
        .await;
    }
    s
}

#[allow(clippy::too_many_arguments)]
async fn copy_and_prune<E: Ec2>(
    ec2: &E,
    source_region: &str,
    region: &str,
    kms_key_id: &str,
    cfg: &Config,
    source: &BTreeMap<String, Vec<SnapshotInfo>>,
    create_failed: bool,
    dry_run: bool,
    s: &mut Summary,
    budget: &mut usize,
) {
    let copies = match list_ours(ec2, cfg).await {
        Ok(m) => m,
        Err(e) => {
            s.errors.push(format!("listing this stack's copies in {region} failed: {e}; nothing copied or deleted there"));
            return;
        }
    };
    let mut copy_failed = false;
    let mut reports = Vec::new();
    for vol in &cfg.volumes {
        let mut report = VolumeReport::new(&vol.role, region, &vol.id);
        // The newest *completed* snapshot of the volume: a pending one cannot be copied yet, so
        // today's snapshot is copied by tomorrow's run.
        let newest = source
            .get(&vol.role)
            .into_iter()
            .flatten()
            .filter(|x| x.state == State::Completed)
            .max_by(|a, b| {
                to_snap(a)
                    .time
                    .cmp(&to_snap(b).time)
                    .then_with(|| a.id.cmp(&b.id))
            });
        let existing = copies.get(&vol.role).map(Vec::as_slice).unwrap_or_default();
        if let Some(src) = newest {
            report.copy_of = Some(src.id.clone());
            if let Some(done) = existing
                .iter()
                .find(|c| c.tags.get(tags::SOURCE_SNAPSHOT) == Some(&src.id))
            {
                report.skipped.push(Skip {
                    snapshot_id: done.id.clone(),
                    reason: format!("{} is already copied ({})", src.id, done.state.as_str()),
                });
            } else if dry_run {
                report.would_create = true;
            } else {
                let time = tags::format_time(to_snap(src).time);
                let mut t = snapshot_tags(
                    cfg,
                    &vol.role,
                    &time,
                    src.tags.get("Name").map(String::as_str),
                );
                t.push((tags::SOURCE_SNAPSHOT.to_owned(), src.id.clone()));
                t.push((tags::SOURCE_REGION.to_owned(), source_region.to_owned()));
                let new = NewSnapshot {
                    description: format!(
                        "{} (copy of {} from {source_region})",
                        cfg.description, src.id
                    ),
                    tags: t,
                };
                match ec2
                    .copy_snapshot(source_region, &src.id, kms_key_id, &new)
                    .await
                {
                    Ok(id) => {
                        info!(role = %vol.role, source = %src.id, snapshot_id = %id, region, "copied snapshot");
                        report.created = Some(id);
                    }
                    Err(e) => {
                        copy_failed = true;
                        s.errors.push(format!(
                            "{} ({region}): copying {} failed: {e}",
                            vol.role, src.id
                        ));
                    }
                }
            }
        }
        reports.push(report);
    }
    if create_failed || copy_failed {
        s.pruning_skipped.get_or_insert_with(|| {
            "a copy could not be made in this run: nothing is deleted".into()
        });
    } else {
        for report in &mut reports {
            let snaps: Vec<Snap> = copies
                .get(&report.role)
                .map(|v| v.iter().map(to_snap).collect())
                .unwrap_or_default();
            apply_prune(
                ec2,
                plan::prune(&snaps, cfg.retain),
                dry_run,
                report,
                &mut s.errors,
                budget,
            )
            .await;
        }
    }
    s.copies = reports;
}
