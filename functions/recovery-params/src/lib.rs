//! recovery-params: the custom resource behind `RecoveryManifest` (record mode, every stack) and
//! `RecoveryParameters` (resolve mode, recovery stacks). See README.md.
//!
//! - [`inputs`]: format checks of the four recovery inputs (ARN parsing, region), no calls.
//! - [`manifest`]: the versioned manifest written to `recovery/manifest.json`.
//! - [`properties`]: the resource properties, read without ever quoting the password.
//! - [`resolve`]: the decisions over what the AWS calls found (pure, table-tested).
//! - [`aws`]: the AWS calls (the seam the emulator tests exercise).
//! - [`handler`]: one request in, one answer (or a Reason) out; the protocol crate sends it.

pub mod aws;
pub mod inputs;
pub mod manifest;
pub mod properties;
pub mod resolve;

pub use custom_resource::{Request, Success};

use crate::aws::Aws;
use crate::inputs::reason;
use crate::manifest::{MANIFEST_KEY, now_rfc3339};
use crate::properties::{RecordRequest, Request as Parsed};
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

/// The custom resource's handler, run by the protocol crate (`custom_resource::run`), which
/// answers CloudFormation exactly once with its result. `Err` is the FAILED Reason: it names
/// the input or property and what is wrong, and never contains the password.
///
/// Delete does nothing in either mode: the manifest outlives the stack with the bucket (on
/// purpose: it is what a recovery reads), and resolving wrote nothing.
pub async fn handler(aws: &Aws, request: Request) -> Result<Success, String> {
    let (stack_id, physical_id, properties) = match &request {
        Request::Create(r) => (&r.stack_id, None, &r.resource_properties),
        Request::Update(r) => (
            &r.stack_id,
            Some(r.physical_resource_id.as_str()),
            &r.resource_properties,
        ),
        Request::Delete(r) => {
            tracing::info!(physical_id = %r.physical_resource_id, "delete: nothing to do (the manifest stays with the bucket)");
            return Ok(Success::new());
        }
        _ => return Err("RequestType: neither Create, Update nor Delete".to_owned()),
    };
    match properties::parse(properties).map_err(|errors| reason(&errors))? {
        Parsed::Record(request) => record(aws, request, stack_id).await,
        Parsed::Resolve(raw) => resolve(aws, &raw, physical_id).await,
    }
}

/// Record mode: write the manifest (Create and Update alike).
pub async fn record(
    aws: &Aws,
    mut request: RecordRequest,
    stack_id: &str,
) -> Result<Success, String> {
    request.manifest.written_at = now_rfc3339();
    request.manifest.stack_id = stack_id.to_owned();
    let bucket = &request.bucket;
    let version = aws
        .put_manifest(
            bucket,
            &request.manifest.kms_key_arn,
            request.manifest.to_bytes(),
        )
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
    Ok(Success::new()
        .with_physical_id(format!("s3://{bucket}/{MANIFEST_KEY}"))
        .with_data("ManifestKey", MANIFEST_KEY)
        .with_data("ManifestVersion", version.unwrap_or_default())
        .with_data("FormatVersion", manifest::FORMAT_VERSION.to_string()))
}

/// Resolve mode: check every input (formats first, then all AWS look-ups at once), decide.
pub async fn resolve(
    aws: &Aws,
    raw: &RawInputs,
    physical_id: Option<&str>,
) -> Result<Success, String> {
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
    let (key, db, ebs, bucket) = tokio::join!(
        aws.key(&inputs.key.arn),
        aws.db_snapshot(&inputs.rds_snapshot.name),
        ebs_call,
        aws.bucket(&inputs.bucket)
    );
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
    let mut success = Success::new()
        .with_data(TIME_ZONE, resolved.time_zone)
        .with_data(PATIENT_RECORDS, resolved.patient_records_gb.to_string());
    if let Some(size) = resolved.document_storage_gb {
        success = success.with_data(DOCUMENT_STORAGE, size.to_string());
    }
    success = success
        .with_data(MASTER_USERNAME, resolved.master_username)
        .with_data(ENGINE_VERSION, resolved.engine_version)
        .with_data(PASSWORD, resolved.password.expose())
        .with_data(SOURCE, resolved.source.as_str())
        .with_data(NOTES, resolved.notes.join("; "))
        .with_no_echo();
    // Create: the crate's default id; Update: the request's (no replacement).
    if let Some(id) = physical_id {
        success = success.with_physical_id(id);
    }
    Ok(success)
}
