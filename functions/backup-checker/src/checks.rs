//! The decisions: the [`Findings`] gathered, judged against the thresholds. Pure, no AWS: the
//! facts are plain structs (an AWS error is an [`ApiError`] value), so table tests build them.

use aws_clients::ApiError;
use serde::Serialize;
use stack_contract::backup_checker::{DRILL_CHECK, passphrase_name};
use stack_contract::restore_drill::{DAYS_SINCE_SUCCESS_METRIC, REPORT_PREFIX};
use stack_contract::volumes::Volume;
use time::{Duration, OffsetDateTime};

use crate::duplicity::EfsFindings;
use crate::stamp;

/// Limits from the template parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// The newest backup of each kind must be younger than this.
    pub max_age: Duration,
    /// The newest backups of the kinds must lie within this of each other.
    pub max_skew: Duration,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: String,
    /// Start / create time.
    pub time: OffsetDateTime,
}

/// A document volume and its newest completed snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFinding {
    /// The volume's logical ID: `CouchDBVolume`, or `RCouchDBVolume` (dual-AZ).
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

/// The restore drill's reports (`recovery/drills/`), from one listing of their names and
/// times (never their content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillReports {
    /// When `last-success.json` was written: the last drill that passed.
    pub last_success: Option<OffsetDateTime>,
    /// When the oldest report was written: the first drill, passed or not.
    pub first: Option<OffsetDateTime>,
}

/// A stack with a scheduled drill: its reports and the age `DrillMaxAgeDays` alarms after.
#[derive(Debug, Clone)]
pub struct DrillFinding {
    pub max_age: Duration,
    pub reports: Result<DrillReports, ApiError>,
}

/// Everything gathered, or why it could not be (an API error is a failed check too).
#[derive(Debug, Clone)]
pub struct Findings {
    /// `s3://bucket/prefix` for messages.
    pub location: String,
    pub efs: Result<EfsFindings, ApiError>,
    pub passphrase: Result<Passphrase, ApiError>,
    /// Incomplete multipart uploads under the prefix (an interrupted volume upload).
    pub multipart: Result<Multipart, ApiError>,
    pub volumes: Vec<Result<VolumeFinding, (Volume, ApiError)>>,
    /// `None` when no database instance is configured.
    pub database: Option<Result<DatabaseFinding, (String, ApiError)>>,
    /// `None` when the stack has no scheduled restore drill.
    pub drill: Option<DrillFinding>,
}

/// Incomplete multipart uploads under the backup prefix: a count and the oldest, never a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multipart {
    pub count: u64,
    /// (key, initiated) of the oldest.
    pub oldest: Option<(String, OffsetDateTime)>,
}

/// A multipart upload younger than this may still be running; older ones are leftovers.
pub const MULTIPART_GRACE: Duration = Duration::HOUR;

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
    /// Stable name, the `Check` dimension of the metrics (`efs-chain`,
    /// `documents-CouchDBVolume` ...).
    pub name: String,
    pub ok: bool,
    /// One line for people: what was found, or what failed.
    pub message: String,
    /// Where an operator looks to see it for themselves.
    pub look: String,
    pub metrics: Vec<Metric>,
    /// Set when the check failed only because an AWS call failed: the backup was not seen,
    /// which is not the same as a bad backup (see [`Report::unverified`]).
    #[serde(skip)]
    pub api_error: Option<ApiError>,
}

/// The result of one run: what the function returns, logs and (on failure) sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checked_at: String,
    pub checks: Vec<Check>,
    /// Newest backup of each kind (`efs`, `documents-CouchDBVolume`, `database` ...), RFC 3339.
    pub newest: Vec<(String, String)>,
    pub skew_seconds: Option<i64>,
}

impl Report {
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }

    /// True when checks failed and every failure is an AWS call that failed: nothing was found
    /// wrong with a backup, the checker could not look.
    pub fn unverified(&self) -> bool {
        !self.ok && self.failed().all(|c| c.api_error.is_some())
    }
}

fn metric(name: &'static str, value: f64, unit: &'static str) -> Metric {
    Metric { name, value, unit }
}

fn ok_metric(name: &'static str, ok: bool) -> Metric {
    metric(name, if ok { 1.0 } else { 0.0 }, "Count")
}

fn age_metric(age: Duration) -> Metric {
    metric("BackupAgeSeconds", age.whole_seconds() as f64, "Seconds")
}

impl Check {
    fn new(name: impl Into<String>, ok: bool, message: String, look: String) -> Check {
        Check {
            name: name.into(),
            ok,
            message,
            look,
            metrics: Vec::new(),
            api_error: None,
        }
    }

    fn with_metric(mut self, metric: Metric) -> Check {
        self.metrics.push(metric);
        self
    }

    /// A check that failed because the AWS call behind it failed.
    fn api_failure(
        name: impl Into<String>,
        message: String,
        look: String,
        error: &ApiError,
    ) -> Check {
        Check {
            api_error: Some(error.clone()),
            ..Check::new(name, false, format!("{message}: {error}"), look)
        }
    }
}

/// A check and, for an age check that found a backup, the (kind, time) of that backup for the
/// skew.
struct Judged {
    check: Check,
    newest: Option<(String, OffsetDateTime)>,
}

impl From<Check> for Judged {
    fn from(check: Check) -> Judged {
        Judged {
            check,
            newest: None,
        }
    }
}

/// Judges `findings` at `now`: one check after the other, then their skew.
pub fn evaluate(findings: &Findings, now: OffsetDateTime, limits: Thresholds) -> Report {
    let location = findings.location.as_str();
    let mut judged: Vec<Judged> = vec![efs_chain(&findings.efs, location).into()];
    if let Ok(efs) = &findings.efs {
        judged.push(efs_age(efs, location, now, limits));
    }
    judged.push(leftovers(findings, now).into());
    judged.push(passphrase(&findings.passphrase, location).into());
    judged.extend(
        findings
            .volumes
            .iter()
            .map(|v| document_volume(v, now, limits)),
    );
    if let Some(database) = &findings.database {
        judged.push(database_snapshot(database, now, limits));
    }
    let newest: Vec<(String, OffsetDateTime)> =
        judged.iter().filter_map(|j| j.newest.clone()).collect();
    let mut checks: Vec<Check> = judged.into_iter().map(|j| j.check).collect();
    let skew = skew(&newest);
    checks.push(skew_check(skew.as_ref(), &newest, limits));
    if let Some(drill) = &findings.drill {
        checks.push(restore_drill(drill, now));
    }
    Report {
        ok: checks.iter().all(|c| c.ok),
        checked_at: stamp::iso(now),
        checks,
        newest: newest
            .iter()
            .map(|(k, t)| (k.clone(), stamp::iso(*t)))
            .collect(),
        skew_seconds: skew.map(|(s, _, _)| s.whole_seconds()),
    }
}

/// The newest backup of one kind, found: what the one fresh-or-stale verdict ([`age_check`])
/// says about it.
struct Found {
    /// Start of the message when fresh, followed by ` from <time> (<age> old)`.
    fresh: String,
    /// Start of the message when stale, followed by ` <age> old, from <time>, older than ..`.
    stale: String,
    time: OffsetDateTime,
}

/// The one fresh-or-stale verdict of every kind of backup: fresh when no older than
/// `limits.max_age`. `kind` names the backup in the skew; `None` found fails with the
/// check as given.
fn age_check(
    kind: &str,
    missing: Check,
    found: Option<Found>,
    now: OffsetDateTime,
    limits: Thresholds,
) -> Judged {
    let Some(found) = found else {
        return missing.into();
    };
    let age = now - found.time;
    let (ok, message) = if age > limits.max_age {
        let message = format!(
            "{} {} old, from {}, older than {}",
            found.stale,
            stamp::hours(age),
            stamp::iso(found.time),
            stamp::hours(limits.max_age)
        );
        (false, message)
    } else {
        let message = format!(
            "{} from {} ({} old)",
            found.fresh,
            stamp::iso(found.time),
            stamp::hours(age)
        );
        (true, message)
    };
    Judged {
        check: Check {
            ok,
            message,
            ..missing
        }
        .with_metric(age_metric(age)),
        newest: Some((kind.to_owned(), found.time)),
    }
}

/// `efs-chain`: the newest duplicity chain is whole.
fn efs_chain(efs: &Result<EfsFindings, ApiError>, location: &str) -> Check {
    let look =
        format!("aws s3 ls {location} ; duplicity collection-status on the NFS backup instance");
    let efs = match efs {
        Ok(efs) => efs,
        Err(error) => {
            let message = format!("could not list the EFS backup in {location}");
            return Check::api_failure(
                "efs-chain",
                message,
                format!("aws s3 ls {location}"),
                error,
            )
            .with_metric(ok_metric("ChainOk", false));
        }
    };
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
    Check::new("efs-chain", ok, message, look).with_metric(ok_metric("ChainOk", ok))
}

/// `efs-age`: the newest restorable point of the chain is fresh.
fn efs_age(efs: &EfsFindings, location: &str, now: OffsetDateTime, limits: Thresholds) -> Judged {
    let missing = Check::new(
        "efs-age",
        false,
        format!("no restorable EFS backup in {location}"),
        format!(
            "aws s3 ls {location} ; the NFS backup instance's /var/log/syslog (cron) and backup log"
        ),
    );
    let found = efs.restorable_until.map(|time| Found {
        fresh: "newest restorable EFS backup".into(),
        stale: "newest restorable EFS backup is stale:".into(),
        time,
    });
    age_check("efs", missing, found, now, limits)
}

/// `efs-leftovers`: no duplicity `.part` files and no S3 multipart upload older than the grace
/// period, both left by an interrupted upload (they also cost storage).
fn leftovers(findings: &Findings, now: OffsetDateTime) -> Check {
    let location = &findings.location;
    let (partials, example) = findings
        .efs
        .as_ref()
        .map(|e| (e.partials, e.partial_example.clone()))
        .unwrap_or_default();
    let mut problems = Vec::new();
    if partials > 0 {
        problems.push(format!(
            "{partials} leftover partial upload(s) (.part) in {location}, e.g. {}",
            example.as_deref().unwrap_or("?")
        ));
    }
    let stale_multipart = match &findings.multipart {
        Err(error) => {
            problems.push(format!(
                "could not list the multipart uploads in {location}: {error}"
            ));
            0
        }
        Ok(m) => match stale_upload(m, location, now) {
            Some(problem) => {
                problems.push(problem);
                m.count
            }
            None => 0,
        },
    };
    let ok = problems.is_empty();
    let message = if ok {
        "no partial uploads".into()
    } else {
        format!("{}: a backup was interrupted", problems.join("; "))
    };
    let look = format!(
        "aws s3 ls {location} | grep '\\.part' ; aws s3api list-multipart-uploads --bucket <bucket> --prefix <prefix>"
    );
    let only_the_api_failed = partials == 0;
    Check {
        api_error: findings
            .multipart
            .as_ref()
            .err()
            .filter(|_| only_the_api_failed)
            .cloned(),
        ..Check::new("efs-leftovers", ok, message, look)
    }
    .with_metric(metric(
        "PartialUploads",
        (partials + stale_multipart) as f64,
        "Count",
    ))
}

/// The multipart-upload problem, when the oldest upload is past the grace period.
fn stale_upload(m: &Multipart, location: &str, now: OffsetDateTime) -> Option<String> {
    let (key, initiated) = m.oldest.as_ref()?;
    (now - *initiated > MULTIPART_GRACE).then(|| {
        format!(
            "{} incomplete multipart upload(s) under {location}, the oldest started {} ({key})",
            m.count,
            stamp::iso(*initiated)
        )
    })
}

/// `passphrase`: the object exists and is SSE-KMS encrypted (from its metadata only).
fn passphrase(found: &Result<Passphrase, ApiError>, location: &str) -> Check {
    let object = format!("{location}{}", passphrase_name());
    let look = format!("aws s3api head-object on {object} (ServerSideEncryption must be aws:kms)");
    let (ok, message) = match found {
        Err(error) => {
            let message = format!("could not read the metadata of {object}");
            return Check::api_failure("passphrase", message, look, error)
                .with_metric(ok_metric("PassphraseOk", false));
        }
        Ok(Passphrase::Missing) => (
            false,
            format!("passphrase object {object} is missing: the EFS backup cannot be decrypted"),
        ),
        Ok(Passphrase::Present { encryption }) => match encryption.as_deref() {
            Some(kms @ ("aws:kms" | "aws:kms:dsse")) => (
                true,
                format!("passphrase object present and SSE-KMS encrypted ({kms})"),
            ),
            other => (
                false,
                format!(
                    "passphrase object {object} is not SSE-KMS encrypted (server-side encryption: {})",
                    other.unwrap_or("none")
                ),
            ),
        },
    };
    Check::new("passphrase", ok, message, look).with_metric(ok_metric("PassphraseOk", ok))
}

/// `documents-<role>`: the newest completed snapshot of one document volume is fresh.
fn document_volume(
    volume: &Result<VolumeFinding, (Volume, ApiError)>,
    now: OffsetDateTime,
    limits: Thresholds,
) -> Judged {
    let (role, volume_id) = match volume {
        Ok(v) => (v.role.as_str(), v.volume_id.as_str()),
        Err((v, _)) => (v.role.as_str(), v.id.as_str()),
    };
    let name = format!("documents-{role}");
    let look = format!(
        "EC2 console > Snapshots, filter Volume ID = {volume_id} (aws ec2 describe-snapshots --filters Name=volume-id,Values={volume_id})"
    );
    let v = match volume {
        Ok(v) => v,
        Err((_, error)) => {
            let message =
                format!("could not list the snapshots of document volume {volume_id} ({role})");
            return Check::api_failure(name, message, look, error).into();
        }
    };
    let pending = if v.pending > 0 {
        format!("; {} still pending", v.pending)
    } else {
        String::new()
    };
    let missing = Check::new(
        name.as_str(),
        false,
        format!("no completed snapshot of document volume {volume_id} ({role}){pending}"),
        look,
    );
    let found = v.newest.as_ref().map(|s| Found {
        fresh: format!("document volume {volume_id} ({role}): snapshot {}", s.id),
        stale: format!(
            "newest completed snapshot of document volume {volume_id} ({role}) is stale: {}",
            s.id
        ),
        time: s.time,
    });
    age_check(&name, missing, found, now, limits)
}

/// `database`: the newest available snapshot of the database instance is fresh.
fn database_snapshot(
    database: &Result<DatabaseFinding, (String, ApiError)>,
    now: OffsetDateTime,
    limits: Thresholds,
) -> Judged {
    let instance = match database {
        Ok(d) => d.instance.as_str(),
        Err((instance, _)) => instance.as_str(),
    };
    let look = format!(
        "RDS console > Snapshots, DB instance {instance} (aws rds describe-db-snapshots --db-instance-identifier {instance})"
    );
    let d = match database {
        Ok(d) => d,
        Err((_, error)) => {
            let message = format!("could not list the snapshots of database {instance}");
            return Check::api_failure("database", message, look, error).into();
        }
    };
    let missing = Check::new(
        "database",
        false,
        format!("no available snapshot of database {instance}"),
        look,
    );
    let found = d.newest.as_ref().map(|s| Found {
        fresh: format!("database {instance}: snapshot {}", s.id),
        stale: format!("newest snapshot of database {instance} is stale: {}", s.id),
        time: s.time,
    });
    age_check("database", missing, found, now, limits)
}

/// `skew`: the newest backups of the kinds lie within `limits.max_skew` of each other.
fn skew_check(
    skew: Option<&(Duration, String, String)>,
    newest: &[(String, OffsetDateTime)],
    limits: Thresholds,
) -> Check {
    let max_skew = stamp::hours(limits.max_skew);
    let (ok, message) = match skew {
        None => (true, "fewer than two kinds of backup found: no skew to measure (their own checks report what is missing)".to_owned()),
        Some((spread, oldest, youngest)) if *spread > limits.max_skew => (
            false,
            format!(
                "newest backups are {} apart, more than {max_skew}: {oldest} at {} but {youngest} at {}; a restore would pair records and documents from different times",
                stamp::hours(*spread),
                stamp::iso(time_of(newest, oldest)),
                stamp::iso(time_of(newest, youngest))
            ),
        ),
        Some((spread, _, _)) => (true, format!("newest backups lie within {} of each other", stamp::hours(*spread))),
    };
    let look = "the BackupHour parameter drives all three schedules; compare the times above";
    let check = Check::new("skew", ok, message, look.into());
    match skew {
        Some((spread, _, _)) => check.with_metric(metric(
            "SkewSeconds",
            spread.whole_seconds() as f64,
            "Seconds",
        )),
        None => check,
    }
}

/// `restore-drill`: days since the last successful restore drill, the metric
/// `RestoreDrillOverdueAlarm` reads ([`DAYS_SINCE_SUCCESS_METRIC`]). Before any drill passed it
/// counts from the first drill; before any drill ran there is nothing to count from, and no
/// metric (the alarm treats that as not breaching). An overdue drill does not fail the night's
/// check: the backups are what this function proves; the alarm, with its OK action when a
/// drill passes again, is the one message about the drill. Only an unreadable listing fails.
fn restore_drill(drill: &DrillFinding, now: OffsetDateTime) -> Check {
    let look = format!(
        "the reports under {REPORT_PREFIX} of the stack bucket (aws s3 ls s3://<bucket>/{REPORT_PREFIX}), and the RestoreDrillStateMachine's executions"
    );
    let reports = match &drill.reports {
        Ok(reports) => reports,
        Err(error) => {
            return Check::api_failure(
                DRILL_CHECK,
                format!("could not list the restore drill's reports under {REPORT_PREFIX}"),
                look,
                error,
            );
        }
    };
    let elapsed = |since: OffsetDateTime| (now - since).max(Duration::ZERO);
    let days = |since| elapsed(since).as_seconds_f64() / 86_400.0;
    let (message, since) = match (reports.last_success, reports.first) {
        (Some(success), _) => (
            format!(
                "last successful restore drill {:.1} days ago ({})",
                days(success),
                stamp::iso(success)
            ),
            success,
        ),
        (None, Some(first)) => (
            format!(
                "no restore drill has passed yet; the first ran {:.1} days ago ({})",
                days(first),
                stamp::iso(first)
            ),
            first,
        ),
        (None, None) => {
            let message = "no restore drill has run yet (the first runs on the first Sunday of the month, or start one by hand)";
            return Check::new(DRILL_CHECK, true, message.into(), look);
        }
    };
    let message = if elapsed(since) > drill.max_age {
        format!(
            "{message}: overdue (DrillMaxAgeDays {})",
            drill.max_age.whole_days()
        )
    } else {
        message
    };
    Check::new(DRILL_CHECK, true, message, look).with_metric(metric(
        DAYS_SINCE_SUCCESS_METRIC,
        days(since),
        "None",
    ))
}

fn time_of(newest: &[(String, OffsetDateTime)], kind: &str) -> OffsetDateTime {
    newest
        .iter()
        .find(|(k, _)| k == kind)
        .map_or(OffsetDateTime::UNIX_EPOCH, |(_, t)| *t)
}

/// Spread between the oldest and the youngest of the newest backups: (spread, oldest kind,
/// youngest kind); `None` with fewer than two kinds.
fn skew(newest: &[(String, OffsetDateTime)]) -> Option<(Duration, String, String)> {
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
    use stack_contract::volumes::{PRIMARY, REPLICA};
    use time::macros::datetime;

    fn api(code: &str) -> ApiError {
        ApiError::new(code, "from the table test")
    }

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00:01 UTC);
    const S: Duration = Duration::SECOND;
    const MIN: Duration = Duration::MINUTE;
    const H: Duration = Duration::HOUR;
    const D: Duration = Duration::DAY;
    const LIMITS: Thresholds = Thresholds {
        max_age: Duration::hours(26),
        max_skew: Duration::hours(2),
    };

    fn efs(restorable: OffsetDateTime) -> EfsFindings {
        EfsFindings {
            objects: 10,
            full_backups: 1,
            newest_full: Some(restorable - 5 * D),
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
                oldest: Some((
                    "Backup/duplicity-inc.x.vol9.difftar.gpg".into(),
                    NOW - 10 * MIN,
                )),
            }),
            volumes: vec![
                Ok(VolumeFinding {
                    role: PRIMARY.into(),
                    volume_id: "vol-1".into(),
                    newest: Some(Snapshot {
                        id: "snap-1".into(),
                        time: t + 60 * S,
                    }),
                    pending: 0,
                }),
                Ok(VolumeFinding {
                    role: REPLICA.into(),
                    volume_id: "vol-2".into(),
                    newest: Some(Snapshot {
                        id: "snap-2".into(),
                        time: t + 90 * S,
                    }),
                    pending: 0,
                }),
            ],
            database: Some(Ok(DatabaseFinding {
                instance: "db-1".into(),
                newest: Some(Snapshot {
                    id: "rds:db-1-2026".into(),
                    time: t + 10 * MIN,
                }),
            })),
            drill: None,
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
                "documents-CouchDBVolume",
                "documents-RCouchDBVolume",
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
                |f| f.efs = Err(api("AccessDenied")),
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
                |f| f.multipart = Err(api("AccessDenied")),
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
                "documents-RCouchDBVolume",
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
                "documents-CouchDBVolume",
                &["no completed snapshot", "vol-1", "1 still pending"],
            ),
            (
                "volume error",
                |f| {
                    f.volumes[0] = Err((
                        Volume {
                            role: PRIMARY.into(),
                            id: "vol-1".into(),
                        },
                        api("Throttling"),
                    ))
                },
                "documents-CouchDBVolume",
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
        assert_eq!(c.metrics[0].value, (5 * 3600 + 600) as f64);
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
        f.efs = Ok(efs(NOW - 26 * H - S));
        assert_eq!(failed(&evaluate(&f, NOW, LIMITS)), ["efs-age"]);
    }

    #[test]
    fn failed_aws_calls_alone_leave_the_backups_unverified() {
        let mut f = healthy();
        f.passphrase = Err(api("AccessDenied"));
        f.multipart = Err(api("SlowDown"));
        let r = evaluate(&f, NOW, LIMITS);
        assert_eq!(failed(&r), ["efs-leftovers", "passphrase"]);
        assert!(r.unverified());
        // a backup found wrong as well: a real failure
        if let Ok(v) = &mut f.volumes[0] {
            v.newest = None;
        }
        assert!(!evaluate(&f, NOW, LIMITS).unverified());
        // a `.part` leftover next to the failed listing is a finding too
        let mut f = healthy();
        f.multipart = Err(api("SlowDown"));
        f.efs.as_mut().unwrap().partials = 1;
        assert!(!evaluate(&f, NOW, LIMITS).unverified());
        assert!(!evaluate(&healthy(), NOW, LIMITS).unverified());
    }

    #[test]
    fn the_drill_age_counts_from_the_last_success_then_the_first_drill_and_never_fails_a_night() {
        let drill = |last_success, first| DrillFinding {
            max_age: 35 * D,
            reports: Ok(DrillReports {
                last_success,
                first,
            }),
        };
        let check = |finding: DrillFinding| {
            let mut f = healthy();
            f.drill = Some(finding);
            let r = evaluate(&f, NOW, LIMITS);
            let c = r.checks.iter().find(|c| c.name == DRILL_CHECK).cloned();
            (r.ok, c.expect("a restore-drill check"))
        };
        let days = |c: &Check| c.metrics.first().map(|m| (m.name, m.value));

        // (last success, first report) → (metric, words in the message)
        let cases = [
            (
                drill(Some(NOW - 6 * D), Some(NOW - 90 * D)),
                Some(6.0),
                "last successful restore drill 6.0 days ago",
            ),
            (
                drill(Some(NOW - 40 * D), Some(NOW - 90 * D)),
                Some(40.0),
                "overdue (DrillMaxAgeDays 35)",
            ),
            (
                drill(None, Some(NOW - 36 * D - 12 * H)),
                Some(36.5),
                "no restore drill has passed yet; the first ran 36.5 days ago",
            ),
            (drill(None, None), None, "no restore drill has run yet"),
        ];
        for (finding, metric, words) in cases {
            let (ok, c) = check(finding);
            assert!(ok && c.ok, "an overdue drill is the alarm's to tell: {c:?}");
            assert_eq!(days(&c), metric.map(|m| (DAYS_SINCE_SUCCESS_METRIC, m)));
            assert!(c.message.contains(words), "{}", c.message);
        }

        // An unreadable listing is a check that could not look.
        let (ok, c) = check(DrillFinding {
            max_age: 35 * D,
            reports: Err(api("AccessDenied")),
        });
        assert!(!ok && !c.ok && c.api_error.is_some(), "{c:?}");
        assert!(c.message.contains(REPORT_PREFIX), "{}", c.message);

        // No scheduled drill: no check at all.
        let r = evaluate(&healthy(), NOW, LIMITS);
        assert!(r.checks.iter().all(|c| c.name != DRILL_CHECK));
    }
}
