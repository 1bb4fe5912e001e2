//! The stack as a Mermaid flowchart: one node per resource, an edge for every Ref, GetAtt,
//! Sub reference and DependsOn from a resource to another resource.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::template::Template;

/// Renders `template`'s resources and their references as a Mermaid `flowchart`.
pub fn mermaid(template: &Template) -> String {
    let resources = template.resources();
    let mut out = String::from("flowchart LR\n");
    for (id, resource) in resources {
        let type_ = resource["Type"].as_str().unwrap_or("?");
        let short = type_.trim_start_matches("AWS::");
        out.push_str(&format!("  {id}[\"{id}<br/><small>{short}</small>\"]\n"));
    }
    for (id, resource) in resources {
        let mut targets = BTreeSet::new();
        references(resource, &mut targets);
        for target in targets
            .iter()
            .filter(|t| *t != id && resources.contains_key(*t))
        {
            out.push_str(&format!("  {id} --> {target}\n"));
        }
    }
    out
}

/// Collects the logical IDs `value` refers to (Ref, Fn::GetAtt, ${…} in Fn::Sub, DependsOn).
pub fn references(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("Ref", Value::String(id)) => {
                        into.insert(id.clone());
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        if let Some(Value::String(id)) = parts.first() {
                            into.insert(id.clone());
                        }
                    }
                    ("Fn::Sub", _) => {
                        let text = match inner {
                            Value::String(text) => Some(text.as_str()),
                            Value::Array(parts) => parts.first().and_then(Value::as_str),
                            _ => None,
                        };
                        if let Some(text) = text {
                            sub_references(text, into);
                        }
                        references(inner, into);
                    }
                    ("DependsOn", Value::String(id)) => {
                        into.insert(id.clone());
                    }
                    ("DependsOn", Value::Array(ids)) => {
                        into.extend(ids.iter().filter_map(Value::as_str).map(str::to_owned));
                    }
                    _ => references(inner, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, into)),
        _ => {}
    }
}

/// The names in `${Name}` / `${Name.Attribute}` of a Fn::Sub string (`${!literal}` skipped).
fn sub_references(text: &str, into: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') && !name.starts_with("AWS::") {
            into.insert(name.split('.').next().unwrap_or(name).to_owned());
        }
        rest = &rest[end + 1..];
    }
}
