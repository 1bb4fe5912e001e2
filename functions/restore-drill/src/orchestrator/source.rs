//! The gather step: the source stack's recovery inputs and the night's fingerprint, and the
//! drill stack's name; refused while another drill of the stack exists.

use aws_clients::ApiError;
use stack_contract::restore_drill::FINGERPRINT_KEY;
use time::OffsetDateTime;

use crate::Clients;
use crate::config::OrchestratorConfig;
use crate::error::DrillError;
use crate::fingerprint::{self, Fingerprint};
use crate::plan;
use crate::state::{DrillState, Inputs, StepResult};

/// Gather: refuse while another drill exists; the recovery inputs (the shared look-up, as
/// `stack-ops recovery-params` does it); the night's fingerprint; the drill stack's name.
pub async fn gather(
    clients: &Clients,
    config: &OrchestratorConfig,
    mut state: DrillState,
    now: OffsetDateTime,
) -> Result<DrillState, DrillError> {
    let started = *state.started.get_or_insert(now);
    state.source_stack = config.stack_name.clone();
    state.tolerance_percent = config.tolerance_percent;
    let stacks = list_stacks(clients).await?;
    let running = plan::running_drills(&config.stack_name, &stacks);
    if !running.is_empty() {
        return Err(DrillError::AlreadyRunning {
            stack: config.stack_name.clone(),
            running: running.join(", "),
        });
    }
    let (_, found) = recovery_lookup::find(&clients.sdk, &config.stack_name)
        .await
        .map_err(DrillError::Lookup)?;
    state.fingerprint = Some(read_fingerprint(clients, &config.bucket).await?);
    state.inputs = Some(Inputs {
        kms_key_arn: found.kms_key_arn,
        bucket: found.bucket,
        rds_snapshot_arn: found.rds_snapshot_arn,
        couchdb_snapshot: found.couchdb_snapshot,
        data_time: found.rds_snapshot_time,
    });
    let name = plan::drill_stack_name(&config.stack_name, started);
    state.record(
        "gather",
        now,
        OffsetDateTime::now_utc(),
        StepResult::Ok,
        format!("restoring into {name}"),
    );
    state.drill_stack = Some(name);
    Ok(state)
}

async fn list_stacks(clients: &Clients) -> Result<Vec<(String, String)>, DrillError> {
    let mut stacks = Vec::new();
    let mut pages = clients.cfn.list_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| DrillError::aws("listing the stacks", ApiError::from_sdk(&e)))?;
        for s in page.stack_summaries() {
            stacks.push((
                s.stack_name().unwrap_or_default().to_owned(),
                s.stack_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            ));
        }
    }
    Ok(stacks)
}

async fn read_fingerprint(clients: &Clients, bucket: &str) -> Result<Fingerprint, DrillError> {
    let missing = || DrillError::NoFingerprint {
        bucket: bucket.to_owned(),
        key: FINGERPRINT_KEY.to_owned(),
    };
    let object = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(FINGERPRINT_KEY)
        .send()
        .await
        .map_err(|e| match ApiError::from_sdk(&e) {
            a if a.code == "NoSuchKey" => missing(),
            a => DrillError::aws(format!("reading s3://{bucket}/{FINGERPRINT_KEY}"), a),
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| DrillError::Stack(format!("reading {FINGERPRINT_KEY}: {e}")))?
        .into_bytes();
    let fingerprint: Fingerprint = serde_json::from_slice(&bytes)
        .map_err(|e| DrillError::Stack(format!("{FINGERPRINT_KEY} is not a fingerprint: {e}")))?;
    if fingerprint.format_version > fingerprint::FORMAT_VERSION {
        return Err(DrillError::Stack(format!(
            "{FINGERPRINT_KEY} has format version {}, newer than this function reads: update the Lambda code (stack-ops package)",
            fingerprint.format_version
        )));
    }
    Ok(fingerprint)
}
