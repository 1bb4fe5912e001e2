//! The one place where the Lambdas (and stack-ops) build their AWS clients and read their
//! errors ([`ApiError`]).
//!
//! `aws-config` already honours `AWS_ENDPOINT_URL`, which is how the tests point every client
//! at the emulator on loopback. The one thing it does not do for us is S3 addressing: against a
//! `localhost` endpoint, virtual-host style (`bucket.localhost`) does not resolve, so S3 clients
//! use path-style whenever an explicit endpoint is configured. Real AWS keeps virtual-host style.

mod error;

pub use error::ApiError;

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the shared SDK configuration from the environment (region, credentials, endpoint).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client for `config`, path-style when the endpoint is overridden (the emulator).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// Installs the runtime's default `tracing` subscriber: JSON lines carrying the request id when
/// the function's log format is JSON (as the template sets it), plain text otherwise.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}
