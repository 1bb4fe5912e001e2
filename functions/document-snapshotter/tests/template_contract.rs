//! The template and the function agree: for every flag combination, the environment the
//! generated template gives `DocumentBackupManagerFunction`, with its `Ref`s and `${...}`
//! substituted by plausible values, parses into a [`Config`].

use document_snapshotter::Config;
use serde_json::{Value, json};
use stack_contract::document_snapshotter as var;
use stack_contract::volumes;
use test_harness::intrinsics::{Resolver, Unknown};

const FUNCTION: &str = "DocumentBackupManagerFunction";
const STACK_ARN: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/0f3e0000-1111-2222-3333-444444444444";

/// The parameters of one deployment: copies to a second region or not.
struct Deployment {
    copy: bool,
}

const COPY_KEY: &str = "0000aaaa-1111-2222-3333-444444444444";

impl Deployment {
    /// A plausible value for a template parameter or pseudo-parameter named `name`.
    fn value_of(&self, name: &str) -> String {
        match name {
            "AWS::StackId" => STACK_ARN.into(),
            "AWS::Partition" => "aws".into(),
            "AWS::Region" => "us-east-1".into(),
            "AWS::AccountId" => "123456789012".into(),
            "DocumentBackupRetention" => "3".into(),
            "DocumentBackupDescription" => "OpenEMR document store snapshot".into(),
            "DocumentBackupIdempotencyHours" => "20".into(),
            // Empty (the template's default): no copies.
            "DocumentBackupCopyRegion" if self.copy => "us-west-2".into(),
            "DocumentBackupCopyKmsKeyId" if self.copy => COPY_KEY.into(),
            "DocumentBackupCopyRegion" | "DocumentBackupCopyKmsKeyId" => String::new(),
            role if volumes::ROLES.contains(&role) => format!("vol-0{}", role.len()),
            other => panic!("no plausible value for {other}"),
        }
    }

    /// A condition of the template, as these parameters decide it.
    fn condition(&self, name: &str) -> bool {
        match name {
            "DocumentBackupCopyEnabled" | "DocumentBackupCopyKeyGiven" => self.copy,
            other => panic!("unexpected condition {other}"),
        }
    }

    /// A template value as the function would see it (the tests' one resolver).
    fn resolve(&self, v: &Value) -> String {
        let names = |name: &str| Some(json!(self.value_of(name)));
        let condition = |name: &str| self.condition(name);
        match Resolver::new(&names, Unknown::Panic)
            .with_conditions(&condition)
            .resolve(v)
        {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            other => panic!("unexpected template value {other}"),
        }
    }
}

#[test]
fn every_combination_gives_the_function_an_environment_it_parses() {
    let mut checked = 0;
    for (name, options) in stack_gen::reference_combinations() {
        let template = stack_gen::generate(&options).unwrap().to_json();
        let Some(function) = template["Resources"].get(FUNCTION) else {
            // No document store, no snapshotter.
            assert!(options.skip_document_store, "{name}: {FUNCTION} missing");
            continue;
        };
        let vars = function["Properties"]["Environment"]["Variables"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no environment"));
        for required in [var::STACK_ID, var::VOLUMES] {
            assert!(vars.contains_key(required), "{name}: {required} not set");
        }
        for copy in [false, true] {
            let deployment = Deployment { copy };
            let env: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.clone(), deployment.resolve(v)))
                .collect();
            let config = Config::from_lookup(|k| {
                env.iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|e| panic!("{name}, copy {copy}: {e} (environment {env:?})"));
            assert_eq!(config.stack_id, STACK_ARN, "{name}");
            let roles: Vec<&str> = config.volumes.iter().map(|v| v.role.as_str()).collect();
            let want = if options.dual_az {
                &volumes::ROLES[..]
            } else {
                &volumes::ROLES[..1]
            };
            assert_eq!(roles, want, "{name}");
            assert!(
                config.volumes.iter().all(|v| v.id.starts_with("vol-")),
                "{name}"
            );
            assert_eq!(config.retain, 3, "{name}");
            assert_eq!(config.window, time::Duration::hours(20), "{name}");
            match config.copy {
                None => assert!(!copy, "{name}: the copy is not configured"),
                Some(target) => {
                    assert!(copy, "{name}: a copy without the parameters");
                    assert_eq!(target.region, "us-west-2");
                    assert_eq!(
                        target.kms_key_id,
                        format!("arn:aws:kms:us-west-2:123456789012:key/{COPY_KEY}")
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} combinations had the function");
}
