//! Shared by stack-gen's integration tests: every template the tests look at.

#![allow(dead_code)]

use serde_json::Value;
use stack_gen::{Options, generate, reference_combinations};

/// (name, options, template JSON) for the 8 reference combinations plus the non-default
/// bundle and platform flags.
pub fn all_templates() -> Vec<(String, Options, Value)> {
    let mut combos: Vec<(String, Options)> = reference_combinations()
        .into_iter()
        .map(|(n, o)| (n.to_owned(), o))
        .collect();
    combos.push((
        "beanstalk-flags".to_owned(),
        Options {
            beanstalk_key: Some("bundles/openemr-7.0.4.zip".to_owned()),
            beanstalk_version: Some("64bit Amazon Linux 2023 v4.8.0 running Docker".to_owned()),
            ..Options::default()
        },
    ));
    combos
        .into_iter()
        .map(|(name, options)| {
            let json = generate(&options).expect("valid options").to_json();
            (name, options, json)
        })
        .collect()
}

/// The resources of `template` with type `type_`: (logical ID, resource).
pub fn resources_of<'a>(template: &'a Value, type_: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == type_)
        .collect()
}

/// [`all_templates`] and the drill stacks' templates (`stack_gen::drill_combinations`): what
/// cfn-lint, checkov and the IAM condition cases look at.
pub fn checked_templates() -> Vec<(String, Options, Value)> {
    let mut all = all_templates();
    for (name, options) in stack_gen::drill_combinations() {
        let json = generate(&options).expect("valid options").to_json();
        all.push((name.to_owned(), options, json));
    }
    all
}

/// The statements of a policy document; a conditional statement (`Fn::If`) counts with both
/// of its branches.
pub fn statements(document: &Value) -> Vec<&Value> {
    let listed: Vec<&Value> = match &document["Statement"] {
        Value::Array(list) => list.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => vec![],
    };
    listed
        .into_iter()
        .flat_map(|s| match s.get("Fn::If") {
            Some(branches) => branches.as_array().unwrap()[1..]
                .iter()
                .filter(|b| b.get("Effect").is_some())
                .collect(),
            None => vec![s],
        })
        .collect()
}

pub fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    }
}
