//! The real cfn-lint (installed by tests/setup) on the template of every combination:
//! 0 errors, 0 warnings, 0 informational findings.

mod common;

use std::process::Command;

#[test]
fn cfn_lint_passes_every_combination() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, _, template) in common::checked_templates() {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
        files.push(path);
    }
    let output = Command::new(test_harness::tool("cfn-lint"))
        .args(&files)
        // Files first: --include-checks takes every argument after it.
        .args(["--format", "parseable", "--include-checks", "I"])
        .output()
        .expect("run cfn-lint");
    let findings = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "cfn-lint findings (exit {:?}):\n{findings}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every state machine's definition through asl-validator (npm, installed by tests/setup): the
/// Amazon States Language's schema and its JSONPath expressions. (Its execution is
/// restore-drill's tests/orchestrator.rs, on a Step Functions engine.)
#[test]
fn asl_validator_passes_every_state_machine() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (name, _, template) in common::checked_templates() {
        for (id, machine) in common::resources_of(&template, "AWS::StepFunctions::StateMachine") {
            let path = dir.path().join(format!("{name}-{id}.json"));
            let definition = &machine["Properties"]["Definition"];
            std::fs::write(&path, serde_json::to_string(definition).unwrap()).unwrap();
            let output = Command::new(
                test_harness::workspace_root().join("tests/node/node_modules/.bin/asl-validator"),
            )
            .arg("--json-path")
            .arg(&path)
            .output()
            .expect("run asl-validator (tests/setup installs it in tests/node)");
            assert!(
                output.status.success(),
                "{name} {id}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "no state machine found");
}
