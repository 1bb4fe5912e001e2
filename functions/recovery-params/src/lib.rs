//! recovery-params: the custom resource behind `RecoveryManifest` (record mode, every stack) and
//! `RecoveryParameters` (resolve mode, recovery stacks). See README.md.
//!
//! - [`inputs`]: format checks of the four recovery inputs (ARN parsing, region), no calls.
//! - [`manifest`]: the versioned manifest written to `recovery/manifest.json`.
//! - [`properties`]: the resource properties, read without ever quoting the password.
//! - [`resolve`]: the decisions over what the AWS calls found (pure, table-tested).
//! - [`gather`]: the AWS calls ([`Clients`]) (the seam the emulator tests exercise).
//! - [`handler`]: one request in, one answer (or a Reason) out; the protocol crate sends it.

pub mod gather;
pub mod inputs;
/// The manifest's format, shared with the restore drill (crate `recovery-manifest`).
pub use recovery_manifest as manifest;
pub mod properties;
pub mod resolve;

pub use custom_resource::{Request, Success};
/// The attributes of `RecoveryParameters` (resolve mode), as the template reads them.
pub use stack_contract::recovery_params::attributes;

use stack_contract::recovery_params::{record as record_properties, record_attributes};

pub use crate::gather::Clients;
use crate::inputs::{InputError, reason};
use crate::manifest::{MANIFEST_KEY, now_rfc3339};
use crate::properties::{RecordRequest, Request as Parsed};
use crate::resolve::{BucketFacts, DbSnapshotFacts, EbsSnapshotFacts, Found, KeyFacts};
use crate::resolve::{Inputs, RawInputs, Resolved};

/// Why a request failed. Its text is the FAILED Reason CloudFormation shows: it names the
/// input or property and what is wrong, and never contains the password (no variant holds a
/// property's value unchecked; see [`inputs`] and [`properties`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Neither Create, Update nor Delete.
    #[error("RequestType: neither Create, Update nor Delete")]
    UnsupportedRequest,
    /// `ResourceProperties` do not parse (missing, empty, wrong type, unknown `Mode`): the
    /// template and the function disagree, or a record-mode value is malformed.
    #[error("{}", reason(.0))]
    InvalidProperties(Vec<InputError>),
    /// A recovery input fails its format check (no AWS call made).
    #[error("{}", reason(.0))]
    MalformedInputs(Vec<InputError>),
    /// A recovery input is well formed but what AWS holds rules it out (not found, pending,
    /// other key, no backup ...), or could not be checked.
    #[error("{}", reason(.0))]
    RejectedInputs(Vec<InputError>),
    /// The manifest could not be written (the S3 call and AWS's error).
    #[error(
        "{}: writing {MANIFEST_KEY} to {bucket} failed ({failure})",
        record_properties::BUCKET
    )]
    ManifestNotWritten {
        bucket: String,
        failure: resolve::CallFailed,
    },
}

impl Error {
    /// The Lambda `errorType` of this failure (stable; README.md lists them).
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::UnsupportedRequest => "UnsupportedRequestType",
            Error::InvalidProperties(_) => "RecoveryPropertiesInvalid",
            Error::MalformedInputs(_) => "RecoveryInputsMalformed",
            Error::RejectedInputs(_) => "RecoveryInputsRejected",
            Error::ManifestNotWritten { .. } => "RecoveryManifestNotWritten",
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}

/// The custom resource's handler, run by the protocol crate (`custom_resource::run`), which
/// answers CloudFormation exactly once with its result. `Err` is the FAILED Reason.
///
/// Delete does nothing in either mode: the manifest outlives the stack with the bucket (on
/// purpose: it is what a recovery reads), and resolving wrote nothing.
pub async fn handler(clients: &Clients, request: Request) -> Result<Success, Error> {
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
        _ => return Err(Error::UnsupportedRequest),
    };
    match properties::parse(properties).map_err(Error::InvalidProperties)? {
        Parsed::Record(request) => record(clients, request, stack_id).await,
        Parsed::Resolve(raw) => resolve(clients, &raw, physical_id).await,
    }
}

/// Record mode: write the manifest (Create and Update alike).
pub async fn record(
    clients: &Clients,
    mut request: RecordRequest,
    stack_id: &str,
) -> Result<Success, Error> {
    request.manifest.written_at = now_rfc3339();
    request.manifest.stack_id = stack_id.to_owned();
    let bucket = &request.bucket;
    let version = clients
        .put_manifest(
            bucket,
            &request.manifest.kms_key_arn,
            request.manifest.to_bytes(),
        )
        .await
        .map_err(|failure| Error::ManifestNotWritten {
            bucket: bucket.clone(),
            failure,
        })?;
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
        .with_data(record_attributes::MANIFEST_KEY, MANIFEST_KEY)
        .with_data(
            record_attributes::MANIFEST_VERSION,
            version.unwrap_or_default(),
        )
        .with_data(
            record_attributes::FORMAT_VERSION,
            manifest::FORMAT_VERSION.to_string(),
        ))
}

/// What the AWS look-ups found about the checked inputs.
pub struct Facts {
    pub key: Found<KeyFacts>,
    pub db: Found<DbSnapshotFacts>,
    /// `None` without a document store.
    pub ebs: Option<Found<EbsSnapshotFacts>>,
    pub bucket: Found<BucketFacts>,
}

/// Every look-up a resolve needs, concurrently.
pub async fn look_up(clients: &Clients, inputs: &Inputs) -> Facts {
    let ebs_call = async {
        match &inputs.couchdb_snapshot {
            Some(id) => Some(clients.ebs_snapshot(id).await),
            None => None,
        }
    };
    let (key, db, ebs, bucket) = tokio::join!(
        clients.key(&inputs.key.arn),
        clients.db_snapshot(&inputs.rds_snapshot.name),
        ebs_call,
        clients.bucket(&inputs.bucket)
    );
    Facts {
        key,
        db,
        ebs,
        bucket,
    }
}

/// Resolve mode: check every input (formats first, then all AWS look-ups at once), decide.
pub async fn resolve(
    clients: &Clients,
    raw: &RawInputs,
    physical_id: Option<&str>,
) -> Result<Success, Error> {
    let started = std::time::Instant::now();
    let inputs = resolve::check_inputs(raw, &clients.region).map_err(|errors| {
        tracing::warn!(reason = %reason(&errors), "recovery inputs malformed");
        Error::MalformedInputs(errors)
    })?;
    let facts = look_up(clients, &inputs).await;
    let resolved = resolve::decide(
        &inputs,
        &clients.region,
        &facts.key,
        &facts.db,
        facts.ebs.as_ref(),
        &facts.bucket,
    )
    .map_err(|errors| {
        tracing::warn!(reason = %reason(&errors), elapsed_ms = started.elapsed().as_millis() as u64, "recovery inputs rejected");
        Error::RejectedInputs(errors)
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
    Ok(resolved_answer(resolved, physical_id))
}

/// The resolved values as `RecoveryParameters`' attributes, sent NoEcho (the password is one).
pub fn resolved_answer(resolved: Resolved, physical_id: Option<&str>) -> Success {
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
    success
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_reasons_and_have_chosen_error_types() {
        let problem = || vec![InputError::new(inputs::KMS_KEY, "is empty")];
        let cases = [
            (
                Error::UnsupportedRequest,
                "UnsupportedRequestType",
                "RequestType: neither Create, Update nor Delete",
            ),
            (
                Error::InvalidProperties(problem()),
                "RecoveryPropertiesInvalid",
                "RecoveryKMSKey: is empty",
            ),
            (
                Error::MalformedInputs(problem()),
                "RecoveryInputsMalformed",
                "RecoveryKMSKey: is empty",
            ),
            (
                Error::RejectedInputs(problem()),
                "RecoveryInputsRejected",
                "RecoveryKMSKey: is empty",
            ),
            (
                Error::ManifestNotWritten {
                    bucket: "b1".into(),
                    failure: resolve::CallFailed {
                        call: "S3 PutObject",
                        error: aws_clients::ApiError::new("NoSuchBucket", "gone"),
                    },
                },
                "RecoveryManifestNotWritten",
                "Bucket: writing recovery/manifest.json to b1 failed (S3 PutObject: NoSuchBucket: gone)",
            ),
        ];
        for (error, error_type, reason) in cases {
            let diagnostic = lambda_runtime::Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, error_type);
            assert_eq!(diagnostic.error_message, reason);
        }
    }
}
