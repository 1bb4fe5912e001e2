//! The custom resource's properties, read by hand from the event's JSON so that every error
//! names the property and none quotes a value that might be the password.
//!
//! CloudFormation passes every scalar property as a string; numbers are accepted too (the
//! sample events and tests may use them).

use serde_json::{Map, Value};

use crate::inputs::{self, InputError};
use crate::manifest::{Database, FORMAT_VERSION, Manifest, Secret};
use crate::resolve::RawInputs;
use stack_contract::recovery_params::{MODE, MODE_RECORD, MODE_RESOLVE, record};

/// Which job the resource does (property `Mode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Record(RecordRequest),
    Resolve(RawInputs),
}

/// Record mode: what to write where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRequest {
    /// The stack bucket (property `Bucket`).
    pub bucket: String,
    /// Without `written_at` / `stack_id` filled by the handler.
    pub manifest: Manifest,
}

fn string(map: &Map<String, Value>, name: &'static str) -> Result<Option<String>, InputError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(InputError::new(name, "must be a string")),
    }
}

fn required(map: &Map<String, Value>, name: &'static str) -> Result<String, InputError> {
    match string(map, name)? {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        _ => Err(InputError::new(name, "is missing or empty")),
    }
}

fn size_gb(map: &Map<String, Value>, name: &'static str) -> Result<Option<u32>, InputError> {
    match string(map, name)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => match s.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(InputError::new(
                name,
                format!("{s:?} is not a size in GB (a positive whole number)"),
            )),
        },
    }
}

fn string_list(map: &Map<String, Value>, name: &'static str) -> Result<Vec<String>, InputError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| InputError::new(name, "must be a list of strings"))
            })
            .collect(),
        // CloudFormation turns an empty list into "", and a Join into one string.
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()),
        Some(_) => Err(InputError::new(name, "must be a list of strings")),
    }
}

/// Reads `ResourceProperties`. `Mode` is `record` or `resolve`.
pub fn parse(properties: &Value) -> Result<Request, Vec<InputError>> {
    let Some(map) = properties.as_object() else {
        return Err(vec![InputError::new(
            "ResourceProperties",
            "must be an object",
        )]);
    };
    match required(map, MODE).map_err(|e| vec![e])?.as_str() {
        MODE_RECORD => parse_record(map).map(Request::Record),
        MODE_RESOLVE => parse_resolve(map)
            .map(Request::Resolve)
            .map_err(|e| vec![e]),
        other => Err(vec![InputError::new(
            MODE,
            format!("{other:?} is neither {MODE_RECORD} nor {MODE_RESOLVE}"),
        )]),
    }
}

fn parse_resolve(map: &Map<String, Value>) -> Result<RawInputs, InputError> {
    Ok(RawInputs {
        kms_key: string(map, inputs::KMS_KEY)?.unwrap_or_default(),
        rds_snapshot_arn: string(map, inputs::RDS_SNAPSHOT)?.unwrap_or_default(),
        couchdb_snapshot: string(map, inputs::COUCHDB_SNAPSHOT)?,
        bucket: string(map, inputs::BUCKET)?.unwrap_or_default(),
        time_zone: string(map, inputs::TIME_ZONE)?.unwrap_or_default(),
    })
}

/// The value of a check, or `None` with its problem added to `problems` (so that every bad
/// property is reported at once, in property order).
fn checked<T>(problems: &mut Vec<InputError>, result: Result<T, InputError>) -> Option<T> {
    result.map_err(|e| problems.push(e)).ok()
}

fn record_bucket(map: &Map<String, Value>) -> Result<String, InputError> {
    required(map, record::BUCKET).and_then(|b| {
        inputs::parse_bucket(&b).map_err(|e| InputError::new(record::BUCKET, e.problem))
    })
}

fn record_key(map: &Map<String, Value>) -> Result<String, InputError> {
    required(map, record::KMS_KEY).and_then(|k| {
        // The region check is the resolve side's business; here only the form matters.
        let region = k.split(':').nth(3).unwrap_or_default().to_owned();
        inputs::parse_kms_key(&k, &region)
            .map(|key| key.arn)
            .map_err(|e| InputError::new(record::KMS_KEY, e.problem))
    })
}

/// `Engine` (default `mysql`), `EngineVersion`, `MasterUsername`, `Password`.
fn record_database(map: &Map<String, Value>, problems: &mut Vec<InputError>) -> Option<Database> {
    let engine = string(map, record::ENGINE).map(|e| {
        e.filter(|e| !e.is_empty())
            .unwrap_or_else(|| "mysql".to_owned())
    });
    let engine = checked(problems, engine);
    let engine_version = checked(problems, required(map, record::ENGINE_VERSION));
    let master_username = checked(problems, required(map, record::MASTER_USERNAME));
    // Empty in a recovery stack resolved without a manifest: the password is then unknown.
    let password =
        string(map, record::PASSWORD).map(|p| p.filter(|p| !p.is_empty()).map(Secret::new));
    let password = checked(problems, password);
    Some(Database {
        engine: engine?,
        engine_version: engine_version?,
        master_username: master_username?,
        password: password?,
    })
}

fn parse_record(map: &Map<String, Value>) -> Result<RecordRequest, Vec<InputError>> {
    let mut problems = Vec::new();
    let p = &mut problems;
    let bucket = checked(p, record_bucket(map));
    let kms_key_arn = checked(p, record_key(map));
    let time_zone = checked(
        p,
        required(map, record::TIME_ZONE)
            .and_then(|tz| inputs::check_time_zone(record::TIME_ZONE, &tz)),
    );
    let patient_records = size_gb(map, record::PATIENT_RECORDS).and_then(|s| {
        s.ok_or_else(|| InputError::new(record::PATIENT_RECORDS, "is missing or empty"))
    });
    let patient_records_gb = checked(p, patient_records);
    let document_storage_gb = checked(p, size_gb(map, record::DOCUMENT_STORAGE));
    let database = record_database(map, p);
    let flags = checked(p, string_list(map, record::FLAGS));
    let recovered_from = string(map, record::RECOVERED_FROM).map(|r| r.filter(|r| !r.is_empty()));
    let recovered_from = checked(p, recovered_from);
    let manifest = || {
        Some(Manifest {
            format_version: FORMAT_VERSION,
            written_at: String::new(),
            stack_id: String::new(),
            kms_key_arn: kms_key_arn?,
            time_zone: time_zone?,
            patient_records_gb: patient_records_gb?,
            document_storage_gb: document_storage_gb?,
            database: database?,
            flags: flags?,
            recovered_from: recovered_from?,
        })
    };
    match (bucket, manifest()) {
        (Some(bucket), Some(manifest)) if problems.is_empty() => {
            Ok(RecordRequest { bucket, manifest })
        }
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x",
            "Mode": "record",
            "Bucket": "openemr-bucket-1",
            "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a",
            "TimeZone": "America/Chicago",
            "PatientRecords": "10",
            "DocumentStorage": "200",
            "EngineVersion": "8.0",
            "MasterUsername": "openemr",
            "Password": "pw-secret-123",
            "Flags": ["--dual-az"]
        })
    }

    #[test]
    fn record_properties() {
        let Request::Record(r) = parse(&record()).unwrap() else {
            panic!("record")
        };
        assert_eq!(r.bucket, "openemr-bucket-1");
        assert_eq!(
            (
                r.manifest.patient_records_gb,
                r.manifest.document_storage_gb
            ),
            (10, Some(200))
        );
        assert_eq!(r.manifest.database.engine, "mysql");
        assert_eq!(
            r.manifest.database.password.as_ref().map(Secret::expose),
            Some("pw-secret-123")
        );
        assert_eq!(r.manifest.flags, ["--dual-az"]);
    }

    #[test]
    fn record_without_documents_password_or_flags() {
        let mut p = record();
        for name in ["DocumentStorage", "Password", "Flags"] {
            p.as_object_mut().unwrap().remove(name);
        }
        p["Flags"] = json!("");
        let Request::Record(r) = parse(&p).unwrap() else {
            panic!("record")
        };
        assert_eq!(r.manifest.document_storage_gb, None);
        assert_eq!(r.manifest.database.password, None);
        assert!(r.manifest.flags.is_empty());
    }

    #[test]
    fn bad_record_properties_are_all_named_without_values() {
        let mut p = record();
        p["PatientRecords"] = json!("ten");
        p["Bucket"] = json!("");
        p["Password"] = json!({"pw-secret-123": 1});
        p["KmsKeyArn"] = json!("alias/openemr");
        let errors = parse(&p).unwrap_err();
        let named: Vec<&str> = errors.iter().map(|e| e.input).collect();
        assert_eq!(named, ["Bucket", "KmsKeyArn", "PatientRecords", "Password"]);
        assert!(!format!("{errors:?}").contains("pw-secret"));
    }

    #[test]
    fn modes() {
        let p = json!({"Mode": "resolve", "RecoveryKMSKey": "k", "RecoveryRDSSnapshotARN": "r", "RecoveryS3Bucket": "b"});
        let Request::Resolve(raw) = parse(&p).unwrap() else {
            panic!("resolve")
        };
        assert_eq!(
            (
                raw.kms_key.as_str(),
                raw.couchdb_snapshot,
                raw.time_zone.as_str()
            ),
            ("k", None, "")
        );
        assert_eq!(
            parse(&json!({"Mode": "other"})).unwrap_err()[0].input,
            "Mode"
        );
        assert_eq!(parse(&json!({})).unwrap_err()[0].input, "Mode");
        assert_eq!(
            parse(&json!([])).unwrap_err()[0].input,
            "ResourceProperties"
        );
    }
}
