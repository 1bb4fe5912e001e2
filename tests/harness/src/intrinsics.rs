//! A generated template's values as CloudFormation would hand them over: its intrinsic
//! functions resolved with values the test chooses. The one resolver of the tests: the
//! functions' template-contract tests and the drill (custom-resource properties), the IAM
//! tests (policy statements) and the instance-script sandbox (boot scripts) all use
//! [`Resolver`]; they differ only in what a name nobody gave becomes ([`Unknown`]). Also: the
//! attributes a template reads of a resource ([`attributes_read`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

/// What a name the test gives no value for becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// A wiring error: the resolver panics naming it (and an intrinsic it does not know).
    Panic,
    /// `<Name>`, which matches nothing (an IAM test judges the statements it can resolve).
    Placeholder,
}

/// Marks a `Ref` to `AWS::NoValue`, which drops out of the list or object holding it.
const NO_VALUE: &str = "<AWS::NoValue>";

/// Resolves `Ref`, `Fn::GetAtt` (looked up as `Name.Attribute`), `Fn::Sub` (both forms;
/// `${!x}` stays the literal `${x}`), `Fn::Join`, `Fn::Split`, `Fn::Select`, `Fn::Base64` (the
/// text itself), `Fn::FindInMap` and parameter defaults (with [`Resolver::with_template`]),
/// `Fn::If` (as [`Resolver::with_conditions`] decides; without it, the first branch: as if
/// every condition held, so optional parts are included) and `AWS::NoValue`.
pub struct Resolver<'a> {
    names: &'a dyn Fn(&str) -> Option<Value>,
    unknown: Unknown,
    template: Option<&'a Value>,
    sub_overrides: Option<&'a BTreeMap<String, String>>,
    conditions: Option<&'a dyn Fn(&str) -> bool>,
}

impl<'a> Resolver<'a> {
    pub fn new(names: &'a dyn Fn(&str) -> Option<Value>, unknown: Unknown) -> Resolver<'a> {
        Resolver {
            names,
            unknown,
            template: None,
            sub_overrides: None,
            conditions: None,
        }
    }

    /// Names the test does not give fall back on `template`'s parameter defaults, and
    /// `Fn::FindInMap` reads its mappings.
    pub fn with_template(mut self, template: &'a Value) -> Resolver<'a> {
        self.template = Some(template);
        self
    }

    /// An `Fn::Sub` variable of one of these names gets this value, whatever the template
    /// gives it (a local stand-in's address in place of an AWS endpoint, say).
    pub fn with_sub_overrides(mut self, overrides: &'a BTreeMap<String, String>) -> Resolver<'a> {
        self.sub_overrides = Some(overrides);
        self
    }

    /// `Fn::If` takes the branch `holds` gives for its condition's name.
    pub fn with_conditions(mut self, holds: &'a dyn Fn(&str) -> bool) -> Resolver<'a> {
        self.conditions = Some(holds);
        self
    }

    fn name(&self, name: &str, what: &str) -> Value {
        if let Some(value) = (self.names)(name) {
            return value;
        }
        if let Some(default) = self
            .template
            .map(|t| &t["Parameters"][name]["Default"])
            .filter(|d| !d.is_null())
        {
            return default.clone();
        }
        if name == "AWS::NoValue" {
            return json!(NO_VALUE);
        }
        match self.unknown {
            Unknown::Panic => {
                panic!("the template {what} {name}, which the test does not provide")
            }
            Unknown::Placeholder => json!(format!("<{name}>")),
        }
    }

    /// `value` resolved as text (panics if it is not text).
    pub fn string(&self, value: &Value) -> String {
        match self.resolve(value) {
            Value::String(text) => text,
            other => panic!("not text: {other} (from {value})"),
        }
    }

    pub fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 && map.keys().all(|k| is_intrinsic(k)) => {
                let (function, argument) = map.iter().next().expect("one entry");
                self.intrinsic(function, argument, value)
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .filter(|(_, v)| v != NO_VALUE)
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .filter(|v| v != NO_VALUE)
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn intrinsic(&self, function: &str, argument: &Value, whole: &Value) -> Value {
        match function {
            "Ref" => self.name(argument.as_str().expect("Ref names a string"), "refers to"),
            "Fn::GetAtt" => self.name(&get_att_name(argument), "reads"),
            "Fn::Sub" => {
                let (text, variables) = match argument {
                    Value::String(text) => (text.as_str(), BTreeMap::new()),
                    Value::Array(parts) => {
                        let variables = parts[1]
                            .as_object()
                            .expect("Fn::Sub's variables")
                            .iter()
                            .map(|(k, v)| {
                                let value = match self.sub_overrides.and_then(|o| o.get(k)) {
                                    Some(replaced) => replaced.clone(),
                                    None => text_of(k, self.resolve(v)),
                                };
                                (k.clone(), value)
                            })
                            .collect();
                        (parts[0].as_str().expect("Fn::Sub's text"), variables)
                    }
                    other => panic!("Fn::Sub of {other}"),
                };
                json!(substitute(text, |name| match variables.get(name) {
                    Some(value) => value.clone(),
                    None => text_of(name, self.name(name, "substitutes")),
                }))
            }
            "Fn::Join" => {
                let parts = self.resolve(&argument[1]);
                let parts: Vec<String> = parts
                    .as_array()
                    .expect("Fn::Join's list")
                    .iter()
                    .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                    .collect();
                json!(parts.join(argument[0].as_str().unwrap_or_default()))
            }
            "Fn::Split" => json!(
                self.string(&argument[1])
                    .split(argument[0].as_str().expect("Fn::Split's delimiter"))
                    .collect::<Vec<_>>()
            ),
            "Fn::Select" => {
                let index: usize = argument[0]
                    .as_str()
                    .and_then(|i| i.parse().ok())
                    .or_else(|| argument[0].as_u64().map(|i| i as usize))
                    .expect("Fn::Select's index");
                let list = self.resolve(&argument[1]);
                list.get(index)
                    .cloned()
                    .unwrap_or_else(|| panic!("Fn::Select {index} of {list}"))
            }
            "Fn::Base64" => self.resolve(argument),
            "Fn::If" => {
                let condition = argument[0].as_str().expect("Fn::If's condition");
                let holds = self.conditions.is_none_or(|holds| holds(condition));
                self.resolve(&argument[if holds { 1 } else { 2 }])
            }
            "Fn::FindInMap" => {
                let Some(template) = self.template else {
                    return self.unresolved(function, whole, "without a template");
                };
                let keys: Vec<String> = argument
                    .as_array()
                    .expect("FindInMap's keys")
                    .iter()
                    .map(|k| self.string(k))
                    .collect();
                match &template["Mappings"][&keys[0]][&keys[1]][&keys[2]] {
                    Value::Null => self.unresolved(function, whole, "not in the template"),
                    found => found.clone(),
                }
            }
            _ => self.unresolved(function, whole, "not one the tests resolve"),
        }
    }

    /// An intrinsic this resolver cannot resolve: a wiring error, or `<Fn::Name>`.
    fn unresolved(&self, function: &str, whole: &Value, why: &str) -> Value {
        match self.unknown {
            Unknown::Panic => panic!("an intrinsic the tests cannot resolve ({why}): {whole}"),
            Unknown::Placeholder => json!(format!("<{function}>")),
        }
    }
}

/// A value as `Fn::Sub` writes it: text, or a number's digits.
fn text_of(name: &str, value: Value) -> String {
    match value {
        Value::String(text) => text,
        Value::Number(n) => n.to_string(),
        other => panic!("{name} is not text: {other}"),
    }
}

fn is_intrinsic(key: &str) -> bool {
    key == "Ref" || key.starts_with("Fn::")
}

/// `value` with `Ref`, `Fn::GetAtt` and `Fn::Sub` (and the other intrinsics of [`Resolver`])
/// replaced by what `lookup` gives. A name `lookup` does not know, or an intrinsic the
/// resolver does not, is a wiring error: it panics naming it.
pub fn resolve(value: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    Resolver::new(lookup, Unknown::Panic).resolve(value)
}

/// `text` with every `${name}` replaced by `value(name)` (`${!x}` stays the literal `${x}`).
pub fn substitute(text: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let len = rest[start..]
            .find('}')
            .unwrap_or_else(|| panic!("unclosed ${{ in {text:?}"));
        let name = &rest[start + 2..start + len];
        match name.strip_prefix('!') {
            Some(literal) => out.push_str(&format!("${{{literal}}}")),
            None => out.push_str(&value(name)),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
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
    fn every_intrinsic_the_templates_use() {
        let template = json!({
            "Parameters": {"Tier": {"Default": "small"}},
            "Mappings": {"Sizes": {"small": {"Gb": "20"}}}
        });
        let names = |name: &str| (name == "Stack").then(|| json!("openemr"));
        let strict = Resolver::new(&names, Unknown::Panic).with_template(&template);
        let value = json!({
            "Sub": {"Fn::Sub": "${Stack}-${Tier} ${!Literal}"},
            "SubVars": {"Fn::Sub": ["${A}/${Stack}", {"A": {"Fn::FindInMap": ["Sizes", {"Ref": "Tier"}, "Gb"]}}]},
            "Join": {"Fn::Join": [":", ["a", {"Ref": "Stack"}]]},
            "Select": {"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]},
            "Base64": {"Fn::Base64": "text"},
            "If": {"Fn::If": ["Cond", "yes", "no"]},
            "List": ["kept", {"Ref": "AWS::NoValue"}],
            "Gone": {"Ref": "AWS::NoValue"}
        });
        assert_eq!(
            strict.resolve(&value),
            json!({
                "Sub": "openemr-small ${Literal}", "SubVars": "20/openemr", "Join": "a:openemr",
                "Select": "y", "Base64": "text", "If": "yes", "List": ["kept"]
            })
        );
        let overrides = BTreeMap::from([("A".to_owned(), "local".to_owned())]);
        let overridden = Resolver::new(&names, Unknown::Panic)
            .with_template(&template)
            .with_sub_overrides(&overrides);
        assert_eq!(overridden.string(&value["SubVars"]), "local/openemr");
        let never = |_: &str| false;
        let decided = Resolver::new(&names, Unknown::Panic).with_conditions(&never);
        assert_eq!(decided.resolve(&value["If"]), json!("no"));
        let lenient = Resolver::new(&names, Unknown::Placeholder);
        assert_eq!(
            lenient.resolve(&json!({"Fn::Sub": "${Nobody}"})),
            json!("<Nobody>")
        );
        assert_eq!(
            lenient.resolve(&json!({"Fn::GetAZs": ""})),
            json!("<Fn::GetAZs>")
        );
    }

    #[test]
    #[should_panic(expected = "an intrinsic the tests cannot resolve")]
    fn an_unknown_intrinsic_is_a_wiring_error() {
        resolve(&json!({"Fn::GetAZs": ""}), &|_| None);
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
