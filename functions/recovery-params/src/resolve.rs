//! Resolve mode, the decisions: from the facts the AWS calls found about the four inputs (and
//! the manifest, if any), either the recovery stack's values or every input that is wrong.
//!
//! Pure functions over plain structs; [`crate::gather`] gathers the facts.

use aws_clients::ApiError;
use stack_contract::storage;

use crate::inputs::{
    self, BUCKET, COUCHDB_SNAPSHOT, InputError, KMS_KEY, KmsKeyArn, RDS_SNAPSHOT, RdsSnapshotArn,
    TIME_ZONE,
};
use crate::manifest::{MANIFEST_KEY, Manifest, ManifestError, Secret};

/// The resolve request's inputs, as given (the properties of `RecoveryParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawInputs {
    pub kms_key: String,
    pub rds_snapshot_arn: String,
    /// `None` when the recovery stack has no document store.
    pub couchdb_snapshot: Option<String>,
    pub bucket: String,
    /// Empty: from the manifest.
    pub time_zone: String,
}

/// The inputs after the format checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub key: KmsKeyArn,
    pub rds_snapshot: RdsSnapshotArn,
    pub couchdb_snapshot: Option<String>,
    pub bucket: String,
    pub time_zone: Option<String>,
}

/// Format checks of every input, before any AWS call; all problems at once.
pub fn check_inputs(raw: &RawInputs, stack_region: &str) -> Result<Inputs, Vec<InputError>> {
    let key = inputs::parse_kms_key(&raw.kms_key, stack_region);
    let rds = inputs::parse_rds_snapshot(&raw.rds_snapshot_arn, stack_region);
    let ebs = raw
        .couchdb_snapshot
        .as_deref()
        .map(inputs::parse_ebs_snapshot)
        .transpose();
    let bucket = inputs::parse_bucket(&raw.bucket);
    let time_zone = match raw.time_zone.trim() {
        "" => Ok(None),
        text => inputs::check_time_zone(TIME_ZONE, text).map(Some),
    };
    match (key, rds, ebs, bucket, time_zone) {
        (Ok(key), Ok(rds_snapshot), Ok(couchdb_snapshot), Ok(bucket), Ok(time_zone)) => {
            Ok(Inputs {
                key,
                rds_snapshot,
                couchdb_snapshot,
                bucket,
                time_zone,
            })
        }
        (key, rds, ebs, bucket, time_zone) => Err([
            key.err(),
            rds.err(),
            ebs.err(),
            bucket.err(),
            time_zone.err(),
        ]
        .into_iter()
        .flatten()
        .collect()),
    }
}

/// `DescribeKey` as far as a recovery cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
}

/// `DescribeDBSnapshots` for the snapshot's name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DbSnapshotFacts {
    /// `available` when completed.
    pub status: String,
    pub percent_progress: Option<i32>,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    pub engine: String,
    /// Full version, e.g. `8.0.39`.
    pub engine_version: String,
    pub master_username: String,
    pub allocated_storage_gb: i32,
}

/// `DescribeSnapshots` for the EBS snapshot id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EbsSnapshotFacts {
    /// `completed`, `pending`, `error`, ...
    pub state: String,
    pub progress: Option<String>,
    pub encrypted: bool,
    /// Real EC2 names the key of every encrypted snapshot; the emulator names none.
    pub kms_key_id: Option<String>,
    pub volume_size_gb: i32,
}

/// What the bucket holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketFacts {
    /// The bucket's region (`GetBucketLocation`, empty constraint = us-east-1).
    pub region: String,
    /// A duplicity full backup under `Backup/`: its manifest and first volume.
    pub full_backup: bool,
    /// `Backup/passphrase.txt` exists.
    pub passphrase: bool,
    /// `recovery/manifest.json`, if present.
    pub manifest: Option<Vec<u8>>,
}

/// A fact-finding call's result: found, not found, or the call failed.
pub type Found<T> = Result<Option<T>, CallFailed>;

/// A failed AWS call: which call (`S3 HeadObject`), and AWS's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call}: {error}")]
pub struct CallFailed {
    pub call: &'static str,
    pub error: ApiError,
}

/// Where the resolved values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manifest,
    /// No manifest (a stack built by the original generator): the snapshots, plus TimeZone.
    Snapshots,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manifest => "manifest",
            Source::Snapshots => "snapshots",
        }
    }
}

/// The values the recovery stack is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub time_zone: String,
    pub patient_records_gb: u32,
    pub document_storage_gb: Option<u32>,
    pub master_username: String,
    /// Major version, e.g. `8.0`.
    pub engine_version: String,
    /// Empty when unknown (no manifest): the restored database keeps its snapshot's password.
    pub password: Secret,
    pub source: Source,
    /// What the operator should know (fallbacks, overrides), for the logs and the `Notes`
    /// attribute. Never holds a secret.
    pub notes: Vec<String>,
}

fn call_failed(input: &'static str, failure: &CallFailed) -> InputError {
    InputError::new(input, format!("could not be checked ({failure})"))
}

/// `RecoveryKMSKey` must exist and be enabled.
pub fn decide_key(key: &KmsKeyArn, facts: &Found<KeyFacts>) -> Result<(), InputError> {
    let facts = match facts {
        Err(message) => return Err(call_failed(KMS_KEY, message)),
        Ok(None) => {
            return Err(InputError::new(
                KMS_KEY,
                format!(
                    "key {} not found in {} (deleted, or another account's)",
                    key.arn, key.region
                ),
            ));
        }
        Ok(Some(facts)) => facts,
    };
    match facts.state.as_str() {
        "Enabled" => Ok(()),
        "Disabled" => Err(InputError::new(
            KMS_KEY,
            format!(
                "key {} is disabled: enable it (aws kms enable-key) and retry",
                key.arn
            ),
        )),
        "PendingDeletion" | "PendingReplicaDeletion" => Err(InputError::new(
            KMS_KEY,
            format!(
                "key {} is pending deletion: cancel it (aws kms cancel-key-deletion), enable the key, and retry",
                key.arn
            ),
        )),
        other => Err(InputError::new(
            KMS_KEY,
            format!("key {} is in state {other}, not Enabled", key.arn),
        )),
    }
}

fn encryption_problem(
    what: &str,
    encrypted: bool,
    kms_key_id: Option<&str>,
    key: &KmsKeyArn,
) -> Option<String> {
    if !encrypted {
        return Some(format!(
            "{what} is not encrypted; the stack's snapshots are encrypted with RecoveryKMSKey: give one of those"
        ));
    }
    match kms_key_id {
        Some(id) if !inputs::same_key(id, key) => Some(format!(
            "{what} is encrypted with key {id}, not with RecoveryKMSKey {}: give the key of the stack that made the snapshot",
            key.arn
        )),
        _ => None,
    }
}

/// `RecoveryRDSSnapshotARN` must be an available MySQL snapshot encrypted with the key.
pub fn decide_db_snapshot(
    arn: &RdsSnapshotArn,
    key: &KmsKeyArn,
    facts: &Found<DbSnapshotFacts>,
) -> Result<DbSnapshotFacts, InputError> {
    let facts = match facts {
        Err(message) => return Err(call_failed(RDS_SNAPSHOT, message)),
        Ok(None) => {
            return Err(InputError::new(
                RDS_SNAPSHOT,
                format!("snapshot {} not found in {}", arn.name, arn.region),
            ));
        }
        Ok(Some(facts)) => facts,
    };
    if facts.status != "available" {
        let progress = facts
            .percent_progress
            .map(|p| format!(", {p}% done"))
            .unwrap_or_default();
        return Err(InputError::new(
            RDS_SNAPSHOT,
            format!(
                "snapshot {} is not completed (status {}{progress}): wait until it is available, or give an older one",
                arn.name, facts.status
            ),
        ));
    }
    if let Some(problem) = encryption_problem(
        &format!("snapshot {}", arn.name),
        facts.encrypted,
        facts.kms_key_id.as_deref(),
        key,
    ) {
        return Err(InputError::new(RDS_SNAPSHOT, problem));
    }
    if facts.engine != "mysql" {
        return Err(InputError::new(
            RDS_SNAPSHOT,
            format!(
                "snapshot {} is of a {} database, not MySQL",
                arn.name, facts.engine
            ),
        ));
    }
    Ok(facts.clone())
}

/// `RecoveryCouchDBSnapshot` must be a completed EBS snapshot encrypted with the key.
pub fn decide_ebs_snapshot(
    id: &str,
    key: &KmsKeyArn,
    region: &str,
    facts: &Found<EbsSnapshotFacts>,
) -> Result<EbsSnapshotFacts, InputError> {
    let facts = match facts {
        Err(message) => return Err(call_failed(COUCHDB_SNAPSHOT, message)),
        Ok(None) => {
            return Err(InputError::new(
                COUCHDB_SNAPSHOT,
                format!(
                    "snapshot {id} not found in {region} (a snapshot in another region must be copied here first)"
                ),
            ));
        }
        Ok(Some(facts)) => facts,
    };
    if facts.state != "completed" {
        let progress = facts
            .progress
            .as_deref()
            .map(|p| format!(", {p} done"))
            .unwrap_or_default();
        let hint = if facts.state == "error" {
            "it failed: give another one"
        } else {
            "wait until it is completed, or give an older one"
        };
        return Err(InputError::new(
            COUCHDB_SNAPSHOT,
            format!(
                "snapshot {id} is not completed (state {}{progress}): {hint}",
                facts.state
            ),
        ));
    }
    if let Some(problem) = encryption_problem(
        &format!("snapshot {id}"),
        facts.encrypted,
        facts.kms_key_id.as_deref(),
        key,
    ) {
        return Err(InputError::new(COUCHDB_SNAPSHOT, problem));
    }
    Ok(facts.clone())
}

/// `RecoveryS3Bucket` must be in the region and hold the EFS backup and its passphrase; its
/// manifest, if any, is returned parsed.
pub fn decide_bucket(
    bucket: &str,
    region: &str,
    facts: &Found<BucketFacts>,
) -> Result<Option<Manifest>, InputError> {
    let facts = match facts {
        Err(message) => return Err(call_failed(BUCKET, message)),
        Ok(None) => {
            return Err(InputError::new(
                BUCKET,
                format!("bucket {bucket} not found (or not this account's)"),
            ));
        }
        Ok(Some(facts)) => facts,
    };
    if facts.region != region {
        return Err(InputError::new(
            BUCKET,
            format!(
                "bucket {bucket} is in region {}, but this stack is in {region}",
                facts.region
            ),
        ));
    }
    let mut missing = Vec::new();
    if !facts.full_backup {
        missing.push("no duplicity full backup under Backup/ (has the EFS backup run? run /root/backup.sh on the NFS backup instance)");
    }
    if !facts.passphrase {
        missing.push("no Backup/passphrase.txt (the EFS backup cannot be decrypted without it)");
    }
    if !missing.is_empty() {
        return Err(InputError::new(
            BUCKET,
            format!("bucket {bucket} has {}", missing.join(" and ")),
        ));
    }
    match &facts.manifest {
        None => Ok(None),
        Some(bytes) => Manifest::parse(bytes)
            .map(Some)
            .map_err(|e: ManifestError| InputError::new(BUCKET, format!("bucket {bucket}: {e}"))),
    }
}

/// `8.0.39` -> `8.0`.
pub fn major_version(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn gb(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// Everything the calls found -> the values, or every wrong input.
pub fn decide(
    inputs: &Inputs,
    region: &str,
    key: &Found<KeyFacts>,
    db: &Found<DbSnapshotFacts>,
    ebs: Option<&Found<EbsSnapshotFacts>>,
    bucket: &Found<BucketFacts>,
) -> Result<Resolved, Vec<InputError>> {
    let key_ok = decide_key(&inputs.key, key);
    let db = decide_db_snapshot(&inputs.rds_snapshot, &inputs.key, db);
    let ebs = match (&inputs.couchdb_snapshot, ebs) {
        (Some(id), Some(facts)) => Some(decide_ebs_snapshot(id, &inputs.key, region, facts)),
        _ => None,
    };
    let manifest = decide_bucket(&inputs.bucket, region, bucket);

    let errors: Vec<InputError> = [
        key_ok.err(),
        db.as_ref().err().cloned(),
        ebs.as_ref().and_then(|e| e.as_ref().err().cloned()),
        manifest.as_ref().err().cloned(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (Ok(db), Ok(manifest), Ok(ebs), true) = (db, manifest, ebs.transpose(), errors.is_empty())
    else {
        return Err(errors);
    };
    match manifest {
        Some(manifest) => from_manifest(inputs, &db, ebs.as_ref(), &manifest),
        None => from_snapshots(inputs, &db, ebs.as_ref()),
    }
}

/// What a manifest says that contradicts the inputs: another key, or another document store.
fn manifest_conflicts(inputs: &Inputs, manifest: &Manifest) -> Vec<InputError> {
    let mut errors = Vec::new();
    if !inputs::same_key(&manifest.kms_key_arn, &inputs.key) {
        errors.push(InputError::new(
            KMS_KEY,
            format!(
                "the stack that wrote {MANIFEST_KEY} in RecoveryS3Bucket used key {}, not {}",
                manifest.kms_key_arn, inputs.key.arn
            ),
        ));
    }
    match (manifest.skip_document_store(), &inputs.couchdb_snapshot) {
        (true, Some(_)) => errors.push(InputError::new(
            COUCHDB_SNAPSHOT,
            "the original stack was built with --skip-document-store and has no CouchDB volume: build the recovery stack with --skip-document-store too",
        )),
        (false, None) if manifest.document_storage_gb.is_some() => errors.push(InputError::new(
            COUCHDB_SNAPSHOT,
            "is absent (recovery stack built with --skip-document-store) but the original stack kept its patient documents in CouchDB: build the recovery stack without --skip-document-store",
        )),
        _ => {}
    }
    errors
}

/// The values from the manifest, grown to what the snapshots need; `TimeZone` overrides.
fn from_manifest(
    inputs: &Inputs,
    db: &DbSnapshotFacts,
    ebs: Option<&EbsSnapshotFacts>,
    manifest: &Manifest,
) -> Result<Resolved, Vec<InputError>> {
    let errors = manifest_conflicts(inputs, manifest);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut notes = Vec::new();
    let engine_version = major_version(&db.engine_version);
    let time_zone = match &inputs.time_zone {
        Some(tz) if *tz != manifest.time_zone => {
            notes.push(format!(
                "TimeZone {tz} overrides the manifest's {}",
                manifest.time_zone
            ));
            tz.clone()
        }
        _ => manifest.time_zone.clone(),
    };
    if manifest.database.engine_version != engine_version {
        notes.push(format!(
            "engine version {engine_version} from the snapshot (the manifest says {})",
            manifest.database.engine_version
        ));
    }
    let patient_records_gb =
        database_storage_gb(manifest.patient_records_gb.max(gb(db.allocated_storage_gb)));
    let document_storage_gb = ebs.map(|e| {
        document_storage_gb(
            manifest
                .document_storage_gb
                .unwrap_or(0)
                .max(gb(e.volume_size_gb)),
        )
    });
    notes.push(format!(
        "values from {MANIFEST_KEY} written {} by {}",
        manifest.written_at, manifest.stack_id
    ));
    Ok(Resolved {
        time_zone,
        patient_records_gb,
        document_storage_gb,
        master_username: db.master_username.clone(),
        engine_version,
        password: manifest.database.password.clone().unwrap_or_default(),
        source: Source::Manifest,
        notes,
    })
}

/// No manifest (a stack built by the original generator): the snapshots' values and the
/// `TimeZone` input, which is then required; the password stays the database snapshot's.
fn from_snapshots(
    inputs: &Inputs,
    db: &DbSnapshotFacts,
    ebs: Option<&EbsSnapshotFacts>,
) -> Result<Resolved, Vec<InputError>> {
    let Some(time_zone) = inputs.time_zone.clone() else {
        return Err(vec![InputError::new(
            TIME_ZONE,
            format!(
                "is empty and RecoveryS3Bucket {} has no {MANIFEST_KEY} (a stack built by the original generator): set TimeZone to the original stack's time zone (its TimeZone parameter) and retry",
                inputs.bucket
            ),
        )]);
    };
    let notes = vec![format!(
        "no {MANIFEST_KEY} in RecoveryS3Bucket (stack built by the original generator): sizes, engine and user from the snapshots, time zone from the TimeZone parameter, password kept by the database snapshot"
    )];
    Ok(Resolved {
        time_zone,
        patient_records_gb: database_storage_gb(gb(db.allocated_storage_gb)),
        document_storage_gb: ebs.map(|e| document_storage_gb(gb(e.volume_size_gb))),
        master_username: db.master_username.clone(),
        engine_version: major_version(&db.engine_version),
        password: Secret::default(),
        source: Source::Snapshots,
        notes,
    })
}

/// The database size a recovery stack asks for: what it needs, never below gp3's minimum.
pub fn database_storage_gb(needed: u32) -> u32 {
    needed.max(storage::MIN_DATABASE_GB)
}

/// The document volume size a recovery stack asks for: never below sc1's minimum.
pub fn document_storage_gb(needed: u32) -> u32 {
    needed.max(storage::MIN_DOCUMENT_GB)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Database, FORMAT_VERSION};

    /// A fact-finding call AWS refused with `code`.
    fn refused(code: &str) -> CallFailed {
        CallFailed {
            call: "a test's call",
            error: ApiError::new(code, "refused"),
        }
    }

    const REGION: &str = "us-east-1";
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a";
    const OTHER_KEY: &str =
        "arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444";

    fn raw() -> RawInputs {
        RawInputs {
            kms_key: KEY.into(),
            rds_snapshot_arn: "arn:aws:rds:us-east-1:123456789012:snapshot:openemr-final".into(),
            couchdb_snapshot: Some("snap-0ebb4f155ff27040c".into()),
            bucket: "openemr-c49525c0-82e5-11e7-bcf4-50faeaa96461".into(),
            time_zone: String::new(),
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            written_at: "2026-11-25T07:00:00Z".into(),
            stack_id: "stack-1".into(),
            kms_key_arn: KEY.into(),
            time_zone: "America/Chicago".into(),
            patient_records_gb: 20,
            document_storage_gb: Some(100),
            database: Database {
                engine: "mysql".into(),
                engine_version: "8.0".into(),
                master_username: "openemr".into(),
                password: Some(Secret::new("pw-secret-123")),
            },
            flags: vec![],
            recovered_from: None,
        }
    }

    fn key() -> Found<KeyFacts> {
        Ok(Some(KeyFacts {
            state: "Enabled".into(),
        }))
    }
    fn db() -> DbSnapshotFacts {
        DbSnapshotFacts {
            status: "available".into(),
            percent_progress: Some(100),
            encrypted: true,
            kms_key_id: Some(KEY.into()),
            engine: "mysql".into(),
            engine_version: "8.0.39".into(),
            master_username: "openemr".into(),
            allocated_storage_gb: 20,
        }
    }
    fn ebs() -> EbsSnapshotFacts {
        EbsSnapshotFacts {
            state: "completed".into(),
            progress: Some("100%".into()),
            encrypted: true,
            kms_key_id: Some(KEY.into()),
            volume_size_gb: 100,
        }
    }
    fn bucket(manifest: Option<&Manifest>) -> BucketFacts {
        BucketFacts {
            region: REGION.into(),
            full_backup: true,
            passphrase: true,
            manifest: manifest.map(Manifest::to_bytes),
        }
    }

    fn run(
        raw: &RawInputs,
        key: Found<KeyFacts>,
        db: Found<DbSnapshotFacts>,
        ebs: Found<EbsSnapshotFacts>,
        bucket: Found<BucketFacts>,
    ) -> Result<Resolved, Vec<InputError>> {
        let inputs = check_inputs(raw, REGION)?;
        decide(
            &inputs,
            REGION,
            &key,
            &db,
            inputs.couchdb_snapshot.as_ref().map(|_| &ebs),
            &bucket,
        )
    }

    #[test]
    fn from_a_manifest() {
        let m = manifest();
        let resolved = run(
            &raw(),
            key(),
            Ok(Some(db())),
            Ok(Some(ebs())),
            Ok(Some(bucket(Some(&m)))),
        )
        .unwrap();
        assert_eq!(resolved.time_zone, "America/Chicago");
        assert_eq!(
            (resolved.patient_records_gb, resolved.document_storage_gb),
            (20, Some(storage::MIN_DOCUMENT_GB))
        );
        assert_eq!(
            (
                resolved.master_username.as_str(),
                resolved.engine_version.as_str()
            ),
            ("openemr", "8.0")
        );
        assert_eq!(resolved.password.expose(), "pw-secret-123");
        assert_eq!(resolved.source, Source::Manifest);
    }

    #[test]
    fn sizes_grow_to_what_the_snapshots_need_and_time_zone_can_be_overridden() {
        let m = manifest();
        let mut bigger_db = db();
        bigger_db.allocated_storage_gb = 35; // storage autoscaled after the manifest was written
        let mut bigger_ebs = ebs();
        bigger_ebs.volume_size_gb = 150;
        let mut raw = raw();
        raw.time_zone = "Europe/Berlin".into();
        let resolved = run(
            &raw,
            key(),
            Ok(Some(bigger_db)),
            Ok(Some(bigger_ebs)),
            Ok(Some(bucket(Some(&m)))),
        )
        .unwrap();
        assert_eq!(
            (resolved.patient_records_gb, resolved.document_storage_gb),
            (35, Some(150))
        );
        assert_eq!(resolved.time_zone, "Europe/Berlin");
        assert!(resolved.notes.iter().any(|n| n.contains("overrides")));
    }

    #[test]
    fn sizes_never_resolve_below_the_storage_types_minimums() {
        // The original's default database was 10 GB; gp3 starts at 20, sc1 at 125.
        let mut small_db = db();
        small_db.allocated_storage_gb = 10;
        let mut small_ebs = ebs();
        small_ebs.volume_size_gb = 100;
        let mut m = manifest();
        m.patient_records_gb = 10;
        m.document_storage_gb = Some(100);
        for bucket in [bucket(Some(&m)), bucket(None)] {
            let mut raw = raw();
            raw.time_zone = "America/Chicago".into();
            let resolved = run(
                &raw,
                key(),
                Ok(Some(small_db.clone())),
                Ok(Some(small_ebs.clone())),
                Ok(Some(bucket)),
            )
            .unwrap();
            assert_eq!(
                (resolved.patient_records_gb, resolved.document_storage_gb),
                (20, Some(125)),
                "{:?}",
                resolved.source
            );
        }
    }

    #[test]
    fn without_a_manifest_falls_back_to_the_snapshots_and_the_time_zone_parameter() {
        let mut raw = raw();
        raw.time_zone = "America/New_York".into();
        let resolved = run(
            &raw,
            key(),
            Ok(Some(db())),
            Ok(Some(ebs())),
            Ok(Some(bucket(None))),
        )
        .unwrap();
        assert_eq!(resolved.source, Source::Snapshots);
        assert_eq!(resolved.time_zone, "America/New_York");
        assert_eq!(
            (resolved.patient_records_gb, resolved.document_storage_gb),
            (20, Some(storage::MIN_DOCUMENT_GB))
        );
        assert!(resolved.password.is_empty());
        assert!(
            resolved.notes[0].contains("original generator"),
            "{:?}",
            resolved.notes
        );

        let errors = run(
            &super::tests::raw(),
            key(),
            Ok(Some(db())),
            Ok(Some(ebs())),
            Ok(Some(bucket(None))),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].input, TIME_ZONE);
        assert!(
            errors[0].problem.contains("no recovery/manifest.json"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn without_document_store() {
        let mut m = manifest();
        m.document_storage_gb = None;
        m.flags = vec!["--skip-document-store".into()];
        let mut raw = raw();
        raw.couchdb_snapshot = None;
        let resolved = run(
            &raw,
            key(),
            Ok(Some(db())),
            Err(refused("must not be called")),
            Ok(Some(bucket(Some(&m)))),
        )
        .unwrap();
        assert_eq!(resolved.document_storage_gb, None);
    }

    /// Each bad input -> an error naming that input and what is wrong.
    #[test]
    fn every_bad_input_is_named() {
        let m = manifest();
        let good_bucket = || Ok(Some(bucket(Some(&m))));
        let with = |f: &dyn Fn(&mut DbSnapshotFacts)| {
            let mut d = db();
            f(&mut d);
            Ok(Some(d))
        };
        let with_ebs = |f: &dyn Fn(&mut EbsSnapshotFacts)| {
            let mut e = ebs();
            f(&mut e);
            Ok(Some(e))
        };
        let with_bucket = |f: &dyn Fn(&mut BucketFacts)| {
            let mut b = bucket(Some(&m));
            f(&mut b);
            Ok(Some(b))
        };
        let state = |s: &str| Ok(Some(KeyFacts { state: s.into() }));
        /// One bad input: the facts the calls found, the input the error must name and a word
        /// of its problem.
        struct Case {
            name: &'static str,
            key: Found<KeyFacts>,
            db: Found<DbSnapshotFacts>,
            ebs: Found<EbsSnapshotFacts>,
            bucket: Found<BucketFacts>,
            input: &'static str,
            expect: &'static str,
        }
        let cases = vec![
            Case {
                name: "key missing",
                key: Ok(None),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: KMS_KEY,
                expect: "not found",
            },
            Case {
                name: "key disabled",
                key: state("Disabled"),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: KMS_KEY,
                expect: "disabled",
            },
            Case {
                name: "key deleting",
                key: state("PendingDeletion"),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: KMS_KEY,
                expect: "pending deletion",
            },
            Case {
                name: "key call failed",
                key: Err(refused("AccessDeniedException")),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: KMS_KEY,
                expect: "AccessDenied",
            },
            Case {
                name: "db missing",
                key: key(),
                db: Ok(None),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: RDS_SNAPSHOT,
                expect: "not found",
            },
            Case {
                name: "db creating",
                key: key(),
                db: with(&|d| {
                    d.status = "creating".into();
                    d.percent_progress = Some(40)
                }),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: RDS_SNAPSHOT,
                expect: "not completed (status creating, 40% done)",
            },
            Case {
                name: "db plain",
                key: key(),
                db: with(&|d| d.encrypted = false),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: RDS_SNAPSHOT,
                expect: "not encrypted",
            },
            Case {
                name: "db other key",
                key: key(),
                db: with(&|d| d.kms_key_id = Some(OTHER_KEY.into())),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: RDS_SNAPSHOT,
                expect: "not with RecoveryKMSKey",
            },
            Case {
                name: "db postgres",
                key: key(),
                db: with(&|d| d.engine = "postgres".into()),
                ebs: Ok(Some(ebs())),
                bucket: good_bucket(),
                input: RDS_SNAPSHOT,
                expect: "not MySQL",
            },
            Case {
                name: "ebs missing",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(None),
                bucket: good_bucket(),
                input: COUCHDB_SNAPSHOT,
                expect: "not found in us-east-1",
            },
            Case {
                name: "ebs pending",
                key: key(),
                db: Ok(Some(db())),
                ebs: with_ebs(&|e| {
                    e.state = "pending".into();
                    e.progress = Some("40%".into())
                }),
                bucket: good_bucket(),
                input: COUCHDB_SNAPSHOT,
                expect: "not completed (state pending, 40% done)",
            },
            Case {
                name: "ebs error",
                key: key(),
                db: Ok(Some(db())),
                ebs: with_ebs(&|e| e.state = "error".into()),
                bucket: good_bucket(),
                input: COUCHDB_SNAPSHOT,
                expect: "it failed",
            },
            Case {
                name: "ebs plain",
                key: key(),
                db: Ok(Some(db())),
                ebs: with_ebs(&|e| {
                    e.encrypted = false;
                    e.kms_key_id = None
                }),
                bucket: good_bucket(),
                input: COUCHDB_SNAPSHOT,
                expect: "not encrypted",
            },
            Case {
                name: "ebs other key",
                key: key(),
                db: Ok(Some(db())),
                ebs: with_ebs(&|e| e.kms_key_id = Some(OTHER_KEY.into())),
                bucket: good_bucket(),
                input: COUCHDB_SNAPSHOT,
                expect: "not with RecoveryKMSKey",
            },
            Case {
                name: "bucket missing",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: Ok(None),
                input: BUCKET,
                expect: "not found",
            },
            Case {
                name: "bucket elsewhere",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: with_bucket(&|b| b.region = "eu-west-1".into()),
                input: BUCKET,
                expect: "is in region eu-west-1",
            },
            Case {
                name: "no backup",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: with_bucket(&|b| b.full_backup = false),
                input: BUCKET,
                expect: "no duplicity full backup",
            },
            Case {
                name: "no passphrase",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: with_bucket(&|b| b.passphrase = false),
                input: BUCKET,
                expect: "passphrase.txt",
            },
            Case {
                name: "broken manifest",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: with_bucket(&|b| b.manifest = Some(b"{\"format_version\": 9}".to_vec())),
                input: BUCKET,
                expect: "format version 9",
            },
            Case {
                name: "manifest of another key",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: with_bucket(&|b| {
                    let mut other = manifest();
                    other.kms_key_arn = OTHER_KEY.into();
                    b.manifest = Some(other.to_bytes());
                }),
                input: KMS_KEY,
                expect: "used key",
            },
            Case {
                name: "documents expected",
                key: key(),
                db: Ok(Some(db())),
                ebs: Ok(Some(ebs())),
                bucket: with_bucket(&|b| {
                    let mut other = manifest();
                    other.flags = vec!["--skip-document-store".into()];
                    b.manifest = Some(other.to_bytes());
                }),
                input: COUCHDB_SNAPSHOT,
                expect: "--skip-document-store",
            },
        ];
        for Case {
            name,
            key,
            db,
            ebs,
            bucket,
            input,
            expect,
        } in cases
        {
            let errors = run(&raw(), key, db, ebs, bucket).expect_err(name);
            assert_eq!(errors.len(), 1, "{name}: {errors:?}");
            assert_eq!(errors[0].input, input, "{name}");
            assert!(
                errors[0].problem.contains(expect),
                "{name}: {}",
                errors[0].problem
            );
            assert!(!errors[0].problem.contains("pw-secret"), "{name}");
        }
    }

    #[test]
    fn several_bad_inputs_are_all_named() {
        let errors = run(&raw(), Ok(None), Ok(None), Ok(None), Ok(None)).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|e| e.input).collect();
        assert_eq!(named, [KMS_KEY, RDS_SNAPSHOT, COUCHDB_SNAPSHOT, BUCKET]);

        let bad = RawInputs {
            kms_key: "x".into(),
            rds_snapshot_arn: "y".into(),
            couchdb_snapshot: Some("z".into()),
            bucket: "B".into(),
            time_zone: "no such zone".into(),
        };
        let errors = check_inputs(&bad, REGION).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|e| e.input).collect();
        assert_eq!(
            named,
            [KMS_KEY, RDS_SNAPSHOT, COUCHDB_SNAPSHOT, BUCKET, TIME_ZONE]
        );
    }

    #[test]
    fn emulator_ebs_snapshots_without_a_key_id_are_accepted() {
        let m = manifest();
        let mut e = ebs();
        e.kms_key_id = None;
        assert!(
            run(
                &raw(),
                key(),
                Ok(Some(db())),
                Ok(Some(e)),
                Ok(Some(bucket(Some(&m))))
            )
            .is_ok()
        );
    }

    #[test]
    fn major_versions() {
        assert_eq!(major_version("8.0.39"), "8.0");
        assert_eq!(major_version("8.4"), "8.4");
        assert_eq!(major_version("5.7.44-rds.20240408"), "5.7");
    }
}
