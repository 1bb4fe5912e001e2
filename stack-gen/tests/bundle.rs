//! The application bundle against the outside world: its compose file through the Compose
//! Specification's own schema (check-jsonschema, from PyPI, vendors it), and its variables
//! against the official image's (`docs/openemr-image-variables.json`: every variable the
//! image's entrypoint reads, with the release and commit it was read from) and against what
//! every generated template sets.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use common::checked_templates;
use serde_json::Value;
use stack_gen::bundle::{COMPOSE_FILE, CONTAINER_VARIABLES, HOOK_VARIABLES};

/// The image's variables, as read from its entrypoint.
const IMAGE_VARIABLES: &str = "docs/openemr-image-variables.json";
/// The passwords: environment secrets only, never plain settings.
const SECRETS: [&str; 3] = ["MYSQL_ROOT_PASS", "MYSQL_PASS", "OE_PASS"];
/// What a first install needs (absent where a restored site is configured already).
const INSTALL_ONLY: [&str; 6] = [
    "MYSQL_ROOT_USER",
    "MYSQL_ROOT_PASS",
    "MYSQL_USER",
    "MYSQL_PASS",
    "OE_USER",
    "OE_PASS",
];

fn root() -> PathBuf {
    test_harness::workspace_root()
}

fn check_jsonschema(file: &std::path::Path) -> std::process::Output {
    Command::new(root().join(".venv/bin/check-jsonschema"))
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(file)
        .output()
        .expect("check-jsonschema from .venv (tests/setup installs it)")
}

/// The compose file as JSON (ruamel.yaml, which check-jsonschema itself reads YAML with).
fn compose() -> Value {
    let out = Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            "import json,sys; from ruamel.yaml import YAML; print(json.dumps(YAML(typ='safe').load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(COMPOSE_FILE.as_bytes())?;
            child.wait_with_output()
        })
        .expect("python from .venv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_compose_file_is_valid_compose_and_an_invalid_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("docker-compose.yml");
    std::fs::write(&good, COMPOSE_FILE).unwrap();
    let out = check_jsonschema(&good);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The validator is not a rubber stamp: a misspelt key fails.
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, COMPOSE_FILE.replace("    ports:\n", "    portz:\n")).unwrap();
    let out = check_jsonschema(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("portz"));
}

/// The `${NAME...}` references of the compose file.
fn references(text: &str) -> BTreeSet<String> {
    text.split("${")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_container_gets_only_variables_the_image_reads() {
    let image: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(IMAGE_VARIABLES)).unwrap())
            .unwrap();
    let known = image["variables"].as_object().unwrap();
    let compose = compose();
    let environment = compose["services"]["openemr"]["environment"]
        .as_object()
        .expect("environment as a map");
    for name in environment.keys() {
        assert!(known.contains_key(name), "the image does not read {name}");
        assert!(
            !known[name]["default"]
                .as_str()
                .unwrap_or("")
                .contains("NOT READ"),
            "{name} is listed as not read by the image"
        );
    }
    // What the features we use need.
    for name in [
        "MYSQL_HOST",
        "MYSQL_ROOT_PASS",
        "MYSQL_PASS",
        "OE_PASS",
        "SWARM_MODE",
        "REDIS_SERVER",
        "REDIS_TLS",
    ] {
        assert!(environment.contains_key(name), "the container lacks {name}");
    }
    assert_eq!(environment["SWARM_MODE"], "yes");
    assert_eq!(environment["REDIS_TLS"], "yes");
    // The compose file reads exactly the stack's container variables.
    assert_eq!(
        references(COMPOSE_FILE),
        CONTAINER_VARIABLES.iter().map(|s| s.to_string()).collect()
    );
}

/// (namespace, name, value) of the environment's option settings.
fn settings(template: &Value) -> Vec<(String, String, Value)> {
    let (_, environment) = common::resources_of(template, "AWS::ElasticBeanstalk::Environment")
        .pop()
        .expect("an environment");
    environment["Properties"]["OptionSettings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Namespace"].as_str().unwrap().to_owned(),
                s["OptionName"].as_str().unwrap().to_owned(),
                s["Value"].clone(),
            )
        })
        .collect()
}

#[test]
fn every_stack_sets_what_the_bundle_reads_and_nothing_else_with_passwords_as_secrets_only() {
    const PLAIN: &str = "aws:elasticbeanstalk:application:environment";
    const SECRET: &str = "aws:elasticbeanstalk:application:environmentsecrets";
    let read: BTreeSet<&str> = CONTAINER_VARIABLES
        .iter()
        .chain(HOOK_VARIABLES.iter())
        .copied()
        .collect();
    for (name, options, template) in checked_templates() {
        let settings = settings(&template);
        let set: BTreeSet<&str> = settings
            .iter()
            .filter(|(ns, _, _)| ns == PLAIN || ns == SECRET)
            .map(|(_, option, _)| option.as_str())
            .collect();
        for variable in &set {
            assert!(
                read.contains(variable),
                "{name}: {variable} is read by nobody"
            );
        }
        for variable in &read {
            let install_only = INSTALL_ONLY.contains(variable);
            assert_eq!(
                set.contains(variable),
                !(install_only && options.recovery),
                "{name}: {variable} (install-only: {install_only})"
            );
        }
        for (ns, option, value) in &settings {
            if SECRETS.contains(&option.as_str()) {
                assert_eq!(ns, SECRET, "{name}: {option} must be an environment secret");
                // A secret's ARN (with a JSON key), never a value.
                let text = value.to_string();
                assert!(
                    text.contains("DatabaseSecret") || text.contains("OpenEMRAdminSecret"),
                    "{name}: {option} = {text}"
                );
            }
        }
        // The endpoints are the services' own names, which their certificates carry.
        let value = |option: &str| {
            settings
                .iter()
                .find(|(ns, o, _)| ns == PLAIN && o == option)
                .map(|(_, _, v)| v.clone())
                .unwrap()
        };
        assert_eq!(
            value("MYSQL_HOST"),
            serde_json::json!({ "Fn::GetAtt": ["RDSInstance", "Endpoint.Address"] }),
            "{name}"
        );
        assert_eq!(
            value("REDIS_SERVER"),
            serde_json::json!({ "Fn::GetAtt": ["RedisReplicationGroup", "PrimaryEndPoint.Address"] }),
            "{name}"
        );
        assert_eq!(
            value("OPENEMR_SITE_REQUIRED"),
            serde_json::json!(options.recovery.to_string()),
            "{name}"
        );
    }
}
