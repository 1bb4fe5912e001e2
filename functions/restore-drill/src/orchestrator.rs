//! The orchestrator's tasks (`RestoreDrillFunction`), one per state-machine step. Each one
//! gathers through the SDK, decides with [`crate::plan`] / [`crate::report`], and acts; the
//! state machine does the waiting (Wait states), so no task polls.

use aws_clients::ApiError;
use aws_sdk_cloudformation::types::{Capability, OnFailure, Parameter, Tag};
use stack_contract::restore_drill::{
    APPLICATION_URL_OUTPUT, DRILL_TAG, DRILL_TAG_VALUE, EXECUTION_TAG, FINGERPRINT_KEY,
    SOURCE_STACK_TAG, TASK_BUILD, TASK_TEARDOWN, VERIFIER_OUTPUT,
};
use time::{Duration, OffsetDateTime};

use crate::Clients;
use crate::config::OrchestratorConfig;
use crate::error::DrillError;
use crate::fingerprint::{self, Fingerprint};
use crate::plan::{self, Outcome, Tagged};
use crate::report;
use crate::state::{DrillState, Inputs, StepResult};

use stack_contract::restore_drill::LAST_SUCCESS_KEY;

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

/// Build: CreateStack of the drill stack from the uploaded drill template, tagged as a drill,
/// with the recovery parameters and the drill's overrides, under the drill's service role.
pub async fn build(
    clients: &Clients,
    config: &OrchestratorConfig,
    overrides: &[(&str, &str)],
    mut state: DrillState,
    now: OffsetDateTime,
) -> Result<DrillState, DrillError> {
    state.absorb_error(TASK_BUILD, now);
    let name = state
        .drill_stack
        .clone()
        .ok_or_else(|| DrillError::BadState("build before gather (no drill_stack)".into()))?;
    let inputs = state
        .inputs
        .clone()
        .ok_or_else(|| DrillError::BadState("build before gather (no inputs)".into()))?;
    let summary = clients
        .cfn
        .get_template_summary()
        .template_url(&config.template_url)
        .send()
        .await
        .map_err(|e| {
            DrillError::aws(
                format!("reading the drill template {}", config.template_url),
                ApiError::from_sdk(&e),
            )
        })?;
    let declared: Vec<recovery_lookup::Declared> = summary
        .parameters()
        .iter()
        .map(|p| recovery_lookup::Declared {
            name: p.parameter_key().unwrap_or_default().to_owned(),
            no_echo: p.no_echo().unwrap_or(false),
        })
        .collect();
    let stack = recovery_lookup::stack_facts(
        &clients.cfn,
        &config.stack_name,
        &clients
            .sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )
    .await
    .map_err(DrillError::Lookup)?;
    let found = recovery_lookup::Found {
        kms_key_arn: inputs.kms_key_arn,
        bucket: inputs.bucket,
        rds_snapshot_arn: inputs.rds_snapshot_arn,
        rds_snapshot_time: None,
        couchdb_snapshot: inputs.couchdb_snapshot,
    };
    let recovery =
        recovery_lookup::parameters_file(&declared, &stack, &found).map_err(DrillError::Lookup)?;
    let parameters = plan::drill_parameters(&recovery, overrides);
    let parameters: Vec<Parameter> = parameters
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            Parameter::builder()
                .parameter_key(p["ParameterKey"].as_str().unwrap_or_default())
                .parameter_value(p["ParameterValue"].as_str().unwrap_or_default())
                .build()
        })
        .collect();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let created = clients
        .cfn
        .create_stack()
        .stack_name(&name)
        .template_url(&config.template_url)
        .set_parameters(Some(parameters))
        .tags(tag(DRILL_TAG, DRILL_TAG_VALUE))
        .tags(tag(SOURCE_STACK_TAG, &config.stack_name))
        .tags(tag(EXECUTION_TAG, &state.execution))
        .role_arn(&config.stack_role_arn)
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        // Kept for teardown to delete: a rollback would remove what a person might look at.
        .on_failure(OnFailure::DoNothing)
        .client_request_token(plan::client_request_token(&state.execution))
        .send()
        .await
        .map_err(|e| {
            // Today's drill stack exists, and this execution's token did not make it: another
            // execution (the schedule delivers at least once; a manual start) runs today's drill.
            if e.as_service_error()
                .is_some_and(|e| e.is_already_exists_exception())
            {
                return DrillError::AlreadyRunning {
                    stack: config.stack_name.clone(),
                    running: name.clone(),
                };
            }
            DrillError::aws(
                format!("creating the drill stack {name}"),
                ApiError::from_sdk(&e),
            )
        })?;
    state.stack_id = created.stack_id().map(str::to_owned).or(Some(name));
    state.ready_by = Some(now + Duration::minutes(i64::from(config.wait_minutes)));
    state.record(
        "build",
        now,
        OffsetDateTime::now_utc(),
        StepResult::Ok,
        "CreateStack accepted",
    );
    Ok(state)
}

/// The drill stack's status, reason, outputs and the execution that created it (`None`: it
/// does not exist).
struct StackStatus {
    status: String,
    reason: Option<String>,
    outputs: Vec<(String, String)>,
    execution: Option<String>,
}

async fn describe(clients: &Clients, stack: &str) -> Result<Option<StackStatus>, DrillError> {
    match clients.cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => Ok(out.stacks().first().map(|s| StackStatus {
            status: s
                .stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: s.stack_status_reason().map(str::to_owned),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                .collect(),
            execution: s
                .tags()
                .iter()
                .find(|t| t.key() == Some(EXECUTION_TAG))
                .and_then(|t| t.value().map(str::to_owned)),
        })),
        Err(e) => {
            let error = ApiError::from_sdk(&e);
            // DescribeStacks of a deleted stack by name: ValidationError "does not exist".
            if error.code == "ValidationError" && error.message.contains("does not exist") {
                Ok(None)
            } else {
                Err(DrillError::aws(
                    format!("describing the drill stack {stack}"),
                    error,
                ))
            }
        }
    }
}

/// The drill stack this execution may delete, with its status: by id once CreateStack answered
/// (this execution made it), by name when that answer was lost, and then only if its
/// [`EXECUTION_TAG`] names this execution. `None`: no such stack exists.
async fn own_stack(
    clients: &Clients,
    state: &DrillState,
) -> Result<Option<(String, StackStatus)>, DrillError> {
    let (stack, by_id) = match (&state.stack_id, &state.drill_stack) {
        (Some(id), _) => (id.clone(), true),
        (None, Some(name)) => (name.clone(), false),
        (None, None) => return Ok(None),
    };
    Ok(describe(clients, &stack).await?.and_then(|status| {
        (by_id || status.execution.as_deref() == Some(state.execution.as_str()))
            .then_some((stack, status))
    }))
}

/// Check: is the drill stack ready, still coming, failed, or out of time?
pub async fn check(
    clients: &Clients,
    mut state: DrillState,
    now: OffsetDateTime,
) -> Result<DrillState, DrillError> {
    let stack = state
        .stack_id
        .clone()
        .ok_or_else(|| DrillError::BadState("check before build (no stack_id)".into()))?;
    let ready_by = state.ready_by.unwrap_or(now);
    let described = describe(clients, &stack).await?;
    let outcome = match &described {
        Some(s) => plan::creation_outcome(&s.status, s.reason.as_deref(), now, ready_by),
        None => Outcome::Failed(format!(
            "the drill stack {stack} disappeared while being created"
        )),
    };
    let started = state
        .steps
        .iter()
        .rev()
        .find(|s| s.name == "build")
        .map_or(now, |s| s.started);
    match &outcome {
        Outcome::Ready => {
            let outputs = described.map(|s| s.outputs).unwrap_or_default();
            let output = |key: &str| {
                outputs
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            state.verifier_function = output(VERIFIER_OUTPUT);
            state.application_url = output(APPLICATION_URL_OUTPUT);
            if state.verifier_function.is_none() {
                let why = format!(
                    "the drill stack has no {VERIFIER_OUTPUT} output: is the drill template a drill-mode recovery template?"
                );
                state.fail("wait", started, now, StepResult::Failed, why);
                state.outcome = Some(Outcome::Failed(String::new()).as_str().into());
                return Ok(state);
            }
            state.record("wait", started, now, StepResult::Ok, "CREATE_COMPLETE");
        }
        Outcome::Failed(why) => state.fail("wait", started, now, StepResult::Failed, why.clone()),
        Outcome::TimedOut(why) => {
            state.fail("wait", started, now, StepResult::TimedOut, why.clone())
        }
        Outcome::Waiting | Outcome::Deleted => {}
    }
    state.outcome = Some(outcome.as_str().into());
    Ok(state)
}

/// Teardown: empties the drill stack's buckets (CloudFormation deletes only empty ones) and
/// starts its deletion under the drill's service role. Idempotent; never touches a stack that
/// is not a drill of this stack.
pub async fn teardown(
    clients: &Clients,
    config: &OrchestratorConfig,
    mut state: DrillState,
    now: OffsetDateTime,
) -> Result<DrillState, DrillError> {
    state.absorb_error(TASK_TEARDOWN, now);
    let name = state.drill_stack.clone().unwrap_or_default();
    if state.drill_stack.is_some() && !plan::is_drill_of(&config.stack_name, &name) {
        return Err(DrillError::NotADrill(name));
    }
    let Some(stack) = own_stack(clients, &state)
        .await?
        .filter(|(_, s)| s.status != "DELETE_COMPLETE")
        .map(|(stack, _)| stack)
    else {
        // Nothing of this execution's to delete (gather or build failed before a stack was
        // made, or another execution made today's): check-teardown says so.
        state.outcome = Some(Outcome::Deleted.as_str().into());
        return Ok(state);
    };
    state.teardown_attempts += 1;
    // A stack whose creation broke may not list its resources: delete it anyway (a bucket
    // left full fails the deletion, and the next attempt empties it).
    let buckets = stack_buckets(clients, &stack).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the drill stack's buckets could not be listed");
        Vec::new()
    });
    for bucket in buckets {
        empty_bucket(clients, &bucket).await?;
    }
    clients
        .cfn
        .delete_stack()
        .stack_name(&stack)
        .role_arn(&config.stack_role_arn)
        .send()
        .await
        .map_err(|e| {
            DrillError::aws(
                format!("deleting the drill stack {name}"),
                ApiError::from_sdk(&e),
            )
        })?;
    state.deleted_by = Some(now + Duration::minutes(plan::TEARDOWN_MINUTES));
    state.outcome = None;
    Ok(state)
}

async fn stack_buckets(clients: &Clients, stack: &str) -> Result<Vec<String>, DrillError> {
    let mut buckets = Vec::new();
    let mut pages = clients
        .cfn
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            // Already gone: nothing to empty.
            Err(e) if ApiError::from_sdk(&e).code == "ValidationError" => return Ok(buckets),
            Err(e) => {
                return Err(DrillError::aws(
                    "listing the drill stack's resources",
                    ApiError::from_sdk(&e),
                ));
            }
        };
        for r in page.stack_resource_summaries() {
            if r.resource_type() == Some("AWS::S3::Bucket") {
                if let Some(id) = r.physical_resource_id() {
                    buckets.push(id.to_owned());
                }
            }
        }
    }
    Ok(buckets)
}

/// Deletes every object version and delete marker of a drill bucket.
async fn empty_bucket(clients: &Clients, bucket: &str) -> Result<(), DrillError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    loop {
        let listed = match clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(listed) => listed,
            Err(e) if ApiError::from_sdk(&e).code == "NoSuchBucket" => return Ok(()),
            Err(e) => {
                return Err(DrillError::aws(
                    format!("listing s3://{bucket}"),
                    ApiError::from_sdk(&e),
                ));
            }
        };
        let mut objects: Vec<ObjectIdentifier> = Vec::new();
        for v in listed.versions() {
            objects.extend(
                ObjectIdentifier::builder()
                    .set_key(v.key().map(str::to_owned))
                    .set_version_id(v.version_id().map(str::to_owned))
                    .build()
                    .ok(),
            );
        }
        for m in listed.delete_markers() {
            objects.extend(
                ObjectIdentifier::builder()
                    .set_key(m.key().map(str::to_owned))
                    .set_version_id(m.version_id().map(str::to_owned))
                    .build()
                    .ok(),
            );
        }
        if objects.is_empty() {
            return Ok(());
        }
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| DrillError::Stack(e.to_string()))?;
        clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| {
                DrillError::aws(format!("emptying s3://{bucket}"), ApiError::from_sdk(&e))
            })?;
    }
}

/// Check-teardown: is the drill stack gone? Then its leftovers are deleted too.
pub async fn check_teardown(
    clients: &Clients,
    config: &OrchestratorConfig,
    mut state: DrillState,
    now: OffsetDateTime,
) -> Result<DrillState, DrillError> {
    let owned = own_stack(clients, &state).await?;
    if owned.is_none() && state.stack_id.is_none() {
        // This execution made no stack: nothing to wait for, nothing left over to delete.
        state.outcome = Some(Outcome::Deleted.as_str().into());
        return Ok(state);
    }
    let described = owned.map(|(_, status)| status);
    let outcome = plan::deletion_outcome(
        described.as_ref().map(|s| s.status.as_str()),
        described.as_ref().and_then(|s| s.reason.as_deref()),
        state.teardown_attempts,
        now,
        state.deleted_by.unwrap_or(now),
    );
    let started = state
        .deleted_by
        .map_or(now, |d| d - Duration::minutes(plan::TEARDOWN_MINUTES));
    match &outcome {
        Outcome::Deleted => {
            let name = state.drill_stack.clone().unwrap_or_default();
            let resource_name = state
                .stack_id
                .as_deref()
                .and_then(|id| stack_contract::restore_drill::resource_name(&config.bucket, id));
            let removed = delete_leftovers(clients, &name, resource_name.as_deref()).await?;
            state.record(
                "teardown",
                started,
                now,
                StepResult::Ok,
                format!("drill stack deleted{removed}"),
            );
        }
        // A failed deletion is retried (TeardownDone), and still a problem of the report.
        Outcome::Failed(why) => {
            state.fail("teardown", started, now, StepResult::Failed, why.clone())
        }
        Outcome::TimedOut(why) => {
            state.fail("teardown", started, now, StepResult::TimedOut, why.clone())
        }
        _ => {}
    }
    state.outcome = Some(outcome.as_str().into());
    Ok(state)
}

/// Deletes the log groups, volumes and snapshots the drill stack left; says what it removed.
/// Gathers what a drill leaves ([`drill_resources`]), decides what is this drill's
/// ([`plan::leftovers`]), removes it ([`remove`]).
async fn delete_leftovers(
    clients: &Clients,
    drill_stack: &str,
    resource_name: Option<&str>,
) -> Result<String, DrillError> {
    let found = drill_resources(clients, resource_name).await?;
    let leftovers = plan::leftovers(drill_stack, resource_name, &found);
    remove(clients, &leftovers).await?;
    Ok(leftovers.summary())
}

/// Every drill's resources that deleting its stack may leave: the log groups under the
/// prefixes the orchestrator may delete, and the volumes and snapshots tagged as a drill's.
async fn drill_resources(
    clients: &Clients,
    resource_name: Option<&str>,
) -> Result<plan::DrillResources, DrillError> {
    let mut groups = Vec::new();
    for prefix in plan::log_group_prefixes(resource_name) {
        let mut pages = clients
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                DrillError::aws("listing the drill's log groups", ApiError::from_sdk(&e))
            })?;
            groups.extend(
                page.log_groups()
                    .iter()
                    .filter_map(|g| g.log_group_name().map(str::to_owned)),
            );
        }
    }
    let tag_filter = |key: &str, value: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{key}"))
            .values(value)
            .build()
    };
    let stack_of = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .find(|t| t.key() == Some("aws:cloudformation:stack-name"))
            .and_then(|t| t.value().map(str::to_owned))
    };
    let volumes: Vec<Tagged> = clients
        .ec2
        .describe_volumes()
        .filters(tag_filter(DRILL_TAG, DRILL_TAG_VALUE))
        .send()
        .await
        .map_err(|e| DrillError::aws("listing the drill's volumes", ApiError::from_sdk(&e)))?
        .volumes()
        .iter()
        .map(|v| Tagged {
            id: v.volume_id().unwrap_or_default().to_owned(),
            stack: stack_of(v.tags()),
            state: v.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        })
        .collect();
    let snapshots: Vec<Tagged> = clients
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(tag_filter(DRILL_TAG, DRILL_TAG_VALUE))
        .send()
        .await
        .map_err(|e| DrillError::aws("listing the drill's snapshots", ApiError::from_sdk(&e)))?
        .snapshots()
        .iter()
        .map(|s| Tagged {
            id: s.snapshot_id().unwrap_or_default().to_owned(),
            stack: stack_of(s.tags()),
            state: s.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        })
        .collect();
    Ok(plan::DrillResources {
        log_groups: groups,
        volumes,
        snapshots,
    })
}

/// Deletes `leftovers`.
async fn remove(clients: &Clients, leftovers: &plan::Leftovers) -> Result<(), DrillError> {
    for group in &leftovers.log_groups {
        clients
            .logs
            .delete_log_group()
            .log_group_name(group)
            .send()
            .await
            .map_err(|e| {
                DrillError::aws(
                    format!("deleting the log group {group}"),
                    ApiError::from_sdk(&e),
                )
            })?;
    }
    for volume in &leftovers.volumes {
        clients
            .ec2
            .delete_volume()
            .volume_id(volume)
            .send()
            .await
            .map_err(|e| {
                DrillError::aws(
                    format!("deleting the volume {volume}"),
                    ApiError::from_sdk(&e),
                )
            })?;
    }
    for snapshot in &leftovers.snapshots {
        clients
            .ec2
            .delete_snapshot()
            .snapshot_id(snapshot)
            .send()
            .await
            .map_err(|e| {
                DrillError::aws(
                    format!("deleting the snapshot {snapshot}"),
                    ApiError::from_sdk(&e),
                )
            })?;
    }
    Ok(())
}

/// Report: the JSON report in the bucket (and the last-success marker), the EMF line on
/// `metrics`, the operators' alert on failure. A refused drill writes no report (the running
/// one's would be overwritten) and no metric; it alerts.
pub async fn report(
    clients: &Clients,
    config: &OrchestratorConfig,
    mut state: DrillState,
    now: OffsetDateTime,
    metrics: &mut (dyn std::io::Write + Send),
) -> Result<DrillState, DrillError> {
    state.absorb_report_errors(now);
    if state.source_stack.is_empty() {
        state.source_stack = config.stack_name.clone();
    }
    let report = report::build(&state, now);
    let mut location = None;
    if !state.refused {
        let key = report::key(&report);
        let body = serde_json::to_vec_pretty(&report).expect("a report serialises");
        crate::bucket::put_json(
            &clients.s3,
            &config.bucket,
            &config.kms_key_arn,
            &key,
            body.clone(),
        )
        .await?;
        if report.ok {
            crate::bucket::put_json(
                &clients.s3,
                &config.bucket,
                &config.kms_key_arn,
                LAST_SUCCESS_KEY,
                body,
            )
            .await?;
        }
        let _ = writeln!(metrics, "{}", report::emf_line(&report));
        location = Some(format!("s3://{}/{key}", config.bucket));
        state.report_key = Some(key);
    }
    if !report.ok {
        if let Some(topic) = &config.topic {
            let (subject, message) = report::alert(&report, location.as_deref());
            aws_clients::alert::publish(&clients.sns, topic, &subject, &message)
                .await
                .map_err(|e| DrillError::aws("alerting the operators", e))?;
        }
    }
    tracing::info!(ok = report.ok, problems = report.problems.len(), report = ?state.report_key, "drill reported");
    state.ok = report.ok;
    Ok(state)
}
