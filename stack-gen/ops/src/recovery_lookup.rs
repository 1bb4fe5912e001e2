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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use recovery_lookup::{Found, StackFacts};
    use serde_json::Value;

    use super::*;

    fn stack() -> StackFacts {
        StackFacts {
            name: "openemr".into(),
            parameters: [
                ("EC2KeyPair", "ops"),
                ("TimeZone", "America/Denver"),
                ("RDSPassword", "****"),
                ("BackupHour", "05"),
                ("Unrelated", "x"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            resources: BTreeMap::new(),
        }
    }

    fn found(couch: Option<&str>) -> Found {
        Found {
            kms_key_arn:
                "arn:aws:kms:us-east-1:123456789012:key/6fc10c90-d550-4fd5-bb5c-c2416e31839a".into(),
            bucket: "openemr-bucket".into(),
            rds_snapshot_arn: "arn:aws:rds:us-east-1:123456789012:snapshot:rds:db-1".into(),
            rds_snapshot_time: None,
            couchdb_snapshot: couch.map(str::to_owned),
        }
    }

    fn as_map(file: &Value) -> BTreeMap<String, String> {
        file.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["ParameterKey"].as_str().unwrap().to_owned(),
                    p["ParameterValue"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn the_file_fills_the_recovery_template() {
        let template = stack_gen::generate(&Options {
            recovery: true,
            ..Options::default()
        })
        .unwrap()
        .to_json();
        let file = parameters_file(
            &declared_parameters(&template),
            &stack(),
            &found(Some("snap-0ebb4f155ff27040c")),
        )
        .unwrap();
        let map = as_map(&file);
        assert_eq!(map["RecoveryCouchDBSnapshot"], "snap-0ebb4f155ff27040c");
        assert_eq!(map["RecoveryS3Bucket"], "openemr-bucket");
        assert_eq!(map["TimeZone"], "America/Denver");
        assert_eq!(map["EC2KeyPair"], "ops");
        assert!(!map.contains_key("RDSPassword") && !map.contains_key("Unrelated"));
        assert!(map.values().all(|v| v != "****"));
        // Every key is a parameter of the recovery template.
        for key in map.keys() {
            assert!(template["Parameters"].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn document_store_mismatches_are_errors() {
        let with_docs = stack_gen::generate(&Options {
            recovery: true,
            ..Options::default()
        })
        .unwrap()
        .to_json();
        let error = parameters_file(&declared_parameters(&with_docs), &stack(), &found(None))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no CouchDBVolume") && error.contains("--skip-document-store"),
            "{error}"
        );
        let without = stack_gen::generate(&Options {
            recovery: true,
            skip_document_store: true,
            ..Options::default()
        })
        .unwrap()
        .to_json();
        let error = parameters_file(
            &declared_parameters(&without),
            &stack(),
            &found(Some("snap-0ebb4f155ff27040c")),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("leave out --skip-document-store"), "{error}");
        let file = parameters_file(&declared_parameters(&without), &stack(), &found(None)).unwrap();
        assert!(!as_map(&file).contains_key("RecoveryCouchDBSnapshot"));
    }
}
