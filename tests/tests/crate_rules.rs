//! ARCHITECTURE.md's crate dependency rules, read from `cargo metadata`:
//! - no Lambda crate (a package under `functions/` with a binary) depends on another, and no
//!   library under `functions/` on a Lambda: what two functions share is a library;
//! - `stack-gen` depends on `stack-contract` only among the workspace's crates (no AWS SDK);
//! - the Lambda crates are the functions `stack-ops package` builds (`FUNCTIONS`), which are
//!   the ones `tests/lambda-zips` builds beside the tests (every crate under `functions/` with
//!   a binary): a function that only one of them builds would be built twice or not at all.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

struct Package {
    lambda: bool,
    under_functions: bool,
    /// Normal (not dev or build) dependencies on the workspace's own packages.
    depends_on: Vec<String>,
}

fn workspace() -> BTreeMap<String, Package> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let members: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap().to_owned();
            let lambda = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["kind"].as_array().unwrap().iter().any(|k| k == "bin"));
            let under_functions = p["manifest_path"].as_str().unwrap().contains("/functions/");
            let depends_on = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| members.contains(&d.as_str()))
                .collect();
            (
                name,
                Package {
                    lambda,
                    under_functions,
                    depends_on,
                },
            )
        })
        .collect()
}

#[test]
fn no_function_builds_on_a_lambda() {
    let packages = workspace();
    let lambdas: Vec<&String> = packages
        .iter()
        .filter(|(_, p)| p.lambda && p.under_functions)
        .map(|(name, _)| name)
        .collect();
    assert!(lambdas.len() >= 6, "the Lambdas: {lambdas:?}");
    for (name, package) in &packages {
        if !package.under_functions {
            continue;
        }
        for dependency in &package.depends_on {
            assert!(
                !lambdas.contains(&dependency),
                "{name} depends on the Lambda {dependency}: move what they share into a library"
            );
        }
    }
}

#[test]
fn stack_gen_needs_no_aws_crate() {
    let packages = workspace();
    assert_eq!(packages["stack-gen"].depends_on, ["stack-contract"]);
}

#[test]
fn the_lambdas_are_the_functions_stack_ops_packages() {
    let packages = workspace();
    let lambdas: Vec<&str> = packages
        .iter()
        .filter(|(_, p)| p.lambda && p.under_functions)
        .map(|(name, _)| name.as_str())
        .collect();
    let mut packaged: Vec<&str> = stack_gen::options::FUNCTIONS
        .iter()
        .map(|(_, package)| *package)
        .collect();
    packaged.sort_unstable();
    assert_eq!(lambdas, packaged, "stack-gen's FUNCTIONS");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/lambda-zips");
    let listed = Command::new(script).arg("--list").output().expect(script);
    assert!(listed.status.success(), "{script} --list");
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(
        lambdas,
        listed.lines().collect::<Vec<_>>(),
        "{script} --list"
    );
}
