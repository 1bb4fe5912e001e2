//! The role CloudFormation assumes to build the restore drill's stack (`DrillStackRole`, in
//! every source stack) may do what CloudFormation's own resource handlers need for every type
//! the drill template creates: the `handlers.{create,read,update,delete}.permissions` of each
//! type's registry schema (the copy cfn-lint ships in .venv). The emulator never runs this role;
//! a missing permission shows only on AWS, as a drill stack that cannot be created or deleted.
//!
//! A handler lists what any configuration of its type may need. What this template's resources
//! cannot need is listed in [`NOT_NEEDED`], each with the property that would need it; the test
//! fails on any other missing permission, and on an entry that no longer matches anything.
//! The handler test judges actions only; the drill's names are judged against the role's
//! resource patterns by the last test.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{as_list, checked_templates, glob, read_json, schemas_dir, statements};
use serde_json::Value;
use stack_gen::components::restore_drill::STACK_ROLE;

/// (permission pattern, resource type, why this template needs none).
const NOT_NEEDED: [(&str, &str, &str); 10] = [
    (
        "cognito-idp:*",
        "AWS::ElasticLoadBalancingV2::Listener",
        "authenticate-cognito actions only; the drill's listener forwards",
    ),
    (
        "firehose:*",
        "AWS::ElastiCache::ReplicationGroup",
        "LogDeliveryConfigurations to Kinesis Data Firehose; none is set",
    ),
    (
        "firehose:*",
        "AWS::Logs::LogGroup",
        "log delivery to Firehose; the drill's groups are plain",
    ),
    (
        "iam:*Group*",
        "AWS::IAM::ManagedPolicy",
        "Groups; the drill's policies attach to its roles",
    ),
    (
        "iam:*User*",
        "AWS::IAM::ManagedPolicy",
        "Users; the drill's policies attach to its roles",
    ),
    (
        "iam:*RolePermissionsBoundary",
        "AWS::IAM::Role",
        "PermissionsBoundary; none is set",
    ),
    (
        "s3files:*",
        "AWS::Lambda::Function",
        "FileSystemConfigs on S3 Files; the verifier mounts EFS",
    ),
    (
        "s3tables:*",
        "AWS::S3::Bucket",
        "MetadataTableConfiguration; none is set",
    ),
    (
        "secretsmanager:*",
        "AWS::RDS::DBInstance",
        "ManageMasterUserPassword; a drill's database is restored from a snapshot with its password",
    ),
    (
        "ssm:*Association*",
        "AWS::EC2::Instance",
        "SsmAssociations; none is set",
    ),
];

/// IAM's matching, for actions (case-insensitive) and ARNs alike.
fn matches(pattern: &str, action: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// The actions `role`'s Allow statements name (its inline policies and the managed policies
/// attached to it).
fn allowed_actions(template: &Value, role: &str) -> Vec<String> {
    let resources = template["Resources"].as_object().unwrap();
    let mut documents: Vec<&Value> = resources[role]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| &p["PolicyDocument"])
        .collect();
    documents.extend(
        resources
            .values()
            .filter(|r| r["Type"] == "AWS::IAM::ManagedPolicy")
            .filter(|r| {
                as_list(&r["Properties"]["Roles"])
                    .iter()
                    .any(|x| x["Ref"] == role)
            })
            .map(|r| &r["Properties"]["PolicyDocument"]),
    );
    documents
        .into_iter()
        .flat_map(statements)
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| as_list(&s["Action"]))
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_drill_stack_role_holds_every_handler_permission_of_the_drill_templates_types() {
    let schemas = schemas_dir();
    let providers = read_json(&schemas.join("providers/us-east-1.json"));
    let all = checked_templates();
    // Every type any drill template creates.
    let mut types = BTreeSet::new();
    for (_, options, template) in &all {
        if options.drill {
            for resource in template["Resources"].as_object().unwrap().values() {
                let type_ = resource["Type"].as_str().unwrap();
                if type_.starts_with("AWS::") && type_ != "AWS::CloudFormation::CustomResource" {
                    types.insert(type_.to_owned());
                }
            }
        }
    }
    assert!(types.contains("AWS::IAM::ManagedPolicy"), "{types:?}");
    // (permission, type) that every handler of the type may ask for.
    let mut needed: BTreeSet<(String, String)> = BTreeSet::new();
    for type_ in &types {
        let file = providers[type_.as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("no schema for {type_} in cfn-lint's data"));
        let schema = read_json(&schemas.join("resources").join(format!("{file}.json")));
        for handler in ["create", "read", "update", "delete"] {
            for permission in schema["handlers"][handler]["permissions"]
                .as_array()
                .into_iter()
                .flatten()
            {
                needed.insert((permission.as_str().unwrap().to_owned(), type_.clone()));
            }
        }
    }
    let mut used_exceptions = BTreeSet::new();
    for (name, _, template) in &all {
        if template["Resources"].get(STACK_ROLE).is_none() {
            continue;
        }
        let allowed = allowed_actions(template, STACK_ROLE);
        let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (permission, type_) in &needed {
            if allowed.iter().any(|a| matches(a, permission)) {
                continue;
            }
            if let Some(exception) = NOT_NEEDED
                .iter()
                .find(|(p, t, _)| t == type_ && matches(p, permission))
            {
                used_exceptions.insert(exception.0.to_owned() + exception.1);
                continue;
            }
            missing.entry(permission).or_default().push(type_);
        }
        assert!(
            missing.is_empty(),
            "{name}: {STACK_ROLE} lacks handler permissions (CloudFormation registry schemas): {missing:#?}"
        );
    }
    for (pattern, type_, _) in NOT_NEEDED {
        assert!(
            used_exceptions.contains(&(pattern.to_owned() + type_)),
            "NOT_NEEDED ({pattern}, {type_}) matches nothing missing: remove it"
        );
    }
}

#[test]
fn the_drill_stack_role_may_resolve_the_images_of_its_launch_templates() {
    for (name, options, template) in checked_templates() {
        if template["Resources"].get(STACK_ROLE).is_none() {
            continue;
        }
        let drill_uses_ssm_images = stack_gen::generate(&options.drill_options())
            .unwrap()
            .render()
            .contains("resolve:ssm:");
        assert!(drill_uses_ssm_images, "{name}");
        let allowed = allowed_actions(&template, STACK_ROLE);
        assert!(
            allowed.iter().any(|a| matches(a, "ssm:GetParameters")),
            "{name}: EC2 resolves resolve:ssm: images as the caller of RunInstances"
        );
    }
}

#[test]
fn iam_action_patterns_match_like_iam() {
    assert!(matches("iam:*Group*", "iam:AttachGroupPolicy"));
    assert!(matches("ec2:*", "EC2:RunInstances"));
    assert!(!matches("iam:Get*", "iam:CreatePolicy"));
    assert!(matches("s3:Get?bject", "s3:GetObject"));
}

/// `value` with its `Fn::Sub` variables filled in: the source's and the drill's UUID groups as
/// AWS would give them, the account's pseudo parameters.
fn filled(value: &Value) -> String {
    fn sub(text: &str, vars: &BTreeMap<String, String>) -> String {
        let mut out = text.to_owned();
        for (name, value) in vars {
            out = out.replace(&format!("${{{name}}}"), value);
        }
        out
    }
    let base: BTreeMap<String, String> = [
        ("AWS::Partition", "aws"),
        ("AWS::Region", "us-east-1"),
        ("AWS::AccountId", "123456789012"),
        // A drill's UUID groups, and (Group) the source's.
        ("Source", "2f1d4c80"),
        ("Drill", "5e0c7a10"),
        ("Group", "2f1d4c80"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) if map.contains_key("Fn::Sub") => match &map["Fn::Sub"] {
            Value::String(text) => sub(text, &base),
            Value::Array(parts) => {
                let mut vars = base.clone();
                for (name, v) in parts[1].as_object().unwrap() {
                    // Values computed from stack ids and bucket names: the groups above.
                    let text = match v {
                        Value::Object(o) if o.contains_key("Fn::Sub") => filled(v),
                        _ => base.get(name).cloned().unwrap_or_default(),
                    };
                    vars.insert(name.clone(), text);
                }
                sub(parts[0].as_str().unwrap(), &vars)
            }
            other => panic!("Fn::Sub {other}"),
        },
        other => panic!("not a name: {other}"),
    }
}

#[test]
fn every_drill_name_fits_and_is_one_the_drill_stack_role_may_manage() {
    use stack_gen::components::restore_drill::NAMED_TYPES;
    let all = checked_templates();
    let (_, _, source) = all
        .iter()
        .find(|(_, o, _)| !o.drill && !o.recovery)
        .unwrap();
    let role = &source["Resources"][STACK_ROLE]["Properties"]["Policies"];
    let iam_patterns: Vec<String> = role
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| statements(&p["PolicyDocument"]))
        .filter(|s| {
            s["Effect"] == "Allow"
                && as_list(&s["Action"])
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| a.starts_with("iam:Create")))
        })
        .flat_map(|s| as_list(&s["Resource"]))
        .map(filled)
        .collect();
    assert!(!iam_patterns.is_empty());
    for (name, options, template) in &all {
        if !options.drill {
            continue;
        }
        for (id, resource) in template["Resources"].as_object().unwrap() {
            let Some((type_, property, limit)) =
                NAMED_TYPES.iter().find(|(t, _, _)| resource["Type"] == *t)
            else {
                continue;
            };
            let value = filled(&resource["Properties"][*property]);
            assert!(
                value.len() <= *limit,
                "{name} {id}: {property} {value} is over {limit} characters"
            );
            if *type_ != "AWS::Lambda::Function" {
                let kind = match *type_ {
                    "AWS::IAM::Role" => "role",
                    "AWS::IAM::InstanceProfile" => "instance-profile",
                    _ => "policy",
                };
                let arn = format!("arn:aws:iam::123456789012:{kind}/{value}");
                assert!(
                    iam_patterns.iter().any(|p| matches(p, &arn)),
                    "{name} {id}: {STACK_ROLE} may not create {arn} ({iam_patterns:#?})"
                );
            }
        }
    }
}
