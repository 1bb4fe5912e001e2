//! The decisions: what was found, judged against the thresholds. Pure, no AWS.

use serde::Serialize;

use crate::duplicity::EfsFindings;
use crate::stamp;

/// Limits from the template parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// The newest backup of each kind must be younger than this.
    pub max_age_secs: i64,
    /// The newest backups of the kinds must lie within this of each other.
    pub max_skew_secs: i64,
}

/// The passphrase object (`Backup/passphrase.txt`): only its metadata is ever read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passphrase {
    Missing,
    /// `server_side_encryption` as S3 reports it (`aws:kms`, `aws:kms:dsse`, `AES256`, none).
    Present {
        encryption: Option<String>,
    },
}

/// The newest snapshot of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub id: String,
    /// Start / create time, Unix seconds.
    pub time: i64,
}

/// A document volume and its newest completed snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFinding {
    /// `primary` or `replica` (dual-AZ).
    pub role: String,
    pub volume_id: String,
    pub newest: Option<Snapshot>,
    /// Snapshots still pending (not counted).
    pub pending: u32,
}

/// The database instance and its newest available snapshot (automated or manual).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseFinding {
    pub instance: String,
    pub newest: Option<Snapshot>,
}

/// Everything gathered, or why it could not be (an API error is a failed check too).
#[derive(Debug, Clone)]
pub struct Findings {
    /// `s3://bucket/prefix` for messages.
    pub location: String,
    pub efs: Result<EfsFindings, String>,
    pub passphrase: Result<Passphrase, String>,
    /// Incomplete multipart uploads under the prefix (an interrupted volume upload).
    pub multipart: Result<Multipart, String>,
    pub volumes: Vec<Result<VolumeFinding, (VolumeRef, String)>>,
    /// `None` when no database instance is configured.
    pub database: Option<Result<DatabaseFinding, (String, String)>>,
}

/// Incomplete multipart uploads under the backup prefix: a count and the oldest, never a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multipart {
    pub count: u64,
    /// (key, initiated) of the oldest.
    pub oldest: Option<(String, i64)>,
}

/// A multipart upload younger than this may still be running; older ones are leftovers.
pub const MULTIPART_GRACE_SECS: i64 = 3600;

/// A document volume the checker was told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRef {
    pub role: String,
    pub volume_id: String,
}

/// A CloudWatch metric value of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Stable name, the `Check` dimension of the metrics (`efs-chain`, `documents-primary` ...).
    pub name: String,
    pub ok: bool,
    /// One line for people: what was found, or what failed.
    pub message: String,
    /// Where an operator looks to see it for themselves.
    pub look: String,
    pub metrics: Vec<Metric>,
}

/// The result of one run: what the function returns, logs and (on failure) sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checked_at: String,
    pub checks: Vec<Check>,
    /// Newest backup of each kind (`efs`, `documents-primary`, `database` ...), RFC 3339.
    pub newest: Vec<(String, String)>,
    pub skew_seconds: Option<i64>,
}

impl Report {
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

fn metric(name: &'static str, value: f64, unit: &'static str) -> Metric {
    Metric { name, value, unit }
}

fn ok_metric(name: &'static str, ok: bool) -> Metric {
    metric(name, if ok { 1.0 } else { 0.0 }, "Count")
}

/// Judges `findings` at `now` (Unix seconds).
pub fn evaluate(findings: &Findings, now: i64, limits: Thresholds) -> Report {
    let mut checks = Vec::new();
    // (kind, time) of the newest backup of each kind, for the skew.
    let mut newest: Vec<(String, i64)> = Vec::new();
    let location = &findings.location;
    let max_age = stamp::hours(limits.max_age_secs);

    // EFS: the chain, its age, leftovers.
    match &findings.efs {
        Err(error) => checks.push(Check {
            name: "efs-chain".into(),
            ok: false,
            message: format!("could not list the EFS backup in {location}: {error}"),
            look: format!("aws s3 ls {location}"),
            metrics: vec![ok_metric("ChainOk", false)],
        }),
        Ok(efs) => {
            let ok = efs.problems.is_empty();
            let message = if ok {
                format!(
                    "duplicity chain whole: full backup {} and {} incremental(s), {}, {} objects in {} backup sets",
                    efs.newest_full.map(stamp::iso).unwrap_or_default(),
                    efs.incrementals,
                    if efs.encrypted {
                        "GPG-encrypted"
                    } else {
                        "NOT GPG-encrypted"
                    },
                    efs.objects,
                    efs.sets
                )
            } else {
                format!(
                    "duplicity chain broken in {location}: {}",
                    efs.problems.join("; ")
                )
            };
            checks.push(Check {
                name: "efs-chain".into(),
                ok,
                message,
                look: format!(
                    "aws s3 ls {location} ; duplicity collection-status on the NFS backup instance"
                ),
                metrics: vec![ok_metric("ChainOk", ok)],
            });

            let (ok, message, age) = match efs.restorable_until {
                None => (
                    false,
                    format!("no restorable EFS backup in {location}"),
                    None,
                ),
                Some(t) => {
                    let age = now - t;
                    newest.push(("efs".into(), t));
                    if age > limits.max_age_secs {
                        (
                            false,
                            format!(
                                "newest restorable EFS backup is stale: {} from {}, older than {max_age}",
                                stamp::hours(age),
                                stamp::iso(t)
                            ),
                            Some(age),
                        )
                    } else {
                        (
                            true,
                            format!(
                                "newest restorable EFS backup {} ({} old)",
                                stamp::iso(t),
                                stamp::hours(age)
                            ),
                            Some(age),
                        )
                    }
                }
            };
            checks.push(Check {
                name: "efs-age".into(),
                ok,
                message,
                look: format!("aws s3 ls {location} ; the NFS backup instance's /var/log/syslog (cron) and backup log"),
                metrics: age.map(|a| vec![metric("BackupAgeSeconds", a as f64, "Seconds")]).unwrap_or_default(),
            });
        }
    }

    // Leftovers of interrupted uploads: duplicity's `.part` files and S3 multipart uploads
    // that were never completed (they also cost storage).
    let partials = findings
        .efs
        .as_ref()
        .map(|e| (e.partials, e.partial_example.clone()))
        .unwrap_or_default();
    let mut problems = Vec::new();
    if partials.0 > 0 {
        problems.push(format!(
            "{} leftover partial upload(s) (.part) in {location}, e.g. {}",
            partials.0,
            partials.1.as_deref().unwrap_or("?")
        ));
    }
    let mut stale_multipart = 0;
    match &findings.multipart {
        Err(error) => problems.push(format!(
            "could not list the multipart uploads in {location}: {error}"
        )),
        Ok(m) => {
            if let Some((key, initiated)) = &m.oldest {
                if now - initiated > MULTIPART_GRACE_SECS {
                    stale_multipart = m.count;
                    problems.push(format!(
                        "{} incomplete multipart upload(s) under {location}, the oldest started {} ({key})",
                        m.count,
                        stamp::iso(*initiated)
                    ));
                }
            }
        }
    }
    let ok = problems.is_empty();
    checks.push(Check {
        name: "efs-leftovers".into(),
        ok,
        message: if ok {
            "no partial uploads".into()
        } else {
            format!("{}: a backup was interrupted", problems.join("; "))
        },
        look: format!(
            "aws s3 ls {location} | grep '\\.part' ; aws s3api list-multipart-uploads --bucket <bucket> --prefix <prefix>"
        ),
        metrics: vec![metric("PartialUploads", (partials.0 + stale_multipart) as f64, "Count")],
    });

    // The passphrase object.
    let passphrase_location = format!("{location}passphrase.txt");
    let (ok, message) = match &findings.passphrase {
        Err(error) => (
            false,
            format!("could not read the metadata of {passphrase_location}: {error}"),
        ),
        Ok(Passphrase::Missing) => (
            false,
            format!(
                "passphrase object {passphrase_location} is missing: the EFS backup cannot be decrypted"
            ),
        ),
        Ok(Passphrase::Present { encryption }) => match encryption.as_deref() {
            Some("aws:kms" | "aws:kms:dsse") => (
                true,
                format!(
                    "passphrase object present and SSE-KMS encrypted ({})",
                    encryption.as_deref().unwrap_or("")
                ),
            ),
            other => (
                false,
                format!(
                    "passphrase object {passphrase_location} is not SSE-KMS encrypted (server-side encryption: {})",
                    other.unwrap_or("none")
                ),
            ),
        },
    };
    checks.push(Check {
        name: "passphrase".into(),
        ok,
        message,
        look: format!(
            "aws s3api head-object on {passphrase_location} (ServerSideEncryption must be aws:kms)"
        ),
        metrics: vec![ok_metric("PassphraseOk", ok)],
    });

    // Document snapshots.
    for volume in &findings.volumes {
        let (role, volume_id) = match volume {
            Ok(v) => (v.role.as_str(), v.volume_id.as_str()),
            Err((v, _)) => (v.role.as_str(), v.volume_id.as_str()),
        };
        let name = format!("documents-{role}");
        let look = format!(
            "EC2 console > Snapshots, filter Volume ID = {volume_id} (aws ec2 describe-snapshots --filters Name=volume-id,Values={volume_id})"
        );
        let (ok, message, age) = match volume {
            Err((_, error)) => (
                false,
                format!(
                    "could not list the snapshots of document volume {volume_id} ({role}): {error}"
                ),
                None,
            ),
            Ok(v) => match &v.newest {
                None => (
                    false,
                    format!(
                        "no completed snapshot of document volume {volume_id} ({role}){}",
                        if v.pending > 0 {
                            format!("; {} still pending", v.pending)
                        } else {
                            String::new()
                        }
                    ),
                    None,
                ),
                Some(s) => {
                    let age = now - s.time;
                    newest.push((name.clone(), s.time));
                    if age > limits.max_age_secs {
                        (
                            false,
                            format!(
                                "newest completed snapshot of document volume {volume_id} ({role}) is stale: {} {} old, from {}, older than {max_age}",
                                s.id,
                                stamp::hours(age),
                                stamp::iso(s.time)
                            ),
                            Some(age),
                        )
                    } else {
                        (
                            true,
                            format!(
                                "document volume {volume_id} ({role}): snapshot {} from {} ({} old)",
                                s.id,
                                stamp::iso(s.time),
                                stamp::hours(age)
                            ),
                            Some(age),
                        )
                    }
                }
            },
        };
        checks.push(Check {
            name,
            ok,
            message,
            look,
            metrics: age
                .map(|a| vec![metric("BackupAgeSeconds", a as f64, "Seconds")])
                .unwrap_or_default(),
        });
    }

    // The database snapshot.
    if let Some(database) = &findings.database {
        let instance = match database {
            Ok(d) => d.instance.as_str(),
            Err((instance, _)) => instance.as_str(),
        };
        let look = format!(
            "RDS console > Snapshots, DB instance {instance} (aws rds describe-db-snapshots --db-instance-identifier {instance})"
        );
        let (ok, message, age) = match database {
            Err((_, error)) => (
                false,
                format!("could not list the snapshots of database {instance}: {error}"),
                None,
            ),
            Ok(d) => match &d.newest {
                None => (
                    false,
                    format!("no available snapshot of database {instance}"),
                    None,
                ),
                Some(s) => {
                    let age = now - s.time;
                    newest.push(("database".into(), s.time));
                    if age > limits.max_age_secs {
                        (
                            false,
                            format!(
                                "newest snapshot of database {instance} is stale: {} {} old, from {}, older than {max_age}",
                                s.id,
                                stamp::hours(age),
                                stamp::iso(s.time)
                            ),
                            Some(age),
                        )
                    } else {
                        (
                            true,
                            format!(
                                "database {instance}: snapshot {} from {} ({} old)",
                                s.id,
                                stamp::iso(s.time),
                                stamp::hours(age)
                            ),
                            Some(age),
                        )
                    }
                }
            },
        };
        checks.push(Check {
            name: "database".into(),
            ok,
            message,
            look,
            metrics: age
                .map(|a| vec![metric("BackupAgeSeconds", a as f64, "Seconds")])
                .unwrap_or_default(),
        });
    }

    // Alignment of the newest backups.
    let skew = skew(&newest);
    let max_skew = stamp::hours(limits.max_skew_secs);
    let (ok, message) = match &skew {
        None => (true, "fewer than two kinds of backup found: no skew to measure (their own checks report what is missing)".to_owned()),
        Some((secs, oldest, youngest)) if *secs > limits.max_skew_secs => (
            false,
            format!(
                "newest backups are {} apart, more than {max_skew}: {oldest} at {} but {youngest} at {}; a restore would pair records and documents from different times",
                stamp::hours(*secs),
                stamp::iso(time_of(&newest, oldest)),
                stamp::iso(time_of(&newest, youngest))
            ),
        ),
        Some((secs, _, _)) => (true, format!("newest backups lie within {} of each other", stamp::hours(*secs))),
    };
    checks.push(Check {
        name: "skew".into(),
        ok,
        message,
        look: "the BackupHour parameter drives all three schedules; compare the times above".into(),
        metrics: skew
            .as_ref()
            .map(|(s, _, _)| vec![metric("SkewSeconds", *s as f64, "Seconds")])
            .unwrap_or_default(),
    });

    Report {
        ok: checks.iter().all(|c| c.ok),
        checked_at: stamp::iso(now),
        checks,
        newest: newest
            .iter()
            .map(|(k, t)| (k.clone(), stamp::iso(*t)))
            .collect(),
        skew_seconds: skew.map(|(s, _, _)| s),
    }
}

fn time_of(newest: &[(String, i64)], kind: &str) -> i64 {
    newest
        .iter()
        .find(|(k, _)| k == kind)
        .map(|(_, t)| *t)
        .unwrap_or_default()
}

/// Spread between the oldest and the youngest of the newest backups: (seconds, oldest kind,
/// youngest kind); `None` with fewer than two kinds.
fn skew(newest: &[(String, i64)]) -> Option<(i64, String, String)> {
    if newest.len() < 2 {
        return None;
    }
    let oldest = newest.iter().min_by_key(|(_, t)| *t)?;
    let youngest = newest.iter().max_by_key(|(_, t)| *t)?;
    Some((youngest.1 - oldest.1, oldest.0.clone(), youngest.0.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_600_801; // 2026-11-25T10:00:01Z
    const H: i64 = 3600;
    const LIMITS: Thresholds = Thresholds {
        max_age_secs: 26 * H,
        max_skew_secs: 2 * H,
    };

    fn efs(restorable: i64) -> EfsFindings {
        EfsFindings {
            objects: 10,
            full_backups: 1,
            newest_full: Some(restorable - 5 * 24 * H),
            incrementals: 5,
            newest_backup: Some(restorable),
            restorable_until: Some(restorable),
            encrypted: true,
            ..EfsFindings::default()
        }
    }

    fn healthy() -> Findings {
        let t = NOW - 3 * H;
        Findings {
            location: "s3://bucket/Backup/".into(),
            efs: Ok(efs(t)),
            passphrase: Ok(Passphrase::Present {
                encryption: Some("aws:kms".into()),
            }),
            // one upload still running (10 min old): not a leftover
            multipart: Ok(Multipart {
                count: 1,
                oldest: Some(("Backup/duplicity-inc.x.vol9.difftar.gpg".into(), NOW - 600)),
            }),
            volumes: vec![
                Ok(VolumeFinding {
                    role: "primary".into(),
                    volume_id: "vol-1".into(),
                    newest: Some(Snapshot {
                        id: "snap-1".into(),
                        time: t + 60,
                    }),
                    pending: 0,
                }),
                Ok(VolumeFinding {
                    role: "replica".into(),
                    volume_id: "vol-2".into(),
                    newest: Some(Snapshot {
                        id: "snap-2".into(),
                        time: t + 90,
                    }),
                    pending: 0,
                }),
            ],
            database: Some(Ok(DatabaseFinding {
                instance: "db-1".into(),
                newest: Some(Snapshot {
                    id: "rds:db-1-2026".into(),
                    time: t + 600,
                }),
            })),
        }
    }

    fn failed(r: &Report) -> Vec<&str> {
        r.failed().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn healthy_passes_with_one_metric_per_check() {
        let r = evaluate(&healthy(), NOW, LIMITS);
        assert!(r.ok, "{:#?}", r.checks);
        let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "efs-chain",
                "efs-age",
                "efs-leftovers",
                "passphrase",
                "documents-primary",
                "documents-replica",
                "database",
                "skew"
            ]
        );
        assert!(
            r.checks.iter().all(|c| c.metrics.len() == 1),
            "{:#?}",
            r.checks
        );
        assert_eq!(r.skew_seconds, Some(600));
        assert_eq!(r.newest.len(), 4);
    }

    /// (what, change, failing check, words in its message)
    #[test]
    fn each_fault_fails_its_check_by_name() {
        type Change = fn(&mut Findings);
        let cases: Vec<(&str, Change, &str, &[&str])> = vec![
            (
                "broken chain",
                |f| {
                    f.efs.as_mut().unwrap().problems =
                        vec!["full backup X: manifest missing (m)".into()]
                },
                "efs-chain",
                &["manifest missing"],
            ),
            (
                "listing failed",
                |f| f.efs = Err("AccessDenied".into()),
                "efs-chain",
                &["could not list", "AccessDenied"],
            ),
            (
                "stale efs",
                |f| f.efs = Ok(efs(NOW - 30 * H)),
                "efs-age",
                &["stale", "30h00m", "26h00m"],
            ),
            (
                "nothing restorable",
                |f| f.efs.as_mut().unwrap().restorable_until = None,
                "efs-age",
                &["no restorable"],
            ),
            (
                "partial",
                |f| {
                    let e = f.efs.as_mut().unwrap();
                    e.partials = 2;
                    e.partial_example = Some("duplicity-full.X.vol1.difftar.part.gpg".into());
                },
                "efs-leftovers",
                &["2 leftover", ".part.gpg"],
            ),
            (
                "stale multipart upload",
                |f| {
                    f.multipart = Ok(Multipart {
                        count: 2,
                        oldest: Some((
                            "Backup/duplicity-full.X.vol3.difftar.gpg".into(),
                            NOW - 2 * H,
                        )),
                    })
                },
                "efs-leftovers",
                &["2 incomplete multipart upload", "vol3.difftar.gpg"],
            ),
            (
                "multipart listing denied",
                |f| f.multipart = Err("AccessDenied".into()),
                "efs-leftovers",
                &["could not list the multipart uploads", "AccessDenied"],
            ),
            (
                "passphrase missing",
                |f| f.passphrase = Ok(Passphrase::Missing),
                "passphrase",
                &["missing", "passphrase.txt"],
            ),
            (
                "passphrase AES256",
                |f| {
                    f.passphrase = Ok(Passphrase::Present {
                        encryption: Some("AES256".into()),
                    })
                },
                "passphrase",
                &["not SSE-KMS", "AES256"],
            ),
            (
                "passphrase plain",
                |f| f.passphrase = Ok(Passphrase::Present { encryption: None }),
                "passphrase",
                &["not SSE-KMS", "none"],
            ),
            (
                "stale replica snapshot",
                |f| {
                    if let Ok(v) = &mut f.volumes[1] {
                        v.newest = Some(Snapshot {
                            id: "snap-old".into(),
                            time: NOW - 50 * H,
                        });
                    }
                },
                "documents-replica",
                &["stale", "vol-2", "snap-old"],
            ),
            (
                "no primary snapshot, one pending",
                |f| {
                    if let Ok(v) = &mut f.volumes[0] {
                        v.newest = None;
                        v.pending = 1;
                    }
                },
                "documents-primary",
                &["no completed snapshot", "vol-1", "1 still pending"],
            ),
            (
                "volume error",
                |f| {
                    f.volumes[0] = Err((
                        VolumeRef {
                            role: "primary".into(),
                            volume_id: "vol-1".into(),
                        },
                        "Throttling".into(),
                    ))
                },
                "documents-primary",
                &["could not list", "Throttling"],
            ),
            (
                "stale database",
                |f| {
                    f.database = Some(Ok(DatabaseFinding {
                        instance: "db-1".into(),
                        newest: Some(Snapshot {
                            id: "old".into(),
                            time: NOW - 27 * H,
                        }),
                    }))
                },
                "database",
                &["stale", "db-1"],
            ),
            (
                "no database snapshot",
                |f| {
                    f.database = Some(Ok(DatabaseFinding {
                        instance: "db-1".into(),
                        newest: None,
                    }))
                },
                "database",
                &["no available snapshot", "db-1"],
            ),
        ];
        for (what, change, check, words) in cases {
            let mut f = healthy();
            change(&mut f);
            let r = evaluate(&f, NOW, LIMITS);
            assert!(!r.ok, "{what}");
            let failing = failed(&r);
            assert!(
                failing.contains(&check),
                "{what}: failed {failing:?}, expected {check}"
            );
            let c = r.checks.iter().find(|c| c.name == check).unwrap();
            for w in words {
                assert!(
                    c.message.contains(w),
                    "{what}: {:?} should contain {w:?}",
                    c.message
                );
            }
        }
    }

    #[test]
    fn skew_over_threshold_fails_naming_both_ends() {
        let mut f = healthy();
        // the EFS backup 5 h before the snapshots, all still fresh
        f.efs = Ok(efs(NOW - 8 * H));
        let r = evaluate(&f, NOW, LIMITS);
        assert_eq!(failed(&r), ["skew"]);
        let c = r.checks.last().unwrap();
        assert!(
            c.message.contains("efs at")
                && c.message.contains("database at")
                && c.message.contains("5h10m"),
            "{}",
            c.message
        );
        assert_eq!(c.metrics[0].value, (5 * H + 600) as f64);
        // exactly at the threshold passes
        let mut f = healthy();
        f.volumes.clear();
        f.database = Some(Ok(DatabaseFinding {
            instance: "db-1".into(),
            newest: Some(Snapshot {
                id: "x".into(),
                time: NOW - 3 * H + 2 * H,
            }),
        }));
        assert!(evaluate(&f, NOW, LIMITS).ok);
    }

    #[test]
    fn skip_document_store_has_no_document_checks() {
        let mut f = healthy();
        f.volumes.clear();
        let r = evaluate(&f, NOW, LIMITS);
        assert!(r.ok);
        assert!(r.checks.iter().all(|c| !c.name.starts_with("documents")));
    }

    #[test]
    fn age_at_the_threshold_passes_and_one_second_more_fails() {
        let mut f = healthy();
        f.efs = Ok(efs(NOW - 26 * H));
        f.volumes.clear();
        f.database = None;
        assert!(evaluate(&f, NOW, LIMITS).ok);
        f.efs = Ok(efs(NOW - 26 * H - 1));
        assert_eq!(failed(&evaluate(&f, NOW, LIMITS)), ["efs-age"]);
    }
}
