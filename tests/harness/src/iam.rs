//! The emulator with IAM enforced, and principals holding exactly the policy the generated
//! template gives a component — so an emulator test of a Lambda or an instance script runs
//! with that component's permissions, never an admin key.
//!
//! moto enforces identity policies once `INITIAL_NO_AUTH_ACTION_COUNT` requests have passed:
//! [`Moto::start_with_iam`] spends those on an `admin` user (used for seeding, through
//! [`Moto::sdk_config`] and [`Moto::env`]); [`Moto::principal`] makes a user with a component's
//! statements. moto matches S3 statements by their ARNs but ignores every Condition, and
//! matches other services' statements against `*` only (DESIGN.md, emulator facts): so
//! [`as_moto_enforces`] drops Conditions and widens non-S3 resources. Conditions and non-S3
//! ARNs are judged against AWS's request context in `stack-gen/tests/iam_conditions.rs`.

use std::collections::BTreeMap;
use std::process::Command;

use aws_config::SdkConfig;
use serde_json::{Value, json};

use crate::intrinsics::{Resolver, Unknown};
use crate::{Moto, tool};

/// Access keys of an emulator IAM user.
#[derive(Clone, Debug)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Keys {
    /// The keys every emulator starts with: the root account's, which IAM does not restrict.
    pub fn testing() -> Keys {
        Keys {
            access_key_id: "testing".to_owned(),
            secret_access_key: "testing".to_owned(),
        }
    }
}

/// Creates user `name` with an inline policy of `statements` and returns its keys, calling the
/// emulator's IAM with `caller` (None: unsigned calls of the no-auth window).
fn create_user(endpoint: &str, caller: Option<&Keys>, name: &str, statements: &[Value]) -> Keys {
    let document = json!({ "Version": "2012-10-17", "Statement": statements }).to_string();
    let script = r#"
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1")
iam.create_user(UserName=sys.argv[2])
iam.put_user_policy(UserName=sys.argv[2], PolicyName="component", PolicyDocument=sys.argv[3])
key = iam.create_access_key(UserName=sys.argv[2])["AccessKey"]
print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"]]))
"#;
    let (id, secret) = caller.map_or(("testing", "testing"), |k| {
        (k.access_key_id.as_str(), k.secret_access_key.as_str())
    });
    let out = Command::new(tool("python"))
        .args(["-c", script, endpoint, name, &document])
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run .venv/bin/python");
    assert!(
        out.status.success(),
        "creating IAM user {name} in the emulator: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Vec<String> = serde_json::from_slice(&out.stdout).expect("keys as JSON");
    Keys {
        access_key_id: keys[0].clone(),
        secret_access_key: keys[1].clone(),
    }
}

/// The three unsigned requests that create the admin user (CreateUser, PutUserPolicy,
/// CreateAccessKey); every later request needs a user's keys.
const NO_AUTH_REQUESTS: &str = "3";

impl Moto {
    /// An emulator that enforces IAM, with an `admin` user (allowed everything) whose keys
    /// [`Moto::sdk_config`] and [`Moto::env`] use, for seeding.
    pub fn start_with_iam() -> Moto {
        // scripts/moto_server_iam.py: moto's server without its SigV4 re-check (see there).
        let mut server = Command::new(tool("python"));
        server.arg(crate::workspace_root().join("tests/harness/scripts/moto_server_iam.py"));
        server.env("INITIAL_NO_AUTH_ACTION_COUNT", NO_AUTH_REQUESTS);
        let mut moto = Moto::serve(server);
        let admin = create_user(
            &moto.endpoint(),
            None,
            "admin",
            &[json!({ "Effect": "Allow", "Action": "*", "Resource": "*" })],
        );
        moto.keys = admin;
        moto
    }

    /// The keys of the `admin` user (or moto's default test keys without IAM).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A user holding only `statements` (already as moto enforces them: see
    /// [`as_moto_enforces`]): its keys.
    pub fn user(&self, name: &str, statements: &[Value]) -> Keys {
        create_user(&self.endpoint(), Some(&self.keys), name, statements)
    }

    /// As [`Moto::user`], with an SDK configuration that calls as that user.
    pub async fn principal(&self, name: &str, statements: &[Value]) -> (Keys, SdkConfig) {
        let keys = self.user(name, statements);
        let config = self.sdk_config_as(&keys, crate::REGION).await;
        (keys, config)
    }
}

/// A template fragment's intrinsics resolved from `env` (`Ref` names, `Name.Attr` for GetAtt,
/// pseudo parameters) by the tests' one resolver; an unknown reference becomes `<Name>`, which
/// matches nothing, and `Fn::If` takes its first branch (so optional statements are included).
pub fn resolve(value: &Value, env: &BTreeMap<String, String>) -> Value {
    let names = |name: &str| env.get(name).map(|v| json!(v));
    Resolver::new(&names, Unknown::Placeholder).resolve(value)
}

/// The identity-policy statements the template gives role `role` (its inline policies and the
/// managed policies attached to it), resolved from `env`.
pub fn role_statements(template: &Value, role: &str, env: &BTreeMap<String, String>) -> Vec<Value> {
    let resources = template["Resources"].as_object().expect("Resources");
    let mut statements = Vec::new();
    for policy in resources[role]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        statements.extend(as_list(&policy["PolicyDocument"]["Statement"]));
    }
    for r in resources
        .values()
        .filter(|r| r["Type"] == "AWS::IAM::ManagedPolicy")
    {
        if as_list(&r["Properties"]["Roles"])
            .iter()
            .any(|x| x["Ref"] == role)
        {
            statements.extend(as_list(&r["Properties"]["PolicyDocument"]["Statement"]));
        }
    }
    assert!(
        !statements.is_empty(),
        "{role} has no policy in the template"
    );
    statements.iter().map(|s| resolve(s, env)).collect()
}

/// `statements` as moto can enforce them: S3 statements keep their resources, other
/// services' become `*`; Conditions are dropped (moto would never match a statement with one);
/// and `s3:ListBucket` is granted under moto's name for HeadBucket too (AWS authorises
/// HeadBucket as ListBucket, moto checks `s3:HeadBucket`). A Deny that moto could only widen
/// (a Condition, or a resource it does not judge) is left out rather than made to deny
/// everything: `stack-gen/tests/iam_conditions.rs` judges those.
pub fn as_moto_enforces(statements: &[Value]) -> Vec<Value> {
    let judged_as_written = |s: &Value| {
        s["Condition"].is_null()
            && as_list(&s["Action"])
                .iter()
                .all(|a| a.as_str().is_some_and(|a| a.starts_with("s3:")))
    };
    statements
        .iter()
        .filter(|s| s["Effect"] != "Deny" || judged_as_written(s))
        .map(|s| {
            let mut s = s.clone();
            let map = s.as_object_mut().expect("statement");
            map.remove("Condition");
            let mut actions: Vec<String> = as_list(&map["Action"])
                .iter()
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            if !actions.iter().all(|a| a.starts_with("s3:")) {
                map.insert("Resource".into(), json!("*"));
            }
            if actions.iter().any(|a| a == "s3:ListBucket") {
                actions.push("s3:HeadBucket".to_owned());
                map.insert("Action".into(), json!(actions));
            }
            s
        })
        .collect()
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

/// The references a stack's policies make, for a stack whose bucket is `bucket` (moto widens
/// non-S3 resources, so only the bucket must be real; add others, e.g. `RecoveryS3Bucket`).
pub fn stack_env(bucket: &str) -> BTreeMap<String, String> {
    [
        ("AWS::Partition", "aws".to_owned()),
        ("AWS::Region", crate::REGION.to_owned()),
        ("AWS::AccountId", "123456789012".to_owned()),
        ("AWS::StackName", "openemr".to_owned()),
        (
            "AWS::StackId",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/iam".to_owned(),
        ),
        ("S3Bucket", bucket.to_owned()),
        ("S3Bucket.Arn", format!("arn:aws:s3:::{bucket}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A user holding what `template` gives `role`, as moto can enforce it, for a stack whose
/// references are `env`.
pub async fn component(
    moto: &Moto,
    template: &Value,
    role: &str,
    env: &BTreeMap<String, String>,
) -> SdkConfig {
    static USERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = USERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let statements = as_moto_enforces(&role_statements(template, role, env));
    moto.principal(&format!("{role}-{n}"), &statements).await.1
}
