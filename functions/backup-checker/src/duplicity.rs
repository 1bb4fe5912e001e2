//! Duplicity's remote file names, and the backup chains they form.
//!
//! Names follow duplicity 2.x/3.x `file_naming.py` (long names, no prefixes):
//!
//! | object | name |
//! | --- | --- |
//! | full volume | `duplicity-full.<T>.vol<N>.difftar[.part][.gpg\|.gz]` |
//! | full manifest | `duplicity-full.<T>.manifest[.part][.gpg\|.gz]` |
//! | full signatures | `duplicity-full-signatures.<T>.sigtar[.part][.gpg\|.gz]` |
//! | incremental volume | `duplicity-inc.<T1>.to.<T2>.vol<N>.difftar[...]` |
//! | incremental manifest | `duplicity-inc.<T1>.to.<T2>.manifest[...]` |
//! | incremental signatures | `duplicity-new-signatures.<T1>.to.<T2>.sigtar[...]` |
//! | statistics (3.x) | `duplicity-full.<T>.jsonstat[...]`, `duplicity-inc.<T1>.to.<T2>.jsonstat[...]` |
//!
//! `<T>` is `YYYYMMDDTHHMMSSZ` (UTC). A chain is a full set at `F` followed by incrementals
//! `F→T1`, `T1→T2`, …; a set is complete when its manifest and volumes `1..=N` are all there.
//!
//! [`BackupScan`] consumes keys one at a time (as list pages stream in) and keeps one small
//! summary per backup *set* (a bitset of volume numbers, flags) — never the keys — so its
//! memory does not grow with the number of objects, only with the number of nightly sets kept.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::stamp;

/// Volume numbers above this are treated as corrupt names rather than allocated for.
pub const MAX_VOLUME: u32 = 1_000_000;
/// Problems listed in full; the rest are counted.
const MAX_PROBLEMS: usize = 10;

/// What one duplicity file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    FullVolume {
        time: OffsetDateTime,
        volume: u32,
    },
    FullManifest {
        time: OffsetDateTime,
    },
    FullSignatures {
        time: OffsetDateTime,
    },
    IncVolume {
        start: OffsetDateTime,
        end: OffsetDateTime,
        volume: u32,
    },
    IncManifest {
        start: OffsetDateTime,
        end: OffsetDateTime,
    },
    NewSignatures {
        start: OffsetDateTime,
        end: OffsetDateTime,
    },
    /// duplicity 3's `.jsonstat` statistics: not needed for a restore.
    Statistics,
}

/// A parsed duplicity file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name {
    pub kind: Kind,
    /// `.part`: an upload that never finished.
    pub partial: bool,
    /// `.gpg` (or short `.g`).
    pub encrypted: bool,
    /// `.gz` (or short `.z`).
    pub compressed: bool,
}

/// Parses a file name (without the `Backup/` prefix). `None` if it is not a duplicity file.
pub fn parse_name(name: &str) -> Option<Name> {
    let mut parts = name.split('.');
    let head = parts.next()?;
    let (kind_of, start, end) = match head {
        "duplicity-full" | "duplicity-full-signatures" => {
            let time = stamp::parse_duplicity(parts.next()?)?;
            (head, None, time)
        }
        "duplicity-inc" | "duplicity-new-signatures" => {
            let start = stamp::parse_duplicity(parts.next()?)?;
            if parts.next()? != "to" {
                return None;
            }
            let end = stamp::parse_duplicity(parts.next()?)?;
            (head, Some(start), end)
        }
        _ => return None,
    };
    let token = parts.next()?;
    let kind = match (kind_of, token) {
        ("duplicity-full-signatures", "sigtar") => Kind::FullSignatures { time: end },
        ("duplicity-new-signatures", "sigtar") => Kind::NewSignatures { start: start?, end },
        ("duplicity-full", "manifest") => Kind::FullManifest { time: end },
        ("duplicity-inc", "manifest") => Kind::IncManifest { start: start?, end },
        ("duplicity-full" | "duplicity-inc", "jsonstat") => Kind::Statistics,
        ("duplicity-full" | "duplicity-inc", vol) if vol.starts_with("vol") => {
            let digits = &vol[3..];
            if digits.is_empty()
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || parts.next()? != "difftar"
            {
                return None;
            }
            let volume: u32 = digits.parse().ok()?;
            match start {
                None => Kind::FullVolume { time: end, volume },
                Some(start) => Kind::IncVolume { start, end, volume },
            }
        }
        _ => return None,
    };
    let mut name = Name {
        kind,
        partial: false,
        encrypted: false,
        compressed: false,
    };
    let mut next = parts.next();
    if next == Some("part") {
        name.partial = true;
        next = parts.next();
    }
    match next {
        None => {}
        Some("gpg" | "g") => name.encrypted = true,
        Some("gz" | "z") => name.compressed = true,
        Some(_) => return None,
    }
    if parts.next().is_some() {
        return None;
    }
    Some(name)
}

/// Volume numbers seen in one set: one bit each.
#[derive(Debug, Default, Clone)]
struct Volumes {
    bits: Vec<u64>,
    count: u32,
    max: u32,
}

impl Volumes {
    fn insert(&mut self, n: u32) {
        let (word, bit) = ((n / 64) as usize, n % 64);
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & (1 << bit) == 0 {
            self.bits[word] |= 1 << bit;
            self.count += 1;
            self.max = self.max.max(n);
        }
    }

    fn contains(&self, n: u32) -> bool {
        self.bits
            .get((n / 64) as usize)
            .is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    /// The first missing volume in `1..=max`, if any.
    fn first_gap(&self) -> Option<u32> {
        if self.count == self.max && !self.contains(0) {
            return None;
        }
        (1..=self.max).find(|&n| !self.contains(n))
    }
}

/// What is known about one backup set (a full or one incremental).
#[derive(Debug, Default, Clone)]
struct SetSummary {
    manifest: bool,
    signatures: bool,
    volumes: Volumes,
    encrypted: bool,
    compressed: bool,
}

/// Set key: `(start, end)`; a full set has `start = None` and `end` = its time.
type SetKey = (Option<OffsetDateTime>, OffsetDateTime);

/// Streaming accumulator over the keys under the backup prefix.
#[derive(Debug, Default)]
pub struct BackupScan {
    sets: BTreeMap<SetKey, SetSummary>,
    objects: u64,
    partials: u64,
    partial_example: Option<String>,
    unrecognised: u64,
    unrecognised_example: Option<String>,
    bad_volumes: u64,
}

impl BackupScan {
    pub fn new() -> BackupScan {
        BackupScan::default()
    }

    /// Adds one object; `name` is its key with the backup prefix removed.
    pub fn add(&mut self, name: &str) {
        self.objects += 1;
        let Some(parsed) = parse_name(name) else {
            self.unrecognised += 1;
            if self.unrecognised_example.is_none() {
                self.unrecognised_example = Some(name.to_owned());
            }
            return;
        };
        if parsed.partial {
            self.partials += 1;
            if self.partial_example.is_none() {
                self.partial_example = Some(name.to_owned());
            }
            return;
        }
        let (key, volume) = match parsed.kind {
            Kind::Statistics => return,
            Kind::FullVolume { time, volume } => ((None, time), Some(volume)),
            Kind::FullManifest { time } | Kind::FullSignatures { time } => ((None, time), None),
            Kind::IncVolume { start, end, volume } => ((Some(start), end), Some(volume)),
            Kind::IncManifest { start, end } | Kind::NewSignatures { start, end } => {
                ((Some(start), end), None)
            }
        };
        if volume.is_some_and(|v| v == 0 || v > MAX_VOLUME) {
            self.bad_volumes += 1;
            return;
        }
        let set = self.sets.entry(key).or_default();
        set.encrypted |= parsed.encrypted;
        set.compressed |= parsed.compressed;
        match (parsed.kind, volume) {
            (_, Some(v)) => set.volumes.insert(v),
            (Kind::FullManifest { .. } | Kind::IncManifest { .. }, None) => set.manifest = true,
            _ => set.signatures = true,
        }
    }

    /// Number of backup sets summarised (what the memory grows with).
    pub fn tracked_sets(&self) -> usize {
        self.sets.len()
    }

    /// Judges the newest chain.
    pub fn finish(self) -> EfsFindings {
        let mut f = EfsFindings {
            objects: self.objects,
            partials: self.partials,
            partial_example: self.partial_example,
            unrecognised: self.unrecognised,
            unrecognised_example: self.unrecognised_example,
            full_backups: self
                .sets
                .keys()
                .filter(|(start, _)| start.is_none())
                .count() as u32,
            sets: self.sets.len() as u32,
            ..EfsFindings::default()
        };
        let mut problems = Problems::default();
        if self.bad_volumes > 0 {
            problems.push(format!(
                "{} volume file(s) with an impossible volume number (0 or above {MAX_VOLUME})",
                self.bad_volumes
            ));
        }
        let Some(&(_, full)) = self.sets.keys().rfind(|(start, _)| start.is_none()) else {
            if self.sets.is_empty() {
                problems.push("no duplicity backup found".to_owned());
            } else {
                problems.push(
                    "only incremental backups found: no full backup to start a chain".to_owned(),
                );
            }
            f.problems = problems.finish();
            return f;
        };
        f.newest_full = Some(full);
        // The newest chain: the newest full set, then every incremental starting at or after it,
        // in order of start (then end) time.
        let mut chain: Vec<(SetKey, &SetSummary)> = vec![((None, full), &self.sets[&(None, full)])];
        chain.extend(
            self.sets
                .iter()
                .filter(|((start, _), _)| start.is_some_and(|s| s >= full))
                .map(|(k, v)| (*k, v)),
        );
        chain[1..].sort_by_key(|((start, end), _)| (*start, *end));
        f.incrementals = (chain.len() - 1) as u32;
        f.encrypted = chain.iter().all(|(_, s)| s.encrypted && !s.compressed);

        let mut expected = full;
        let mut restorable = true;
        for ((start, end), set) in &chain {
            let label = set_label(*start, *end);
            let mut complete = true;
            if let Some(start) = start {
                if *start != expected {
                    restorable = false;
                    complete = false;
                    problems.push(if *start > expected {
                        format!(
                            "broken incremental chain: {label} does not follow the backup of {} (the backup from {} to {} is missing)",
                            stamp::iso(expected),
                            stamp::iso(expected),
                            stamp::iso(*start)
                        )
                    } else {
                        format!("broken incremental chain: {label} overlaps the chain, which had reached {}", stamp::iso(expected))
                    });
                }
            }
            if !set.manifest {
                complete = false;
                problems.push(format!(
                    "{label}: manifest missing ({})",
                    manifest_name(*start, *end)
                ));
            }
            if set.volumes.count == 0 {
                complete = false;
                problems.push(format!("{label}: no volumes (difftar files) found"));
            } else if let Some(gap) = set.volumes.first_gap() {
                complete = false;
                problems.push(format!(
                    "{label}: volume gap, vol{gap} missing among vol1..vol{} ({} of {} present)",
                    set.volumes.max, set.volumes.count, set.volumes.max
                ));
            }
            if !set.signatures {
                complete = false;
                problems.push(format!(
                    "{label}: signature file missing ({})",
                    signatures_name(*start, *end)
                ));
            }
            // Past a gap, follow on from this set so one missing night is reported once.
            expected = expected.max(*end);
            f.newest_backup = Some(f.newest_backup.map_or(*end, |n| n.max(*end)));
            restorable &= complete;
            if restorable {
                f.restorable_until = Some(*end);
            }
        }
        f.problems = problems.finish();
        f
    }
}

fn set_label(start: Option<OffsetDateTime>, end: OffsetDateTime) -> String {
    match start {
        None => format!("full backup {}", stamp::duplicity(end)),
        Some(start) => format!(
            "incremental backup {} to {}",
            stamp::duplicity(start),
            stamp::duplicity(end)
        ),
    }
}

fn manifest_name(start: Option<OffsetDateTime>, end: OffsetDateTime) -> String {
    match start {
        None => format!("duplicity-full.{}.manifest.gpg", stamp::duplicity(end)),
        Some(start) => format!(
            "duplicity-inc.{}.to.{}.manifest.gpg",
            stamp::duplicity(start),
            stamp::duplicity(end)
        ),
    }
}

fn signatures_name(start: Option<OffsetDateTime>, end: OffsetDateTime) -> String {
    match start {
        None => format!(
            "duplicity-full-signatures.{}.sigtar.gpg",
            stamp::duplicity(end)
        ),
        Some(start) => format!(
            "duplicity-new-signatures.{}.to.{}.sigtar.gpg",
            stamp::duplicity(start),
            stamp::duplicity(end)
        ),
    }
}

#[derive(Default)]
struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, problem: String) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(problem);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.listed
                .push(format!("... and {} more problem(s)", self.more));
        }
        self.listed
    }
}

/// The verdict on the EFS backup's objects (not yet judged against thresholds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EfsFindings {
    /// Objects listed under the prefix.
    pub objects: u64,
    /// Full backups found (= chains).
    pub full_backups: u32,
    /// Backup sets (full or incremental) summarised: what the scan's memory grows with.
    pub sets: u32,
    /// Time of the newest full backup (start of the newest chain).
    pub newest_full: Option<OffsetDateTime>,
    /// Incrementals in the newest chain.
    pub incrementals: u32,
    /// Time of the newest backup set of the newest chain, complete or not.
    pub newest_backup: Option<OffsetDateTime>,
    /// Time up to which the newest chain restores (every set up to it complete and chained).
    pub restorable_until: Option<OffsetDateTime>,
    /// Every set of the newest chain is GPG-encrypted.
    pub encrypted: bool,
    /// What is wrong with the newest chain; empty when it is whole.
    pub problems: Vec<String>,
    /// `.part` leftovers anywhere under the prefix.
    pub partials: u64,
    pub partial_example: Option<String>,
    /// Objects that are not duplicity files (the passphrase object is one).
    pub unrecognised: u64,
    pub unrecognised_example: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "20261101T070001Z";
    const T1: &str = "20261102T070002Z";
    const T2: &str = "20261103T070003Z";
    const T3: &str = "20261104T070004Z";

    fn t(s: &str) -> OffsetDateTime {
        stamp::parse_duplicity(s).unwrap()
    }

    #[test]
    fn parses_every_duplicity_name() {
        let table: &[(&str, Option<Name>)] = &[
            (
                "duplicity-full.20261125T070001Z.vol1.difftar.gpg",
                Some(Name {
                    kind: Kind::FullVolume {
                        time: t("20261125T070001Z"),
                        volume: 1,
                    },
                    partial: false,
                    encrypted: true,
                    compressed: false,
                }),
            ),
            (
                "duplicity-full.20261125T070001Z.vol12.difftar.gz",
                Some(Name {
                    kind: Kind::FullVolume {
                        time: t("20261125T070001Z"),
                        volume: 12,
                    },
                    partial: false,
                    encrypted: false,
                    compressed: true,
                }),
            ),
            (
                "duplicity-full.20261125T070001Z.vol3.difftar",
                Some(Name {
                    kind: Kind::FullVolume {
                        time: t("20261125T070001Z"),
                        volume: 3,
                    },
                    partial: false,
                    encrypted: false,
                    compressed: false,
                }),
            ),
            (
                "duplicity-full.20261125T070001Z.manifest.gpg",
                Some(Name {
                    kind: Kind::FullManifest {
                        time: t("20261125T070001Z"),
                    },
                    partial: false,
                    encrypted: true,
                    compressed: false,
                }),
            ),
            (
                "duplicity-full.20261125T070001Z.manifest",
                Some(Name {
                    kind: Kind::FullManifest {
                        time: t("20261125T070001Z"),
                    },
                    partial: false,
                    encrypted: false,
                    compressed: false,
                }),
            ),
            (
                "duplicity-full-signatures.20261125T070001Z.sigtar.gpg",
                Some(Name {
                    kind: Kind::FullSignatures {
                        time: t("20261125T070001Z"),
                    },
                    partial: false,
                    encrypted: true,
                    compressed: false,
                }),
            ),
            (
                "duplicity-inc.20261125T070001Z.to.20261126T070002Z.manifest.gpg",
                Some(Name {
                    kind: Kind::IncManifest {
                        start: t("20261125T070001Z"),
                        end: t("20261126T070002Z"),
                    },
                    partial: false,
                    encrypted: true,
                    compressed: false,
                }),
            ),
            (
                "duplicity-inc.20261125T070001Z.to.20261126T070002Z.vol2.difftar.gpg",
                Some(Name {
                    kind: Kind::IncVolume {
                        start: t("20261125T070001Z"),
                        end: t("20261126T070002Z"),
                        volume: 2,
                    },
                    partial: false,
                    encrypted: true,
                    compressed: false,
                }),
            ),
            (
                "duplicity-new-signatures.20261125T070001Z.to.20261126T070002Z.sigtar.gz",
                Some(Name {
                    kind: Kind::NewSignatures {
                        start: t("20261125T070001Z"),
                        end: t("20261126T070002Z"),
                    },
                    partial: false,
                    encrypted: false,
                    compressed: true,
                }),
            ),
            (
                "duplicity-full.20261125T070001Z.vol1.difftar.part.gpg",
                Some(Name {
                    kind: Kind::FullVolume {
                        time: t("20261125T070001Z"),
                        volume: 1,
                    },
                    partial: true,
                    encrypted: true,
                    compressed: false,
                }),
            ),
            (
                "duplicity-full.20261125T070001Z.manifest.part",
                Some(Name {
                    kind: Kind::FullManifest {
                        time: t("20261125T070001Z"),
                    },
                    partial: true,
                    encrypted: false,
                    compressed: false,
                }),
            ),
            (
                "duplicity-full.20261125T070001Z.jsonstat.gpg",
                Some(Name {
                    kind: Kind::Statistics,
                    partial: false,
                    encrypted: true,
                    compressed: false,
                }),
            ),
            (
                "duplicity-inc.20261125T070001Z.to.20261126T070002Z.jsonstat",
                Some(Name {
                    kind: Kind::Statistics,
                    partial: false,
                    encrypted: false,
                    compressed: false,
                }),
            ),
            // not duplicity files
            ("passphrase.txt", None),
            ("", None),
            ("duplicity-full.2026-11-25.manifest.gpg", None),
            ("duplicity-full.20261125T070001Z.volX.difftar.gpg", None),
            ("duplicity-full.20261125T070001Z.vol.difftar.gpg", None),
            ("duplicity-full.20261125T070001Z.vol1.tar.gpg", None),
            ("duplicity-full.20261125T070001Z.manifest.gpg.bak", None),
            ("duplicity-full.20261125T070001Z.manifest.zip", None),
            (
                "duplicity-inc.20261125T070001Z.from.20261126T070002Z.manifest.gpg",
                None,
            ),
            ("duplicity-inc.20261125T070001Z.manifest.gpg", None),
            ("duplicity-full.20261399T070001Z.manifest.gpg", None),
            (
                "duplicity-full-signatures.20261125T070001Z.manifest.gpg",
                None,
            ),
            ("some/other/file", None),
        ];
        for (name, want) in table {
            assert_eq!(parse_name(name), *want, "{name}");
        }
    }

    fn full(t: &str, vols: u32) -> Vec<String> {
        let mut keys = vec![
            format!("duplicity-full.{t}.manifest.gpg"),
            format!("duplicity-full-signatures.{t}.sigtar.gpg"),
        ];
        keys.extend((1..=vols).map(|v| format!("duplicity-full.{t}.vol{v}.difftar.gpg")));
        keys
    }

    fn inc(a: &str, b: &str, vols: u32) -> Vec<String> {
        let mut keys = vec![
            format!("duplicity-inc.{a}.to.{b}.manifest.gpg"),
            format!("duplicity-new-signatures.{a}.to.{b}.sigtar.gpg"),
        ];
        keys.extend((1..=vols).map(|v| format!("duplicity-inc.{a}.to.{b}.vol{v}.difftar.gpg")));
        keys
    }

    fn scan(keys: &[String]) -> EfsFindings {
        let mut sorted = keys.to_vec();
        sorted.sort();
        let mut s = BackupScan::new();
        for k in &sorted {
            s.add(k);
        }
        s.finish()
    }

    fn healthy() -> Vec<String> {
        [
            full(T0, 12),
            inc(T0, T1, 1),
            inc(T1, T2, 3),
            inc(T2, T3, 2),
            vec!["passphrase.txt".to_owned()],
        ]
        .concat()
    }

    #[test]
    fn healthy_chain_has_no_problems() {
        let f = scan(&healthy());
        assert_eq!(f.problems, Vec::<String>::new());
        assert_eq!(f.newest_full, Some(t(T0)));
        assert_eq!(f.newest_backup, Some(t(T3)));
        assert_eq!(f.restorable_until, Some(t(T3)));
        assert_eq!(f.incrementals, 3);
        assert_eq!(f.full_backups, 1);
        assert!(f.encrypted);
        assert_eq!(f.partials, 0);
        assert_eq!(f.unrecognised, 1);
        assert_eq!(f.objects, healthy().len() as u64);
    }

    #[test]
    fn older_chains_do_not_hide_or_spoil_the_newest() {
        // An older chain with a hole (it is being retired) and a newer whole one.
        let old = "20261001T070001Z";
        let old1 = "20261002T070001Z";
        let mut keys = [full(old, 2), inc(old1, T0, 1), healthy()].concat();
        keys.retain(|k| !k.contains(&format!("duplicity-full.{old}.manifest")));
        let f = scan(&keys);
        assert_eq!(f.problems, Vec::<String>::new());
        assert_eq!(f.full_backups, 2);
        assert_eq!(f.newest_full, Some(t(T0)));
        assert_eq!(f.incrementals, 3);
    }

    /// Each broken layout and the words its problem must contain.
    #[test]
    fn broken_chains_are_named() {
        let drop = |needle: &str| -> Vec<String> {
            healthy()
                .into_iter()
                .filter(|k| !k.contains(needle))
                .collect()
        };
        let cases: Vec<(&str, Vec<String>, &[&str])> = vec![
            (
                "missing full manifest",
                drop(&format!("duplicity-full.{T0}.manifest")),
                &["manifest missing", "full backup 20261101T070001Z"],
            ),
            (
                "missing incremental manifest",
                drop(&format!("duplicity-inc.{T1}.to.{T2}.manifest")),
                &[
                    "manifest missing",
                    "incremental backup 20261102T070002Z to 20261103T070003Z",
                ],
            ),
            (
                "volume gap in the full",
                drop(&format!("duplicity-full.{T0}.vol7.")),
                &["volume gap", "vol7 missing", "vol1..vol12", "11 of 12"],
            ),
            (
                "volume gap in an incremental",
                drop(&format!("duplicity-inc.{T1}.to.{T2}.vol1.")),
                &["volume gap", "vol1 missing"],
            ),
            (
                "broken incremental chain",
                healthy()
                    .into_iter()
                    .filter(|k| {
                        !k.contains(&format!("duplicity-inc.{T1}.to.{T2}"))
                            && !k.contains(&format!("signatures.{T1}.to"))
                    })
                    .collect(),
                &[
                    "broken incremental chain",
                    "20261103T070003Z to 20261104T070004Z",
                    "missing",
                ],
            ),
            (
                "missing signatures",
                drop(&format!("duplicity-full-signatures.{T0}")),
                &["signature file missing"],
            ),
            (
                "no backup at all",
                vec!["passphrase.txt".to_owned()],
                &["no duplicity backup found"],
            ),
            (
                "incrementals only",
                [inc(T0, T1, 1)].concat(),
                &["no full backup"],
            ),
            (
                "no volumes",
                drop(&format!("duplicity-full.{T0}.vol")),
                &["no volumes"],
            ),
        ];
        for (what, keys, words) in cases {
            let f = scan(&keys);
            let text = f.problems.join("\n");
            assert!(!f.problems.is_empty(), "{what}: expected a problem");
            for w in words {
                assert!(text.contains(w), "{what}: {text:?} should contain {w:?}");
            }
        }
    }

    #[test]
    fn restorable_point_stops_at_the_first_broken_set() {
        let keys: Vec<String> = healthy()
            .into_iter()
            .filter(|k| !k.contains(&format!("duplicity-inc.{T1}.to.{T2}.manifest")))
            .collect();
        let f = scan(&keys);
        assert_eq!(f.restorable_until, Some(t(T1)));
        assert_eq!(f.newest_backup, Some(t(T3)));
    }

    #[test]
    fn partial_uploads_are_counted_and_named() {
        let mut keys = healthy();
        keys.push(format!("duplicity-inc.{T2}.to.{T3}.vol3.difftar.part.gpg"));
        let f = scan(&keys);
        assert_eq!(f.partials, 1);
        assert_eq!(
            f.partial_example.as_deref(),
            Some(format!("duplicity-inc.{T2}.to.{T3}.vol3.difftar.part.gpg").as_str())
        );
        // the leftover is not taken for a volume
        assert_eq!(f.problems, Vec::<String>::new());
    }

    #[test]
    fn unencrypted_chain_is_reported_not_broken() {
        let keys: Vec<String> = healthy()
            .into_iter()
            .map(|k| k.replace(".gpg", ".gz"))
            .collect();
        let f = scan(&keys);
        assert!(f.problems.is_empty());
        assert!(!f.encrypted);
    }

    #[test]
    fn volumes_are_counted_numerically_not_lexically() {
        // vol1, vol10, vol100 ... sort before vol2 in a listing
        let f = scan(&full(T0, 150));
        assert!(f.problems.is_empty(), "{:?}", f.problems);
    }

    #[test]
    fn impossible_volume_numbers_are_problems_not_allocations() {
        let mut keys = full(T0, 2);
        keys.push(format!("duplicity-full.{T0}.vol4294967295.difftar.gpg"));
        keys.push(format!("duplicity-full.{T0}.vol0.difftar.gpg"));
        let f = scan(&keys);
        assert!(
            f.problems
                .iter()
                .any(|p| p.contains("impossible volume number")),
            "{:?}",
            f.problems
        );
    }

    #[test]
    fn problem_list_is_capped() {
        let mut keys = full(T0, 1);
        for day in 10..40 {
            // 30 incrementals that do not chain
            let a = format!("202611{:02}T070001Z", day % 28 + 1);
            let b = format!("202612{:02}T070001Z", day % 28 + 1);
            keys.extend(inc(&a, &b, 1));
        }
        let f = scan(&keys);
        assert_eq!(f.problems.len(), MAX_PROBLEMS + 1);
        assert!(f.problems.last().unwrap().contains("more problem"));
    }

    #[test]
    fn memory_is_per_set_not_per_object() {
        let mut s = BackupScan::new();
        for v in 1..=50_000u32 {
            s.add(&format!("duplicity-full.{T0}.vol{v}.difftar.gpg"));
        }
        s.add(&format!("duplicity-full.{T0}.manifest.gpg"));
        s.add(&format!("duplicity-full-signatures.{T0}.sigtar.gpg"));
        assert_eq!(s.tracked_sets(), 1);
        let f = s.finish();
        assert!(f.problems.is_empty());
        assert_eq!(f.objects, 50_002);
    }
}
