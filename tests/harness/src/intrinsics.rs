//! A generated template's custom-resource properties as CloudFormation would send them: `Ref`
//! and `Fn::GetAtt` replaced by values the test chooses, and the attributes a template reads of
//! a resource. Used by the functions' template-contract tests and the recovery drill.

use std::collections::BTreeSet;

use serde_json::Value;

/// `{"Ref": x}` (looked up as `x`), `{"Fn::GetAtt": [a, b]}` (as `a.b`) and the `${...}` of a
/// `{"Fn::Sub": "text"}` replaced by what `lookup` gives. A name `lookup` does not know, or any other intrinsic, is a wiring error:
/// it panics naming it.
pub fn resolve(value: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            let name = map["Ref"].as_str().expect("Ref names a string");
            lookup(name).unwrap_or_else(|| {
                panic!("the template refers to {name}, which the test does not provide")
            })
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::GetAtt") => {
            let name = get_att_name(&map["Fn::GetAtt"]);
            lookup(&name).unwrap_or_else(|| {
                panic!("the template reads {name}, which the test does not provide")
            })
        }
        // `{"Fn::Sub": "text"}`: each `${name}` (a Ref or `a.b` GetAtt) replaced by its text.
        Value::Object(map) if map.len() == 1 && map["Fn::Sub"].is_string() => {
            let mut rest = map["Fn::Sub"].as_str().unwrap_or_default();
            let mut out = String::new();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let end = rest[start..]
                    .find('}')
                    .unwrap_or_else(|| panic!("unclosed ${{ in {value}"))
                    + start;
                let name = &rest[start + 2..end];
                let found = lookup(name).unwrap_or_else(|| {
                    panic!("the template substitutes {name}, which the test does not provide")
                });
                out.push_str(
                    found
                        .as_str()
                        .unwrap_or_else(|| panic!("{name} is not text")),
                );
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Object(map) if map.keys().any(|k| k.starts_with("Fn::")) => {
            panic!("unexpected intrinsic in a custom resource's properties: {value}")
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, lookup)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, lookup)).collect()),
        other => other.clone(),
    }
}

/// `a.b` of `Fn::GetAtt`'s argument (`[a, b]` or `"a.b"`).
fn get_att_name(argument: &Value) -> String {
    match argument {
        Value::Array(parts) => parts
            .iter()
            .map(|p| p.as_str().expect("GetAtt parts are strings"))
            .collect::<Vec<_>>()
            .join("."),
        Value::String(name) => name.clone(),
        other => panic!("Fn::GetAtt of {other}"),
    }
}

/// Every attribute of `logical_id` the template reads: `Fn::GetAtt` anywhere, and
/// `${logical_id.Attribute}` in `Fn::Sub` strings.
pub fn attributes_read(template: &Value, logical_id: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect_attributes(template, logical_id, &mut found);
    found
}

fn collect_attributes(value: &Value, logical_id: &str, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(argument) = map.get("Fn::GetAtt") {
                let name = get_att_name(argument);
                if let Some(attribute) = name.strip_prefix(&format!("{logical_id}.")) {
                    found.insert(attribute.to_owned());
                }
            }
            for v in map.values() {
                collect_attributes(v, logical_id, found);
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_attributes(v, logical_id, found);
            }
        }
        Value::String(text) => {
            let opening = format!("${{{logical_id}.");
            for piece in text.split(&opening).skip(1) {
                if let Some((attribute, _)) = piece.split_once('}') {
                    found.insert(attribute.to_owned());
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_and_get_atts_are_replaced() {
        let properties = json!({"A": {"Ref": "P"}, "B": [{"Fn::GetAtt": ["R", "X"]}], "C": "c"});
        let lookup = |name: &str| match name {
            "P" => Some(json!("p")),
            "R.X" => Some(json!(1)),
            _ => None,
        };
        assert_eq!(
            resolve(&properties, &lookup),
            json!({"A": "p", "B": [1], "C": "c"})
        );
    }

    #[test]
    #[should_panic(expected = "refers to Q")]
    fn an_unknown_ref_is_a_wiring_error() {
        resolve(&json!({"Ref": "Q"}), &|_| None);
    }

    #[test]
    fn attributes_read_anywhere() {
        let template = json!({"Resources": {
            "A": {"Properties": {"X": {"Fn::GetAtt": ["R", "One"]}, "Y": {"Fn::GetAtt": "R.Two"}}},
            "B": {"Properties": {"Z": {"Fn::Sub": "x=${R.Three} y=${Other.Four} ${R}"}}}
        }});
        let read: Vec<String> = attributes_read(&template, "R").into_iter().collect();
        assert_eq!(read, ["One", "Three", "Two"]);
    }
}
