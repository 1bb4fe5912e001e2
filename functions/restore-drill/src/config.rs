//! The two deployments' configuration, read once through the contract's environment reader.

use std::path::PathBuf;

use stack_contract::env::{Env, EnvError};
use stack_contract::restore_drill::{data, orchestrator};

/// `RestoreDrillFunction`'s configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrchestratorConfig {
    pub stack_name: String,
    pub bucket: String,
    pub kms_key_arn: String,
    pub template_url: String,
    pub stack_role_arn: String,
    pub topic: Option<String>,
    pub wait_minutes: u32,
    pub tolerance_percent: u32,
}

impl OrchestratorConfig {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
        Ok(OrchestratorConfig {
            stack_name: env.required(orchestrator::STACK_NAME)?,
            bucket: env.required(orchestrator::BUCKET)?,
            kms_key_arn: env.required(orchestrator::KMS_KEY_ARN)?,
            template_url: env.required(orchestrator::TEMPLATE_URL)?,
            stack_role_arn: env.required(orchestrator::STACK_ROLE_ARN)?,
            topic: env.optional(orchestrator::TOPIC),
            wait_minutes: env.number_in(
                orchestrator::WAIT_MINUTES,
                orchestrator::DEFAULT_WAIT_MINUTES,
                orchestrator::WAIT_MINUTES_RANGE.0..=orchestrator::WAIT_MINUTES_RANGE.1,
                "minutes",
            )?,
            tolerance_percent: env.number_in(
                orchestrator::TOLERANCE_PERCENT,
                orchestrator::DEFAULT_TOLERANCE_PERCENT,
                orchestrator::TOLERANCE_PERCENT_RANGE.0..=orchestrator::TOLERANCE_PERCENT_RANGE.1,
                "percent",
            )?,
        })
    }
}

/// The recorder's and the verifier's configuration: where the stack's data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataConfig {
    pub stack_name: String,
    pub bucket: String,
    pub kms_key_arn: String,
    pub db_host: String,
    pub db_port: u16,
    pub db_tls: bool,
    pub couchdb_url: Option<String>,
    pub efs: PathBuf,
    pub application_url: Option<String>,
}

impl DataConfig {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, EnvError> {
        Ok(DataConfig {
            stack_name: env.required(data::STACK_NAME)?,
            bucket: env.required(data::BUCKET)?,
            kms_key_arn: env.required(data::KMS_KEY_ARN)?,
            db_host: env.required(data::DB_HOST)?,
            db_port: env.number_in(data::DB_PORT, 3306, 1..=65535, "port")?,
            db_tls: env.flag(data::DB_TLS)?,
            couchdb_url: env.optional(data::COUCHDB_URL),
            efs: env
                .optional(data::EFS_MOUNT)
                .unwrap_or_else(|| data::DEFAULT_EFS_MOUNT.to_owned())
                .into(),
            application_url: env.optional(data::APPLICATION_URL),
        })
    }
}
