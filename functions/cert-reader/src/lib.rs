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

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use custom_resource::{Request, Success};
use serde::{Deserialize, Serialize};

/// `ResourceProperties` of `EBCert`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Props {
    /// The stack bucket.
    pub bucket: String,
    /// The certificate object, `CA/certs/beanstalk.crt` in the template.
    pub key: String,
}

/// The attribute the template reads with `Fn::GetAtt [EBCert, PublicKey]`.
pub const PUBLIC_KEY: &str = "PublicKey";

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
    #[error("reading s3://{bucket}/{key} failed: {message}")]
    Read {
        bucket: String,
        key: String,
        message: String,
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

/// Reads the certificate object and returns its [`certificate_body`].
pub async fn read_public_key(s3: &aws_sdk_s3::Client, props: &Props) -> Result<String, Error> {
    if props.bucket.is_empty() {
        return Err(Error::EmptyProperty("Bucket"));
    }
    if props.key.is_empty() {
        return Err(Error::EmptyProperty("Key"));
    }
    let (bucket, key) = (props.bucket.clone(), props.key.clone());
    let object = match s3.get_object().bucket(&bucket).key(&key).send().await {
        Ok(object) => object,
        Err(err) => {
            let code = err.code().map(str::to_owned);
            let message = DisplayErrorContext(&err).to_string();
            tracing::error!(bucket, key, code = code.as_deref().unwrap_or(""), error = %message, "GetObject failed");
            return Err(match code.as_deref() {
                Some("NoSuchKey") => Error::NoSuchKey { bucket, key },
                Some("NoSuchBucket") => Error::NoSuchBucket { bucket, key },
                Some("AccessDenied") => Error::AccessDenied { bucket, key },
                _ => Error::Read {
                    bucket,
                    key,
                    message,
                },
            });
        }
    };
    let bytes = object.body.collect().await.map_err(|e| Error::Read {
        bucket: bucket.clone(),
        key: key.clone(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| Error::NotPem {
        bucket: bucket.clone(),
        key: key.clone(),
        problem: PemError::NotText,
    })?;
    let body = certificate_body(&text).map_err(|problem| Error::NotPem {
        bucket: bucket.clone(),
        key: key.clone(),
        problem,
    })?;
    tracing::info!(bucket, key, body_chars = body.len(), "certificate read");
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
