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
