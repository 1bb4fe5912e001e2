//! The fingerprint: what the source stack's data looked like during the night's backup window,
//! as counts, sizes and times only (no patient data), and the pure comparison of a restored
//! stack's observation against it.
//!
//! The recorder writes one every night at `recovery/fingerprint.json` (SSE-KMS); the verifier
//! observes the drill stack the same way ([`crate::observe`]) and [`compare`]s. Rows written
//! between the fingerprint and the snapshots are expected: a count that differs by at most the
//! tolerance is reported as drift, not failed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The format this code writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// OpenEMR's main tables, counted row by row: patients, encounters, documents, forms, users.
pub const MAIN_TABLES: [&str; 5] = [
    "patient_data",
    "form_encounter",
    "documents",
    "forms",
    "users",
];

/// The OpenEMR site on EFS (EFS holds OpenEMR's `sites/` directory: `stack_contract::site`).
pub const SITE: &str = stack_contract::site::SITE;
/// Files of the site that must exist, relative to `sites/`.
pub const SITE_FILES: [&str; 1] = [stack_contract::site::SQLCONF];
/// The documents tree of the site, relative to `sites/`.
pub const DOCUMENTS_DIR: &str = stack_contract::site::DOCUMENTS_DIR;

/// Why what the recorder sees is not a site worth recording, if it is not: the site's
/// configuration is missing, it has no documents tree (OpenEMR makes one at install), or its
/// schema has no tables. `site_files`: the site files present; `documents_tree`: whether the
/// documents directory exists; `schema`: the schema and its table count, once the database
/// was read.
pub fn missing_site(
    site_files: &[String],
    documents_tree: bool,
    schema: Option<(&str, u64)>,
) -> Option<String> {
    let mut missing = Vec::new();
    for file in SITE_FILES {
        if !site_files.iter().any(|f| f == file) {
            missing.push(format!("no sites/{file}"));
        }
    }
    if !documents_tree {
        missing.push(format!("no sites/{DOCUMENTS_DIR}/"));
    }
    if let Some((name, 0)) = schema {
        missing.push(format!("no tables in the schema {name}"));
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// What one stack's data looks like; the recorder's fingerprint and the verifier's observation
/// are both one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub format_version: u32,
    pub stack: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub database: Database,
    /// CouchDB database name -> document count; `None` without a document store.
    #[serde(default)]
    pub documents: Option<BTreeMap<String, u64>>,
    pub files: Files,
}

/// The OpenEMR database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// The schema's name (read from `sqlconf.php`).
    pub schema: String,
    /// Tables in the schema.
    pub tables: u64,
    /// Rows of each of [`MAIN_TABLES`] that exists (a missing table has no entry).
    pub rows: BTreeMap<String, u64>,
}

/// The site on EFS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Files {
    /// [`SITE_FILES`] that exist.
    pub site_files: Vec<String>,
    /// Regular files under [`DOCUMENTS_DIR`] and their bytes.
    pub document_files: u64,
    pub document_bytes: u64,
}

/// How one observed number compares with the fingerprint's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The same.
    Match,
    /// Different, within the tolerance: reported, not failed.
    Drift,
    /// Different beyond the tolerance.
    Mismatch,
    /// Not there at all (a dropped table, a missing file, a database that did not come back).
    Missing,
}

impl Verdict {
    pub fn failed(self) -> bool {
        matches!(self, Verdict::Mismatch | Verdict::Missing)
    }
}

/// One comparison: what, the fingerprint's value, the restored value, the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub what: String,
    pub expected: Option<u64>,
    pub observed: Option<u64>,
    pub verdict: Verdict,
}

impl Check {
    /// One line for the report and the alert, naming what differs.
    pub fn describe(&self) -> String {
        let value = |v: Option<u64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
        match self.verdict {
            Verdict::Match => format!("{}: {} as recorded", self.what, value(self.observed)),
            Verdict::Missing => format!(
                "{}: MISSING in the restored stack (recorded: {})",
                self.what,
                value(self.expected)
            ),
            Verdict::Drift | Verdict::Mismatch => format!(
                "{}: {} restored, {} recorded ({}){}",
                self.what,
                value(self.observed),
                value(self.expected),
                signed_difference(self.expected, self.observed),
                if self.verdict == Verdict::Drift {
                    ", within the tolerance"
                } else {
                    ", beyond the tolerance"
                }
            ),
        }
    }
}

fn signed_difference(expected: Option<u64>, observed: Option<u64>) -> String {
    let (e, o) = (expected.unwrap_or(0) as i128, observed.unwrap_or(0) as i128);
    format!("{:+}", o - e)
}

/// The verdict on a restored stack: every check, and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Verification {
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict.failed())
    }
    pub fn drifted(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict == Verdict::Drift)
    }
}

/// How far a count may be from the fingerprint's and still pass: `tolerance_percent` of the
/// recorded value, rounded up (so any non-zero tolerance admits a row written in between).
pub fn allowed_difference(expected: u64, tolerance_percent: u32) -> u64 {
    (expected * u64::from(tolerance_percent)).div_ceil(100)
}

/// A count against the fingerprint's.
pub fn count_verdict(expected: u64, observed: Option<u64>, tolerance_percent: u32) -> Verdict {
    match observed {
        None => Verdict::Missing,
        Some(o) if o == expected => Verdict::Match,
        Some(o) if o.abs_diff(expected) <= allowed_difference(expected, tolerance_percent) => {
            Verdict::Drift
        }
        Some(_) => Verdict::Mismatch,
    }
}

fn count(what: String, expected: u64, observed: Option<u64>, tolerance_percent: u32) -> Check {
    Check {
        what,
        expected: Some(expected),
        observed,
        verdict: count_verdict(expected, observed, tolerance_percent),
    }
}

/// Compares a restored stack's observation with the fingerprint. The schema's table count
/// must match exactly (no write between the fingerprint and the snapshot adds a table); row,
/// document and file counts may drift by the tolerance.
pub fn compare(
    recorded: &Fingerprint,
    restored: &Fingerprint,
    tolerance_percent: u32,
) -> Verification {
    let mut checks = vec![count(
        format!("database {} tables", recorded.database.schema),
        recorded.database.tables,
        Some(restored.database.tables),
        0,
    )];
    for table in MAIN_TABLES {
        if let Some(&expected) = recorded.database.rows.get(table) {
            checks.push(count(
                format!("database table {table} rows"),
                expected,
                restored.database.rows.get(table).copied(),
                tolerance_percent,
            ));
        }
    }
    if let Some(recorded_docs) = &recorded.documents {
        for (db, &expected) in recorded_docs {
            let observed = restored.documents.as_ref().and_then(|d| d.get(db)).copied();
            checks.push(count(
                format!("CouchDB database {db} documents"),
                expected,
                observed,
                tolerance_percent,
            ));
        }
    }
    for file in &recorded.files.site_files {
        let there = restored.files.site_files.contains(file);
        checks.push(Check {
            what: format!("site file sites/{file}"),
            expected: Some(1),
            observed: Some(u64::from(there)),
            verdict: if there {
                Verdict::Match
            } else {
                Verdict::Missing
            },
        });
    }
    checks.push(count(
        format!("files under sites/{DOCUMENTS_DIR}"),
        recorded.files.document_files,
        Some(restored.files.document_files),
        tolerance_percent,
    ));
    checks.push(count(
        format!("bytes under sites/{DOCUMENTS_DIR}"),
        recorded.files.document_bytes,
        Some(restored.files.document_bytes),
        tolerance_percent,
    ));
    let ok = !checks.iter().any(|c| c.verdict.failed());
    Verification { ok, checks }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Fingerprint {
        Fingerprint {
            format_version: FORMAT_VERSION,
            stack: "openemr".into(),
            recorded_at: time::macros::datetime!(2026-12-06 07:00 UTC),
            database: Database {
                schema: "openemr".into(),
                tables: 260,
                rows: MAIN_TABLES
                    .iter()
                    .zip([120, 480, 75, 900, 6])
                    .map(|(t, n)| ((*t).to_owned(), n))
                    .collect(),
            },
            documents: Some([("openemr".to_owned(), 75)].into_iter().collect()),
            files: Files {
                site_files: vec!["default/sqlconf.php".into()],
                document_files: 75,
                document_bytes: 1_500_000,
            },
        }
    }

    #[test]
    fn a_site_that_is_not_where_the_recorder_looks_is_not_recorded() {
        let site = sample();
        assert_eq!(
            missing_site(&site.files.site_files, true, Some(("openemr", 260))),
            None
        );
        // The original bundle's layout (EFS was sites/default): nothing under default/.
        let elsewhere = Files {
            site_files: vec![],
            document_files: 0,
            document_bytes: 0,
        };
        assert_eq!(
            missing_site(&elsewhere.site_files, false, None).as_deref(),
            Some("no sites/default/sqlconf.php, no sites/default/documents/")
        );
        assert_eq!(
            missing_site(&site.files.site_files, true, Some(("openemr", 0))).as_deref(),
            Some("no tables in the schema openemr")
        );
        // An installed site with no documents yet is a site.
        let new_site = Files {
            document_files: 0,
            document_bytes: 0,
            ..site.files
        };
        assert_eq!(
            missing_site(&new_site.site_files, true, Some(("openemr", 260))),
            None
        );
    }

    #[test]
    fn tolerance_rounds_up_and_zero_means_exact() {
        // (expected, tolerance %, observed) -> verdict
        let table = [
            (100, 1, Some(100), Verdict::Match),
            (100, 1, Some(101), Verdict::Drift),
            (100, 1, Some(99), Verdict::Drift),
            (100, 1, Some(102), Verdict::Mismatch),
            (5, 1, Some(6), Verdict::Drift),
            (5, 1, Some(7), Verdict::Mismatch),
            (5, 0, Some(6), Verdict::Mismatch),
            (0, 5, Some(1), Verdict::Mismatch),
            (0, 0, Some(0), Verdict::Match),
            (1000, 20, Some(800), Verdict::Drift),
            (1000, 20, Some(799), Verdict::Mismatch),
            (7, 1, None, Verdict::Missing),
        ];
        for (expected, tolerance, observed, verdict) in table {
            assert_eq!(
                count_verdict(expected, observed, tolerance),
                verdict,
                "{expected} vs {observed:?} at {tolerance} %"
            );
        }
    }

    #[test]
    fn the_same_data_passes_with_every_check_matching() {
        let v = compare(&sample(), &sample(), 1);
        assert!(v.ok);
        assert!(
            v.checks.iter().all(|c| c.verdict == Verdict::Match),
            "{v:?}"
        );
        // tables + 5 main tables + 1 CouchDB database + 1 site file + files + bytes
        assert_eq!(v.checks.len(), 1 + 5 + 1 + 1 + 2);
    }

    #[test]
    fn a_dropped_table_fails_naming_it() {
        let mut restored = sample();
        restored.database.rows.remove("form_encounter");
        restored.database.tables -= 1;
        let v = compare(&sample(), &restored, 1);
        assert!(!v.ok);
        let failed: Vec<String> = v.failed().map(Check::describe).collect();
        assert_eq!(
            failed,
            [
                "database openemr tables: 259 restored, 260 recorded (-1), beyond the tolerance",
                "database table form_encounter rows: MISSING in the restored stack (recorded: 480)",
            ]
        );
    }

    #[test]
    fn missing_documents_and_a_missing_site_file_fail_naming_them() {
        let mut restored = sample();
        restored.documents = Some([("openemr".to_owned(), 60)].into_iter().collect());
        restored.files.site_files.clear();
        let v = compare(&sample(), &restored, 1);
        let failed: Vec<String> = v.failed().map(Check::describe).collect();
        assert_eq!(
            failed,
            [
                "CouchDB database openemr documents: 60 restored, 75 recorded (-15), beyond the tolerance",
                "site file sites/default/sqlconf.php: MISSING in the restored stack (recorded: 1)",
            ]
        );
        // A document store that did not come back at all.
        restored.documents = None;
        let v = compare(&sample(), &restored, 1);
        assert!(v.failed().any(
            |c| c.what == "CouchDB database openemr documents" && c.verdict == Verdict::Missing
        ));
    }

    #[test]
    fn writes_between_fingerprint_and_snapshot_are_reported_not_failed() {
        let mut restored = sample();
        *restored.database.rows.get_mut("forms").unwrap() += 3; // 900: 1 % allows 9
        restored.files.document_files += 1;
        restored.files.document_bytes += 12_000;
        let v = compare(&sample(), &restored, 1);
        assert!(v.ok, "{v:?}");
        let drifted: Vec<&str> = v.drifted().map(|c| c.what.as_str()).collect();
        assert_eq!(
            drifted,
            [
                "database table forms rows",
                "files under sites/default/documents",
                "bytes under sites/default/documents"
            ]
        );
    }

    #[test]
    fn the_fingerprint_round_trips_as_json_without_surprises() {
        let text = serde_json::to_string(&sample()).unwrap();
        assert!(
            text.contains("\"recorded_at\":\"2026-12-06T07:00:00Z\""),
            "{text}"
        );
        let back: Fingerprint = serde_json::from_str(&text).unwrap();
        assert_eq!(back, sample());
    }
}
