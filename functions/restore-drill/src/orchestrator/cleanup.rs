//! The teardown steps: the drill stack's buckets emptied and the stack deleted, then what its
//! deletion left behind found and removed.

use aws_clients::ApiError;
use stack_contract::restore_drill::{DRILL_TAG, DRILL_TAG_VALUE, TASK_TEARDOWN};
use time::{Duration, OffsetDateTime};

use crate::Clients;
use crate::config::OrchestratorConfig;
use crate::error::DrillError;
use crate::orchestrator::stacks::own_stack;
use crate::plan::{self, Outcome, Tagged};
use crate::state::{DrillState, StepResult};

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
