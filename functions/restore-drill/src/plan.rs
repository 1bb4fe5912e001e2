//! The drill's decisions, as pure functions over facts the tasks gathered: what the drill stack
//! is called and built with, whether another drill is running, whether a wait is over, what is
//! left to clean up. No AWS here; [`crate::orchestrator`] gathers and acts.

use serde_json::Value;
use stack_contract::restore_drill::{
    BEANSTALK_LOG_GROUPS, LAMBDA_LOG_GROUPS, OUTCOME_DELETED, OUTCOME_FAILED, OUTCOME_READY,
    OUTCOME_TIMED_OUT, OUTCOME_WAITING, RDS_LOG_GROUPS, STACK_INFIX,
};
use time::OffsetDateTime;

/// CloudFormation's longest stack name.
pub const MAX_STACK_NAME: usize = 128;
/// Times the drill stack's deletion is started before the drill gives up on it.
pub const MAX_TEARDOWN_ATTEMPTS: u32 = 2;
/// How long one deletion may take.
pub const TEARDOWN_MINUTES: i64 = 60;

/// `<source>-drill-<yyyymmdd>` (the source's name shortened if the whole would be too long).
pub fn drill_stack_name(source: &str, started: OffsetDateTime) -> String {
    let date = format!(
        "{:04}{:02}{:02}",
        started.year(),
        u8::from(started.month()),
        started.day()
    );
    let room = MAX_STACK_NAME - STACK_INFIX.len() - date.len();
    let source: String = source.chars().take(room).collect();
    format!("{source}{STACK_INFIX}{date}")
}

/// Whether `name` is one of `source`'s drill stacks: the only stacks the drill deletes.
pub fn is_drill_of(source: &str, name: &str) -> bool {
    name.strip_prefix(source)
        .and_then(|rest| rest.strip_prefix(STACK_INFIX))
        .is_some_and(|date| date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()))
}

/// The drills of `source` that still exist (any status but deleted), from `(name, status)`
/// of the account's stacks: a new drill is refused while one is listed.
pub fn running_drills(source: &str, stacks: &[(String, String)]) -> Vec<String> {
    stacks
        .iter()
        .filter(|(name, status)| is_drill_of(source, name) && status != "DELETE_COMPLETE")
        .map(|(name, status)| format!("{name} ({status})"))
        .collect()
}

/// CreateStack's ClientRequestToken: the same for every retry of one execution's build, so a
/// retried build cannot create a second stack.
pub fn client_request_token(execution: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(execution.as_bytes()));
    format!("drill-{}", &digest[..32])
}

/// The drill stack's parameters: the recovery parameters with the drill's overrides (the
/// smallest instance classes) for those the template declares.
pub fn drill_parameters(recovery_parameters: &Value, overrides: &[(&str, &str)]) -> Value {
    let mut parameters = recovery_parameters.as_array().cloned().unwrap_or_default();
    let declared: Vec<String> = parameters
        .iter()
        .filter_map(|p| p["ParameterKey"].as_str().map(str::to_owned))
        .collect();
    for (name, value) in overrides {
        match parameters.iter_mut().find(|p| p["ParameterKey"] == *name) {
            Some(p) => p["ParameterValue"] = Value::from(*value),
            None if !declared.iter().any(|d| d == name) => parameters
                .push(serde_json::json!({ "ParameterKey": name, "ParameterValue": value })),
            None => {}
        }
    }
    Value::Array(parameters)
}

/// What a wait decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Waiting,
    Ready,
    Failed(String),
    TimedOut(String),
    Deleted,
}

impl Outcome {
    /// The value the state machine's Choice reads.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Waiting => OUTCOME_WAITING,
            Outcome::Ready => OUTCOME_READY,
            Outcome::Failed(_) => OUTCOME_FAILED,
            Outcome::TimedOut(_) => OUTCOME_TIMED_OUT,
            Outcome::Deleted => OUTCOME_DELETED,
        }
    }
}

/// The drill stack's creation, from its status: ready, still going, failed, or out of time.
pub fn creation_outcome(
    status: &str,
    reason: Option<&str>,
    now: OffsetDateTime,
    ready_by: OffsetDateTime,
) -> Outcome {
    let why = |what: &str| {
        format!(
            "{what}: {status}{}",
            reason.map(|r| format!(" ({r})")).unwrap_or_default()
        )
    };
    match status {
        "CREATE_COMPLETE" => Outcome::Ready,
        "CREATE_IN_PROGRESS" if now > ready_by => Outcome::TimedOut(format!(
            "the drill stack was not ready by {ready_by} (still CREATE_IN_PROGRESS): raise DrillWaitMinutes if the restore is just slow"
        )),
        "CREATE_IN_PROGRESS" | "REVIEW_IN_PROGRESS" => Outcome::Waiting,
        _ => Outcome::Failed(why("the drill stack failed to create")),
    }
}

/// The drill stack's deletion, from its status (`None`: the stack is gone).
pub fn deletion_outcome(
    status: Option<&str>,
    reason: Option<&str>,
    attempts: u32,
    now: OffsetDateTime,
    deleted_by: OffsetDateTime,
) -> Outcome {
    match status {
        None | Some("DELETE_COMPLETE") => Outcome::Deleted,
        Some("DELETE_IN_PROGRESS") if now > deleted_by => Outcome::TimedOut(format!(
            "the drill stack was still being deleted at {deleted_by}: check it in the CloudFormation console"
        )),
        Some("DELETE_IN_PROGRESS") => Outcome::Waiting,
        Some(status) => {
            let reason = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            if attempts < MAX_TEARDOWN_ATTEMPTS {
                // Another DeleteStack: what blocked it (a bucket refilled, a dependency still
                // draining) is often gone a minute later.
                Outcome::Failed(format!(
                    "deletion attempt {attempts} ended {status}{reason}"
                ))
            } else {
                Outcome::TimedOut(format!(
                    "the drill stack could not be deleted after {attempts} attempts ({status}{reason}): delete it by hand (aws cloudformation delete-stack) and the resources it names"
                ))
            }
        }
    }
}

/// What the drill stack left behind that its deletion does not remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leftovers {
    pub log_groups: Vec<String>,
    pub volumes: Vec<String>,
    pub snapshots: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.log_groups.is_empty() && self.volumes.is_empty() && self.snapshots.is_empty()
    }

    /// What the teardown says it removed (nothing when there was nothing).
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        format!(
            "; removed {} log group(s), {} volume(s), {} snapshot(s) it left",
            self.log_groups.len(),
            self.volumes.len(),
            self.snapshots.len()
        )
    }
}

/// What the cleanup found of every drill: log groups under the drills' prefixes, and the
/// volumes and snapshots tagged as a drill's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillResources {
    pub log_groups: Vec<String>,
    pub volumes: Vec<Tagged>,
    pub snapshots: Vec<Tagged>,
}

/// A tagged EC2 resource as the cleanup sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub id: String,
    /// The `aws:cloudformation:stack-name` tag, or the drill's own tag.
    pub stack: Option<String>,
    /// `available` volumes only are deleted (an attached one belongs to something running).
    pub state: String,
}

/// The leftovers of one drill among what was listed: the log groups of its functions (named
/// after `drill_stack`) and of its database and environment (named `resource_name`), under the
/// prefixes the orchestrator's role may delete; unattached volumes and snapshots tagged with
/// the drill stack. Never anything of another stack.
pub fn leftovers(
    drill_stack: &str,
    resource_name: Option<&str>,
    found: &DrillResources,
) -> Leftovers {
    let DrillResources {
        log_groups,
        volumes,
        snapshots,
    } = found;
    let ours = |t: &&Tagged| t.stack.as_deref() == Some(drill_stack);
    let prefixes = log_group_prefixes(resource_name);
    Leftovers {
        log_groups: log_groups
            .iter()
            .filter(|g| prefixes.iter().any(|p| g.starts_with(p.as_str())))
            .cloned()
            .collect(),
        volumes: volumes
            .iter()
            .filter(ours)
            .filter(|v| v.state == "available")
            .map(|v| v.id.clone())
            .collect(),
        snapshots: snapshots
            .iter()
            .filter(ours)
            .map(|s| s.id.clone())
            .collect(),
    }
}

/// The name prefixes of one drill's log groups, all under its resource name (the template
/// names its functions, database and environment with it): `/aws/lambda/<resource name>-`,
/// `/aws/rds/instance/<resource name>/`, `/aws/elasticbeanstalk/<resource name>/`. None
/// without a resource name (a drill stack whose id is unknown left no resources).
pub fn log_group_prefixes(resource_name: Option<&str>) -> Vec<String> {
    resource_name
        .map(|name| {
            vec![
                format!("{LAMBDA_LOG_GROUPS}{name}-"),
                format!("{RDS_LOG_GROUPS}{name}/"),
                format!("{BEANSTALK_LOG_GROUPS}{name}/"),
            ]
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

    #[test]
    fn drill_stacks_are_named_by_source_and_day_and_only_those_count() {
        assert_eq!(drill_stack_name("openemr", NOW), "openemr-drill-20261206");
        let long = "a".repeat(128);
        let name = drill_stack_name(&long, NOW);
        assert_eq!(name.len(), MAX_STACK_NAME);
        assert!(name.ends_with("-drill-20261206"));
        for (name, ours) in [
            ("openemr-drill-20261206", true),
            ("openemr", false),
            ("openemr-drill-", false),
            ("openemr-drill-2026120", false),
            ("openemr-drill-20261206-x", false),
            ("openemr-prod-drill-20261206", false),
            ("other-drill-20261206", false),
        ] {
            assert_eq!(is_drill_of("openemr", name), ours, "{name}");
        }
    }

    #[test]
    fn a_drill_is_refused_while_another_exists() {
        let stacks = [
            ("openemr".to_owned(), "UPDATE_COMPLETE".to_owned()),
            (
                "openemr-drill-20261101".to_owned(),
                "DELETE_COMPLETE".to_owned(),
            ),
            (
                "openemr-drill-20261206".to_owned(),
                "CREATE_IN_PROGRESS".to_owned(),
            ),
            (
                "other-drill-20261206".to_owned(),
                "CREATE_COMPLETE".to_owned(),
            ),
        ];
        assert_eq!(
            running_drills("openemr", &stacks),
            ["openemr-drill-20261206 (CREATE_IN_PROGRESS)"]
        );
        assert!(running_drills("openemr", &stacks[..2]).is_empty());
    }

    #[test]
    fn the_build_token_is_stable_per_execution_and_valid() {
        let a = client_request_token("arn:aws:states:us-east-1:1:execution:m:one");
        assert_eq!(
            a,
            client_request_token("arn:aws:states:us-east-1:1:execution:m:one")
        );
        assert_ne!(
            a,
            client_request_token("arn:aws:states:us-east-1:1:execution:m:two")
        );
        assert!(a.len() <= 128 && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }

    #[test]
    fn overrides_replace_declared_values_and_add_missing_ones() {
        let recovery = json!([
            {"ParameterKey": "DBInstanceClass", "ParameterValue": "db.r6g.large"},
            {"ParameterKey": "TimeZone", "ParameterValue": "UTC"},
        ]);
        let p = drill_parameters(
            &recovery,
            &[
                ("DBInstanceClass", "db.t4g.micro"),
                ("BeanstalkInstanceType", "t3.small"),
            ],
        );
        assert_eq!(
            p,
            json!([
                {"ParameterKey": "DBInstanceClass", "ParameterValue": "db.t4g.micro"},
                {"ParameterKey": "TimeZone", "ParameterValue": "UTC"},
                {"ParameterKey": "BeanstalkInstanceType", "ParameterValue": "t3.small"},
            ])
        );
    }

    #[test]
    fn a_drill_stack_subscribes_nobody_to_its_alerts() {
        let recovery = json!([
            {"ParameterKey": "AlertEmail", "ParameterValue": "ops@clinic.example"},
        ]);
        let p = drill_parameters(
            &recovery,
            stack_contract::restore_drill::DRILL_PARAMETER_OVERRIDES,
        );
        let email: Vec<&Value> = p
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["ParameterKey"] == "AlertEmail")
            .map(|p| &p["ParameterValue"])
            .collect();
        assert_eq!(email, [&json!("")]);
    }

    #[test]
    fn creation_waits_until_complete_failed_or_out_of_time() {
        let by = NOW + Duration::minutes(120);
        let table = [
            ("CREATE_IN_PROGRESS", NOW, OUTCOME_WAITING),
            (
                "CREATE_IN_PROGRESS",
                by + Duration::seconds(1),
                OUTCOME_TIMED_OUT,
            ),
            ("CREATE_COMPLETE", by + Duration::hours(1), OUTCOME_READY),
            ("CREATE_FAILED", NOW, OUTCOME_FAILED),
            ("ROLLBACK_IN_PROGRESS", NOW, OUTCOME_FAILED),
            ("ROLLBACK_COMPLETE", NOW, OUTCOME_FAILED),
            ("DELETE_IN_PROGRESS", NOW, OUTCOME_FAILED),
        ];
        for (status, now, outcome) in table {
            assert_eq!(
                creation_outcome(status, None, now, by).as_str(),
                outcome,
                "{status} at {now}"
            );
        }
        assert_eq!(
            creation_outcome("CREATE_FAILED", Some("RDSInstance failed"), NOW, by),
            Outcome::Failed(
                "the drill stack failed to create: CREATE_FAILED (RDSInstance failed)".into()
            )
        );
    }

    #[test]
    fn deletion_is_retried_once_then_handed_to_a_person() {
        let by = NOW + Duration::minutes(TEARDOWN_MINUTES);
        assert_eq!(deletion_outcome(None, None, 1, NOW, by), Outcome::Deleted);
        assert_eq!(
            deletion_outcome(Some("DELETE_COMPLETE"), None, 1, NOW, by),
            Outcome::Deleted
        );
        assert_eq!(
            deletion_outcome(Some("DELETE_IN_PROGRESS"), None, 1, NOW, by),
            Outcome::Waiting
        );
        assert_eq!(
            deletion_outcome(
                Some("DELETE_IN_PROGRESS"),
                None,
                1,
                by + Duration::seconds(1),
                by
            )
            .as_str(),
            OUTCOME_TIMED_OUT
        );
        assert_eq!(
            deletion_outcome(Some("DELETE_FAILED"), Some("bucket not empty"), 1, NOW, by),
            Outcome::Failed("deletion attempt 1 ended DELETE_FAILED (bucket not empty)".into())
        );
        let Outcome::TimedOut(why) =
            deletion_outcome(Some("DELETE_FAILED"), None, MAX_TEARDOWN_ATTEMPTS, NOW, by)
        else {
            panic!("the second failure is final");
        };
        assert!(why.contains("delete it by hand"), "{why}");
    }

    #[test]
    fn leftovers_are_the_drill_stacks_only() {
        let drill = "openemr-drill-20261206";
        let name = "openemr-2f1d4c80-drill-5e0c7a10";
        let groups = [
            "/aws/lambda/openemr-2f1d4c80-drill-5e0c7a10-verifier".to_owned(),
            "/aws/rds/instance/openemr-2f1d4c80-drill-5e0c7a10/error".to_owned(),
            "/aws/elasticbeanstalk/openemr-2f1d4c80-drill-5e0c7a10/var/log/httpd/error_log"
                .to_owned(),
            // The source's own, another drill's, and a name that only contains the drill's.
            "/aws/lambda/openemr-RestoreDrillFunction-1".to_owned(),
            "/aws/lambda/openemr-2f1d4c80-drill-0000aaaa-verifier".to_owned(),
            "/aws/rds/instance/openemr-2f1d4c80-drill-0000aaaa/error".to_owned(),
            "/aws/rds/instance/openemr-db/error".to_owned(),
            "/custom/openemr-2f1d4c80-drill-5e0c7a10-verifier".to_owned(),
        ];
        let tagged = |id: &str, stack: Option<&str>, state: &str| Tagged {
            id: id.into(),
            stack: stack.map(str::to_owned),
            state: state.into(),
        };
        let volumes = [
            tagged("vol-1", Some(drill), "available"),
            tagged("vol-2", Some(drill), "in-use"),
            tagged("vol-3", Some("openemr"), "available"),
            tagged("vol-4", None, "available"),
        ];
        let snapshots = [
            tagged("snap-1", Some(drill), "completed"),
            tagged("snap-2", Some("openemr"), "completed"),
        ];
        let found = DrillResources {
            log_groups: groups.to_vec(),
            volumes: volumes.to_vec(),
            snapshots: snapshots.to_vec(),
        };
        let l = leftovers(drill, Some(name), &found);
        assert_eq!(l.log_groups, groups[..3]);
        assert_eq!(l.volumes, ["vol-1"]);
        assert_eq!(l.snapshots, ["snap-1"]);
        assert_eq!(
            l.summary(),
            "; removed 3 log group(s), 1 volume(s), 1 snapshot(s) it left"
        );
        // Without the resource name (a stack id never seen), no group is the drill's.
        let groups_only = DrillResources {
            log_groups: groups.to_vec(),
            ..DrillResources::default()
        };
        let l = leftovers(drill, None, &groups_only);
        assert!(l.log_groups.is_empty());
        let none = leftovers(drill, Some(name), &DrillResources::default());
        assert!(none.is_empty());
        assert_eq!(none.summary(), "");
    }
}
