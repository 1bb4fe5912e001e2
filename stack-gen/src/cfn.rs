//! CloudFormation intrinsic functions and small resource builders, as `serde_json::Value`s.
//!
//! The template is built as ordered JSON (serde_json's `preserve_order`), never by string
//! templating; these helpers keep the component modules close to the JSON they produce.

use serde_json::{Value, json};

/// `{"Ref": id}`
pub fn ref_(id: &str) -> Value {
    json!({ "Ref": id })
}

/// `{"Fn::GetAtt": [id, attribute]}`
pub fn get_att(id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [id, attribute] })
}

/// `{"Fn::Sub": text}`: `${Name}` refers to a parameter, resource or pseudo parameter.
pub fn sub(text: &str) -> Value {
    json!({ "Fn::Sub": text })
}

/// `{"Fn::Sub": [text, variables]}`
pub fn sub_with(text: &str, variables: Value) -> Value {
    json!({ "Fn::Sub": [text, variables] })
}

/// `{"Fn::Join": [separator, parts]}`
pub fn join(separator: &str, parts: Vec<Value>) -> Value {
    json!({ "Fn::Join": [separator, parts] })
}

/// `{"Fn::Select": [index, list]}`
pub fn select(index: usize, list: Value) -> Value {
    json!({ "Fn::Select": [index.to_string(), list] })
}

/// The `index`th availability zone of the stack's region.
pub fn az(index: usize) -> Value {
    select(index, json!({ "Fn::GetAZs": "" }))
}

/// `{"Fn::FindInMap": [map, key, attribute]}`
pub fn find_in_map(map: &str, key: Value, attribute: &str) -> Value {
    json!({ "Fn::FindInMap": [map, key, attribute] })
}

/// `{"Fn::If": [condition, then, else]}`
pub fn if_(condition: &str, then: Value, otherwise: Value) -> Value {
    json!({ "Fn::If": [condition, then, otherwise] })
}

/// `{"Ref": "AWS::NoValue"}`: removes the property it stands for.
pub fn no_value() -> Value {
    ref_("AWS::NoValue")
}

/// `{"Key": key, "Value": value}`
pub fn tag(key: &str, value: Value) -> Value {
    json!({ "Key": key, "Value": value })
}

/// A `Name` tag: `<stack name>-<suffix>`, so resources are recognisable in the console.
pub fn name_tag(suffix: &str) -> Value {
    tag("Name", sub(&format!("${{AWS::StackName}}-{suffix}")))
}

/// `{"Type": type, "Properties": properties}`
pub fn resource(type_: &str, properties: Value) -> Value {
    json!({ "Type": type_, "Properties": properties })
}

/// An IAM policy document (version 2012-10-17) with these statements.
pub fn policy_document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// An `Allow` statement.
pub fn allow(actions: &[&str], resources: Value) -> Value {
    json!({ "Effect": "Allow", "Action": actions, "Resource": resources })
}

/// The trust policy that lets `service` (e.g. `lambda.amazonaws.com`) assume a role.
pub fn assume_role_policy(service: &str) -> Value {
    policy_document(vec![trust(service)])
}

/// As [`assume_role_policy`], for `service` acting on this account's behalf only
/// (`aws:SourceAccount`, AWS's guard against a confused deputy for service roles).
pub fn assume_role_policy_for_this_account(service: &str) -> Value {
    let mut statement = trust(service);
    statement["Condition"] =
        json!({ "StringEquals": { "aws:SourceAccount": ref_("AWS::AccountId") } });
    policy_document(vec![statement])
}

/// The statement letting `service` assume a role.
fn trust(service: &str) -> Value {
    json!({
        "Effect": "Allow",
        "Principal": { "Service": [service] },
        "Action": ["sts:AssumeRole"]
    })
}

/// A security group in the stack's VPC. Egress stays AWS's default (all out): the instances
/// fetch packages and reach AWS APIs through NAT.
pub fn security_group(description: &str, name: &str) -> Value {
    resource(
        "AWS::EC2::SecurityGroup",
        json!({ "GroupDescription": description, "VpcId": ref_("VPC"), "Tags": [name_tag(name)] }),
    )
}

/// A TCP ingress rule on `group` from members of `source_group`, with its reason.
pub fn ingress_from_group(group: &str, port: u16, source_group: &str, description: &str) -> Value {
    resource(
        "AWS::EC2::SecurityGroupIngress",
        json!({
            "GroupId": ref_(group),
            "IpProtocol": "tcp",
            "FromPort": port,
            "ToPort": port,
            "SourceSecurityGroupId": ref_(source_group),
            "Description": description
        }),
    )
}
