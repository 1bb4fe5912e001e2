//! The real checkov (installed by tests/setup, offline: no download, no platform key) over the
//! template of every combination. Each finding is fixed, or accepted in `stack_gen::scanner`'s
//! table, which writes it into the resource's Metadata with its reason. This test fails on a
//! finding the table does not accept, on a suppression without a reason, and on a stale one
//! (checkov no longer reports that check as skipped on that resource).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use stack_gen::scanner::{SUPPRESSIONS, suppressions_in};

/// (template name, logical ID, check id).
type Key = (String, String, String);

#[test]
fn checkov_accepts_every_combination_and_every_suppression_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let templates = common::all_templates();
    let mut files = Vec::new();
    for (name, _, template) in &templates {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(template).unwrap()).unwrap();
        files.push(path);
    }

    let started = Instant::now();
    // One process for all files: checkov's start-up (loading every check) is most of its time.
    let output = Command::new(test_harness::tool("checkov"))
        .arg("--file")
        .args(&files)
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
        ])
        // Offline: no guidelines or policies from the platform, no PyPI version check.
        // --soft-fail: findings are this test's to judge; any other exit is checkov failing.
        .args(["--skip-download", "--soft-fail"])
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env("BC_SKIP_MAPPING", "TRUE")
        .env_remove("BC_API_KEY")
        .output()
        .expect("run checkov");
    eprintln!(
        "checkov: {} templates in {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "checkov failed (exit {:?}):\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's output is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    // One framework gives one report; several would give a list of them.
    let reports = match report {
        Value::Array(reports) => reports,
        report => vec![report],
    };

    let mut scanned = BTreeSet::new();
    let mut failed: BTreeMap<(String, String, String), (String, Vec<String>)> = BTreeMap::new();
    let mut skipped: BTreeMap<Key, String> = BTreeMap::new();
    let mut parse_errors = Vec::new();
    for report in &reports {
        assert_eq!(report["check_type"], "cloudformation", "{report}");
        let results = &report["results"];
        for error in results["parsing_errors"].as_array().into_iter().flatten() {
            parse_errors.push(error.to_string());
        }
        for result in results["passed_checks"].as_array().into_iter().flatten() {
            scanned.insert(finding_key(result).0);
        }
        for result in results["failed_checks"].as_array().into_iter().flatten() {
            let (template, resource, check) = finding_key(result);
            scanned.insert(template.clone());
            failed
                .entry((check, resource, name_of(result)))
                .or_insert_with(|| (type_of(result), Vec::new()))
                .1
                .push(template);
        }
        for result in results["skipped_checks"].as_array().into_iter().flatten() {
            let key = finding_key(result);
            scanned.insert(key.0.clone());
            skipped.insert(key, name_of(result));
        }
    }
    assert!(
        parse_errors.is_empty(),
        "checkov could not parse: {parse_errors:?}"
    );
    let expected: BTreeSet<String> = templates.iter().map(|(n, _, _)| n.clone()).collect();
    assert_eq!(
        scanned, expected,
        "checkov reported on other templates than were written"
    );

    let mut problems = Vec::new();
    // Every finding at once, grouped by check and resource, so one run shows all that is open.
    for ((check, resource, name), (type_, in_templates)) in &failed {
        problems.push(format!(
            "unsuppressed {check} ({name}) on {resource} ({type_}) in {}",
            in_templates.join(", ")
        ));
    }
    for (name, _, template) in &templates {
        for (resource, check, comment) in suppressions_in(template) {
            if comment.trim().is_empty() {
                problems.push(format!(
                    "suppression of {check} on {resource} in {name} has no reason"
                ));
            }
            if !skipped.contains_key(&(name.clone(), resource.clone(), check.clone())) {
                problems.push(format!(
                    "stale suppression: checkov does not report {check} as skipped on {resource} in {name}"
                ));
            }
        }
    }
    // The table's titles are what ARCHITECTURE.md shows: they must be checkov's names.
    for ((template, resource, check), name) in &skipped {
        match SUPPRESSIONS.iter().find(|s| s.check == check) {
            Some(s) if s.title != name => problems.push(format!(
                "scanner table names {check} {:?}, checkov {name:?} ({resource} in {template})",
                s.title
            )),
            Some(_) => {}
            None => problems.push(format!(
                "{check} skipped on {resource} in {template} by a suppression the table does not have"
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "checkov: {} problem(s) (fix the resource, or accept the finding with its reason in \
         stack-gen/src/scanner.rs):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Each entry of the table is written into some combination: a misspelt logical ID or a
/// resource that no longer exists would otherwise suppress nothing, silently.
#[test]
fn every_table_entry_reaches_a_resource() {
    let templates = common::all_templates();
    let written: BTreeSet<(String, String)> = templates
        .iter()
        .flat_map(|(_, _, t)| suppressions_in(t))
        .map(|(resource, check, _)| (resource, check))
        .collect();
    for s in SUPPRESSIONS {
        for resource in s.resources {
            assert!(
                written.contains(&(resource.to_string(), s.check.to_owned())),
                "{} on {resource} is in the scanner table but in no template",
                s.check
            );
        }
    }
}

/// (template name, logical ID, check id) of one checkov result.
fn finding_key(result: &Value) -> Key {
    let file = result["file_path"].as_str().expect("file_path");
    let template = Path::new(file)
        .file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    // "AWS::Lambda::Function.CertGrabberFunction": logical IDs are alphanumeric.
    let resource = result["resource"].as_str().expect("resource");
    let logical_id = resource.rsplit_once('.').map_or(resource, |(_, id)| id);
    let check = result["check_id"].as_str().expect("check_id");
    (template, logical_id.to_owned(), check.to_owned())
}

fn name_of(result: &Value) -> String {
    result["check_name"].as_str().unwrap_or_default().to_owned()
}

fn type_of(result: &Value) -> String {
    let resource = result["resource"].as_str().unwrap_or_default();
    resource
        .rsplit_once('.')
        .map_or("", |(type_, _)| type_)
        .to_owned()
}
