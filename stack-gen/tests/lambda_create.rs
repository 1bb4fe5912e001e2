//! What Lambda checks against a function's execution role when CloudFormation creates the
//! function or its invoke configuration, where the emulator checks nothing:
//! - an `AWS::Lambda::EventInvokeConfig`'s destinations and a `DeadLetterConfig` target: the
//!   role must be allowed to send there (Lambda developer guide, "Adding a destination": the
//!   execution role needs `sns:Publish`, `sqs:SendMessage`, `lambda:InvokeFunction` or
//!   `events:PutEvents` on the destination; the create fails otherwise, and CloudFormation
//!   rolls the stack back);
//! - a function in a VPC: the role must hold the network-interface actions the way
//!   `AWSLambdaVPCAccessExecutionRole` grants them, on `"*"` and without conditions (Lambda
//!   validates them at create with no subnet, VPC or interface in the request context, so a
//!   statement scoped by `ec2:Vpc` or to subnet ARNs is denied there).

mod common;

use common::{as_list, checked_templates, resources_of, statements};
use serde_json::{Value, json};

/// The network-interface actions of `AWSLambdaVPCAccessExecutionRole` (v3), which the Lambda
/// developer guide ("Giving Lambda functions access to a VPC") lists as the execution role's.
const VPC_ACTIONS: [&str; 5] = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

/// The Allow statements of `role`'s inline policies (both branches of a conditional one).
fn allows<'a>(template: &'a Value, role: &str) -> Vec<&'a Value> {
    template["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .unwrap_or_else(|| panic!("{role} has inline policies"))
        .iter()
        .flat_map(|p| statements(&p["PolicyDocument"]))
        .filter(|s| s["Effect"] == "Allow")
        .collect()
}

/// Whether one of `statements` allows `action` on `resource` (compared as the template writes
/// it, a `Ref` or a literal) without a Condition, which a create-time check cannot meet.
fn allowed(statements: &[&Value], action: &str, resource: &Value) -> bool {
    statements.iter().any(|s| {
        s.get("Condition").is_none()
            && as_list(&s["Action"]).iter().any(|a| *a == action)
            && as_list(&s["Resource"])
                .iter()
                .any(|r| *r == resource || *r == "*")
    })
}

/// The action a destination of this kind (a logical ID's resource type) needs.
fn destination_action(template: &Value, destination: &Value) -> &'static str {
    let id = destination["Ref"]
        .as_str()
        .or_else(|| destination["Fn::GetAtt"][0].as_str())
        .unwrap_or_else(|| panic!("destination {destination} names a resource of the stack"));
    match template["Resources"][id]["Type"].as_str() {
        Some("AWS::SNS::Topic") => "sns:Publish",
        Some("AWS::SQS::Queue") => "sqs:SendMessage",
        Some("AWS::Lambda::Function") => "lambda:InvokeFunction",
        Some("AWS::Events::EventBus") => "events:PutEvents",
        other => panic!("{id}: unknown destination type {other:?}"),
    }
}

/// The function `Ref`erenced as `function` and its execution role.
fn role_of<'a>(template: &'a Value, function: &'a Value) -> (&'a str, &'a str) {
    let id = function["Ref"].as_str().expect("FunctionName is a Ref");
    let role = template["Resources"][id]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{id}'s Role is a GetAtt of the stack's role"));
    (id, role)
}

#[test]
fn every_destination_and_dead_letter_target_is_allowed_to_the_role() {
    let mut checked = 0;
    for (name, _, t) in checked_templates() {
        for (id, config) in resources_of(&t, "AWS::Lambda::EventInvokeConfig") {
            let p = &config["Properties"];
            let (function, role) = role_of(&t, &p["FunctionName"]);
            for on in ["OnFailure", "OnSuccess"] {
                let destination = &p["DestinationConfig"][on]["Destination"];
                if destination.is_null() {
                    continue;
                }
                let action = destination_action(&t, destination);
                assert!(
                    allowed(&allows(&t, role), action, destination),
                    "{name}: {id} sends {function}'s {on} to {destination}, but {role} may not {action} there: Lambda refuses the configuration at create"
                );
                checked += 1;
            }
        }
        for (id, function) in resources_of(&t, "AWS::Lambda::Function") {
            let target = &function["Properties"]["DeadLetterConfig"]["TargetArn"];
            if target.is_null() {
                continue;
            }
            let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap();
            let action = destination_action(&t, target);
            assert!(
                allowed(&allows(&t, role), action, target),
                "{name}: {id}'s dead-letter target {target} is not allowed to {role}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no destination was checked");
}

#[test]
fn functions_in_a_vpc_hold_the_network_interface_actions_as_lambda_checks_them() {
    let mut checked = 0;
    for (name, _, t) in checked_templates() {
        for (id, function) in resources_of(&t, "AWS::Lambda::Function") {
            if function["Properties"]["VpcConfig"].is_null() {
                continue;
            }
            let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap();
            let statements = allows(&t, role);
            for action in VPC_ACTIONS {
                assert!(
                    allowed(&statements, action, &json!("*")),
                    "{name}: {id} is in a VPC but {role} does not allow {action} on \"*\" without conditions (AWSLambdaVPCAccessExecutionRole's form)"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no function in a VPC was checked");
}

/// The checker's own rule, tried on statements that Lambda refuses.
#[test]
fn the_check_refuses_what_lambda_refuses() {
    let topic = json!({ "Ref": "OperatorAlerts" });
    let scoped = json!({
        "Effect": "Allow", "Action": ["ec2:DeleteNetworkInterface"], "Resource": ["*"],
        "Condition": { "ArnEquals": { "ec2:Vpc": "arn:aws:ec2:us-east-1:1:vpc/vpc-1" } }
    });
    assert!(!allowed(
        &[&scoped],
        "ec2:DeleteNetworkInterface",
        &json!("*")
    ));
    let other_topic =
        json!({ "Effect": "Allow", "Action": "sns:Publish", "Resource": { "Ref": "Other" } });
    assert!(!allowed(&[&other_topic], "sns:Publish", &topic));
    let right =
        json!({ "Effect": "Allow", "Action": ["sns:Publish"], "Resource": [topic.clone()] });
    assert!(allowed(&[&right], "sns:Publish", &topic));
}
