//! `template/` holds what stack-gen prints now for every reference combination and the drill
//! stacks (`drill*.json`, what `stack-ops package` uploads), and
//! docs/graph.md the default stack's graph and docs/scanner.md the scanner's accepted findings.
//! After changing the generator: `UPDATE_TEMPLATES=1 cargo test -p stack-gen --test template_sync`.

use std::path::PathBuf;

use stack_gen::{drill_combinations, generate, reference_combinations};

const GRAPH_BEGIN: &str = "<!-- graph:begin -->";
const GRAPH_END: &str = "<!-- graph:end -->";
const SUPPRESSIONS_BEGIN: &str = "<!-- suppressions:begin -->";
const SUPPRESSIONS_END: &str = "<!-- suppressions:end -->";

/// `text` with what lies between `begin` and `end` replaced by `content`.
fn replace_between(text: &str, begin: &str, end: &str, content: &str) -> String {
    let (head, rest) = text
        .split_once(begin)
        .unwrap_or_else(|| panic!("the note has the marker {begin}"));
    let (_, tail) = rest
        .split_once(end)
        .unwrap_or_else(|| panic!("the note has the marker {end}"));
    format!("{head}{begin}\n{content}{end}{tail}")
}

#[test]
fn checked_in_templates_match_the_generator() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template");
    let update = std::env::var_os("UPDATE_TEMPLATES").is_some();
    let mut stale = Vec::new();
    for (name, options) in reference_combinations()
        .into_iter()
        .chain(drill_combinations())
    {
        let path = dir.join(format!("{name}.json"));
        let now = generate(&options).unwrap().render();
        if update {
            stack_gen::output::write_atomically(&path, &now).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(now.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    let graph = stack_gen::graph::mermaid(&generate(&Default::default()).unwrap());
    let notes = [
        (
            "graph.md",
            GRAPH_BEGIN,
            GRAPH_END,
            format!("```mermaid\n{graph}```\n"),
        ),
        (
            "scanner.md",
            SUPPRESSIONS_BEGIN,
            SUPPRESSIONS_END,
            stack_gen::scanner::markdown(),
        ),
    ];
    for (file, begin, end, content) in notes {
        let path = dir.join("../docs").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let now = replace_between(&text, begin, end, &content);
        if update {
            stack_gen::output::write_atomically(&path, &now).unwrap();
        } else if text != now {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale templates (regenerate with UPDATE_TEMPLATES=1 cargo test -p stack-gen --test template_sync): {stale:?}"
    );
}
