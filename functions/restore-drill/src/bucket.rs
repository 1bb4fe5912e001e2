//! Writing the drill's objects to a stack bucket: JSON, SSE-KMS with the stack key (the
//! fingerprint, the reports, the last-success copy).

use aws_clients::ApiError;

use crate::error::DrillError;

pub async fn put_json(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    kms_key_arn: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(), DrillError> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .content_type("application/json")
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(kms_key_arn)
        .send()
        .await
        .map_err(|e| {
            DrillError::aws(
                format!("writing s3://{bucket}/{key}"),
                ApiError::from_sdk(&e),
            )
        })?;
    Ok(())
}
