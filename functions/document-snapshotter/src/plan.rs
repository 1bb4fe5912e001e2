//! The decisions, as pure functions of what the snapshots look like: whether this window is
//! already backed up, and which of *our* snapshots of one volume to keep and to delete.
//!
//! Only snapshots that already passed the "is this ours" test ([`crate::tags::is_ours`]) ever
//! reach these functions; manual and foreign snapshots are filtered out before any decision.

use serde::Serialize;

/// The state of an EBS snapshot as EC2 reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Completed,
    Pending,
    Error,
    /// A state this code does not know (e.g. `recoverable`, `recovering`): never counted, never
    /// deleted.
    Other(String),
}

impl State {
    pub fn parse(text: &str) -> State {
        match text {
            "completed" => State::Completed,
            "pending" => State::Pending,
            "error" => State::Error,
            other => State::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            State::Completed => "completed",
            State::Pending => "pending",
            State::Error => "error",
            State::Other(s) => s,
        }
    }
}

/// One of our snapshots of one volume, reduced to what the decisions need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snap {
    pub id: String,
    pub state: State,
    /// When the backup was taken (unix seconds): our `openemr:backup-time` tag, or EC2's
    /// StartTime when the tag is missing or unreadable.
    pub time: i64,
}

impl Snap {
    pub fn new(id: &str, state: State, time: i64) -> Snap {
        Snap {
            id: id.to_owned(),
            state,
            time,
        }
    }
}

/// The snapshot that already covers the window ending at `now`, if any: a completed or pending
/// snapshot taken less than `window_secs` ago (or dated in the future, by a skewed clock).
/// Snapshots in `error` state cover nothing: a failed snapshot earlier in the window is
/// replaced by a new one.
pub fn covering(snaps: &[Snap], now: i64, window_secs: i64) -> Option<&Snap> {
    snaps
        .iter()
        .filter(|s| matches!(s.state, State::Completed | State::Pending))
        .filter(|s| now - s.time < window_secs)
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_780_000_000;

    fn c(id: &str, days_ago: i64) -> Snap {
        Snap::new(id, State::Completed, NOW - days_ago * DAY)
    }
    fn p(id: &str, days_ago: i64) -> Snap {
        Snap::new(id, State::Pending, NOW - days_ago * DAY)
    }
    fn e(id: &str, days_ago: i64) -> Snap {
        Snap::new(id, State::Error, NOW - days_ago * DAY)
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
        let hour = 3600;
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
                vec![Snap::new("m", State::Pending, NOW - 60)],
                Some("m"),
            ),
            (
                "error a minute ago does not cover",
                vec![Snap::new("x", State::Error, NOW - 60)],
                None,
            ),
            (
                "just outside the window",
                vec![Snap::new("o", State::Completed, NOW - window)],
                None,
            ),
            (
                "just inside the window",
                vec![Snap::new("i", State::Completed, NOW - window + 1)],
                Some("i"),
            ),
            (
                "dated in the future (skew)",
                vec![Snap::new("f", State::Completed, NOW + 300)],
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

    #[test]
    fn state_round_trip() {
        for s in ["completed", "pending", "error", "recoverable"] {
            assert_eq!(State::parse(s).as_str(), s);
        }
    }
}
