//! Logs: how long the stack's CloudWatch log groups keep what they hold (one parameter,
//! HIPAA-minded default of a year, up to ten) and the key they are encrypted with. Every log
//! group the template makes is [`log_group`]; the groups AWS services make themselves (RDS's
//! exports, Elastic Beanstalk's streamed logs) get both from `ServiceLogGroups`
//! ([`add_service_log_groups`], the log-group-keeper function).

use serde_json::{Value, json};

use stack_contract::log_group_keeper::properties;

use crate::cfn::{allow, get_att, ref_, resource, sub};
use crate::options::Options;
use crate::stack::{LOG_KEY, RETENTION_PARAMETER, stack_key};
use crate::template::Template;

/// The retention a new stack gets: a year.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;
/// The values from three months to ten years that both CloudWatch Logs and Elastic
/// Beanstalk's log streaming accept (the application servers' logs take the same retention;
/// Elastic Beanstalk rejects 1096, 2192, 2557, 2922 and 3288).
const RETENTION_CHOICES: [u32; 10] = [90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653];

pub fn add(t: &mut Template, o: &Options) {
    t.add_parameter(
        RETENTION_PARAMETER,
        json!({
            "Type": "Number",
            "Default": DEFAULT_RETENTION_DAYS,
            "AllowedValues": RETENTION_CHOICES,
            "Description": "Days the stack's logs are kept (functions, CloudTrail, firewall, application servers): 365 by default; up to 3653 (ten years) where your retention policy asks for it."
        }),
    );
    // A key of its own in every stack: a recovery stack runs on the original's data key,
    // whose policy it cannot extend to CloudWatch Logs.
    t.add_resource(
        LOG_KEY,
        stack_key(
            o,
            "CloudWatch log groups",
            vec![json!({
                "Sid": "CloudWatchLogsEncryptsTheAccountsLogGroups",
                "Effect": "Allow",
                "Principal": { "Service": sub("logs.${AWS::Region}.amazonaws.com") },
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": { "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")
                } }
            })],
        ),
    );
}

/// Logical IDs of the keeper and its custom resource.
pub const KEEPER_FUNCTION: &str = "LogGroupKeeperFunction";
pub const SERVICE_LOG_GROUPS: &str = "ServiceLogGroups";

/// The ARN pattern of the log groups under `prefix` (an `Fn::Sub` text).
fn log_groups_under(prefix: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{prefix}*"
    ))
}

/// `ServiceLogGroups`: RDS's export groups (created with the key and retention if RDS has
/// not made them yet, adopted if it has: it usually has, since the resource follows the
/// database) and Elastic Beanstalk's (adopted once the environment made them). Their names
/// exist only with the database and the environment, so the resource comes after both; a
/// change of LogRetentionDays updates it.
pub fn add_service_log_groups(t: &mut Template, _o: &Options) {
    use crate::components::application::EB_ENVIRONMENT;
    use crate::components::database::DB_INSTANCE;
    use crate::lambda::{RustFunction, add_function, add_role};
    let rds = &format!("/aws/rds/instance/${{{DB_INSTANCE}}}/");
    let beanstalk = &format!("/aws/elasticbeanstalk/${{{EB_ENVIRONMENT}}}/");
    add_role(
        t,
        "LogGroupKeeperRole",
        KEEPER_FUNCTION,
        vec![
            // DescribeLogGroups is authorised on the account's log groups as a whole.
            allow(&["logs:DescribeLogGroups"], json!([log_groups_under("")])),
            allow(
                &[
                    "logs:CreateLogGroup",
                    "logs:PutRetentionPolicy",
                    "logs:AssociateKmsKey",
                ],
                json!([log_groups_under(rds), log_groups_under(beanstalk)]),
            ),
        ],
    );
    add_function(
        t,
        RustFunction {
            id: KEEPER_FUNCTION,
            code: "LogGroupKeeper",
            role: "LogGroupKeeperRole",
            description: "Gives the log groups RDS and Elastic Beanstalk create for the stack its retention and log key (ServiceLogGroups)",
            environment: json!({}),
            timeout_seconds: 120,
            memory_mb: 128,
            reserved_concurrency: 1,
        },
    );
    let exports: Vec<Value> = crate::components::database::LOG_EXPORTS
        .iter()
        .map(|log| sub(&format!("{rds}{log}")))
        .collect();
    t.add_resource(
        SERVICE_LOG_GROUPS,
        resource(
            "AWS::CloudFormation::CustomResource",
            json!({
                "ServiceToken": get_att(KEEPER_FUNCTION, "Arn"),
                (properties::LOG_GROUPS): exports,
                (properties::LOG_GROUP_PREFIXES): [sub(beanstalk)],
                (properties::RETENTION_IN_DAYS): ref_(RETENTION_PARAMETER),
                (properties::KMS_KEY_ARN): get_att(LOG_KEY, "Arn")
            }),
        ),
    );
}
