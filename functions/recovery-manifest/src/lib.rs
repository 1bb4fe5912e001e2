//! The recovery manifest: what a stack was built with, kept in its bucket so that a recovery
//! stack can be built from four identifiers.
//!
//! Stored at [`MANIFEST_KEY`] (`recovery/manifest.json`) in the stack bucket, SSE-KMS with the
//! stack key; the bucket is versioned, so every earlier manifest stays retrievable.
//!
//! Versioning: `format_version` is [`FORMAT_VERSION`]. Fields may be *added* without changing it
//! (readers ignore unknown fields, new fields are optional); a change that an older reader would
//! misread (a renamed or re-typed field) increments it, and a reader refuses a manifest newer
//! than it understands, with a Reason that says to update the function code.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where the manifest lives in the stack bucket (the template grants exactly this key).
pub use stack_contract::bucket::MANIFEST_KEY;
/// The manifest format this code writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// A secret string (the database password): serialised as itself into the encrypted manifest
/// and the NoEcho response, but never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The stack's database as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// `mysql`.
    pub engine: String,
    /// Major version the stack asked for, e.g. `8.0` (minor versions upgrade automatically).
    pub engine_version: String,
    pub master_username: String,
    /// The master password; `None` when the stack did not know it (a recovery from a stack
    /// without manifest: the restored database keeps the password its snapshot holds).
    #[serde(default)]
    pub password: Option<Secret>,
}

/// The manifest itself (JSON, snake_case fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// RFC 3339 UTC time of writing.
    pub written_at: String,
    /// The CloudFormation stack id that wrote it.
    pub stack_id: String,
    /// ARN of the KMS key protecting the stack's data (the recovery stack's RecoveryKMSKey).
    pub kms_key_arn: String,
    pub time_zone: String,
    /// RDS allocated storage, GB (the PatientRecords parameter).
    pub patient_records_gb: u32,
    /// CouchDB volume size, GB (DocumentStorage); `None` with `--skip-document-store`.
    #[serde(default)]
    pub document_storage_gb: Option<u32>,
    pub database: Database,
    /// stack-gen flags the stack was built with, e.g. `["--dual-az"]`.
    #[serde(default)]
    pub flags: Vec<String>,
    /// For a recovery stack: the bucket it was recovered from.
    #[serde(default)]
    pub recovered_from: Option<String>,
}

/// Why a stored manifest cannot be used. Never quotes the manifest's content (it holds the
/// password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{MANIFEST_KEY} is not JSON ({0})")]
    NotJson(String),
    #[error("{MANIFEST_KEY} has no format_version: it is not a recovery manifest")]
    NoVersion,
    #[error(
        "{MANIFEST_KEY} has format version {0}, newer than this function reads (up to {FORMAT_VERSION}): update the stack's Lambda code (stack-ops package) and retry"
    )]
    TooNew(u64),
    #[error("{MANIFEST_KEY} (format version {FORMAT_VERSION}) is incomplete or malformed ({0})")]
    Malformed(String),
}

/// A serde_json error without the text it quotes: category and position only.
fn describe(error: &serde_json::Error) -> String {
    let category = match error.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Eof => "truncated",
    };
    format!(
        "{category} at line {} column {}",
        error.line(),
        error.column()
    )
}

impl Manifest {
    /// The stored bytes (pretty JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a manifest serialises")
    }

    /// Reads a stored manifest, checking its format version first.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::NotJson(describe(&e)))?;
        let version = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or(ManifestError::NoVersion)?;
        if version > u64::from(FORMAT_VERSION) {
            return Err(ManifestError::TooNew(version));
        }
        serde_json::from_value(value).map_err(|e| ManifestError::Malformed(describe(&e)))
    }

    /// Whether the stack was built with `--skip-document-store`.
    pub fn skip_document_store(&self) -> bool {
        self.flags.iter().any(|f| f == "--skip-document-store")
    }
}

/// The current time as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 formats any time")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            written_at: "2026-11-25T07:00:00Z".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/1".into(),
            kms_key_arn:
                "arn:aws:kms:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a".into(),
            time_zone: "America/Chicago".into(),
            patient_records_gb: 20,
            document_storage_gb: Some(100),
            database: Database {
                engine: "mysql".into(),
                engine_version: "8.0".into(),
                master_username: "openemr".into(),
                password: Some(Secret::new("hunter2-very-secret")),
            },
            flags: vec!["--dual-az".into()],
            recovered_from: None,
        }
    }

    #[test]
    fn round_trip() {
        let manifest = sample();
        assert_eq!(Manifest::parse(&manifest.to_bytes()).unwrap(), manifest);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("Secret(***)"));
    }

    #[test]
    fn unknown_fields_are_ignored_and_optional_fields_default() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["added_later"] = serde_json::json!({"x": 1});
        value.as_object_mut().unwrap().remove("document_storage_gb");
        value.as_object_mut().unwrap().remove("flags");
        let manifest = Manifest::parse(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(manifest.document_storage_gb, None);
        assert!(manifest.flags.is_empty());
    }

    #[test]
    fn newer_and_broken_manifests_are_refused_without_quoting_them() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["format_version"] = serde_json::json!(2);
        assert_eq!(
            Manifest::parse(&serde_json::to_vec(&value).unwrap()),
            Err(ManifestError::TooNew(2))
        );

        value["format_version"] = serde_json::json!(1);
        value["patient_records_gb"] = serde_json::json!("hunter2-very-secret");
        let error = Manifest::parse(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(matches!(error, ManifestError::Malformed(_)));
        assert!(!error.to_string().contains("hunter2"), "{error}");

        assert_eq!(Manifest::parse(b"{}"), Err(ManifestError::NoVersion));
        let error = Manifest::parse(b"{\"password\": \"hunter2-very-secret").unwrap_err();
        assert!(matches!(error, ManifestError::NotJson(_)));
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
