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

/// cfn-lint's copy of the CloudFormation registry schemas (in .venv): `providers/<region>.json`
/// maps each type to its file under `resources/`.
pub fn schemas_dir() -> std::path::PathBuf {
    let lib = test_harness::workspace_root().join(".venv/lib");
    let python = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e} (run tests/setup)", lib.display()))
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
        })
        .expect("a python3.* directory in .venv/lib");
    python.join("site-packages/cfnlint/data/schemas")
}

pub fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// `*` and `?` wildcards, as IAM matches actions, ARNs and StringLike values (case-sensitive;
/// compare actions lower-cased, as IAM does).
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}
