//! The drill's roles: what the orchestrator may do, and `DrillStackRole`, the CloudFormation
//! service role the drill stack is created and deleted with (docs/roles.md).

use serde_json::{Value, json};
use stack_contract::restore_drill::{
    BEANSTALK_LOG_GROUPS, DRILL_TAG, DRILL_TAG_VALUE, FINGERPRINT_KEY, LAMBDA_LOG_GROUPS,
    RDS_LOG_GROUPS, REPORT_PREFIX, SOURCE_STACK_TAG,
};

use super::names::*;
use crate::cfn::{allow, get_att, policy_document, ref_, resource, sub, sub_with};
use crate::options::Options;
use crate::stack::{ALERT_TOPIC, key_arn};
use crate::template::Template;
/// What the orchestrator may do (see the module and docs/roles.md).
pub(super) fn orchestrator_statements(o: &Options) -> Vec<Value> {
    let kms_via_s3 =
        json!({ "StringEquals": { "kms:ViaService": sub("s3.${AWS::Region}.amazonaws.com") } });
    let mut statements = vec![
        // Gather: the source stack and its resources, as `stack-ops recovery-params` reads them.
        allow(
            &[
                "cloudformation:DescribeStacks",
                "cloudformation:ListStackResources",
            ],
            json!([source_stack()]),
        ),
        // ListStacks (one drill at a time) and GetTemplateSummary (the drill template's
        // parameters) support no resource-level permissions.
        allow(
            &[
                "cloudformation:ListStacks",
                "cloudformation:GetTemplateSummary",
            ],
            json!(["*"]),
        ),
        // Build: only drill stacks of this stack, tagged as drills, from the drill template,
        // with the drill's service role.
        json!({
            "Effect": "Allow",
            "Action": ["cloudformation:CreateStack"],
            "Resource": [drill_stacks()],
            "Condition": { "StringEquals": {
                (format!("aws:RequestTag/{DRILL_TAG}")): DRILL_TAG_VALUE,
                (format!("aws:RequestTag/{SOURCE_STACK_TAG}")): ref_("AWS::StackName"),
                "cloudformation:RoleArn": get_att(STACK_ROLE, "Arn"),
                "cloudformation:TemplateUrl": template_url()
            } }
        }),
        // Tags given with CreateStack are authorised as TagResource too (without the
        // CreateStack-only keys).
        json!({
            "Effect": "Allow",
            "Action": ["cloudformation:TagResource"],
            "Resource": [drill_stacks()],
            "Condition": { "StringEquals": {
                (format!("aws:RequestTag/{DRILL_TAG}")): DRILL_TAG_VALUE,
                (format!("aws:RequestTag/{SOURCE_STACK_TAG}")): ref_("AWS::StackName")
            } }
        }),
        allow(
            &[
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:ListStackResources",
            ],
            json!([drill_stacks()]),
        ),
        json!({
            "Effect": "Allow",
            "Action": ["cloudformation:DeleteStack"],
            "Resource": [drill_stacks()],
            "Condition": tagged_as_drill()
        }),
        json!({
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [get_att(STACK_ROLE, "Arn")],
            "Condition": { "StringEquals": { "iam:PassedToService": "cloudformation.amazonaws.com" } }
        }),
        // CloudFormation fetches TemplateURL with the caller's credentials.
        allow(
            &["s3:GetObject"],
            json!([sub_with(
                "arn:${AWS::Partition}:s3:::${LambdaCodeBucket}/${Key}",
                json!({ "Key": template_key() })
            )]),
        ),
        // The recovery inputs: the newest snapshots and the key.
        allow(
            &["rds:DescribeDBSnapshots"],
            json!([
                crate::components::database::db_arn(),
                sub("arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:snapshot:*")
            ]),
        ),
        // Describe calls of EC2 support no resource-level permissions.
        allow(
            &["ec2:DescribeSnapshots", "ec2:DescribeVolumes"],
            json!(["*"]),
        ),
        allow(&["kms:DescribeKey"], json!([key_arn(o)])),
        // The fingerprint in, the report out (SSE-KMS with the stack key, through S3).
        allow(
            &["s3:GetObject"],
            json!([crate::stack::bucket_objects(FINGERPRINT_KEY)]),
        ),
        allow(
            &["s3:PutObject"],
            json!([crate::stack::bucket_objects(&format!("{REPORT_PREFIX}*"))]),
        ),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [key_arn(o)],
            "Condition": kms_via_s3
        }),
        allow(&["sns:Publish"], json!([ref_(ALERT_TOPIC)])),
        // Teardown's leftovers: only what carries the drill tag, or the drill's names.
        json!({
            "Effect": "Allow",
            "Action": ["ec2:DeleteVolume"],
            "Resource": [sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*")],
            "Condition": tagged_as_drill()
        }),
        json!({
            "Effect": "Allow",
            "Action": ["ec2:DeleteSnapshot"],
            "Resource": [sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*")],
            "Condition": tagged_as_drill()
        }),
        // DescribeLogGroups is authorised on the account's log groups as a whole.
        allow(
            &["logs:DescribeLogGroups"],
            json!([sub(
                "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
            )]),
        ),
        // The groups of the leftovers' prefixes (stack_contract::restore_drill::LAMBDA_LOG_GROUPS …).
        allow(
            &["logs:DeleteLogGroup"],
            json!([
                log_groups(&format!("{LAMBDA_LOG_GROUPS}${{Prefix}}")),
                log_groups(&format!("{BEANSTALK_LOG_GROUPS}${{Prefix}}")),
                log_groups(&format!("{RDS_LOG_GROUPS}${{Prefix}}"))
            ]),
        ),
        // Emptying the drill's own buckets, so that DeleteStack can delete them.
        allow(
            &["s3:ListBucket", "s3:ListBucketVersions"],
            json!([drill_buckets(false)]),
        ),
        allow(
            &["s3:DeleteObject", "s3:DeleteObjectVersion"],
            json!([drill_buckets(true)]),
        ),
    ];
    statements.extend(crate::stack::list_bucket(
        crate::stack::bucket_arn(),
        &[FINGERPRINT_KEY, &format!("{REPORT_PREFIX}*")],
    ));
    // Whatever the statements above allow: never the source stack.
    statements.push(json!({
        "Sid": "NeverTheSourceStack",
        "Effect": "Deny",
        "Action": [
            "cloudformation:DeleteStack",
            "cloudformation:UpdateStack",
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet"
        ],
        "Resource": [source_stack()]
    }));
    statements
}

/// The services the recovery template's resources belong to (creating and deleting them is
/// the drill stack's job; their ids do not exist before CloudFormation creates them, so these
/// cannot be scoped by ARN).
pub(super) const DRILL_SERVICES: [&str; 14] = [
    "ec2:*",
    "elasticloadbalancing:*",
    "elasticbeanstalk:*",
    "autoscaling:*",
    "rds:*",
    "elasticache:*",
    "elasticfilesystem:*",
    "route53:*",
    "logs:*",
    "lambda:*",
    "kms:*",
    "sns:*",
    "cloudwatch:*",
    "s3:*",
];

/// Mutating actions, for the Deny that protects whatever the source stack tagged.
pub(super) const MUTATING: [&str; 45] = [
    "ec2:Delete*",
    "ec2:Modify*",
    "ec2:Terminate*",
    "ec2:Stop*",
    "ec2:Detach*",
    "ec2:Disassociate*",
    "ec2:Revoke*",
    "ec2:Replace*",
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "rds:Delete*",
    "rds:Modify*",
    "rds:Stop*",
    "rds:Reboot*",
    "rds:RemoveTagsFromResource",
    "elasticache:Delete*",
    "elasticache:Modify*",
    "elasticfilesystem:Delete*",
    "elasticfilesystem:Put*",
    "elasticfilesystem:Update*",
    "elasticloadbalancing:Delete*",
    "elasticloadbalancing:Modify*",
    "elasticloadbalancing:Remove*",
    "elasticbeanstalk:Terminate*",
    "elasticbeanstalk:Update*",
    "elasticbeanstalk:Delete*",
    "lambda:Delete*",
    "lambda:Update*",
    "kms:ScheduleKeyDeletion",
    "kms:Disable*",
    "kms:PutKeyPolicy",
    "ec2:Reboot*",
    "autoscaling:Delete*",
    "autoscaling:Update*",
    "autoscaling:Terminate*",
    "autoscaling:Detach*",
    "autoscaling:Set*",
    "autoscaling:Suspend*",
    "autoscaling:Put*",
    "elasticloadbalancing:Deregister*",
    "elasticloadbalancing:Set*",
    "elasticbeanstalk:Rebuild*",
    "elasticbeanstalk:Restart*",
    "elasticbeanstalk:Swap*",
    "elasticache:Reboot*",
];

/// The drill stack's service role.
pub(super) fn stack_role_statements(o: &Options) -> Vec<Value> {
    // The drill's IAM names (`name_everything`): `openemr-<source group>-drill-<drill>-<id>`.
    let iam_arn = |kind: &str| {
        with_drill_prefix(&format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:{kind}/${{Prefix}}*"
        ))
    };
    use crate::components::application::{EB_APPLICATION, EB_ENVIRONMENT};
    let with_sid = |sid: &str, mut statement: Value| {
        statement["Sid"] = json!(sid);
        statement
    };
    let beanstalk_arn = |kind: &str, tail: &str| {
        sub(&format!(
            "arn:${{AWS::Partition}}:elasticbeanstalk:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/${{{EB_APPLICATION}}}{tail}"
        ))
    };
    let mut mutating_or_stacks: Vec<&str> = MUTATING.to_vec();
    mutating_or_stacks.push("cloudformation:*");
    vec![
        // The reasons for the wildcards: stack-gen/tests/hardening.rs (DRILL_STACK_ROLE_REASONS).
        with_sid(
            "BuildTheDrillsResources",
            allow(&DRILL_SERVICES, json!(["*"])),
        ),
        // Elastic Beanstalk builds the environment with a CloudFormation stack of its own,
        // with the caller's (this role's) permissions.
        with_sid(
            "ElasticBeanstalksOwnStacks",
            allow(
                &["cloudformation:*"],
                json!([sub(
                    "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/awseb-*"
                )]),
            ),
        ),
        with_sid(
            "ReadStacks",
            allow(
                &["cloudformation:DescribeStacks", "cloudformation:ListStacks"],
                json!(["*"]),
            ),
        ),
        // The drill's own roles and instance profiles only (CloudFormation names them
        // `<drill stack>-<logical id>-<suffix>`).
        allow(
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:GetRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:PassRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
            ],
            json!([iam_arn("role")]),
        ),
        // The drill's own managed policies (AWS::IAM::ManagedPolicy's handler permissions in
        // its registry schema), named like its roles.
        allow(
            &[
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:ListEntitiesForPolicy",
            ],
            json!([iam_arn("policy")]),
        ),
        // RDS's create handler lists roles (AWS::RDS::DBInstance's registry schema).
        with_sid("ListRoles", allow(&["iam:ListRoles"], json!(["*"]))),
        // The instances' images are `resolve:ssm:` names in their launch templates: EC2
        // resolves them as the caller of RunInstances (EC2 user guide, "Use a Systems Manager
        // parameter instead of an AMI ID"), which is this role.
        allow(
            &["ssm:GetParameters"],
            json!([sub(
                "arn:${AWS::Partition}:ssm:${AWS::Region}:*:parameter/*"
            )]),
        ),
        allow(
            &[
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
            ],
            json!([iam_arn("instance-profile")]),
        ),
        // The services' own roles, made once per account when missing.
        json!({
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": ["*"],
            "Condition": { "StringLike": { "iam:AWSServiceName": [
                "elasticbeanstalk.amazonaws.com",
                "elasticloadbalancing.amazonaws.com",
                "autoscaling.amazonaws.com",
                "rds.amazonaws.com",
                "elasticache.amazonaws.com",
                "elasticfilesystem.amazonaws.com"
            ] } }
        }),
        // Whatever the statements above allow, never the source stack's resources.
        json!({
            "Sid": "NeverWhatTheSourceStackTagged",
            "Effect": "Deny",
            "Action": MUTATING.as_slice(),
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:ResourceTag/aws:cloudformation:stack-name": ref_("AWS::StackName") } }
        }),
        json!({
            "Sid": "NeverTheSourceStack",
            "Effect": "Deny",
            "Action": ["cloudformation:*"],
            "Resource": [source_stack()]
        }),
        // Elastic Beanstalk's resources carry the environment's name, not the source stack's:
        // its instances, scaling group, security groups, target group and `awseb-*` stack.
        json!({
            "Sid": "NeverWhatTheSourceEnvironmentRuns",
            "Effect": "Deny",
            "Action": mutating_or_stacks,
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:ResourceTag/elasticbeanstalk:environment-name": ref_(EB_ENVIRONMENT) } }
        }),
        // The source's application, its environments, versions and saved configurations:
        // nothing but reading.
        json!({
            "Sid": "NeverTheSourceApplication",
            "Effect": "Deny",
            "NotAction": ["elasticbeanstalk:Describe*", "elasticbeanstalk:List*"],
            "Resource": [
                beanstalk_arn("application", ""),
                beanstalk_arn("environment", "/*"),
                beanstalk_arn("applicationversion", "/*"),
                beanstalk_arn("configurationtemplate", "/*")
            ]
        }),
        // No bucket but the drill's own and Elastic Beanstalk's storage is written to,
        // reconfigured or emptied: not the source's stack, trail or access-log buckets, nor
        // any other in the account.
        json!({
            "Sid": "NeverAnotherBucket",
            "Effect": "Deny",
            "Action": [
                "s3:PutObject*",
                "s3:DeleteObject*",
                "s3:RestoreObject",
                "s3:PutBucket*",
                "s3:DeleteBucket*",
                "s3:PutLifecycleConfiguration",
                "s3:PutEncryptionConfiguration",
                "s3:PutReplicationConfiguration"
            ],
            "NotResource": [
                drill_buckets(false),
                drill_buckets(true),
                sub("arn:${AWS::Partition}:s3:::elasticbeanstalk-${AWS::Region}-${AWS::AccountId}"),
                sub("arn:${AWS::Partition}:s3:::elasticbeanstalk-${AWS::Region}-${AWS::AccountId}/*")
            ]
        }),
        json!({
            "Sid": "NeverTheSourceKey",
            "Effect": "Deny",
            "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DisableKeyRotation", "kms:RevokeGrant", "kms:RetireGrant"],
            "Resource": [key_arn(o)]
        }),
        json!({
            "Sid": "NeverTheSourceDatabase",
            "Effect": "Deny",
            "Action": ["rds:Delete*", "rds:Modify*", "rds:Stop*", "rds:Reboot*"],
            "Resource": [crate::components::database::db_arn()]
        }),
    ]
}

pub(super) fn add_stack_role(t: &mut Template, o: &Options) {
    t.add_resource(
        STACK_ROLE,
        resource(
            "AWS::IAM::Role",
            json!({
                "Description": sub("CloudFormation builds and deletes the restore drill stacks of ${AWS::StackName} with this role; it may never change that stack's resources"),
                "AssumeRolePolicyDocument": crate::cfn::assume_role_policy_for_this_account("cloudformation.amazonaws.com"),
                "Policies": [{ "PolicyName": "DrillStack", "PolicyDocument": policy_document(stack_role_statements(o)) }]
            }),
        ),
    );
}
