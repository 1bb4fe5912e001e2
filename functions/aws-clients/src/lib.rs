//! The one place where the Lambdas (and stack-ops) build their AWS clients and read their
//! errors ([`ApiError`]) and the SDK's timestamps ([`time::instant`]): the Lambdas'
//! configuration comes from their environment alone ([`lambda_sdk_config`]), stack-ops' from
//! aws-config's whole chain ([`sdk_config`]). Also the functions' EMF lines ([`EmfLine`]) and
//! operators' alerts ([`alert`]).
//!
//! Both honour `AWS_ENDPOINT_URL`, which is how the tests point every client at the emulator
//! on loopback. The one thing it does not do for us is S3 addressing: against a
//! `localhost` endpoint, virtual-host style (`bucket.localhost`) does not resolve, so S3 clients
//! use path-style whenever an explicit endpoint is configured. Real AWS keeps virtual-host style.

pub mod alert;
pub mod emf;
mod error;
pub mod time;

pub use emf::EmfLine;
pub use error::{ApiError, error_chain};

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// stack-ops' SDK configuration: aws-config's whole default chain (profiles, SSO, a
/// credential_process, web identity, instance metadata), for an operator's machine.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A Lambda's SDK configuration, read from its process environment (see
/// [`lambda_sdk_config_from`]).
pub fn lambda_sdk_config() -> SdkConfig {
    lambda_sdk_config_from(|name| std::env::var(name).ok())
}

/// The SDK configuration of a Lambda from the environment `var` reads: region (`AWS_REGION`,
/// else `AWS_DEFAULT_REGION`), credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) and the endpoint override (`AWS_ENDPOINT_URL`, the emulator's).
///
/// Why not aws-config's default chain: Lambda hands every function its role's credentials and
/// its region in exactly these variables, the chain's first link; its other links (profile
/// files, SSO, STS web identity, instance metadata) never answer in Lambda but cost each zip
/// ~0.3 MB and each cold start a profile-file read. Locally, export credentials
/// (`eval "$(aws configure export-credentials --format env)"`) instead of `AWS_PROFILE`.
/// Without keys in `var` the clients still sign with the process environment's at call time,
/// so a missing key fails the call (a custom resource answers FAILED), naming the variable.
pub fn lambda_sdk_config_from(var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let var = |name: &str| var(name).filter(|value| !value.is_empty());
    let credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(key), Some(secret)) => SharedCredentialsProvider::new(Credentials::new(
            key,
            secret,
            var("AWS_SESSION_TOKEN"),
            None,
            "Environment",
        )),
        _ => SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()),
    };
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(credentials);
    config.set_region(
        var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .map(Region::new),
    );
    config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    config.build()
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;

    fn config_of(env: &[(&str, &str)]) -> SdkConfig {
        lambda_sdk_config_from(|name| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[tokio::test]
    async fn a_lambda_reads_region_keys_and_endpoint_from_its_environment() {
        let config = config_of(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]);
        assert_eq!(config.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        let credentials = config
            .credentials_provider()
            .expect("a credentials provider")
            .provide_credentials()
            .await
            .expect("the environment's keys");
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
    }

    #[test]
    fn aws_default_region_serves_when_aws_region_is_unset_or_empty() {
        let config = config_of(&[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "us-west-2")]);
        assert_eq!(config.region().map(Region::as_ref), Some("us-west-2"));
        assert_eq!(
            config.endpoint_url(),
            None,
            "no override: AWS's own endpoints"
        );
        assert_eq!(config_of(&[]).region(), None);
    }
}
