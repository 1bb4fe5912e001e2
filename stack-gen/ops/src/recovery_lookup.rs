//! `stack-ops recovery-params --stack NAME`: the recovery inputs of an existing stack
//! ([`recovery_lookup`], shared with the restore drill) written as the parameters file of the
//! recovery template generated from the same flags (`stack-ops --dual-az recovery-params ...`
//! targets `stack-gen --dual-az --recovery`), so the file matches it exactly.

use anyhow::bail;
use aws_config::SdkConfig;
use recovery_lookup::{declared_parameters, find, parameters_file};

use stack_gen::Options;

/// The parameters file (pretty JSON, final newline) for recovering `stack_name` with a
/// recovery template generated from `options` (`recovery` is forced on).
pub async fn recovery_parameters(
    config: &SdkConfig,
    options: &Options,
    stack_name: &str,
) -> anyhow::Result<String> {
    let options = Options {
        recovery: true,
        ..options.clone()
    };
    let template = stack_gen::generate(&options)?.to_json();
    let (stack, found) = find(config, stack_name).await?;
    let file = parameters_file(&declared_parameters(&template), &stack, &found)?;
    eprintln!(
        "stack-ops: recovery of {stack_name}: key {}, bucket {}, database snapshot {}{}",
        found.kms_key_arn,
        found.bucket,
        found.rds_snapshot_arn,
        found
            .couchdb_snapshot
            .as_deref()
            .map(|s| format!(", document snapshot {s}"))
            .unwrap_or_default()
    );
    let mut text = serde_json::to_string_pretty(&file)?;
    text.push('\n');
    Ok(text)
}

/// The subcommand: SDK configuration from the environment (region, credentials,
/// `AWS_ENDPOINT_URL`), then [`recovery_parameters`]. For `main`.
pub fn run(options: &Options, stack_name: &str) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let config = aws_clients::sdk_config().await;
        if config.region().is_none() {
            bail!("no AWS region: set AWS_REGION (the region of stack {stack_name})");
        }
        recovery_parameters(&config, options, stack_name).await
    })
}
