//! The shape every Rust Lambda of the stack shares: `provided.al2023` on arm64, code from S3
//! (see [`crate::options::CodeLocation`]), a log group (retention parameter, KMS) that only this
//! function may write to, JSON logs, and a role whose policies name their resources.

use serde_json::{Value, json};

use crate::cfn::{
    allow, assume_role_policy, find_in_map, get_att, if_, no_value, policy_document, ref_, resource,
};
use crate::template::Template;

/// A Rust Lambda of this project, as the template deploys it.
pub struct RustFunction<'a> {
    /// Logical ID of the `AWS::Lambda::Function`; its log group is `<id>LogGroup`.
    pub id: &'a str,
    /// Key in the `FunctionCode` mapping (see `options::FUNCTIONS`).
    pub code: &'a str,
    /// Logical ID of the role the function runs as (made with [`add_role`]).
    pub role: &'a str,
    pub description: &'a str,
    /// Environment variables, `{ "NAME": value, ... }`.
    pub environment: Value,
    pub timeout_seconds: u32,
    pub memory_mb: u32,
    /// Reserved concurrency when the `ReserveLambdaConcurrency` parameter is "true".
    pub reserved_concurrency: u32,
}

/// Adds the function and its log group.
pub fn add_function(t: &mut Template, f: RustFunction) {
    let log_group = format!("{}LogGroup", f.id);
    t.add_resource(&log_group, crate::stack::log_group(None));
    let mut properties = json!({
        "Description": f.description,
        "Runtime": "provided.al2023",
        "Architectures": ["arm64"],
        "Handler": "bootstrap",
        "Code": {
            "S3Bucket": ref_("LambdaCodeBucket"),
            "S3Key": find_in_map("FunctionCode", json!(f.code), "S3Key")
        },
        "Role": get_att(f.role, "Arn"),
        "Timeout": f.timeout_seconds,
        "MemorySize": f.memory_mb,
        "ReservedConcurrentExecutions": if_("ReserveConcurrency", json!(f.reserved_concurrency), no_value()),
        "LoggingConfig": { "LogFormat": "JSON", "LogGroup": ref_(&log_group) },
    });
    if f.environment
        .as_object()
        .is_some_and(|vars| !vars.is_empty())
    {
        properties["Environment"] = json!({ "Variables": f.environment });
    }
    t.add_resource(f.id, resource("AWS::Lambda::Function", properties));
}

/// Adds a Lambda execution role allowed to write to `function`'s log group plus `statements`.
pub fn add_role(t: &mut Template, role: &str, function: &str, mut statements: Vec<Value>) {
    statements.insert(
        0,
        allow(
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            json!([get_att(&format!("{function}LogGroup"), "Arn")]),
        ),
    );
    t.add_resource(
        role,
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": assume_role_policy("lambda.amazonaws.com"),
                "Policies": [{ "PolicyName": format!("{role}Policy"), "PolicyDocument": policy_document(statements) }]
            }),
        ),
    );
}

/// The parameters, condition and mapping shared by all functions (added once, by foundation).
pub fn add_code_location(t: &mut Template, code: &crate::options::CodeLocation) {
    let mut bucket = json!({
        "Type": "String",
        "Description": "S3 bucket holding the Lambda zips (`stack-ops package` uploads them and sets this default). Must be in the stack's region.",
        "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "ConstraintDescription": "an S3 bucket name"
    });
    if let Some(name) = &code.bucket {
        bucket["Default"] = json!(name);
    }
    t.add_parameter("LambdaCodeBucket", bucket);
    t.add_switch(
        "ReserveLambdaConcurrency",
        "ReserveConcurrency",
        "Reserve concurrency for the stack's Lambdas, so a runaway elsewhere cannot starve backups. Set false on accounts whose concurrency quota is too small to reserve any (new accounts).",
    );
    let mut mapping = serde_json::Map::new();
    for (name, _) in crate::options::FUNCTIONS {
        mapping.insert(name.to_owned(), json!({ "S3Key": code.key(name) }));
    }
    t.add_mapping("FunctionCode", serde_json::Value::Object(mapping));
}

/// How a function runs on a schedule: the EventBridge rule, the permission that lets the rule
/// invoke it, and the asynchronous-invoke policy (retries; failures to the operators' topic).
pub struct Schedule<'a> {
    pub rule: &'a str,
    pub permission: &'a str,
    pub invoke_config: &'a str,
    pub function: &'a str,
    pub description: &'a str,
    pub expression: Value,
    /// Id of the rule's target.
    pub target: &'a str,
    pub max_retries: u32,
}

/// Adds the rule, the permission and the invoke config of `s`.
pub fn add_schedule(t: &mut Template, s: Schedule) {
    t.add_resource(
        s.rule,
        resource(
            "AWS::Events::Rule",
            json!({
                "Description": s.description,
                "ScheduleExpression": s.expression,
                "State": "ENABLED",
                "Targets": [{ "Arn": get_att(s.function, "Arn"), "Id": s.target }]
            }),
        ),
    );
    t.add_resource(
        s.permission,
        resource(
            "AWS::Lambda::Permission",
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": ref_(s.function),
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att(s.rule, "Arn")
            }),
        ),
    );
    t.add_resource(
        s.invoke_config,
        resource(
            "AWS::Lambda::EventInvokeConfig",
            json!({
                "FunctionName": ref_(s.function),
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": s.max_retries,
                "MaximumEventAgeInSeconds": 3600,
                "DestinationConfig": { "OnFailure": { "Destination": ref_(crate::stack::ALERT_TOPIC) } }
            }),
        ),
    );
}
