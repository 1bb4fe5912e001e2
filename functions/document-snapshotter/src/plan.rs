//! The decisions, as pure functions of the facts gathered from EC2 ([`crate::facts`]): which
//! snapshots are ours ([`group_ours`]), whether this window is already backed up
//! ([`covering`], [`create`]), which of our snapshots of one volume to keep and to delete
//! ([`prune`], [`within_budget`], [`after_delete`]), and what to copy to the second region
//! ([`copy`]). No async, no SDK types: the table tests build the facts directly.
//!
//! Only snapshots that passed the "is this ours" test ([`crate::tags::is_ours`], in
//! [`group_ours`]) reach the other decisions; manual and foreign snapshots are filtered out
//! before any decision.

use aws_clients::ApiError;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::config::{Config, Volume};
use crate::facts::{
    Facts, NewCopy, NewSnapshot, Ours, SnapshotInfo, State, is_in_use, is_not_found,
};
use crate::tags;

/// Stop following `NextToken` after this many pages (10 million snapshots): a loop guard.
pub const MAX_PAGES: usize = 10_000;

/// Deletes per run, over all volumes and regions: a long backlog (say, the retention lowered
/// from 1000 to 3) is worked off over several nights instead of running into the Lambda's
/// time-out. Deletes beyond it are reported as skipped ("deferred").
pub const MAX_DELETES_PER_RUN: usize = 500;

/// One of our snapshots of one volume, reduced to what the decisions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snap {
    pub id: String,
    pub state: State,
    /// When the backup was taken: our `openemr:backup-time` tag, or EC2's StartTime when the
    /// tag is missing or unreadable.
    pub time: OffsetDateTime,
}

impl Snap {
    pub fn new(id: &str, state: State, time: OffsetDateTime) -> Snap {
        Snap {
            id: id.to_owned(),
            state,
            time,
        }
    }
}

/// The snapshot that already covers the window ending at `now`, if any: a completed or pending
/// snapshot taken less than `window` ago (or dated in the future, by a skewed clock).
/// Snapshots in `error` state cover nothing: a failed snapshot earlier in the window is
/// replaced by a new one.
pub fn covering(snaps: &[Snap], now: OffsetDateTime, window: Duration) -> Option<&Snap> {
    snaps
        .iter()
        .filter(|s| matches!(s.state, State::Completed | State::Pending))
        .filter(|s| now - s.time < window)
        .max_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)))
}

/// Why a snapshot is left alone without counting toward the retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    pub snapshot_id: String,
    pub reason: String,
}

/// What to do with one volume's snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    /// Completed snapshots kept (newest first): at most `retain`.
    pub keep: Vec<String>,
    /// Completed snapshots beyond the newest `retain` (newest first).
    pub delete: Vec<String>,
    /// Pending, error and unknown-state snapshots: not counted, not deleted.
    pub skip: Vec<Skip>,
}

/// Keeps the newest `retain` *completed* snapshots and deletes the older completed ones.
/// Pending and failed snapshots neither count toward `retain` nor are deleted, so they can
/// never be the reason a completed one goes. `retain` below 1 is treated as 1: the plan never
/// deletes the last completed snapshot.
pub fn prune(snaps: &[Snap], retain: usize) -> Prune {
    let retain = retain.max(1);
    let mut completed: Vec<&Snap> = snaps
        .iter()
        .filter(|s| s.state == State::Completed)
        .collect();
    // Newest first; ties broken by id so the plan is deterministic.
    completed.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));
    let mut plan = Prune::default();
    for (i, s) in completed.iter().enumerate() {
        if i < retain {
            plan.keep.push(s.id.clone());
        } else {
            plan.delete.push(s.id.clone());
        }
    }
    for s in snaps.iter().filter(|s| s.state != State::Completed) {
        plan.skip.push(Skip {
            snapshot_id: s.id.clone(),
            reason: format!(
                "{}: not counted toward retention, not deleted",
                s.state.as_str()
            ),
        });
    }
    plan
}

/// Whether to ask for another page after `pages` pages: `next` unless the server repeats the
/// token it was given (a loop) or the page limit is reached.
pub fn next_token(
    current: Option<&str>,
    next: Option<String>,
    pages: usize,
) -> Result<Option<String>, ApiError> {
    match next {
        None => Ok(None),
        Some(next) if current == Some(next.as_str()) => Err(ApiError::new(
            "Pagination",
            "DescribeSnapshots returned the same NextToken twice",
        )),
        Some(_) if pages >= MAX_PAGES => Err(ApiError::new(
            "Pagination",
            "DescribeSnapshots did not finish within the page limit",
        )),
        Some(next) => Ok(Some(next)),
    }
}

/// This stack's snapshots by volume role. The server's tag filter is not trusted: the tags
/// are checked again, and roles not configured are left out (they are never touched).
pub fn group_ours(cfg: &Config, snapshots: Vec<SnapshotInfo>) -> Ours {
    let mut by_role = Ours::new();
    for s in snapshots {
        if let Some(v) = cfg
            .volumes
            .iter()
            .find(|v| tags::is_ours(&s.tags, &cfg.stack_id, &v.role))
        {
            by_role.entry(v.role.clone()).or_default().push(s);
        }
    }
    by_role
}

/// The decisions' view of a snapshot. Its time is the `openemr:backup-time` tag, but never
/// later than EC2's StartTime: the tag is written just before the snapshot starts (and a copy
/// carries its source's time), so a later tag can only be wrong, and a tag in the future must
/// not make a snapshot look like it covers every coming night.
pub fn to_snap(s: &SnapshotInfo) -> Snap {
    let time = match (tags::backup_time(&s.tags), s.start_time) {
        (Some(tag), None) => tag,
        (Some(tag), Some(start)) => tag.min(start),
        // Neither: the oldest time there is, so it covers nothing and is pruned first.
        (None, start) => start.unwrap_or(OffsetDateTime::UNIX_EPOCH),
    };
    Snap {
        id: s.id.clone(),
        state: s.state.clone(),
        time,
    }
}

pub fn to_snaps(snapshots: &[SnapshotInfo]) -> Vec<Snap> {
    snapshots.iter().map(to_snap).collect()
}

/// The tags of a new snapshot of `role`: ours, the backup time, and the volume's name.
pub fn snapshot_tags(
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
        t.push((tags::NAME.to_owned(), name.to_owned()));
    }
    t
}

/// What to do about one volume in the stack's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Create {
    /// The volume is gone: no snapshot, and the run must delete nothing.
    VolumeMissing,
    /// A snapshot already covers this window.
    Covered(Skip),
    /// Start this snapshot (or, in a dry run, report that it would be started).
    Snapshot(NewSnapshot),
}

/// Whether `vol` gets a snapshot at `now`.
pub fn create(cfg: &Config, vol: &Volume, facts: &Facts, now: OffsetDateTime) -> Create {
    let Some(volume) = facts.volume(&vol.id) else {
        return Create::VolumeMissing;
    };
    let snaps = to_snaps(facts.of(&vol.role));
    if let Some(cover) = covering(&snaps, now, cfg.window) {
        return Create::Covered(Skip {
            snapshot_id: cover.id.clone(),
            reason: format!(
                "{} snapshot from {} already covers this window; no new snapshot",
                cover.state.as_str(),
                tags::format_time(cover.time)
            ),
        });
    }
    Create::Snapshot(NewSnapshot {
        description: cfg.description.clone(),
        tags: snapshot_tags(
            cfg,
            &vol.role,
            &tags::format_time(now),
            volume.name.as_deref(),
        ),
    })
}

/// What to do about one volume in the copy region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copy {
    /// No completed snapshot of the volume yet.
    NoSource,
    /// The newest completed snapshot `source` already has a copy.
    Done { source: String, skip: Skip },
    /// Copy it.
    Copy(NewCopy),
}

/// Where copies go and where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyRoute<'a> {
    pub source_region: &'a str,
    pub kms_key_id: &'a str,
}

/// Whether to copy the newest *completed* snapshot of `role` (`source`: ours in the stack's
/// region) given our `copies` in the copy region. A pending snapshot cannot be copied yet,
/// so today's snapshot is copied by tomorrow's run.
pub fn copy(
    cfg: &Config,
    role: &str,
    source: &[SnapshotInfo],
    copies: &[SnapshotInfo],
    route: CopyRoute<'_>,
) -> Copy {
    let newest = source
        .iter()
        .filter(|x| x.state == State::Completed)
        .max_by(|a, b| {
            to_snap(a)
                .time
                .cmp(&to_snap(b).time)
                .then_with(|| a.id.cmp(&b.id))
        });
    let Some(src) = newest else {
        return Copy::NoSource;
    };
    if let Some(done) = copies
        .iter()
        .find(|c| c.tags.get(tags::SOURCE_SNAPSHOT) == Some(&src.id))
    {
        return Copy::Done {
            source: src.id.clone(),
            skip: Skip {
                snapshot_id: done.id.clone(),
                reason: format!("{} is already copied ({})", src.id, done.state.as_str()),
            },
        };
    }
    let time = tags::format_time(to_snap(src).time);
    let mut t = snapshot_tags(
        cfg,
        role,
        &time,
        src.tags.get(tags::NAME).map(String::as_str),
    );
    t.push((tags::SOURCE_SNAPSHOT.to_owned(), src.id.clone()));
    t.push((
        tags::SOURCE_REGION.to_owned(),
        route.source_region.to_owned(),
    ));
    Copy::Copy(NewCopy {
        source_region: route.source_region.to_owned(),
        source_id: src.id.clone(),
        kms_key_id: route.kms_key_id.to_owned(),
        new: NewSnapshot {
            description: format!(
                "{} (copy of {} from {})",
                cfg.description, src.id, route.source_region
            ),
            tags: t,
        },
    })
}

/// The deletes of `delete` that fit in what is left of the run's `budget` (which they use
/// up), and the rest as "deferred" skips.
pub fn within_budget(delete: Vec<String>, budget: &mut usize) -> (Vec<String>, Vec<Skip>) {
    let now = delete.len().min(*budget);
    *budget -= now;
    let mut delete = delete;
    let deferred = delete
        .split_off(now)
        .into_iter()
        .map(|snapshot_id| Skip {
            snapshot_id,
            reason: format!(
                "deferred to the next run (at most {MAX_DELETES_PER_RUN} deletes a run)"
            ),
        })
        .collect();
    (delete, deferred)
}

/// How a `DeleteSnapshot` ended, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Done,
    /// Not deleted, and not an error: gone already, or held by an AMI.
    Skipped(String),
    /// Not deleted: fails the invocation.
    Failed(ApiError),
}

pub fn after_delete(result: Result<(), ApiError>) -> Deleted {
    match result {
        Ok(()) => Deleted::Done,
        Err(e) if is_not_found(&e) => {
            Deleted::Skipped("already gone (deleted by someone else)".into())
        }
        Err(e) if is_in_use(&e) => Deleted::Skipped(format!("in use, not deleted: {e}")),
        Err(e) => Deleted::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::DAY;
    const NOW: OffsetDateTime = time::macros::datetime!(2026-05-28 20:26:40 UTC);

    fn c(id: &str, days_ago: i64) -> Snap {
        Snap::new(id, State::Completed, NOW - Duration::days(days_ago))
    }
    fn p(id: &str, days_ago: i64) -> Snap {
        Snap::new(id, State::Pending, NOW - Duration::days(days_ago))
    }
    fn e(id: &str, days_ago: i64) -> Snap {
        Snap::new(id, State::Error, NOW - Duration::days(days_ago))
    }

    #[test]
    fn prune_table() {
        struct Case {
            name: &'static str,
            snaps: Vec<Snap>,
            retain: usize,
            keep: &'static [&'static str],
            delete: &'static [&'static str],
            skip: &'static [&'static str],
        }
        let cases = vec![
            Case {
                name: "nothing yet",
                snaps: vec![],
                retain: 3,
                keep: &[],
                delete: &[],
                skip: &[],
            },
            Case {
                name: "5 completed, N=3: the 2 oldest go",
                snaps: vec![c("a", 5), c("b", 4), c("c", 3), c("d", 2), c("e", 1)],
                retain: 3,
                keep: &["e", "d", "c"],
                delete: &["b", "a"],
                skip: &[],
            },
            Case {
                name: "input order does not matter",
                snaps: vec![c("c", 3), c("e", 1), c("a", 5), c("d", 2), c("b", 4)],
                retain: 3,
                keep: &["e", "d", "c"],
                delete: &["b", "a"],
                skip: &[],
            },
            Case {
                name: "2 completed + 1 pending, N=3: none go",
                snaps: vec![c("a", 2), c("b", 1), p("new", 0)],
                retain: 3,
                keep: &["b", "a"],
                delete: &[],
                skip: &["new"],
            },
            Case {
                name: "3 completed + today's pending, N=3: pending does not push one out",
                snaps: vec![c("a", 3), c("b", 2), c("c", 1), p("new", 0)],
                retain: 3,
                keep: &["c", "b", "a"],
                delete: &[],
                skip: &["new"],
            },
            Case {
                name: "errors never count and are never deleted",
                snaps: vec![c("a", 4), e("x", 3), e("y", 2), c("b", 1)],
                retain: 2,
                keep: &["b", "a"],
                delete: &[],
                skip: &["x", "y"],
            },
            Case {
                name: "newer errors do not push completed ones out",
                snaps: vec![c("a", 5), c("b", 4), c("c", 3), e("x", 1), e("y", 0)],
                retain: 3,
                keep: &["c", "b", "a"],
                delete: &[],
                skip: &["x", "y"],
            },
            Case {
                name: "N=1 keeps only the newest completed",
                snaps: vec![c("a", 3), c("b", 2), c("c", 1)],
                retain: 1,
                keep: &["c"],
                delete: &["b", "a"],
                skip: &[],
            },
            Case {
                name: "N=0 is treated as 1: the last completed snapshot is never deleted",
                snaps: vec![c("a", 3), c("b", 2)],
                retain: 0,
                keep: &["b"],
                delete: &["a"],
                skip: &[],
            },
            Case {
                name: "unknown states are skipped",
                snaps: vec![
                    c("a", 2),
                    Snap::new("r", State::Other("recoverable".into()), NOW),
                ],
                retain: 1,
                keep: &["a"],
                delete: &[],
                skip: &["r"],
            },
            Case {
                name: "same time: ties broken by id, deterministically",
                snaps: vec![c("s1", 1), c("s3", 1), c("s2", 1)],
                retain: 2,
                keep: &["s3", "s2"],
                delete: &["s1"],
                skip: &[],
            },
        ];
        for case in cases {
            let plan = prune(&case.snaps, case.retain);
            assert_eq!(plan.keep, case.keep, "{}: keep", case.name);
            assert_eq!(plan.delete, case.delete, "{}: delete", case.name);
            let skipped: Vec<&str> = plan.skip.iter().map(|s| s.snapshot_id.as_str()).collect();
            assert_eq!(skipped, case.skip, "{}: skip", case.name);
            // Invariant: nothing is both kept and deleted, nothing pending/error is deleted.
            for id in &plan.delete {
                assert!(
                    !plan.keep.contains(id),
                    "{}: {id} kept and deleted",
                    case.name
                );
                let s = case.snaps.iter().find(|s| &s.id == id).unwrap();
                assert_eq!(
                    s.state,
                    State::Completed,
                    "{}: deleted a {:?} snapshot",
                    case.name,
                    s.state
                );
            }
        }
    }

    #[test]
    fn covering_table() {
        let hour = Duration::HOUR;
        let window = 20 * hour;
        let cases: Vec<(&str, Vec<Snap>, Option<&str>)> = vec![
            ("nothing", vec![], None),
            ("yesterday's only", vec![c("y", 1)], None),
            (
                "completed an hour ago",
                vec![Snap::new("h", State::Completed, NOW - hour)],
                Some("h"),
            ),
            (
                "pending a minute ago",
                vec![Snap::new("m", State::Pending, NOW - Duration::seconds(60))],
                Some("m"),
            ),
            (
                "error a minute ago does not cover",
                vec![Snap::new("x", State::Error, NOW - Duration::seconds(60))],
                None,
            ),
            (
                "just outside the window",
                vec![Snap::new("o", State::Completed, NOW - window)],
                None,
            ),
            (
                "just inside the window",
                vec![Snap::new(
                    "i",
                    State::Completed,
                    NOW - window + Duration::SECOND,
                )],
                Some("i"),
            ),
            (
                "dated in the future (skew)",
                vec![Snap::new(
                    "f",
                    State::Completed,
                    NOW + Duration::seconds(300),
                )],
                Some("f"),
            ),
            (
                "newest covering one is reported",
                vec![
                    Snap::new("a", State::Completed, NOW - 2 * hour),
                    Snap::new("b", State::Pending, NOW - hour),
                ],
                Some("b"),
            ),
        ];
        for (name, snaps, want) in cases {
            assert_eq!(
                covering(&snaps, NOW, window).map(|s| s.id.as_str()),
                want,
                "{name}"
            );
        }
    }

    fn info(id: &str, state: State, time: OffsetDateTime, t: &[(&str, &str)]) -> SnapshotInfo {
        SnapshotInfo {
            id: id.into(),
            volume_id: "vol-a".into(),
            state,
            start_time: Some(time),
            tags: t
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1";

    fn cfg(roles: &[&str]) -> Config {
        Config {
            stack_id: STACK.into(),
            volumes: roles
                .iter()
                .enumerate()
                .map(|(i, r)| Volume {
                    role: r.to_string(),
                    id: format!("vol-{i}"),
                })
                .collect(),
            retain: 2,
            description: "d".into(),
            window: Duration::hours(20),
            copy: None,
            dry_run: false,
        }
    }

    fn ours(id: &str, role: &str, state: State, time: OffsetDateTime) -> SnapshotInfo {
        let backup = tags::format_time(time);
        info(
            id,
            state,
            time,
            &[
                (tags::STACK_ID, STACK),
                (tags::VOLUME_ROLE, role),
                (tags::BACKUP_TIME, &backup),
            ],
        )
    }

    #[test]
    fn next_token_table() {
        let err = |r: Result<Option<String>, ApiError>| r.unwrap_err().message;
        assert_eq!(next_token(None, None, 1), Ok(None));
        assert_eq!(next_token(None, Some("a".into()), 1), Ok(Some("a".into())));
        assert_eq!(
            next_token(Some("a"), Some("b".into()), 2),
            Ok(Some("b".into()))
        );
        assert!(err(next_token(Some("a"), Some("a".into()), 2)).contains("same NextToken"));
        assert!(err(next_token(Some("a"), Some("b".into()), MAX_PAGES)).contains("page limit"));
        assert_eq!(next_token(Some("a"), None, MAX_PAGES), Ok(None));
    }

    #[test]
    fn group_ours_checks_the_tags_again() {
        let c = cfg(&["CouchDBVolume"]);
        let grouped = group_ours(
            &c,
            vec![
                ours("mine", "CouchDBVolume", State::Completed, NOW),
                ours("retired-role", "OldVolume", State::Completed, NOW),
                info(
                    "foreign",
                    State::Completed,
                    NOW,
                    &[(tags::STACK_ID, "other")],
                ),
                info("manual", State::Completed, NOW, &[]),
            ],
        );
        let ids: Vec<&str> = grouped.values().flatten().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["mine"]);
    }

    #[test]
    fn create_table() {
        let c = cfg(&["CouchDBVolume"]);
        let vol = &c.volumes[0];
        let with = |snaps: Vec<SnapshotInfo>, exists: bool| Facts {
            ours: [("CouchDBVolume".to_string(), snaps)].into_iter().collect(),
            volumes: exists
                .then(|| crate::facts::VolumeInfo {
                    id: vol.id.clone(),
                    name: Some("couch".into()),
                })
                .into_iter()
                .collect(),
        };
        assert_eq!(
            create(&c, vol, &with(vec![], false), NOW),
            Create::VolumeMissing
        );
        let covered = create(
            &c,
            vol,
            &with(
                vec![ours(
                    "p",
                    "CouchDBVolume",
                    State::Pending,
                    NOW - Duration::seconds(60),
                )],
                true,
            ),
            NOW,
        );
        assert!(
            matches!(covered, Create::Covered(ref k) if k.snapshot_id == "p"),
            "{covered:?}"
        );
        let Create::Snapshot(new) = create(
            &c,
            vol,
            &with(
                vec![ours(
                    "x",
                    "CouchDBVolume",
                    State::Error,
                    NOW - Duration::seconds(60),
                )],
                true,
            ),
            NOW,
        ) else {
            panic!("an error snapshot covers nothing");
        };
        let t: std::collections::BTreeMap<_, _> = new.tags.into_iter().collect();
        assert_eq!(t[tags::STACK_ID], STACK);
        assert_eq!(t[tags::VOLUME_ROLE], "CouchDBVolume");
        assert_eq!(t[tags::BACKUP_TIME], tags::format_time(NOW));
        assert_eq!(t[tags::NAME], "couch");
        assert_eq!(new.description, "d");
    }

    #[test]
    fn copy_table() {
        let c = cfg(&["CouchDBVolume"]);
        let route = CopyRoute {
            source_region: "us-east-1",
            kms_key_id: "k",
        };
        let role = "CouchDBVolume";
        let y = ours("snap-y", role, State::Completed, NOW - DAY);
        let today = ours("snap-today", role, State::Pending, NOW);
        assert_eq!(
            copy(&c, role, std::slice::from_ref(&today), &[], route),
            Copy::NoSource,
            "a pending snapshot cannot be copied yet"
        );
        let Copy::Copy(order) = copy(&c, role, &[y.clone(), today], &[], route) else {
            panic!("the completed one is copied");
        };
        assert_eq!(order.source_id, "snap-y");
        assert_eq!(
            (order.source_region.as_str(), order.kms_key_id.as_str()),
            ("us-east-1", "k")
        );
        let t: std::collections::BTreeMap<_, _> = order.new.tags.into_iter().collect();
        assert_eq!(t[tags::SOURCE_SNAPSHOT], "snap-y");
        assert_eq!(t[tags::SOURCE_REGION], "us-east-1");
        assert_eq!(
            t[tags::BACKUP_TIME],
            tags::format_time(NOW - DAY),
            "the source's time"
        );
        let mut done = ours("copy-1", role, State::Pending, NOW);
        done.tags
            .insert(tags::SOURCE_SNAPSHOT.into(), "snap-y".into());
        assert!(matches!(
            copy(&c, role, &[y], &[done], route),
            Copy::Done { ref source, .. } if source == "snap-y"
        ));
    }

    #[test]
    fn budget_table() {
        let ids = |n: usize| (0..n).map(|i| format!("s{i}")).collect::<Vec<_>>();
        for (want, budget, now, deferred, left) in [
            (3, 10, 3, 0, 7),
            (3, 2, 2, 1, 0),
            (0, 5, 0, 0, 5),
            (4, 0, 0, 4, 0),
        ] {
            let mut b = budget;
            let (go, later) = within_budget(ids(want), &mut b);
            assert_eq!(
                (go.len(), later.len(), b),
                (now, deferred, left),
                "{want} of {budget}"
            );
            assert!(later.iter().all(|k| k.reason.starts_with("deferred")));
            assert_eq!(go, ids(want)[..now], "the first ones go first");
        }
    }

    #[test]
    fn after_delete_table() {
        let e = |code: &str| Err(ApiError::new(code, "m"));
        assert_eq!(after_delete(Ok(())), Deleted::Done);
        assert!(
            matches!(after_delete(e("InvalidSnapshot.NotFound")), Deleted::Skipped(r) if r.contains("already gone"))
        );
        assert!(
            matches!(after_delete(e("InvalidSnapshot.InUse")), Deleted::Skipped(r) if r.contains("in use"))
        );
        assert!(
            matches!(after_delete(e("RequestLimitExceeded")), Deleted::Failed(x) if x.is("RequestLimitExceeded"))
        );
    }

    #[test]
    fn state_round_trip() {
        for s in ["completed", "pending", "error", "recoverable"] {
            assert_eq!(State::parse(s).as_str(), s);
        }
    }
}
