//! ARCHITECTURE.md's crate dependency rules, read from `cargo metadata`:
//! - no Lambda crate (a package under `functions/` with a binary) depends on another, and no
//!   library under `functions/` on a Lambda: what two functions share is a library;
//! - `stack-gen` depends on `stack-contract` only among the workspace's crates (no AWS SDK);
//! - no crate has an import loop: no module imports, directly or through others, one that
//!   imports it;
//! - SDK timestamps become `OffsetDateTime`s in one place (`aws_clients::time::instant`);
//! - stack-gen references a logical ID through its owner's constant, not its literal;
//! - libraries return typed errors: `anyhow` only in the command-line tools (`stack-ops`, and
//!   `stack-gen`'s `main.rs`);
//! - the Lambda crates are the functions `stack-ops package` builds (`FUNCTIONS`), which are
//!   the ones `tests/lambda-zips` builds beside the tests (every crate under `functions/` with
//!   a binary): a function that only one of them builds would be built twice or not at all.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use test_harness::workspace_root;

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

/// The `.rs` files under `dir`, at any depth.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// The code of `file` before its `#[cfg(test)]` module, comment lines blanked (line numbers
/// kept).
fn code_before_tests(file: &std::path::Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules of the crate whose sources are under `src`, each with the modules it names
/// through `crate::` or `super::` paths, and the child modules it names by relative paths
/// (`child::name`) (the code before its `#[cfg(test)]` module, comments left out). A module is its file: `a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`.
fn module_imports(src: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let paths = rust_files(src);
    let module_of = |path: &std::path::Path| -> Vec<String> {
        let relative = path.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        parts
    };
    let modules: Vec<Vec<String>> = paths.iter().map(|p| module_of(p)).collect();
    let mut imports = BTreeMap::new();
    for (path, module) in paths.iter().zip(&modules) {
        let code = code_before_tests(path);
        let mut named = Vec::new();
        for (at, anchor) in code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
        {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let base = if anchor == "super::" {
                module[..module.len().saturating_sub(1)].to_vec()
            } else {
                Vec::new()
            };
            for target in paths_named(base, &code[at + anchor.len()..]) {
                // The longest prefix of the path that is a module.
                let mut best = Vec::new();
                for end in 1..=target.len() {
                    if modules.contains(&target[..end].to_vec()) {
                        best = target[..end].to_vec();
                    }
                }
                let best = best.join("::");
                if !best.is_empty() && best != module.join("::") && !named.contains(&best) {
                    named.push(best);
                }
            }
        }
        // A module's own child modules, named by a relative path (`child::name`).
        for child in modules
            .iter()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
        {
            let name = child.last().unwrap();
            let relative = format!("{name}::");
            let named_here = code.match_indices(&relative).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if named_here && !named.contains(&child.join("::")) {
                named.push(child.join("::"));
            }
        }
        imports.insert(module.join("::"), named);
    }
    imports
}

/// The paths named by the text after `crate::` (or `super::`) that starts `text`, each after
/// `base`: `a::b::name` is one, `a::{b::x, c}` two (`a::b::x`, `a::c`).
fn paths_named(base: Vec<String>, text: &str) -> Vec<Vec<String>> {
    let mut path = base;
    let mut rest = text.trim_start();
    loop {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() {
            break;
        }
        path.push(word.clone());
        rest = &rest[word.len()..];
        match rest.strip_prefix("::") {
            Some(more) => rest = more.trim_start(),
            None => return vec![path],
        }
    }
    let Some(group) = rest.strip_prefix('{') else {
        return vec![path];
    };
    // The group up to its closing brace, split at its own commas.
    let (mut depth, mut items, mut item) = (0, Vec::new(), String::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .flat_map(|i| match i {
            "self" => vec![path.clone()],
            _ => paths_named(path.clone(), i),
        })
        .collect()
}

/// A loop of modules each importing the next (the first again at the end), if there is one.
fn import_loop(imports: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        imports: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut found = path[at..].to_vec();
            found.push(module.to_owned());
            return Some(found);
        }
        if done.iter().any(|m| m == module) {
            return None;
        }
        path.push(module.to_owned());
        for next in imports.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, imports, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.push(module.to_owned());
        None
    }
    let mut done = Vec::new();
    imports
        .keys()
        .find_map(|m| visit(m, imports, &mut Vec::new(), &mut done))
}

/// No module imports, directly or through others, a module that imports it: in every crate of
/// the workspace (what farm-studio calls a circle).
#[test]
fn no_crate_has_an_import_loop() {
    let root = workspace_root();
    let mut crates = vec![
        root.join("stack-gen/src"),
        root.join("stack-gen/ops/src"),
        root.join("tests/harness/src"),
    ];
    crates.extend(function_crates().iter().map(|c| c.join("src")));
    for src in crates {
        let imports = module_imports(&src);
        assert!(!imports.is_empty(), "{}: no sources", src.display());
        if let Some(found) = import_loop(&imports) {
            panic!("{}: {}", src.display(), found.join(" -> "));
        }
    }
}

/// The rule's own check: a loop is found where there is one.
#[test]
fn an_import_loop_is_found() {
    let imports = BTreeMap::from([
        ("a".to_owned(), vec!["b".to_owned()]),
        ("b".to_owned(), vec!["c".to_owned()]),
        ("c".to_owned(), vec!["a".to_owned()]),
        ("d".to_owned(), vec!["a".to_owned()]),
    ]);
    assert_eq!(import_loop(&imports).unwrap(), ["a", "b", "c", "a"]);
    let imports = BTreeMap::from([
        ("a".to_owned(), vec!["b".to_owned()]),
        ("b".to_owned(), vec![]),
    ]);
    assert_eq!(import_loop(&imports), None);
}

/// The lines of the `.rs` files under `src` of every crate in `crates` (comments left out)
/// that contain one of `patterns`, as `path:line: text`, but in the files `allowed`.
fn code_lines_with(
    crates: &[std::path::PathBuf],
    patterns: &[&str],
    allowed: &[std::path::PathBuf],
) -> Vec<String> {
    let mut found = Vec::new();
    for krate in crates {
        for file in rust_files(&krate.join("src")) {
            if allowed.contains(&file) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if !code.starts_with("//") && patterns.iter().any(|p| code.contains(p)) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, code));
                }
            }
        }
    }
    found
}

/// The crates under `functions/`.
fn function_crates() -> Vec<std::path::PathBuf> {
    std::fs::read_dir(workspace_root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect()
}

/// STYLE.md's one time type: an SDK timestamp becomes an `OffsetDateTime` in one place,
/// `aws_clients::time::instant`. No function's sources read one as Unix seconds or
/// milliseconds (`.secs()`, `.to_millis()`), which is how times became `i64` counts before.
#[test]
fn sdk_timestamps_become_instants_in_one_place() {
    let the_one_place = workspace_root().join("functions/aws-clients/src/time.rs");
    let found = code_lines_with(
        &function_crates(),
        &[".secs()", ".to_millis()"],
        &[the_one_place],
    );
    assert!(
        found.is_empty(),
        "read SDK timestamps with aws_clients::time::instant:\n{}",
        found.join("\n")
    );
}

/// STYLE.md's typed errors: the functions' crates and stack-gen's library return their own
/// error types; `anyhow` is for the command-line tools (stack-gen's `main.rs`, `stack-ops`).
#[test]
fn libraries_return_typed_errors() {
    let mut crates = function_crates();
    crates.push(workspace_root().join("stack-gen"));
    let tool = workspace_root().join("stack-gen/src/main.rs");
    let found = code_lines_with(&crates, &["anyhow"], &[tool]);
    assert!(
        found.is_empty(),
        "a library returns a thiserror type (STYLE.md, Errors):\n{}",
        found.join("\n")
    );
}

/// STYLE.md: a logical ID another module names is a `pub const` of its owner. In stack-gen's
/// sources (code before its tests, comments left out), a value some module declares as a `&str` constant is not
/// referenced by its literal elsewhere: no `ref_("Id")`, `get_att("Id", ..)`, `json!("Id")`
/// (a `DependsOn` entry) or `"Id".to_owned()` outside the file that owns the constant.
#[test]
fn a_logical_id_is_referenced_through_its_owners_constant() {
    let code: Vec<(std::path::PathBuf, String)> =
        rust_files(&workspace_root().join("stack-gen/src"))
            .into_iter()
            .map(|file| {
                let code = code_before_tests(&file);
                (file, code)
            })
            .collect();
    let mut owners: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    for (file, text) in &code {
        for line in text.lines() {
            let Some((_, rest)) = line.trim_start().split_once("const ") else {
                continue;
            };
            let Some((_, value)) = rest.split_once(": &str = \"") else {
                continue;
            };
            let Some(value) = value.strip_suffix("\";") else {
                continue;
            };
            if value.starts_with(|c: char| c.is_ascii_uppercase())
                && value.chars().all(|c| c.is_ascii_alphanumeric())
            {
                owners.insert(value.to_owned(), file.clone());
            }
        }
    }
    let mut found = Vec::new();
    for (id, owner) in &owners {
        let references = [
            format!("ref_(\"{id}\")"),
            format!("get_att(\"{id}\""),
            format!("json!(\"{id}\")"),
            format!("\"{id}\".to_owned()"),
        ];
        for (file, text) in &code {
            if file == owner {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                if references.iter().any(|r| line.contains(r.as_str())) {
                    found.push(format!(
                        "{}:{}: {} (owned by {})",
                        file.display(),
                        n + 1,
                        line.trim(),
                        owner.display()
                    ));
                }
            }
        }
    }
    assert!(
        owners.len() > 40,
        "the constants were not found: {owners:?}"
    );
    assert!(
        found.is_empty(),
        "reference these through their owner's constant:\n{}",
        found.join("\n")
    );
}
