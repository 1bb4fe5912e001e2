//! The templates (stack-gen's restore_drill component) and the function agree: the three
//! deployments' environments, as CloudFormation would resolve them, parse with the function's
//! own readers; a drill stack's resource names are the ones the orchestrator computes to find
//! what the drill left; and the orchestrator's role may delete exactly those log groups.

use std::collections::BTreeMap;

use restore_drill::config::{DataConfig, OrchestratorConfig};
use restore_drill::plan;
use serde_json::{Value, json};
use stack_contract::env::Env;
use stack_contract::restore_drill as contract;
use stack_gen::{Options, generate};
use test_harness::iam::{resolve, stack_env};
use test_harness::intrinsics::{Resolver, Unknown};

const SOURCE_BUCKET: &str = "openemr-2f1d4c80-96b1-11ef-a1b2-12a3b4c5d6e7";
const DRILL_STACK: &str = "openemr-drill-20261206";
const DRILL_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-drill-20261206/5e0c7a10-96b1-11ef-8d0b-0affd3c5b3a1";

/// The references of a source stack (`openemr`, bucket [`SOURCE_BUCKET`]).
fn source_env() -> BTreeMap<String, String> {
    let mut env = stack_env(SOURCE_BUCKET);
    env.insert(
        "RDSInstance.Endpoint.Address".into(),
        "db.openemr.internal".into(),
    );
    env.insert("RDSInstance.Endpoint.Port".into(), "3306".into());
    env.insert(
        "AWS::StackId".into(),
        "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/2f1d4c80-96b1-11ef-a1b2-12a3b4c5d6e7".into(),
    );
    env
}

/// The references of its drill stack [`DRILL_STACK`].
fn drill_env() -> BTreeMap<String, String> {
    let mut env = stack_env("openemr-2f1d4c80-drill-5e0c7a10");
    env.insert("AWS::StackName".into(), DRILL_STACK.into());
    env.insert("AWS::StackId".into(), DRILL_ID.into());
    env.insert("RecoveryS3Bucket".into(), SOURCE_BUCKET.into());
    env.insert(
        "RDSInstance.Endpoint.Address".into(),
        "db.drill.internal".into(),
    );
    env.insert("RDSInstance.Endpoint.Port".into(), "3306".into());
    env
}

/// A function's environment variables, resolved (a parameter the references do not give takes
/// its default).
fn variables(
    template: &Value,
    function: &str,
    refs: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let names = |name: &str| refs.get(name).map(|v| json!(v));
    let resolver = Resolver::new(&names, Unknown::Placeholder).with_template(template);
    let vars = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
    vars.as_object()
        .unwrap_or_else(|| panic!("{function} has no environment"))
        .iter()
        .map(|(k, v)| {
            let v = resolver.resolve(v);
            let text = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            (k.clone(), text)
        })
        .collect()
}

fn env_of(vars: Vec<(String, String)>) -> Env<impl Fn(&str) -> Option<String>> {
    Env::new(move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

#[test]
fn every_deployment_reads_the_environment_its_template_sets() {
    let source = generate(&Options::default()).unwrap().to_json();
    let orchestrator = OrchestratorConfig::read(&env_of(variables(
        &source,
        "RestoreDrillFunction",
        &source_env(),
    )))
    .expect("the orchestrator's environment parses");
    assert_eq!(orchestrator.bucket, SOURCE_BUCKET);
    assert_eq!(orchestrator.stack_name, "openemr");
    assert_eq!(
        orchestrator.wait_minutes,
        stack_contract::restore_drill::orchestrator::DEFAULT_WAIT_MINUTES
    );
    assert!(
        orchestrator.template_url.starts_with("https://"),
        "{orchestrator:?}"
    );

    let recorder = DataConfig::read(&env_of(variables(
        &source,
        "FingerprintRecorderFunction",
        &source_env(),
    )))
    .expect("the recorder's environment parses");
    assert_eq!(recorder.bucket, SOURCE_BUCKET);
    assert!(
        recorder.application_url.is_none(),
        "the recorder checks no login page"
    );

    let drill = generate(&Options::default().drill_options())
        .unwrap()
        .to_json();
    let verifier = DataConfig::read(&env_of(variables(
        &drill,
        "DrillVerifierFunction",
        &drill_env(),
    )))
    .expect("the verifier's environment parses");
    assert!(verifier.application_url.is_some(), "{verifier:?}");
}

#[test]
fn a_drill_names_its_resources_as_the_orchestrator_looks_for_them() {
    let drill = generate(&Options::default().drill_options())
        .unwrap()
        .to_json();
    let expected = contract::resource_name(SOURCE_BUCKET, DRILL_ID).unwrap();
    let resources = &drill["Resources"];
    let names = [
        &resources["RDSInstance"]["Properties"]["DBInstanceIdentifier"],
        &resources["S3Bucket"]["Properties"]["BucketName"],
    ];
    for name in names {
        assert_eq!(
            resolve(name, &drill_env()),
            Value::from(expected.clone()),
            "{name}"
        );
    }
    // The environment's name starts with it (Elastic Beanstalk's log groups carry it).
    let environment = resolve(
        &resources["EBEnvironment"]["Properties"]["EnvironmentName"],
        &drill_env(),
    );
    assert!(
        environment
            .as_str()
            .is_some_and(|n| n.starts_with(&expected)),
        "{environment}"
    );
}

/// `*` of an IAM resource pattern, the rest literal.
fn matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| matches(tail, &text[head.len() + i..]))
        }
    }
}

#[test]
fn the_orchestrator_may_delete_exactly_the_log_groups_it_looks_for() {
    let source = generate(&Options::default()).unwrap().to_json();
    let statements = test_harness::iam::role_statements(&source, "RestoreDrillRole", &source_env());
    let allowed: Vec<String> = statements
        .iter()
        .filter(|s| {
            s["Effect"] == "Allow" && s["Action"].to_string().contains("logs:DeleteLogGroup")
        })
        .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    assert!(!allowed.is_empty(), "{statements:#?}");
    let arn = |group: &str| format!("arn:aws:logs:us-east-1:123456789012:log-group:{group}");
    let deletable = |group: &str| allowed.iter().any(|p| matches(p, &arn(group)));

    let name = contract::resource_name(SOURCE_BUCKET, DRILL_ID).unwrap();
    for prefix in plan::log_group_prefixes(Some(&name)) {
        let group = format!("{prefix}error");
        assert!(
            deletable(&group),
            "{group} is a leftover the role may not delete: {allowed:#?}"
        );
    }
    for theirs in [
        "/aws/lambda/openemr-RestoreDrillFunction-1",
        "/aws/rds/instance/openemr-db/error",
        "/aws/elasticbeanstalk/openemr-env/var/log/eb-engine.log",
    ] {
        assert!(
            !deletable(theirs),
            "the role may delete the source's {theirs}"
        );
    }
}
