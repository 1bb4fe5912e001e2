//! The instance scripts under `stack-gen/scripts/`: shellcheck-clean, and safe to fill in with
//! Fn::Sub (a `${...}` outside the quoted header would be taken for a CloudFormation reference).
//! The application bundle's hook (`stack-gen/bundle/`, not filled in by CloudFormation) is
//! shellcheck-clean too.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scripts() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    for dir in std::fs::read_dir(&root).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "sh") {
                found.push(path);
            }
        }
    }
    found.sort();
    assert!(found.len() >= 5, "scripts found: {found:?}");
    found
}

#[test]
fn shellcheck_passes_every_script() {
    let output = Command::new(test_harness::tool("shellcheck"))
        .args(["--shell=bash", "--severity=style"])
        .args(scripts())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bundle/openemr-site.sh"))
        .output()
        .expect("run shellcheck");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn cloudformation_placeholders_only_in_quoted_assignments() {
    for script in scripts() {
        let text = std::fs::read_to_string(&script).unwrap();
        for (n, line) in text.lines().enumerate() {
            let placeholder_line =
                line.trim_start()
                    .split_once("='${")
                    .is_some_and(|(name, rest)| {
                        name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                            && rest.ends_with("}'")
                    });
            let whole_line_placeholder = [
                "${BackupScript}",
                "${ObjectState}",
                "${CloudWatchAgent}",
                "${CfnSignal}",
                "${CertificatesScript}",
            ]
            .contains(&line);
            if line.contains("${") {
                assert!(
                    placeholder_line || whole_line_placeholder,
                    "{}:{}: `${{` outside a quoted placeholder: {line}",
                    script.display(),
                    n + 1
                );
            }
        }
    }
}
