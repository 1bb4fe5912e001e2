//! recovery-params: the custom resource behind `RecoveryManifest` (record mode, every stack) and
//! `RecoveryParameters` (resolve mode, recovery stacks). See README.md.
//!
//! - [`inputs`]: format checks of the four recovery inputs (ARN parsing, region), no calls.
//! - [`manifest`]: the versioned manifest written to `recovery/manifest.json`.
//! - [`properties`]: the resource properties, read without ever quoting the password.
//! - [`resolve`]: the decisions over what the AWS calls found (pure, table-tested).
//! - [`aws`]: the AWS calls (the seam the emulator tests exercise).
//! - [`handle`]: one request in, one answer (or a Reason) out; the protocol crate sends it.

pub mod aws;
pub mod inputs;
pub mod manifest;
pub mod properties;
pub mod resolve;

use std::collections::BTreeMap;

use crate::aws::Aws;
use crate::inputs::reason;
use crate::manifest::{now_rfc3339, MANIFEST_KEY};
use crate::properties::{RecordRequest, Request};
use crate::resolve::RawInputs;

/// The attributes of `RecoveryParameters` (resolve mode).
pub mod attributes {
    pub const TIME_ZONE: &str = "TimeZone";
    pub const PATIENT_RECORDS: &str = "PatientRecords";
    pub const DOCUMENT_STORAGE: &str = "DocumentStorage";
    pub const MASTER_USERNAME: &str = "MasterUsername";
    pub const ENGINE_VERSION: &str = "EngineVersion";
    /// NoEcho: the whole response is sent with `NoEcho: true`.
    pub const PASSWORD: &str = "Password";
    /// `manifest` or `snapshots` (no manifest: a stack built by the original generator).
    pub const SOURCE: &str = "Source";
    pub const NOTES: &str = "Notes";
}

/// The kind of CloudFormation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Create,
    Update,
    Delete,
}

/// A SUCCESS answer's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
    /// Whether the response must be sent with `NoEcho: true` (it carries the password).
    pub no_echo: bool,
}

/// One request. `Err` is the FAILED Reason: it names the input or property and what is wrong,
/// and never contains the password.
///
/// Delete does nothing in either mode: the manifest outlives the stack with the bucket (on
/// purpose: it is what a recovery reads), and resolving wrote nothing.
pub async fn handle(aws: &Aws, kind: RequestKind, stack_id: &str, physical_id: Option<&str>, properties: &serde_json::Value) -> Result<Answer, String> {
    if kind == RequestKind::Delete {
        tracing::info!(physical_id, "delete: nothing to do (the manifest stays with the bucket)");
        return Ok(Answer { physical_resource_id: physical_id.unwrap_or("recovery-params").to_owned(), data: BTreeMap::new(), no_echo: false });
    }
    match properties::parse(properties).map_err(|errors| reason(&errors))? {
        Request::Record(request) => record(aws, request, stack_id).await,
        Request::Resolve(raw) => resolve(aws, &raw, physical_id).await,
    }
}

/// Record mode: write the manifest (Create and Update alike).
pub async fn record(aws: &Aws, mut request: RecordRequest, stack_id: &str) -> Result<Answer, String> {
    request.manifest.written_at = now_rfc3339();
    request.manifest.stack_id = stack_id.to_owned();
    let bucket = &request.bucket;
    let version = aws
        .put_manifest(bucket, &request.manifest.kms_key_arn, request.manifest.to_bytes())
        .await
        .map_err(|e| format!("Bucket: writing {MANIFEST_KEY} to {bucket} failed ({e})"))?;
    tracing::info!(
        bucket = %bucket,
        key = MANIFEST_KEY,
        version = version.as_deref().unwrap_or("unversioned"),
        time_zone = %request.manifest.time_zone,
        patient_records_gb = request.manifest.patient_records_gb,
        document_storage_gb = ?request.manifest.document_storage_gb,
        engine_version = %request.manifest.database.engine_version,
        password_recorded = request.manifest.database.password.is_some(),
        flags = ?request.manifest.flags,
        "recovery manifest written"
    );
    let mut data = BTreeMap::new();
    data.insert("ManifestKey".to_owned(), MANIFEST_KEY.to_owned());
    data.insert("ManifestVersion".to_owned(), version.unwrap_or_default());
    data.insert("FormatVersion".to_owned(), manifest::FORMAT_VERSION.to_string());
    Ok(Answer { physical_resource_id: format!("s3://{bucket}/{MANIFEST_KEY}"), data, no_echo: false })
}

/// Resolve mode: check every input (formats first, then all AWS look-ups at once), decide.
pub async fn resolve(aws: &Aws, raw: &RawInputs, physical_id: Option<&str>) -> Result<Answer, String> {
    let started = std::time::Instant::now();
    let inputs = resolve::check_inputs(raw, &aws.region).map_err(|errors| {
        tracing::warn!(reason = %reason(&errors), "recovery inputs malformed");
        reason(&errors)
    })?;
    let ebs_call = async {
        match &inputs.couchdb_snapshot {
            Some(id) => Some(aws.ebs_snapshot(id).await),
            None => None,
        }
    };
    let (key, db, ebs, bucket) = tokio::join!(aws.key(&inputs.key.arn), aws.db_snapshot(&inputs.rds_snapshot.name), ebs_call, aws.bucket(&inputs.bucket));
    let resolved = resolve::decide(&inputs, &aws.region, &key, &db, ebs.as_ref(), &bucket).map_err(|errors| {
        tracing::warn!(reason = %reason(&errors), elapsed_ms = started.elapsed().as_millis() as u64, "recovery inputs rejected");
        reason(&errors)
    })?;
    tracing::info!(
        source = resolved.source.as_str(),
        time_zone = %resolved.time_zone,
        patient_records_gb = resolved.patient_records_gb,
        document_storage_gb = ?resolved.document_storage_gb,
        engine_version = %resolved.engine_version,
        master_username = %resolved.master_username,
        password_known = !resolved.password.is_empty(),
        notes = ?resolved.notes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "recovery parameters resolved"
    );
    use attributes::*;
    let mut data = BTreeMap::new();
    data.insert(TIME_ZONE.to_owned(), resolved.time_zone);
    data.insert(PATIENT_RECORDS.to_owned(), resolved.patient_records_gb.to_string());
    if let Some(size) = resolved.document_storage_gb {
        data.insert(DOCUMENT_STORAGE.to_owned(), size.to_string());
    }
    data.insert(MASTER_USERNAME.to_owned(), resolved.master_username);
    data.insert(ENGINE_VERSION.to_owned(), resolved.engine_version);
    data.insert(PASSWORD.to_owned(), resolved.password.expose().to_owned());
    data.insert(SOURCE.to_owned(), resolved.source.as_str().to_owned());
    data.insert(NOTES.to_owned(), resolved.notes.join("; "));
    let physical_resource_id = physical_id.map(str::to_owned).unwrap_or_else(|| format!("recovery-from:{}", inputs.bucket));
    Ok(Answer { physical_resource_id, data, no_echo: true })
}
