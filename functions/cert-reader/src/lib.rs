//! `cert-reader`: the custom resource `EBCert` (type `AWS::CloudFormation::CustomResource`, as in the original).
//!
//! It replaces the original CertGrabber, which fetched the certificate over public HTTP after a
//! `public-read` upload (refused by every new bucket's public access block) and never answered
//! CloudFormation on an error. This one reads `s3://<Bucket>/<Key>` through the SDK with the
//! function's own role, and answers through [`custom_resource`], so every request gets exactly
//! one answer.
//!
//! - Create / Update: read the object, return attribute `PublicKey` = the first certificate's
//!   base64 body without the PEM header/footer lines and without line breaks (what the load
//!   balancer's backend-authentication `PublicKeyPolicyType` expects).
//! - Delete: SUCCESS without touching anything (nothing was created).
//! - A missing object, bucket, or permission fails the resource with a reason naming the bucket
//!   and key.

//!
//! One request is: check the properties, gather (`GetObject`: the bytes, or AWS's error) with
//! [`fetch`], decide purely with [`decide`] (absence and failures mapped to a Reason, the PEM
//! parsed and checked), answer.

use aws_clients::ApiError;
use custom_resource::{Request, Success};
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use stack_contract::cert_reader::properties::{BUCKET, KEY};

/// The attribute the template reads with `Fn::GetAtt [EBCert, PublicKey]`.
pub use stack_contract::cert_reader::PUBLIC_KEY;

/// `ResourceProperties` of `EBCert`: `Bucket` and `Key` (the contract's names; other properties,
/// such as `ServiceToken`, are ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Props {
    /// The stack bucket.
    pub bucket: String,
    /// The certificate object, `CA/certs/beanstalk.crt` in the template.
    pub key: String,
}

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Props, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        let text = |name: &'static str| match map.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(D::Error::custom(format!("{name} must be a string"))),
            None => Err(D::Error::missing_field(name)),
        };
        Ok(Props {
            bucket: text(BUCKET)?,
            key: text(KEY)?,
        })
    }
}

impl Serialize for Props {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(BUCKET, &self.bucket)?;
        map.serialize_entry(KEY, &self.key)?;
        map.end()
    }
}

/// Why a request failed; the text becomes the CloudFormation Reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("ResourceProperties.{0} is empty")]
    EmptyProperty(&'static str),
    #[error("the certificate object s3://{bucket}/{key} does not exist")]
    NoSuchKey { bucket: String, key: String },
    #[error("the bucket {bucket} does not exist (reading the certificate s3://{bucket}/{key})")]
    NoSuchBucket { bucket: String, key: String },
    #[error(
        "access denied reading s3://{bucket}/{key}: the function's role needs s3:GetObject on it (and kms:Decrypt with the bucket's key)"
    )]
    AccessDenied { bucket: String, key: String },
    #[error("reading s3://{bucket}/{key} failed: {error}")]
    Read {
        bucket: String,
        key: String,
        error: ApiError,
    },
    #[error("s3://{bucket}/{key} is not a PEM certificate: {problem}")]
    NotPem {
        bucket: String,
        key: String,
        problem: PemError,
    },
    #[error("unsupported request type")]
    UnknownRequest,
}

impl Error {
    /// The Lambda `errorType` of this failure (stable; README.md lists them).
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::EmptyProperty(_) => "CertificatePropertiesInvalid",
            Error::NoSuchKey { .. } => "CertificateNotFound",
            Error::NoSuchBucket { .. } => "CertificateBucketNotFound",
            Error::AccessDenied { .. } => "CertificateAccessDenied",
            Error::Read { .. } => "CertificateReadFailed",
            Error::NotPem { .. } => "CertificateNotPem",
            Error::UnknownRequest => "UnsupportedRequestType",
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

/// What is wrong with a PEM text.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum PemError {
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("no -----BEGIN CERTIFICATE----- line")]
    NoBegin,
    #[error("no -----END CERTIFICATE----- line after the BEGIN line")]
    NoEnd,
    #[error("the certificate body is empty")]
    Empty,
    #[error("the certificate body is not base64")]
    NotBase64,
}

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The body of the first certificate in `pem`: the base64 lines between its BEGIN and END lines,
/// joined without line breaks. Text before the BEGIN line (e.g. `openssl x509 -text` output) and
/// further certificates (a chain) are ignored.
pub fn certificate_body(pem: &str) -> Result<String, PemError> {
    let mut lines = pem.lines().map(str::trim);
    lines
        .by_ref()
        .find(|line| *line == BEGIN)
        .ok_or(PemError::NoBegin)?;
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == END {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(PemError::NoEnd);
    }
    if body.is_empty() {
        return Err(PemError::Empty);
    }
    let base64 = body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    let padding_at_end = body.trim_end_matches('=').bytes().all(|b| b != b'=');
    if !base64 || !padding_at_end || body.len() % 4 != 0 {
        return Err(PemError::NotBase64);
    }
    Ok(body)
}

/// Both properties must be set (checked before any call).
pub fn check_props(props: &Props) -> Result<(), Error> {
    if props.bucket.is_empty() {
        return Err(Error::EmptyProperty(BUCKET));
    }
    if props.key.is_empty() {
        return Err(Error::EmptyProperty(KEY));
    }
    Ok(())
}

/// `GetObject`'s outcome: the object's bytes, or AWS's error (`NoSuchKey`, `NoSuchBucket`,
/// `AccessDenied`, a transport failure ...; `BodyRead` when the body broke off).
pub type Fetched = Result<Vec<u8>, ApiError>;

/// Code of [`Fetched`]'s error when the object's body could not be read.
pub const BODY_READ: &str = "BodyRead";

/// Gathers the object (the one SDK call).
pub async fn fetch(s3: &aws_sdk_s3::Client, props: &Props) -> Fetched {
    let object = s3
        .get_object()
        .bucket(&props.bucket)
        .key(&props.key)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk(&e))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| ApiError::new(BODY_READ, &e.to_string()))?;
    Ok(bytes.to_vec())
}

/// Decides what [`fetch`] found: the certificate body, or the Reason naming bucket and key.
pub fn decide(props: &Props, fetched: Fetched) -> Result<String, Error> {
    let (bucket, key) = (props.bucket.clone(), props.key.clone());
    let bytes = match fetched {
        Ok(bytes) => bytes,
        Err(error) => {
            return Err(match error.code.as_str() {
                "NoSuchKey" => Error::NoSuchKey { bucket, key },
                "NoSuchBucket" => Error::NoSuchBucket { bucket, key },
                "AccessDenied" => Error::AccessDenied { bucket, key },
                _ => Error::Read { bucket, key, error },
            });
        }
    };
    let not_pem = |problem| Error::NotPem {
        bucket: props.bucket.clone(),
        key: props.key.clone(),
        problem,
    };
    let text = String::from_utf8(bytes).map_err(|_| not_pem(PemError::NotText))?;
    certificate_body(&text).map_err(not_pem)
}

/// Reads the certificate object and returns its [`certificate_body`]: check, gather, decide.
pub async fn read_public_key(s3: &aws_sdk_s3::Client, props: &Props) -> Result<String, Error> {
    check_props(props)?;
    let fetched = fetch(s3, props).await;
    if let Err(error) = &fetched {
        tracing::error!(bucket = %props.bucket, key = %props.key, code = %error.code, error = %error.message, "GetObject failed");
    }
    let body = decide(props, fetched)?;
    tracing::info!(bucket = %props.bucket, key = %props.key, body_chars = body.len(), "certificate read");
    Ok(body)
}

/// The custom-resource handler: Create and Update read, Delete does nothing.
pub async fn handle(s3: &aws_sdk_s3::Client, request: Request<Props>) -> Result<Success, Error> {
    let props = match &request {
        Request::Create(create) => &create.resource_properties,
        Request::Update(update) => &update.resource_properties,
        Request::Delete(_) => return Ok(Success::new()),
        _ => return Err(Error::UnknownRequest),
    };
    let body = read_public_key(s3, props).await?;
    Ok(Success::new().with_data(PUBLIC_KEY, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../tests/fixtures/beanstalk.crt");

    #[test]
    fn body_of_a_real_certificate() {
        let body = certificate_body(CERT).unwrap();
        assert!(body.starts_with("MII"), "{body}");
        assert!(!body.contains('\n') && !body.contains('-') && !body.contains(' '));
        let expected: String = CERT.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(body, expected);
    }

    #[test]
    fn pem_table() {
        let cases: &[(&str, Result<&str, PemError>)] = &[
            (
                "-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----\n",
                Ok("QUJDREVG"),
            ),
            (
                "-----BEGIN CERTIFICATE-----\r\nQUJD\r\nREU=\r\n-----END CERTIFICATE-----\r\n",
                Ok("QUJDREU="),
            ),
            (
                "Certificate:\n  Data: ...\n-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----",
                Ok("QUJD"),
            ),
            (
                "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nWFla\n-----END CERTIFICATE-----\n",
                Ok("QUJD"),
            ),
            ("", Err(PemError::NoBegin)),
            (
                "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n",
                Err(PemError::NoBegin),
            ),
            ("-----BEGIN CERTIFICATE-----\nQUJD\n", Err(PemError::NoEnd)),
            (
                "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                Err(PemError::Empty),
            ),
            (
                "-----BEGIN CERTIFICATE-----\nQU JD\n-----END CERTIFICATE-----\n",
                Err(PemError::NotBase64),
            ),
            (
                "-----BEGIN CERTIFICATE-----\nQUJ\n-----END CERTIFICATE-----\n",
                Err(PemError::NotBase64),
            ),
            (
                "-----BEGIN CERTIFICATE-----\nQU=D\n-----END CERTIFICATE-----\n",
                Err(PemError::NotBase64),
            ),
        ];
        for (pem, expected) in cases {
            assert_eq!(
                certificate_body(pem).as_deref().map_err(|e| *e),
                *expected,
                "{pem:?}"
            );
        }
    }

    fn props() -> Props {
        Props {
            bucket: "b1".into(),
            key: "CA/certs/beanstalk.crt".into(),
        }
    }

    #[test]
    fn decisions_over_what_get_object_found() {
        let (bucket, key) = ("b1".to_owned(), "CA/certs/beanstalk.crt".to_owned());
        let failed = |code: &str| Err(ApiError::new(code, "from AWS"));
        let cases: Vec<(Fetched, Result<String, Error>)> = vec![
            (
                Ok(b"-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n".to_vec()),
                Ok("QUJD".into()),
            ),
            (
                failed("NoSuchKey"),
                Err(Error::NoSuchKey {
                    bucket: bucket.clone(),
                    key: key.clone(),
                }),
            ),
            (
                failed("NoSuchBucket"),
                Err(Error::NoSuchBucket {
                    bucket: bucket.clone(),
                    key: key.clone(),
                }),
            ),
            (
                failed("AccessDenied"),
                Err(Error::AccessDenied {
                    bucket: bucket.clone(),
                    key: key.clone(),
                }),
            ),
            (
                failed("Timeout"),
                Err(Error::Read {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    error: ApiError::new("Timeout", "from AWS"),
                }),
            ),
            (
                Ok(vec![0xff, 0xfe]),
                Err(Error::NotPem {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    problem: PemError::NotText,
                }),
            ),
            (
                Ok(b"private".to_vec()),
                Err(Error::NotPem {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    problem: PemError::NoBegin,
                }),
            ),
        ];
        for (fetched, expected) in cases {
            let label = format!("{fetched:?}");
            assert_eq!(decide(&props(), fetched), expected, "{label}");
        }
        let read = decide(&props(), failed("Timeout")).unwrap_err();
        assert_eq!(
            read.to_string(),
            "reading s3://b1/CA/certs/beanstalk.crt failed: Timeout: from AWS"
        );
    }

    #[test]
    fn properties_use_the_contract_names_and_must_be_set() {
        let value = serde_json::json!({"ServiceToken": "arn", "Bucket": "b1", "Key": "CA/certs/beanstalk.crt"});
        let parsed: Props = serde_json::from_value(value).unwrap();
        assert_eq!(parsed, props());
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::json!({BUCKET: "b1", KEY: "CA/certs/beanstalk.crt"})
        );
        let missing = serde_json::from_value::<Props>(serde_json::json!({"Bucket": "b1"}));
        assert!(missing.unwrap_err().to_string().contains("Key"));
        let not_text =
            serde_json::from_value::<Props>(serde_json::json!({"Bucket": 1, "Key": "k"}));
        assert!(
            not_text
                .unwrap_err()
                .to_string()
                .contains("Bucket must be a string")
        );
        assert_eq!(check_props(&props()), Ok(()));
        let empty = Props {
            key: String::new(),
            ..props()
        };
        assert_eq!(
            check_props(&empty).unwrap_err().to_string(),
            "ResourceProperties.Key is empty"
        );
    }

    #[test]
    fn every_failure_has_a_chosen_error_type() {
        let diagnostic = lambda_runtime::Diagnostic::from(Error::NoSuchKey {
            bucket: "b1".into(),
            key: "k".into(),
        });
        assert_eq!(diagnostic.error_type, "CertificateNotFound");
        assert_eq!(
            diagnostic.error_message,
            "the certificate object s3://b1/k does not exist"
        );
        assert_eq!(Error::UnknownRequest.error_type(), "UnsupportedRequestType");
    }

    #[test]
    fn reasons_name_bucket_and_key() {
        let missing = Error::NoSuchKey {
            bucket: "b1".into(),
            key: "CA/certs/beanstalk.crt".into(),
        };
        assert_eq!(
            missing.to_string(),
            "the certificate object s3://b1/CA/certs/beanstalk.crt does not exist"
        );
        let bucket = Error::NoSuchBucket {
            bucket: "b2".into(),
            key: "k".into(),
        };
        assert!(bucket.to_string().contains("bucket b2 does not exist"));
        assert!(bucket.to_string().contains("s3://b2/k"));
    }
}
