//! The restore drill (issue 13): every month, the source stack rebuilds itself from last
//! night's backups in a drill stack, checks from inside it that OpenEMR came back with the
//! data, deletes it and reports.
//!
//! In the source stack (not in a recovery stack, not in a drill stack):
//! - `RestoreDrillFunction`, the orchestrator (the `restore-drill` zip, not in a VPC), run by
//!   `RestoreDrillStateMachine` (Step Functions, [`definition`]) on a schedule
//!   (`DrillSchedule`, the first Sunday of each month at BackupHour + 5 h UTC) or by hand
//!   (`aws stepfunctions start-execution --state-machine-arn <output RestoreDrillStateMachine>`);
//! - `DrillStackRole`, the CloudFormation service role the drill stack is created and deleted
//!   with, which may never touch the source stack (explicit Deny statements);
//! - `FingerprintRecorderFunction` (same zip, in the private subnets, reading the database,
//!   CouchDB and EFS), nightly at BackupHour: counts and sizes into `recovery/fingerprint.json`.
//!
//! In the drill stack ([`Options::drill`]): `DrillVerifierFunction`, the recorder's deployment
//! shape with the verifier's task, named `<drill stack>-verifier`, which the state machine
//! invokes by name.
//!
//! Names the template and the functions share are `stack_contract::restore_drill`'s.

use serde_json::{Value, json};
use stack_contract::restore_drill::{
    DEFAULT_MAX_AGE_DAYS, MAX_AGE_DAYS_RANGE, REPORT_PREFIX, orchestrator,
};

use crate::cfn::{allow, get_att, if_, no_value, policy_document, ref_, resource, sub};
use crate::lambda::{RustFunction, add_function, add_role};
use crate::options::Options;
use crate::stack::{ALERT_TOPIC, Tells, alarm, drill_resource_name, key_arn};
use crate::template::Template;

mod data_readers;
mod names;
mod roles;
mod state_machine;

use data_readers::{add_recorder, add_verifier};
pub use names::*;
use roles::{add_stack_role, orchestrator_statements};
use state_machine::add_state_machine;
pub use state_machine::definition;

/// Whether the stack has the drill of section A (the orchestration, the recorder): a source
/// stack, not a recovery stack or a drill.
pub fn drills(o: &Options) -> bool {
    !o.recovery && !o.drill
}

pub fn add(t: &mut Template, o: &Options) {
    if o.drill {
        add_verifier(t, o);
    } else if drills(o) {
        add_parameters(t);
        add_stack_role(t, o);
        add_orchestrator(t, o);
        add_state_machine(t);
        add_failed_execution_alarm(t);
        add_drill_schedule(t);
        add_recorder(t, o);
    }
}

/// The longest name IAM gives a role and Lambda a function.
pub const MAX_ROLE_OR_FUNCTION_NAME: usize = 64;

/// The name properties of the types a drill names, and the longest each may be.
pub const NAMED_TYPES: [(&str, &str, usize); 4] = [
    ("AWS::IAM::Role", "RoleName", MAX_ROLE_OR_FUNCTION_NAME),
    ("AWS::IAM::InstanceProfile", "InstanceProfileName", 128),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName", 128),
    (
        "AWS::Lambda::Function",
        "FunctionName",
        MAX_ROLE_OR_FUNCTION_NAME,
    ),
];

/// Drill mode: every role, instance profile, managed policy and function is named
/// `openemr-<source group>-drill-<drill group>-<logical id>` ([`drill_resource_name`]), the
/// names the source's `DrillStackRole` may create, pass and delete and whose log groups its
/// orchestrator may delete. The names CloudFormation would generate start with the drill
/// stack's name, which it shortens when the source's name is long: those would fall outside
/// the role's patterns, and a function's could exceed 64 characters.
pub fn name_everything(t: &mut Template) {
    for (id, resource) in t.resources_mut().iter_mut() {
        let Some((_, property, _)) = NAMED_TYPES
            .iter()
            .find(|(type_, _, _)| resource["Type"] == *type_)
        else {
            continue;
        };
        let properties = &mut resource["Properties"];
        if properties.get(*property).is_none() {
            properties[*property] = drill_resource_name(Some(id));
        }
    }
}

/// Drill mode: every resource goes with the stack (no snapshot, nothing retained).
pub fn delete_everything(t: &mut Template) {
    for resource in t.resources_mut().values_mut() {
        resource["DeletionPolicy"] = json!("Delete");
        resource["UpdateReplacePolicy"] = json!("Delete");
    }
}

fn add_parameters(t: &mut Template) {
    t.add_parameter(
        SCHEDULE_PARAMETER,
        json!({
            "Type": "String",
            "Default": "monthly",
            "AllowedValues": ["monthly", "off"],
            "Description": "monthly: the restore drill rebuilds the stack from last night's backups in a temporary drill stack on the first Sunday of each month (BackupHour + 5 h, UTC), verifies it and deletes it. off: no scheduled drill and no overdue alarm (a drill can still be started by hand)."
        }),
    );
    t.add_parameter(
        WAIT_PARAMETER,
        json!({
            "Type": "Number",
            "Default": orchestrator::DEFAULT_WAIT_MINUTES,
            "MinValue": WAIT_MINUTES_RANGE.0,
            "MaxValue": WAIT_MINUTES_RANGE.1,
            "Description": "Minutes the drill waits for its stack to be created before it gives up, reports a failure and deletes it."
        }),
    );
    t.add_parameter(
        TOLERANCE_PARAMETER,
        json!({
            "Type": "Number",
            "Default": orchestrator::DEFAULT_TOLERANCE_PERCENT,
            "MinValue": orchestrator::TOLERANCE_PERCENT_RANGE.0,
            "MaxValue": orchestrator::TOLERANCE_PERCENT_RANGE.1,
            "Description": "Percent by which the drill's row, document and file counts may differ from the nightly fingerprint (writes between the fingerprint and the snapshots) and still pass, reported."
        }),
    );
    t.add_parameter(
        MAX_AGE_PARAMETER,
        json!({
            "Type": "Number",
            "Default": DEFAULT_MAX_AGE_DAYS,
            "MinValue": MAX_AGE_DAYS_RANGE.0,
            "MaxValue": MAX_AGE_DAYS_RANGE.1,
            "Description": "Alarm when no restore drill succeeded for this many days (while DrillSchedule is monthly)."
        }),
    );
    t.add_condition(
        DRILL_ON,
        json!({ "Fn::Not": [{ "Fn::Equals": [ref_(SCHEDULE_PARAMETER), "off"] }] }),
    );
}

fn add_orchestrator(t: &mut Template, o: &Options) {
    t.add_mapping(
        TEMPLATE_MAPPING,
        json!({ "Recovery": { "S3Key": o.code.drill_template_key() } }),
    );
    add_role(
        t,
        ORCHESTRATOR_ROLE,
        ORCHESTRATOR,
        orchestrator_statements(o),
    );
    add_function(
        t,
        RustFunction {
            id: ORCHESTRATOR,
            code: "RestoreDrill",
            role: ORCHESTRATOR_ROLE,
            description: "The restore drill's steps (RestoreDrillStateMachine): gathers the recovery inputs, builds, checks and deletes the drill stack, reports",
            environment: json!({
                (orchestrator::STACK_NAME): ref_("AWS::StackName"),
                (orchestrator::BUCKET): crate::stack::bucket(),
                (orchestrator::KMS_KEY_ARN): key_arn(o),
                (orchestrator::TEMPLATE_URL): template_url(),
                (orchestrator::STACK_ROLE_ARN): get_att(STACK_ROLE, "Arn"),
                (orchestrator::TOPIC): ref_(ALERT_TOPIC),
                (orchestrator::WAIT_MINUTES): ref_(WAIT_PARAMETER),
                (orchestrator::TOLERANCE_PERCENT): ref_(TOLERANCE_PARAMETER),
            }),
            timeout_seconds: ORCHESTRATOR_TIMEOUT,
            memory_mb: 256,
            reserved_concurrency: 2,
        },
    );
}

/// Alarms when a drill execution fails: a failed drill (its report has already alerted) and
/// what no report tells, a drill that could not report at all.
fn add_failed_execution_alarm(t: &mut Template) {
    t.add_resource(
        FAILED_EXECUTION_ALARM,
        alarm(
            sub("A restore drill execution of ${AWS::StackName} failed. Its report (recovery/drills/ in the stack bucket) says why; without a report, the execution's history in Step Functions does."),
            json!({
                "Namespace": "AWS/States",
                "MetricName": "ExecutionsFailed",
                "Dimensions": [{ "Name": "StateMachineArn", "Value": ref_(STATE_MACHINE) }],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold"
            }),
            "notBreaching",
            Tells::Firing,
        ),
    );
}

fn add_drill_schedule(t: &mut Template) {
    t.add_resource(
        SCHEDULE_ROLE,
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": crate::cfn::assume_role_policy_for_this_account("events.amazonaws.com"),
                "Policies": [{ "PolicyName": "StartDrill", "PolicyDocument": policy_document(vec![
                    allow(&["states:StartExecution"], json!([ref_(STATE_MACHINE)]))
                ]) }]
            }),
        ),
    );
    t.add_resource(
        SCHEDULE,
        resource(
            "AWS::Events::Rule",
            json!({
                "Description": "Starts the restore drill on the first Sunday of each month (BackupHour + 5 h, UTC), unless DrillSchedule is off",
                "ScheduleExpression": crate::components::backup_schedule::drill_schedule(),
                "State": if_(DRILL_ON, json!("ENABLED"), json!("DISABLED")),
                "Targets": [{ "Arn": ref_(STATE_MACHINE), "Id": "RestoreDrill", "RoleArn": get_att(SCHEDULE_ROLE, "Arn") }]
            }),
        ),
    );
    t.add_output(
        STATE_MACHINE,
        json!({
            "Description": "The restore drill. Start one by hand: aws stepfunctions start-execution --state-machine-arn <this value>",
            "Value": ref_(STATE_MACHINE)
        }),
    );
}

/// The backup checker's part of the drill (source stacks): `DRILL_MAX_AGE_DAYS` while the drill
/// is scheduled (it then publishes the days since the last successful drill), listing the
/// reports' names and times (never their content), and the alarm on that age.
pub fn add_checker_parts(t: &mut Template, o: &Options, environment: &mut Value) -> Vec<Value> {
    if !drills(o) {
        return vec![];
    }
    use stack_contract::backup_checker::{
        CHECK_DIMENSION, DRILL_CHECK, DRILL_MAX_AGE_DAYS, NAMESPACE, STACK_DIMENSION,
    };
    use stack_contract::restore_drill::DAYS_SINCE_SUCCESS_METRIC;
    environment[DRILL_MAX_AGE_DAYS] = if_(DRILL_ON, ref_(MAX_AGE_PARAMETER), no_value());
    // Before the first drill the checker publishes nothing: not overdue yet.
    let mut overdue = alarm(
        sub(
            "No restore drill of ${AWS::StackName} succeeded within DrillMaxAgeDays: the backups are not proven to rebuild the application. The reports in recovery/drills/ of the stack bucket say why.",
        ),
        json!({
            "Namespace": NAMESPACE,
            "MetricName": DAYS_SINCE_SUCCESS_METRIC,
            "Dimensions": [
                { "Name": STACK_DIMENSION, "Value": ref_("AWS::StackName") },
                { "Name": CHECK_DIMENSION, "Value": DRILL_CHECK }
            ],
            "Statistic": "Maximum",
            "Period": 86400,
            "EvaluationPeriods": 1,
            "Threshold": ref_(MAX_AGE_PARAMETER),
            "ComparisonOperator": "GreaterThanThreshold"
        }),
        "notBreaching",
        Tells::FiringAndClearing,
    );
    overdue["Condition"] = json!(DRILL_ON);
    t.add_resource(OVERDUE_ALARM, overdue);
    vec![json!({
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [crate::stack::bucket_arn()],
        "Condition": { "StringLike": { "s3:prefix": [REPORT_PREFIX, format!("{REPORT_PREFIX}*")] } }
    })]
}

#[cfg(test)]
mod tests {
    use stack_contract::restore_drill::{
        OUTCOME_DELETED, OUTCOME_FAILED, OUTCOME_READY, OUTCOME_WAITING, TASK, TASK_BUILD,
        TASK_CHECK, TASK_CHECK_TEARDOWN, TASK_GATHER, TASK_REPORT, TASK_TEARDOWN, TASK_VERIFY,
        VERIFIER_OUTPUT, data,
    };

    use super::state_machine::{LAMBDA_ERRORS, ORCHESTRATOR_ARN};
    use super::*;
    use crate::generate;

    fn template(o: &Options) -> Value {
        generate(o).expect("valid options").to_json()
    }

    fn drill() -> Value {
        template(&Options::default().drill_options())
    }

    fn state<'a>(d: &'a Value, name: &str) -> &'a Value {
        let s = &d["States"][name];
        assert!(s.is_object(), "no state {name}");
        s
    }

    #[test]
    fn the_drill_waits_at_least_as_long_as_its_stack_may_take_to_create() {
        assert!(creation_timeout_minutes() <= WAIT_MINUTES_RANGE.0);
        let default = stack_contract::restore_drill::orchestrator::DEFAULT_WAIT_MINUTES;
        assert!((WAIT_MINUTES_RANGE.0..=WAIT_MINUTES_RANGE.1).contains(&default));
        // The template's time-outs are the ones the sum is made of.
        let drill = crate::generate(&Options::default().drill_options())
            .unwrap()
            .to_json();
        assert_eq!(
            drill["Resources"]["NFSBackupInstance"]["CreationPolicy"]["ResourceSignal"]["Timeout"],
            format!(
                "PT{}M",
                crate::components::nfs_backup::RECOVERY_SIGNAL_MINUTES
            )
        );
        let settings = drill["Resources"]["EBEnvironment"]["Properties"]["OptionSettings"]
            .as_array()
            .unwrap();
        let timeout = crate::components::application::DRILL_DEPLOYMENT_TIMEOUT_SECONDS.to_string();
        assert!(
            settings
                .iter()
                .any(|s| s["Namespace"] == "aws:elasticbeanstalk:command"
                    && s["OptionName"] == "Timeout"
                    && s["Value"].as_str() == Some(timeout.as_str()))
        );
    }

    #[test]
    fn the_orchestration_is_in_source_stacks_only() {
        let source = template(&Options::default());
        for id in [
            ORCHESTRATOR,
            STATE_MACHINE,
            STACK_ROLE,
            SCHEDULE,
            RECORDER,
            OVERDUE_ALARM,
        ] {
            assert!(source["Resources"][id].is_object(), "{id}");
        }
        assert_eq!(
            source["Outputs"][STATE_MACHINE]["Value"],
            ref_(STATE_MACHINE)
        );
        for o in [
            Options {
                recovery: true,
                ..Options::default()
            },
            Options::default().drill_options(),
        ] {
            let t = template(&o);
            for id in [
                ORCHESTRATOR,
                STATE_MACHINE,
                STACK_ROLE,
                RECORDER,
                OVERDUE_ALARM,
            ] {
                assert!(t["Resources"].get(id).is_none(), "{id} in {:?}", o.flags());
            }
            assert!(t["Parameters"].get(SCHEDULE_PARAMETER).is_none());
        }
        assert!(drill()["Resources"][VERIFIER].is_object());
        assert!(
            template(&Options::default())["Resources"]
                .get(VERIFIER)
                .is_none()
        );
    }

    #[test]
    fn every_task_state_runs_the_orchestrator_with_retries_and_a_catch() {
        let d = definition();
        // (state, task, its Catch's next state, where its Catch puts the error)
        let tasks = [
            ("Gather", TASK_GATHER, "Report", "$.error"),
            ("Build", TASK_BUILD, "Teardown", "$.error"),
            ("CheckStack", TASK_CHECK, "Teardown", "$.error"),
            ("Teardown", TASK_TEARDOWN, "Report", "$.teardown_error"),
            (
                "CheckTeardown",
                TASK_CHECK_TEARDOWN,
                "Report",
                "$.teardown_error",
            ),
            ("Report", TASK_REPORT, "DrillFailed", "$.error"),
        ];
        for (name, task, on_error, error_path) in tasks {
            let s = state(&d, name);
            assert_eq!(s["Resource"], ORCHESTRATOR_ARN, "{name}");
            assert_eq!(s["Parameters"][TASK], task, "{name}");
            assert_eq!(s["ResultPath"], "$", "{name}");
            assert_eq!(s["Retry"][0]["ErrorEquals"], json!(LAMBDA_ERRORS), "{name}");
            assert_eq!(
                s["Catch"][0]["ErrorEquals"],
                json!(["States.ALL"]),
                "{name}"
            );
            assert_eq!(s["Catch"][0]["ResultPath"], error_path, "{name}");
            assert_eq!(s["Catch"][0]["Next"], on_error, "{name}");
            assert_eq!(s["Parameters"]["state.$"], "$", "{name}");
        }
        // The execution's id and start time are in the state before the first task (and so in
        // whatever Gather's Catch hands on).
        assert_eq!(d["StartAt"], "Start");
        assert_eq!(
            state(&d, "Start")["Parameters"],
            json!({ "execution.$": "$$.Execution.Id", "started.$": "$$.Execution.StartTime" })
        );
        assert_eq!(state(&d, "Start")["Next"], "Gather");
        assert_eq!(
            state(&d, "Teardown")["Retry"][1],
            json!({ "ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 2, "BackoffRate": 2 })
        );
        // Any error of the report is retried (S3, SNS): lost, it would leave no report.
        assert_eq!(
            state(&d, "Report")["Retry"][1]["ErrorEquals"],
            json!(["States.ALL"])
        );
        let verify = state(&d, "Verify");
        assert_eq!(verify["Resource"], "arn:aws:states:::lambda:invoke");
        assert_eq!(
            verify["Parameters"]["FunctionName.$"],
            "$.verifier_function"
        );
        assert_eq!(verify["Parameters"]["Payload"]["task"], TASK_VERIFY);
        assert_eq!(verify["OutputPath"], "$.Payload");
        assert_eq!(verify["Catch"][0]["Next"], "Teardown");
        assert_eq!(verify["Next"], "Teardown");
    }

    #[test]
    fn every_transition_names_a_state_and_every_state_is_reached() {
        let d = definition();
        let states = d["States"].as_object().unwrap();
        let mut reached = std::collections::BTreeSet::from(["Start".to_owned()]);
        for (name, s) in states {
            let mut next: Vec<&Value> = vec![&s["Next"], &s["Default"]];
            for c in s["Catch"].as_array().into_iter().flatten() {
                next.push(&c["Next"]);
            }
            for c in s["Choices"].as_array().into_iter().flatten() {
                next.push(&c["Next"]);
            }
            for n in next.into_iter().filter_map(Value::as_str) {
                assert!(states.contains_key(n), "{name} -> {n}");
                reached.insert(n.to_owned());
            }
        }
        let all: std::collections::BTreeSet<String> = states.keys().cloned().collect();
        assert_eq!(reached, all);
        let choices = |name: &str| {
            state(&d, name)["Choices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["StringEquals"].clone(), c["Next"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            choices("StackReady"),
            [
                (json!(OUTCOME_WAITING), json!("WaitForStack")),
                (json!(OUTCOME_READY), json!("Verify"))
            ]
        );
        assert_eq!(state(&d, "StackReady")["Default"], "Teardown");
        assert_eq!(
            choices("TeardownDone"),
            [
                (json!(OUTCOME_WAITING), json!("WaitForTeardown")),
                (json!(OUTCOME_DELETED), json!("Report")),
                (json!(OUTCOME_FAILED), json!("Teardown"))
            ]
        );
        assert_eq!(state(&d, "Outcome")["Choices"][0]["Variable"], "$.ok");
        assert_eq!(state(&d, "DrillSucceeded")["Type"], "Succeed");
        assert_eq!(state(&d, "DrillFailed")["Type"], "Fail");
    }

    #[test]
    fn the_state_machine_gets_the_orchestrators_arn_and_logs_to_a_stack_log_group() {
        let t = template(&Options::default());
        let p = &t["Resources"][STATE_MACHINE]["Properties"];
        assert_eq!(p["StateMachineType"], "STANDARD");
        assert_eq!(p["Definition"], definition());
        assert_eq!(
            p["DefinitionSubstitutions"]["RestoreDrillFunctionArn"],
            get_att(ORCHESTRATOR, "Arn")
        );
        assert_eq!(
            p["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"],
            get_att(STATE_MACHINE_LOG_GROUP, "Arn")
        );
        let schedule = &t["Resources"][SCHEDULE]["Properties"];
        assert_eq!(
            schedule["ScheduleExpression"],
            crate::components::backup_schedule::drill_schedule()
        );
        assert_eq!(
            schedule["State"],
            if_(DRILL_ON, json!("ENABLED"), json!("DISABLED"))
        );
        assert_eq!(
            t["Mappings"]["BackupWindow"]["07"]["DrillSchedule"],
            "cron(0 12 ? * SUN#1 *)"
        );
        assert_eq!(
            t["Mappings"]["BackupWindow"]["22"]["DrillSchedule"],
            "cron(0 3 ? * SUN#1 *)"
        );
        let env = &t["Resources"][ORCHESTRATOR]["Properties"]["Environment"]["Variables"];
        assert_eq!(env[orchestrator::TEMPLATE_URL], template_url());
        assert_eq!(
            env[orchestrator::STACK_ROLE_ARN],
            get_att(STACK_ROLE, "Arn")
        );
        assert_eq!(env[orchestrator::TOPIC], ref_(ALERT_TOPIC));
        let recorder = &t["Resources"][RECORDER_SCHEDULE]["Properties"]["Targets"][0];
        assert_eq!(
            recorder["Input"],
            json!({ "task": "record-fingerprint" }).to_string()
        );
    }

    #[test]
    fn the_drill_is_internal_single_az_and_leaves_nothing_behind() {
        let t = drill();
        let r = t["Resources"].as_object().unwrap();
        for (id, res) in r {
            assert_eq!(res["DeletionPolicy"], "Delete", "{id}");
            assert_eq!(res["UpdateReplacePolicy"], "Delete", "{id}");
            assert_ne!(
                res["Properties"]["CidrIp"], "0.0.0.0/0",
                "{id} open to the internet"
            );
            for kind in [
                "AWS::WAFv2::WebACL",
                "AWS::CloudTrail::Trail",
                "AWS::CloudWatch::Alarm",
            ] {
                assert_ne!(res["Type"], kind, "{id}");
            }
            assert_ne!(
                res["Type"], "AWS::Events::Rule",
                "{id}: a drill schedules nothing"
            );
        }
        assert_eq!(
            r["ApplicationLoadBalancer"]["Properties"]["Scheme"],
            "internal"
        );
        assert!(r.get("DeveloperBastion").is_none());
        assert!(r.get("RCouchDBVolume").is_none());
        let db = &r["RDSInstance"]["Properties"];
        assert_eq!(db["DeleteAutomatedBackups"], true);
        assert_eq!(db["DeletionProtection"], false);
        assert_eq!(db["MultiAZ"], false);
        assert_eq!(
            r[VERIFIER]["Properties"]["FunctionName"],
            drill_resource_name(Some("verifier"))
        );
        // Every role, profile, policy and function is named like the drill's resources.
        for (id, res) in r {
            if let Some((_, property, _)) = NAMED_TYPES.iter().find(|(t, _, _)| res["Type"] == *t) {
                assert!(
                    res["Properties"][*property]["Fn::Sub"][0]
                        .as_str()
                        .is_some_and(|name| name.starts_with("openemr-${Source}-drill-${Drill}-")),
                    "{id}"
                );
            }
        }
        let env = &r[VERIFIER]["Properties"]["Environment"]["Variables"];
        assert_eq!(env[data::BUCKET], ref_("S3Bucket"));
        assert_eq!(env[data::KMS_KEY_ARN], ref_("RecoveryKMSKey"));
        assert_eq!(
            env[data::APPLICATION_URL],
            crate::components::application::drill_application_url()
        );
        assert_eq!(t["Outputs"][VERIFIER_OUTPUT]["Value"], ref_(VERIFIER));
        // Every parameter the orchestrator overrides exists in the drill template.
        for (parameter, _) in DRILL_PARAMETER_OVERRIDES {
            assert!(t["Parameters"][*parameter].is_object(), "{parameter}");
        }
        // The HTTP listener serves OpenEMR (Elastic Beanstalk's rule), it does not redirect.
        let listener = &r["HTTPListener"]["Properties"]["DefaultActions"][0];
        assert_eq!(listener["Type"], "fixed-response");
        assert!(r.get("HTTPSListener").is_none());
    }

    #[test]
    fn a_drill_must_have_the_drill_shape() {
        let shaped = Options::default().drill_options();
        assert!(generate(&shaped).is_ok());
        let two_az = Options {
            dual_az: true,
            ..shaped
        };
        assert_eq!(
            generate(&two_az).unwrap_err(),
            crate::OptionsError::DrillShape
        );
        assert_eq!(
            Options {
                dual_az: true,
                dev: true,
                ..Options::default()
            }
            .drill_options(),
            Options::default().drill_options()
        );
    }
}
