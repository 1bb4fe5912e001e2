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

//!
//! Each step gathers facts ([`gather`], [`crate::ec2`]), decides in [`crate::plan`] and acts.
//! [`run_with`] starts from facts already gathered, so a test can change the world between
//! listing and acting (a volume or snapshot vanishing underneath).

use aws_clients::ApiError;
use aws_sdk_ec2::Client;
use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::config::{Config, CopyTarget};
use crate::ec2;
use crate::facts::{Facts, Ours};
use crate::plan::{self, CopyRoute, Create, Deleted, Skip};
use crate::tags;

pub use crate::plan::MAX_DELETES_PER_RUN;

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

/// One invocation's fixed inputs: the settings, the stack's region, the time
/// and whether to change nothing.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub cfg: &'a Config,
    pub region: &'a str,
    pub now: OffsetDateTime,
    pub dry_run: bool,
}

impl Invocation<'_> {
    fn summary(&self) -> Summary {
        Summary {
            stack_id: self.cfg.stack_id.clone(),
            dry_run: self.dry_run,
            backup_time: tags::format_time(self.now),
            retain: self.cfg.retain,
            ..Default::default()
        }
    }

    /// The summary of a run that stopped before changing anything.
    fn stopped(&self, why: GatherError) -> Summary {
        let mut s = self.summary();
        let (error, skipped) = match why {
            GatherError::Listing(e) => (
                format!(
                    "listing this stack's snapshots in {} failed: {e}; nothing created or deleted",
                    self.region
                ),
                "listing failed",
            ),
            GatherError::Describing(e) => (
                format!("describing the document volumes failed: {e}; nothing created or deleted"),
                "describing the volumes failed",
            ),
        };
        s.errors.push(error);
        s.pruning_skipped = Some(skipped.into());
        s
    }
}

/// Gathering the facts failed: nothing is decided, nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatherError {
    Listing(ApiError),
    Describing(ApiError),
}

/// All of this stack's snapshots in `ec2`'s region, by volume role.
pub async fn list_ours(ec2: &Client, cfg: &Config) -> Result<Ours, ApiError> {
    let tagged = ec2::tagged_snapshots(ec2, tags::STACK_ID, &cfg.stack_id).await?;
    Ok(plan::group_ours(cfg, tagged))
}

/// Our snapshots and the configured volumes, in the stack's region.
pub async fn gather(ec2: &Client, cfg: &Config) -> Result<Facts, GatherError> {
    let ours = list_ours(ec2, cfg).await.map_err(GatherError::Listing)?;
    let ids: Vec<String> = cfg.volumes.iter().map(|v| v.id.clone()).collect();
    let volumes = ec2::describe_volumes(ec2, &ids)
        .await
        .map_err(GatherError::Describing)?;
    Ok(Facts { ours, volumes })
}

/// One run against `ec2` (the stack's region, `region`) and, when the config asks for copies,
/// `copy_ec2` (the copy region).
pub async fn run(
    ec2: &Client,
    region: &str,
    copy_ec2: Option<&Client>,
    cfg: &Config,
    now: OffsetDateTime,
    dry_run: bool,
) -> Summary {
    let inv = Invocation {
        cfg,
        region,
        now,
        dry_run,
    };
    match gather(ec2, cfg).await {
        Ok(facts) => run_with(ec2, copy_ec2, &inv, &facts).await,
        Err(e) => inv.stopped(e),
    }
}

/// The run after [`gather`]: create, prune unless a create failed, copy.
pub async fn run_with(
    ec2: &Client,
    copy_ec2: Option<&Client>,
    inv: &Invocation<'_>,
    facts: &Facts,
) -> Summary {
    let mut progress = Progress {
        summary: inv.summary(),
        deletes: Deletes {
            dry_run: inv.dry_run,
            budget: MAX_DELETES_PER_RUN,
            errors: Vec::new(),
        },
    };
    let create_failed = create_all(ec2, inv, facts, &mut progress.summary).await;
    if create_failed {
        progress.summary.pruning_skipped =
            Some("a snapshot could not be created in this run: nothing is deleted".into());
    } else {
        let s = &mut progress.summary;
        let retention = Retention {
            retain: inv.cfg.retain,
            ours: &facts.ours,
        };
        retention
            .apply(ec2, &mut s.volumes, &mut progress.deletes)
            .await;
        s.errors.append(&mut progress.deletes.errors);
    }
    if let Some(target) = &inv.cfg.copy {
        copy_step(copy_ec2, inv, target, facts, create_failed, &mut progress).await;
    }
    progress.summary
}

/// The summary so far and the deletes left in this run.
struct Progress {
    summary: Summary,
    deletes: Deletes,
}

/// What the deletes of one run share: dry run or not, how many are left, what failed.
struct Deletes {
    dry_run: bool,
    budget: usize,
    errors: Vec<String>,
}

/// Step 1: a snapshot of every volume whose window is not yet covered. True if any failed
/// (a volume gone counts), which stops every delete of this run.
async fn create_all(ec2: &Client, inv: &Invocation<'_>, facts: &Facts, s: &mut Summary) -> bool {
    let mut failed = false;
    for vol in &inv.cfg.volumes {
        let mut report = VolumeReport::new(&vol.role, inv.region, &vol.id);
        match plan::create(inv.cfg, vol, facts, inv.now) {
            Create::VolumeMissing => {
                failed = true;
                warn!(role = %vol.role, volume_id = %vol.id, "volume not found");
                s.errors.push(format!(
                    "{} ({}): volume {} not found, no snapshot taken",
                    vol.role, inv.region, vol.id
                ));
            }
            Create::Covered(skip) => {
                info!(role = %vol.role, snapshot_id = %skip.snapshot_id, "this window is already backed up");
                report.skipped.push(skip);
            }
            Create::Snapshot(_) if inv.dry_run => {
                info!(role = %vol.role, volume_id = %vol.id, "dry run: would create snapshot");
                report.would_create = true;
            }
            Create::Snapshot(new) => match ec2::create_snapshot(ec2, &vol.id, &new).await {
                Ok(id) => {
                    info!(role = %vol.role, volume_id = %vol.id, snapshot_id = %id, "created snapshot");
                    report.created = Some(id);
                }
                Err(e) => {
                    failed = true;
                    warn!(role = %vol.role, volume_id = %vol.id, error = %e, "create failed");
                    s.errors.push(format!(
                        "{} ({}): snapshot of {} failed: {e}",
                        vol.role, inv.region, vol.id
                    ));
                }
            },
        }
        s.volumes.push(report);
    }
    failed
}

/// The retention in one region: keep `retain` completed snapshots of `ours` per volume.
struct Retention<'a> {
    retain: usize,
    ours: &'a Ours,
}

impl Retention<'_> {
    /// Prunes each report's volume (steps 2 and, in the copy region, 3b).
    async fn apply(&self, ec2: &Client, reports: &mut [VolumeReport], deletes: &mut Deletes) {
        for report in reports {
            let snaps = self
                .ours
                .get(&report.role)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let plan = plan::prune(&plan::to_snaps(snaps), self.retain);
            apply_prune(ec2, plan, report, deletes).await;
        }
    }
}

/// Deletes `plan.delete` within the run's budget (or records it, in a dry run) and fills the
/// report.
async fn apply_prune(
    ec2: &Client,
    plan: plan::Prune,
    report: &mut VolumeReport,
    deletes: &mut Deletes,
) {
    report.kept = plan.keep;
    report.skipped.extend(plan.skip);
    let (now, deferred) = plan::within_budget(plan.delete, &mut deletes.budget);
    report.skipped.extend(deferred);
    for id in now {
        if deletes.dry_run {
            info!(snapshot_id = %id, role = %report.role, region = %report.region, "dry run: would delete snapshot");
            report.would_delete.push(id);
            continue;
        }
        match plan::after_delete(ec2::delete_snapshot(ec2, &id).await) {
            Deleted::Done => {
                info!(snapshot_id = %id, role = %report.role, region = %report.region, "deleted snapshot");
                report.deleted.push(id);
            }
            Deleted::Skipped(reason) => {
                warn!(snapshot_id = %id, role = %report.role, %reason, "snapshot not deleted");
                report.skipped.push(Skip {
                    snapshot_id: id,
                    reason,
                });
            }
            Deleted::Failed(e) => {
                warn!(snapshot_id = %id, role = %report.role, error = %e, "delete failed");
                deletes.errors.push(format!(
                    "{} ({}): deleting {id} failed: {e}",
                    report.role, report.region
                ));
            }
        }
    }
}

/// Step 3: copy to the second region and prune there, unless the copy region is the stack's
/// own (copies would be indistinguishable from the snapshots).
async fn copy_step(
    copy_ec2: Option<&Client>,
    inv: &Invocation<'_>,
    target: &CopyTarget,
    facts: &Facts,
    create_failed: bool,
    progress: &mut Progress,
) {
    if target.region == inv.region {
        progress.summary.errors.push(format!(
            "the copy region {} is the stack's own region: copies would be indistinguishable from the snapshots; nothing copied",
            target.region
        ));
        return;
    }
    let Some(copy_ec2) = copy_ec2 else {
        return;
    };
    let region = CopyRegion {
        ec2: copy_ec2,
        target,
        inv,
    };
    region.copy_and_prune(facts, create_failed, progress).await;
}

/// The copy region: its client, where it is, and the invocation copied from.
struct CopyRegion<'a> {
    ec2: &'a Client,
    target: &'a CopyTarget,
    inv: &'a Invocation<'a>,
}

impl CopyRegion<'_> {
    async fn copy_and_prune(&self, source: &Facts, create_failed: bool, progress: &mut Progress) {
        let region = &self.target.region;
        let copies = match list_ours(self.ec2, self.inv.cfg).await {
            Ok(m) => m,
            Err(e) => {
                progress.summary.errors.push(format!(
                    "listing this stack's copies in {region} failed: {e}; nothing copied or deleted there"
                ));
                return;
            }
        };
        let (mut reports, copy_failed) =
            self.copy_all(source, &copies, &mut progress.summary).await;
        if create_failed || copy_failed {
            progress.summary.pruning_skipped.get_or_insert_with(|| {
                "a copy could not be made in this run: nothing is deleted".into()
            });
        } else {
            let retention = Retention {
                retain: self.inv.cfg.retain,
                ours: &copies,
            };
            retention
                .apply(self.ec2, &mut reports, &mut progress.deletes)
                .await;
            progress.summary.errors.append(&mut progress.deletes.errors);
        }
        progress.summary.copies = reports;
    }

    /// One report per volume; true if a copy failed.
    async fn copy_all(
        &self,
        source: &Facts,
        copies: &Ours,
        s: &mut Summary,
    ) -> (Vec<VolumeReport>, bool) {
        let region = &self.target.region;
        let route = CopyRoute {
            source_region: self.inv.region,
            kms_key_id: &self.target.kms_key_id,
        };
        let mut failed = false;
        let mut reports = Vec::new();
        for vol in &self.inv.cfg.volumes {
            let mut report = VolumeReport::new(&vol.role, region, &vol.id);
            let existing = copies.get(&vol.role).map(Vec::as_slice).unwrap_or_default();
            match plan::copy(
                self.inv.cfg,
                &vol.role,
                source.of(&vol.role),
                existing,
                route,
            ) {
                plan::Copy::NoSource => {}
                plan::Copy::Done { source, skip } => {
                    report.copy_of = Some(source);
                    report.skipped.push(skip);
                }
                plan::Copy::Copy(copy) if self.inv.dry_run => {
                    report.copy_of = Some(copy.source_id);
                    report.would_create = true;
                }
                plan::Copy::Copy(copy) => {
                    report.copy_of = Some(copy.source_id.clone());
                    match ec2::copy_snapshot(self.ec2, &copy).await {
                        Ok(id) => {
                            info!(role = %vol.role, source = %copy.source_id, snapshot_id = %id, region, "copied snapshot");
                            report.created = Some(id);
                        }
                        Err(e) => {
                            failed = true;
                            s.errors.push(format!(
                                "{} ({region}): copying {} failed: {e}",
                                vol.role, copy.source_id
                            ));
                        }
                    }
                }
            }
            reports.push(report);
        }
        (reports, failed)
    }
}
