//! The template being built: ordered sections, each entry added once.

use serde_json::{Map, Value, json};

/// A CloudFormation template under construction. Entries keep the order they were added in,
/// which is the original's component build order.
#[derive(Debug, Default)]
pub struct Template {
    pub description: String,
    metadata: Map<String, Value>,
    parameters: Map<String, Value>,
    mappings: Map<String, Value>,
    conditions: Map<String, Value>,
    resources: Map<String, Value>,
    outputs: Map<String, Value>,
}

macro_rules! adder {
    ($name:ident, $field:ident, $what:literal) => {
        #[doc = concat!("Adds a ", $what, ". Adding the same logical ID twice is a bug in a component.")]
        pub fn $name(&mut self, id: &str, value: Value) {
            let previous = self.$field.insert(id.to_owned(), value);
            assert!(previous.is_none(), concat!($what, " {} added twice"), id);
        }
    };
}

impl Template {
    pub fn new(description: String) -> Template {
        Template {
            description,
            ..Template::default()
        }
    }

    adder!(add_metadata, metadata, "metadata key");
    adder!(add_parameter, parameters, "parameter");
    adder!(add_mapping, mappings, "mapping");
    adder!(add_condition, conditions, "condition");
    adder!(add_resource, resources, "resource");
    adder!(add_output, outputs, "output");

    /// Every resource, mutable (a final pass over the whole template, e.g. drill mode's
    /// deletion policies).
    pub fn resources_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.resources
    }

    pub fn resources(&self) -> &Map<String, Value> {
        &self.resources
    }

    pub fn parameters(&self) -> &Map<String, Value> {
        &self.parameters
    }

    pub fn outputs(&self) -> &Map<String, Value> {
        &self.outputs
    }

    /// Mutable access to a resource already added, for a later component that extends it
    /// (e.g. an ingress rule's source that only exists with the bastion).
    pub fn resource_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.resources.get_mut(id)
    }

    /// A `"true"`/`"false"` parameter (default `"true"`) and `condition`, which holds when it is
    /// `"true"`: the shape of every on/off choice the administrator makes.
    pub fn add_switch(&mut self, parameter: &str, condition: &str, description: &str) {
        self.add_parameter(
            parameter,
            serde_json::json!({
                "Type": "String",
                "Default": "true",
                "AllowedValues": ["true", "false"],
                "Description": description
            }),
        );
        self.add_condition(
            condition,
            serde_json::json!({ "Fn::Equals": [{ "Ref": parameter }, "true"] }),
        );
    }

    /// The whole template as JSON; empty sections are left out.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        root.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        root.insert("Description".into(), json!(self.description));
        for (name, section) in [
            ("Metadata", &self.metadata),
            ("Parameters", &self.parameters),
            ("Mappings", &self.mappings),
            ("Conditions", &self.conditions),
            ("Resources", &self.resources),
            ("Outputs", &self.outputs),
        ] {
            if !section.is_empty() {
                root.insert(name.into(), Value::Object(section.clone()));
            }
        }
        Value::Object(root)
    }

    /// Pretty-printed JSON (2-space indent) with a final newline: the bytes stack-gen writes.
    pub fn render(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.to_json()).expect("JSON values serialise");
        text.push('\n');
        text
    }
}
