//! The orchestrator's tasks (`RestoreDrillFunction`), one per state-machine step. Each one
//! gathers through the SDK, decides with [`crate::plan`] / [`crate::report`], and acts; the
//! state machine does the waiting (Wait states), so no task polls.
//!
//! One module per concern: [`source`] (gather), [`stand_up`] (build, check), [`cleanup`]
//! (teardown, check-teardown and the leftovers), the report here; [`stacks`] describes the drill
//! stack for both ends.

mod cleanup;
mod source;
mod stacks;
mod stand_up;

pub use cleanup::{check_teardown, teardown};
pub use source::gather;
pub use stand_up::{build, check};

use stack_contract::restore_drill::LAST_SUCCESS_KEY;
use time::OffsetDateTime;

use crate::Clients;
use crate::config::OrchestratorConfig;
use crate::error::DrillError;
use crate::report;
use crate::state::DrillState;

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
