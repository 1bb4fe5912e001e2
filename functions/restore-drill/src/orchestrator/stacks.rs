//! The drill stack as CloudFormation describes it, and the one this execution may touch.

use aws_clients::ApiError;
use stack_contract::restore_drill::EXECUTION_TAG;

use crate::Clients;
use crate::error::DrillError;
use crate::state::DrillState;

/// The drill stack's status, reason, outputs and the execution that created it (`None`: it
/// does not exist).
pub(crate) struct StackStatus {
    pub(crate) status: String,
    pub(crate) reason: Option<String>,
    pub(crate) outputs: Vec<(String, String)>,
    pub(crate) execution: Option<String>,
}

pub(crate) async fn describe(
    clients: &Clients,
    stack: &str,
) -> Result<Option<StackStatus>, DrillError> {
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
pub(crate) async fn own_stack(
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
