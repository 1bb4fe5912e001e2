//! The real checkov (installed by tests/setup, offline: no download, no platform key) over the
//! template of every combination. Each finding is fixed, or accepted in `stack_gen::scanner`'s
//! table, which writes it into the resource's Metadata with its reason. This test fails on a
//! finding the table does not accept, on a suppression without a reason, and on a stale one:
//! a suppressed check that would no longer fire on that resource.
//!
//! checkov reports a check as skipped whenever the resource carries the skip, whether or not
//! the check would fail, so "reported as skipped" cannot tell a stale suppression. checkov
//! therefore scans each template twice in one process: as generated (`suppressed/`: what a
//! reviewer running checkov on template/ sees) and with every `Metadata.checkov` removed
//! (`bare/`: what fires).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use stack_gen::scanner::{SUPPRESSIONS, suppressions_in};

/// (template name, logical ID, check id).
type Key = (String, String, String);

/// What checkov reported for the templates of one directory.
#[derive(Default)]
struct Results {
    scanned: BTreeSet<String>,
    /// Failed checks, with (check name, resource type).
    failed: BTreeMap<Key, (String, String)>,
    /// Skipped checks, with checkov's check name.
    skipped: BTreeMap<Key, String>,
}

#[test]
fn checkov_accepts_every_combination_and_every_suppression_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let templates = common::checked_templates();
    let mut files = Vec::new();
    for variant in ["suppressed", "bare"] {
        std::fs::create_dir(dir.path().join(variant)).unwrap();
        for (name, _, template) in &templates {
            let mut template = template.clone();
            if variant == "bare" {
                strip_checkov_metadata(&mut template);
            }
            let path = dir.path().join(variant).join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
            files.push(path);
        }
    }
    let results = run_checkov(&files);
    let suppressed = results
        .get("suppressed")
        .expect("the suppressed templates' results");
    let bare = results.get("bare").expect("the bare templates' results");
    let expected: BTreeSet<String> = templates.iter().map(|(n, _, _)| n.clone()).collect();
    for (variant, r) in &results {
        assert_eq!(
            r.scanned, expected,
            "checkov's results on {variant}/ name other templates"
        );
    }

    let mut problems = Vec::new();
    // Every open finding at once, grouped by check and resource: one run shows all of them.
    let mut open: BTreeMap<(&str, &str, &str, &str), Vec<&str>> = BTreeMap::new();
    for ((template, resource, check), (name, type_)) in &suppressed.failed {
        open.entry((check, resource, name, type_))
            .or_default()
            .push(template);
    }
    for ((check, resource, name, type_), in_templates) in &open {
        problems.push(format!(
            "unsuppressed {check} ({name}) on {resource} ({type_}) in {}",
            in_templates.join(", ")
        ));
    }
    let mut written = BTreeSet::new();
    for (name, _, template) in &templates {
        for (resource, check, comment) in suppressions_in(template) {
            let key = (name.clone(), resource.clone(), check.clone());
            if comment.trim().is_empty() {
                problems.push(format!(
                    "suppression of {check} on {resource} in {name} has no reason"
                ));
            }
            if !bare.failed.contains_key(&key) {
                problems.push(format!(
                    "stale suppression: {check} no longer fires on {resource} in {name}"
                ));
            }
            if !suppressed.skipped.contains_key(&key) {
                problems.push(format!(
                    "checkov does not report {check} as skipped on {resource} in {name}: it ignored the Metadata"
                ));
            }
            written.insert(key);
        }
    }
    // Consistency of the two scans: what fires and is not suppressed is what fails.
    for key in bare.failed.keys() {
        if !written.contains(key) && !suppressed.failed.contains_key(key) {
            problems.push(format!(
                "{key:?} fails without the Metadata, yet not with it"
            ));
        }
    }
    // The table's titles are what docs/scanner.md shows: they must be checkov's names.
    for ((template, resource, check), name) in &suppressed.skipped {
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
    let templates = common::checked_templates();
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

/// Runs checkov once over `files`; results by the files' directory name.
fn run_checkov(files: &[PathBuf]) -> BTreeMap<String, Results> {
    let started = Instant::now();
    // One process for all files: checkov's start-up (loading every check) is much of its time.
    let output = Command::new(test_harness::tool("checkov"))
        .arg("--file")
        .args(files)
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
    let mut by_variant: BTreeMap<String, Results> = BTreeMap::new();
    for report in &reports {
        assert_eq!(report["check_type"], "cloudformation", "{report}");
        let results = &report["results"];
        let errors = &results["parsing_errors"];
        assert!(
            errors.as_array().is_none_or(Vec::is_empty),
            "checkov could not parse: {errors}"
        );
        let list = |kind: &str| results[kind].as_array().cloned().unwrap_or_default();
        for result in list("passed_checks") {
            let (variant, key) = finding_key(&result);
            by_variant.entry(variant).or_default().scanned.insert(key.0);
        }
        for result in list("failed_checks") {
            let (variant, key) = finding_key(&result);
            let r = by_variant.entry(variant).or_default();
            r.scanned.insert(key.0.clone());
            r.failed.insert(key, (name_of(&result), type_of(&result)));
        }
        for result in list("skipped_checks") {
            let (variant, key) = finding_key(&result);
            let r = by_variant.entry(variant).or_default();
            r.scanned.insert(key.0.clone());
            r.skipped.insert(key, name_of(&result));
        }
    }
    by_variant
}

/// The template without any `Metadata.checkov` (and without Metadata left empty by that).
fn strip_checkov_metadata(template: &mut Value) {
    for resource in template["Resources"]
        .as_object_mut()
        .expect("Resources")
        .values_mut()
    {
        let resource = resource.as_object_mut().expect("a resource is an object");
        if let Some(Value::Object(metadata)) = resource.get_mut("Metadata") {
            metadata.remove("checkov");
            if metadata.is_empty() {
                resource.remove("Metadata");
            }
        }
    }
}

/// (directory of the file, (template name, logical ID, check id)) of one checkov result.
fn finding_key(result: &Value) -> (String, Key) {
    let file = Path::new(result["file_path"].as_str().expect("file_path"));
    let name = |p: Option<&Path>, what| {
        p.and_then(Path::file_name)
            .unwrap_or_else(|| panic!("{what} of {}", file.display()))
            .to_string_lossy()
            .trim_end_matches(".json")
            .to_owned()
    };
    let variant = name(file.parent(), "directory");
    let template = name(Some(file), "file name");
    // "AWS::Lambda::Function.CertGrabberFunction": logical IDs are alphanumeric.
    let resource = result["resource"].as_str().expect("resource");
    let logical_id = resource.rsplit_once('.').map_or(resource, |(_, id)| id);
    let check = result["check_id"].as_str().expect("check_id");
    (variant, (template, logical_id.to_owned(), check.to_owned()))
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
