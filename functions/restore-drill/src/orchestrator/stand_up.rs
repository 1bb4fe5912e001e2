//! The build and check steps: the drill stack created from the drill template, and watched
//! until it is ready, failed or out of time.

use aws_clients::ApiError;
use aws_sdk_cloudformation::types::{Capability, OnFailure, Parameter, Tag};
use stack_contract::restore_drill::{
    APPLICATION_URL_OUTPUT, DRILL_TAG, DRILL_TAG_VALUE, EXECUTION_TAG, SOURCE_STACK_TAG,
    TASK_BUILD, VERIFIER_OUTPUT,
};
use time::{Duration, OffsetDateTime};

use crate::Clients;
use crate::config::OrchestratorConfig;
use crate::error::DrillError;
use crate::orchestrator::stacks::describe;
use crate::plan::{self, Outcome};
use crate::state::{DrillState, StepResult};

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
