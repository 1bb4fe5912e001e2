//! The security properties the design asks for, read from every generated template.

mod common;

use common::{all_templates, as_list, resources_of, statements};
use serde_json::Value;

/// Every IAM policy document of identity policies in the template: (where, document).
fn identity_policies(template: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (id, role) in resources_of(template, "AWS::IAM::Role") {
        for policy in role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.push((
                format!("{id}/{}", policy["PolicyName"]),
                &policy["PolicyDocument"],
            ));
        }
    }
    for type_ in ["AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"] {
        for (id, policy) in resources_of(template, type_) {
            out.push((id.clone(), &policy["Properties"]["PolicyDocument"]));
        }
    }
    out
}

/// Read-only actions AWS only authorises on `Resource: "*"`: the snapshotter's and checker's,
/// and Elastic Beanstalk's enhanced health (its service role).
const STAR_RESOURCE_ACTIONS: [&str; 32] = [
    // The drill stack's role: RDS's create handler lists roles (no resource-level permission).
    "iam:ListRoles",
    // The restore drill: its orchestrator, its VPC functions' ENIs (AWSLambdaVPCAccessExecutionRole),
    // and Step Functions' log delivery (AWS documents these on "*" only).
    // The platform resolver: ListPlatformVersions has no resource types.
    "elasticbeanstalk:ListPlatformVersions",
    "cloudformation:ListStacks",
    "cloudformation:GetTemplateSummary",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    // Lambda checks these at create on "*" with no request context (tests/lambda_create.rs).
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "ec2:DescribeSnapshots",
    "ec2:DescribeVolumes",
    "rds:DescribeDBSnapshots",
    "kms:ListAliases",
    "ec2:DescribeTags",
    "elasticloadbalancing:DescribeInstanceHealth",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetHealth",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeNotificationConfigurations",
];

/// Writes AWS only authorises on `Resource: "*"`, each allowed only with the Condition key
/// that scopes it: (action, condition key).
const STAR_RESOURCE_WRITES: [(&str, &str); 2] = [
    // The instances' CloudWatch agents: into the stack's instance namespace only.
    ("cloudwatch:PutMetricData", "cloudwatch:namespace"),
    // The drill stack's role: the drill's services' own roles, made once per account.
    ("iam:CreateServiceLinkedRole", "iam:AWSServiceName"),
];

/// The restore drill stack's CloudFormation service role creates a whole recovery stack, whose
/// resources do not exist before it makes them and take generated names. Its statements that
/// the checks below would refuse, each with the reason it is accepted; every other statement
/// of the role is held to the checks like any other.
const DRILL_STACK_ROLE: &str = "DrillStackRole/";
const DRILL_STACK_ROLE_REASONS: [(&str, &str); 3] = [
    (
        "BuildTheDrillsResources",
        "its services' actions on \"*\": the drill's VPC, instances, database, cache, file system, \
         balancer, environment, functions, keys, topics and bucket get generated ids, and most \
         creates authorise on \"*\" or on ids that do not exist yet; the Denies keep it off \
         what the source stack and its environment tagged, its application, its key, database \
         and stack, and every bucket but the drill's own and Elastic Beanstalk's storage",
    ),
    (
        "ElasticBeanstalksOwnStacks",
        "cloudformation:* on awseb-* stacks: Elastic Beanstalk builds the drill's environment \
         with a stack of its own under this role's permissions; the source environment's stack \
         is denied by its elasticbeanstalk:environment-name tag",
    ),
    ("ReadStacks", "ListStacks has no resource-level permission"),
];
/// The Deny statements the role must carry: they keep it off the source stack.
const DRILL_STACK_ROLE_DENIES: [&str; 7] = [
    "NeverWhatTheSourceStackTagged",
    "NeverTheSourceStack",
    "NeverWhatTheSourceEnvironmentRuns",
    "NeverTheSourceApplication",
    "NeverAnotherBucket",
    "NeverTheSourceKey",
    "NeverTheSourceDatabase",
];

/// The drill stacks' templates too: their roles are the recovery stack's and the verifier's.
#[test]
fn iam_policies_name_actions_and_scope_resources() {
    for (name, _, t) in common::checked_templates() {
        for (at, document) in identity_policies(&t) {
            let drill_stack_role = at.starts_with(DRILL_STACK_ROLE);
            if drill_stack_role {
                let sids = |effect: &str| -> Vec<&str> {
                    statements(document)
                        .iter()
                        .filter(|s| s["Effect"] == effect)
                        .filter_map(|s| s["Sid"].as_str())
                        .collect()
                };
                assert_eq!(sids("Deny"), DRILL_STACK_ROLE_DENIES, "{name} {at}");
                for (sid, _) in DRILL_STACK_ROLE_REASONS {
                    assert!(
                        sids("Allow").contains(&sid),
                        "{name} {at}: no statement {sid}"
                    );
                }
            }
            for statement in statements(document) {
                // A Deny may be as wide as it likes.
                if statement["Effect"] == "Deny" {
                    continue;
                }
                let sid = statement["Sid"].as_str().unwrap_or_default();
                if drill_stack_role && DRILL_STACK_ROLE_REASONS.iter().any(|(s, _)| *s == sid) {
                    continue;
                }
                let actions = as_list(&statement["Action"]);
                assert!(!actions.is_empty(), "{name} {at}: statement without Action");
                for action in &actions {
                    let action = action
                        .as_str()
                        .unwrap_or_else(|| panic!("{name} {at}: action {action} is not a string"));
                    assert!(
                        !action.contains('*'),
                        "{name} {at}: wildcard action {action}"
                    );
                }
                if statement["Effect"] == "Allow"
                    && as_list(&statement["Resource"]).iter().any(|r| *r == "*")
                {
                    for action in actions {
                        let action = action.as_str().unwrap();
                        if let Some((_, key)) =
                            STAR_RESOURCE_WRITES.iter().find(|(a, _)| *a == action)
                        {
                            let scoped = statement["Condition"]
                                .as_object()
                                .is_some_and(|c| c.values().any(|keys| keys.get(*key).is_some()));
                            assert!(
                                scoped,
                                "{name} {at}: {action} on Resource \"*\" without a {key} Condition"
                            );
                        } else {
                            assert!(
                                STAR_RESOURCE_ACTIONS.contains(&action),
                                "{name} {at}: {action} on Resource \"*\""
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn buckets_are_encrypted_versioned_private_and_tls_only() {
    for (name, _, t) in all_templates() {
        let buckets = resources_of(&t, "AWS::S3::Bucket");
        assert!(
            buckets.len() >= 2,
            "{name}: stack bucket and access-log bucket"
        );
        for (id, bucket) in &buckets {
            let p = &bucket["Properties"];
            assert!(p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"].is_string(), "{name} {id}: encryption");
            assert_eq!(
                p["VersioningConfiguration"]["Status"], "Enabled",
                "{name} {id}: versioning"
            );
            for flag in [
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            ] {
                assert_eq!(
                    p["PublicAccessBlockConfiguration"][flag], true,
                    "{name} {id}: {flag}"
                );
            }
            let policies = resources_of(&t, "AWS::S3::BucketPolicy");
            let denies_plain_http = policies.iter().any(|(_, policy)| {
                policy["Properties"]["Bucket"]["Ref"] == id.as_str()
                    && statements(&policy["Properties"]["PolicyDocument"])
                        .iter()
                        .any(|s| {
                            s["Effect"] == "Deny"
                                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                        })
            });
            assert!(denies_plain_http, "{name} {id}: no TLS-only policy");
        }
        let stack_bucket = &t["Resources"]["S3Bucket"]["Properties"];
        assert_eq!(
            stack_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
                ["SSEAlgorithm"],
            "aws:kms",
            "{name}: SSE-KMS"
        );
        assert!(
            stack_bucket["LoggingConfiguration"]["DestinationBucketName"].is_object(),
            "{name}: access logging"
        );
        assert_eq!(
            t["Resources"]["S3Bucket"]["DeletionPolicy"], "Retain",
            "{name}: the bucket holds the backups"
        );
    }
}

#[test]
fn cloudtrail_validates_encrypts_and_logs_to_cloudwatch() {
    for (name, _, t) in all_templates() {
        let p = &t["Resources"]["CloudTrail"]["Properties"];
        assert_eq!(p["EnableLogFileValidation"], true, "{name}");
        assert_eq!(p["IsMultiRegionTrail"], true, "{name}");
        assert!(p["KMSKeyId"].is_object(), "{name}: KMS");
        assert!(
            p["CloudWatchLogsLogGroupArn"].is_object(),
            "{name}: CloudWatch Logs"
        );
    }
}

#[test]
fn data_at_rest_is_encrypted_and_kept() {
    for (name, options, t) in all_templates() {
        let rds = &t["Resources"]["RDSInstance"];
        if options.recovery {
            // Restored from the original's snapshot of its encrypted database: encryption and
            // key are the snapshot's (CloudFormation: "don't specify" them beside it).
            assert!(
                rds["Properties"]["DBSnapshotIdentifier"].is_object(),
                "{name}"
            );
            assert!(
                rds["Properties"].get("StorageEncrypted").is_none(),
                "{name}"
            );
        } else {
            assert_eq!(rds["Properties"]["StorageEncrypted"], true, "{name}");
        }
        assert!(
            rds["Properties"]["BackupRetentionPeriod"].as_u64().unwrap() >= 7,
            "{name}: backup retention"
        );
        assert_eq!(
            rds["Properties"]["DeletionProtection"], !options.dev,
            "{name}: deletion protection outside --dev"
        );
        assert_eq!(rds["Properties"]["AutoMinorVersionUpgrade"], true, "{name}");
        assert!(
            !rds["Properties"]["EnableCloudwatchLogsExports"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{name}: log exports"
        );
        assert_eq!(
            rds["DeletionPolicy"],
            if options.dev { "Delete" } else { "Snapshot" },
            "{name}"
        );
        for (id, volume) in resources_of(&t, "AWS::EC2::Volume") {
            if volume["Properties"].get("SnapshotId").is_some() {
                // A volume made from an encrypted snapshot is encrypted with its key.
                assert!(options.recovery, "{name} {id}");
                assert!(
                    volume["Properties"].get("Encrypted").is_none(),
                    "{name} {id}"
                );
            } else {
                assert_eq!(volume["Properties"]["Encrypted"], true, "{name} {id}");
            }
            assert_eq!(
                volume["DeletionPolicy"],
                if options.dev { "Delete" } else { "Snapshot" },
                "{name} {id}"
            );
        }
        for (id, instance) in resources_of(&t, "AWS::EC2::Instance") {
            for device in instance["Properties"]["BlockDeviceMappings"]
                .as_array()
                .unwrap()
            {
                assert_eq!(device["Ebs"]["Encrypted"], true, "{name} {id}: root volume");
            }
            assert!(
                instance["Properties"]["LaunchTemplate"].is_object(),
                "{name} {id}: IMDSv2 launch template"
            );
        }
        assert_eq!(
            t["Resources"]["ElasticFileSystem"]["Properties"]["Encrypted"], true,
            "{name}"
        );
        let redis = &t["Resources"]["RedisReplicationGroup"]["Properties"];
        assert_eq!(redis["AtRestEncryptionEnabled"], true, "{name}");
        assert_eq!(redis["TransitEncryptionEnabled"], true, "{name}");
        for (id, key) in resources_of(&t, "AWS::KMS::Key") {
            assert_eq!(key["Properties"]["EnableKeyRotation"], true, "{name} {id}");
        }
        assert_eq!(
            resources_of(&t, "AWS::KMS::Key")
                .iter()
                .any(|(id, _)| *id == "OpenEMRKey"),
            !options.recovery,
            "{name}: OpenEMRKey only outside recovery"
        );
    }
}

#[test]
fn every_security_group_rule_is_described() {
    for (name, _, t) in all_templates() {
        for (id, rule) in resources_of(&t, "AWS::EC2::SecurityGroupIngress") {
            let description = rule["Properties"]["Description"].as_str().unwrap_or("");
            assert!(description.len() > 10, "{name} {id}: undescribed rule");
        }
        for (id, group) in resources_of(&t, "AWS::EC2::SecurityGroup") {
            assert!(
                group["Properties"].get("SecurityGroupIngress").is_none(),
                "{name} {id}: inline rules bypass the described ones"
            );
        }
    }
}

#[test]
fn lambdas_are_rust_on_al2023_arm64_with_kept_logs_and_no_python() {
    for (name, _, t) in all_templates() {
        let functions = resources_of(&t, "AWS::Lambda::Function");
        assert!(!functions.is_empty());
        for (id, f) in functions {
            let p = &f["Properties"];
            assert_eq!(p["Runtime"], "provided.al2023", "{name} {id}");
            assert_eq!(
                p["Architectures"],
                serde_json::json!(["arm64"]),
                "{name} {id}"
            );
            assert!(
                p["Code"]["S3Bucket"].is_object() && p["Code"]["S3Key"].is_object(),
                "{name} {id}: code from S3"
            );
            assert!(
                p.get("ReservedConcurrentExecutions").is_some(),
                "{name} {id}: reserved concurrency"
            );
            let log_group = p["LoggingConfig"]["LogGroup"]["Ref"]
                .as_str()
                .expect("own log group");
            assert_eq!(
                t["Resources"][log_group]["Type"], "AWS::Logs::LogGroup",
                "{name} {id}: its log group is the stack's"
            );
        }
        assert!(
            !serde_json::to_string(&t).unwrap().contains("python2"),
            "{name}: Python 2"
        );
        let text = serde_json::to_string(&t).unwrap();
        assert!(!text.contains("public-read"), "{name}: public-read ACL");
    }
}

/// Every log group the template makes keeps its logs for the administrator's retention (a year
/// unless changed, ten years at most), encrypted with the stack's log key, and outlives the stack.
#[test]
fn every_log_group_keeps_its_logs_for_the_retention_parameter_encrypted() {
    for (name, _, t) in all_templates() {
        let parameter = &t["Parameters"]["LogRetentionDays"];
        assert_eq!(parameter["Default"], 365, "{name}");
        let allowed: Vec<u64> = parameter["AllowedValues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(allowed.iter().max(), Some(&3653), "{name}: up to ten years");
        assert!(allowed.contains(&365), "{name}");
        let groups = resources_of(&t, "AWS::Logs::LogGroup");
        assert!(groups.len() >= 4, "{name}: functions, trail, firewall");
        for (id, group) in groups {
            let p = &group["Properties"];
            assert_eq!(
                p["RetentionInDays"],
                serde_json::json!({ "Ref": "LogRetentionDays" }),
                "{name} {id}"
            );
            assert_eq!(
                p["KmsKeyId"],
                serde_json::json!({ "Fn::GetAtt": ["LogGroupKey", "Arn"] }),
                "{name} {id}"
            );
            assert_eq!(group["DeletionPolicy"], "Retain", "{name} {id}");
        }
        // Elastic Beanstalk's own log groups take the same retention.
        let settings = t["Resources"]["EBEnvironment"]["Properties"]["OptionSettings"]
            .as_array()
            .unwrap();
        assert!(
            settings
                .iter()
                .any(|s| s["Namespace"] == "aws:elasticbeanstalk:cloudwatch:logs"
                    && s["OptionName"] == "RetentionInDays"
                    && s["Value"] == serde_json::json!({ "Ref": "LogRetentionDays" })),
            "{name}: Beanstalk log retention"
        );
    }
}

#[test]
fn instances_use_ssm_public_amis_not_a_region_map() {
    for (name, _, t) in all_templates() {
        assert!(t["Mappings"].get("RegionData").is_none(), "{name}");
        for (id, instance) in resources_of(&t, "AWS::EC2::Instance") {
            // The image is the launch template's, resolved by EC2 at launch (tests/updates.rs).
            let template = instance["Properties"]["LaunchTemplate"]["LaunchTemplateId"]["Ref"]
                .as_str()
                .expect("launch template");
            let image =
                t["Resources"][template]["Properties"]["LaunchTemplateData"]["ImageId"]["Fn::Sub"]
                    .as_str()
                    .expect("image from a parameter");
            let parameter = &t["Parameters"][image
                .strip_prefix("resolve:ssm:${")
                .and_then(|p| p.strip_suffix('}'))
                .expect("resolve:ssm:${Parameter}")];
            assert_eq!(parameter["Type"], "String", "{name} {id}");
            assert!(
                parameter["Default"]
                    .as_str()
                    .unwrap()
                    .starts_with("/aws/service/"),
                "{name} {id}"
            );
        }
    }
}

/// Resource types that hold data worth keeping when the stack goes.
const STATEFUL: [&str; 7] = [
    "AWS::RDS::DBInstance",
    "AWS::EC2::Volume",
    "AWS::S3::Bucket",
    "AWS::EFS::FileSystem",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
];

#[test]
fn dev_says_it_breaches_hipaa_and_production_does_not() {
    for (name, options, t) in all_templates() {
        let description = t["Description"].as_str().unwrap();
        assert_eq!(
            description.contains("not HIPAA-safe"),
            options.bastion(),
            "{name}: {description}"
        );
        assert!(
            description.len() <= 1024,
            "{name}: CloudFormation limits the Description to 1024 bytes"
        );
        if !options.dev {
            for (id, resource) in t["Resources"].as_object().unwrap() {
                if STATEFUL.contains(&resource["Type"].as_str().unwrap()) {
                    assert!(
                        ["Retain", "Snapshot"]
                            .contains(&resource["DeletionPolicy"].as_str().unwrap_or("")),
                        "{name} {id}: data lost with the stack outside --dev"
                    );
                }
            }
        }
    }
}

#[test]
fn secrets_are_no_echo_and_never_defaulted() {
    for (name, _, t) in all_templates() {
        for (id, parameter) in t["Parameters"].as_object().unwrap() {
            if id.contains("Password") {
                assert_eq!(parameter["NoEcho"], true, "{name} {id}");
                assert!(parameter.get("Default").is_none(), "{name} {id}");
            }
        }
        for (id, output) in t["Outputs"].as_object().unwrap() {
            let text = output.to_string();
            assert!(
                !text.contains("Password") && !text.contains("passphrase"),
                "{name}: output {id} exposes a secret"
            );
        }
    }
}
