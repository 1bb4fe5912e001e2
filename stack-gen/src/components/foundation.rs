//! Foundation: the stack's parameters, private DNS zone, KMS key, bucket (with its access-log
//! bucket), the audit trail, the operators' alert topic and the application security group.

use serde_json::{Value, json};

use crate::cfn::{
    allow, get_att, if_, join, name_tag, no_value, ref_, resource, security_group, sub,
};
use crate::stack::{ALERT_TOPIC, DNS_ZONE, ZONE, bucket_arn, bucket_objects, key_arn, stack_key};
use stack_contract::logical_ids::{BUCKET, KEY};
use stack_contract::recovery_params::resolve as recovery_inputs;
use stack_contract::storage::{MIN_DATABASE_GB, MIN_DOCUMENT_GB};

use crate::options::Options;
use crate::template::Template;

/// A bucket policy, kept with its bucket: the buckets are retained when the stack goes (their
/// backups and logs outlive it), and so are the policies that keep them TLS-only and their
/// objects undeletable. (A drill's are deleted with everything else.)
fn retained_bucket_policy(properties: Value) -> Value {
    json!({
        "Type": "AWS::S3::BucketPolicy",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties
    })
}

/// The parameters the user answers, in the order the console shows them.
pub fn add_parameters(t: &mut Template, o: &Options) {
    t.add_parameter(
        "EC2KeyPair",
        json!({ "Type": "AWS::EC2::KeyPair::KeyName", "Description": "Amazon EC2 key pair for the stack's instances (administration via SSH)." }),
    );
    if o.recovery {
        t.add_parameter(
            recovery_inputs::KMS_KEY,
            json!({
                "Type": "String",
                "Description": "ARN of the original stack's KMS key (output StackKMSKey of the original stack).",
                "AllowedPattern": "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$",
                "ConstraintDescription": "a KMS key ARN: arn:aws:kms:<region>:<account>:key/<uuid>"
            }),
        );
        t.add_parameter(
            recovery_inputs::RDS_SNAPSHOT,
            json!({
                "Type": "String",
                "Description": "ARN of the RDS snapshot to restore (`stack-ops recovery-params` finds the newest).",
                "AllowedPattern": "^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:snapshot:[a-zA-Z][a-zA-Z0-9:-]*$",
                "ConstraintDescription": "an RDS DB snapshot ARN: arn:aws:rds:<region>:<account>:snapshot:<name>"
            }),
        );
        if o.document_store() {
            t.add_parameter(
                recovery_inputs::COUCHDB_SNAPSHOT,
                json!({
                    "Type": "String",
                    "Description": "EBS snapshot of the original stack's CouchDB (patient documents) volume.",
                    "AllowedPattern": "^snap-([0-9a-f]{8}|[0-9a-f]{17})$",
                    "ConstraintDescription": "an EBS snapshot id: snap-<8 or 17 hex digits>"
                }),
            );
        }
        t.add_parameter(
            recovery_inputs::BUCKET,
            json!({
                "Type": "String",
                "Description": "Name of the original stack's bucket (holds the EFS backup in Backup/ and the recovery manifest).",
                "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                "ConstraintDescription": "an S3 bucket name"
            }),
        );
        t.add_parameter(
            "TimeZone",
            json!({
                "Type": "String",
                "Default": "",
                "MaxLength": 41,
                "Description": "Leave empty to use the original stack's time zone from its recovery manifest. Set it (e.g. America/Chicago) only for a stack built by the original generator, which recorded none."
            }),
        );
    } else {
        t.add_parameter(
            "TimeZone",
            json!({ "Type": "String", "Default": "America/Chicago", "MaxLength": 41, "Description": "The clinic's time zone (tz database name), recorded in the recovery manifest. OpenEMR keeps its own in Administration > Globals > Locale: set it there at the first login (README, \"First login\")." }),
        );
        t.add_parameter(
            "RDSPassword",
            json!({
                "Type": "String",
                "NoEcho": true,
                "MinLength": 8,
                "MaxLength": 41,
                "AllowedPattern": "^[^/@\"'\\\\ ]*$",
                "Description": "Password of the database's master user `openemr`, also OpenEMR's (8-41 characters, no / @ \" ' \\ or space). For a new stack use letters and digits only: OpenEMR's installer cannot take other characters, and the first deployment stops saying so.",
                "ConstraintDescription": "8-41 characters without / @ \" ' \\ or space"
            }),
        );
        t.add_parameter(
            "PatientRecords",
            json!({ "Type": "Number", "Default": MIN_DATABASE_GB, "MinValue": MIN_DATABASE_GB, "MaxValue": 16384, "Description": "Database storage (GB) for patient records (gp3: at least 20)." }),
        );
        if o.document_store() {
            t.add_parameter(
                "DocumentStorage",
                json!({ "Type": "Number", "Default": 500, "MinValue": MIN_DOCUMENT_GB, "MaxValue": 16384, "Description": "Size (GB) of each CouchDB patient-document volume (sc1, at least 125)." }),
            );
        }
    }
    t.add_parameter(
        "AlertEmail",
        json!({ "Type": "String", "Default": "", "Description": "E-mail address told when a backup check fails or a backup job errors (leave empty to subscribe later).", "AllowedPattern": "^$|^[^@ ]+@[^@ ]+$", "ConstraintDescription": "an e-mail address, or empty" }),
    );
    crate::instance::add_image_parameters(t);
    crate::lambda::add_code_location(t, &o.code);
}

pub fn add(t: &mut Template, o: &Options) {
    t.add_condition(
        "HasAlertEmail",
        json!({ "Fn::Not": [{ "Fn::Equals": [ref_("AlertEmail"), ""] }] }),
    );
    t.add_resource(
        DNS_ZONE,
        resource("AWS::Route53::HostedZone", json!({ "Name": ZONE, "VPCs": [{ "VPCId": ref_("VPC"), "VPCRegion": ref_("AWS::Region") }] })),
    );
    if !o.recovery {
        add_key(t, o);
    }
    add_bucket(t, o);
    // A drill stack is audited by the source account's trail; its own would outlive it
    // (Object Lock) and a drill must be deletable.
    if !o.drill {
        add_trail(t, o);
    }
    add_alerts(t, o);
    t.add_resource(
        "ApplicationSecurityGroup",
        security_group(
            "OpenEMR application servers (Elastic Beanstalk instances)",
            "application",
        ),
    );
    t.add_resource(
        "AppSGIngress",
        resource(
            "AWS::EC2::SecurityGroupIngress",
            json!({
                "GroupId": ref_("ApplicationSecurityGroup"),
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "SourceSecurityGroupId": ref_("LoadBalancerSecurityGroup"),
                "Description": "HTTPS from the load balancer (requests and health checks) to the application"
            }),
        ),
    );
}

/// The operators' topic, encrypted with a key of its own: CloudWatch alarms cannot publish to
/// a topic under the AWS-managed SNS key, and a recovery stack cannot change the policy of
/// the original's key. Any publisher in the account may use the key, but only through SNS.
fn add_alerts(t: &mut Template, o: &Options) {
    t.add_resource(
        "OperatorAlertsKey",
        stack_key(
            o,
            "operator alert messages",
            vec![
                json!({
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": { "Service": "cloudwatch.amazonaws.com" },
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": { "StringEquals": { "aws:SourceAccount": ref_("AWS::AccountId") } }
                }),
                json!({
                    "Sid": "AccountPublishesThroughSNS",
                    "Effect": "Allow",
                    "Principal": { "AWS": "*" },
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": { "StringEquals": {
                        "kms:CallerAccount": ref_("AWS::AccountId"),
                        "kms:ViaService": sub("sns.${AWS::Region}.amazonaws.com")
                    } }
                }),
            ],
        ),
    );
    t.add_resource(
        ALERT_TOPIC,
        resource(
            "AWS::SNS::Topic",
            json!({
                "DisplayName": sub("OpenEMR ${AWS::StackName} alerts"),
                "KmsMasterKeyId": ref_("OperatorAlertsKey"),
                "Subscription": if_("HasAlertEmail", json!([{ "Protocol": "email", "Endpoint": ref_("AlertEmail") }]), no_value())
            }),
        ),
    );
}

fn add_key(t: &mut Template, o: &Options) {
    let mut key = stack_key(o, "database, documents, file system, backups", vec![]);
    key["Properties"]["Tags"] = json!([name_tag("key")]);
    t.add_resource(KEY, key);
}

fn add_bucket(t: &mut Template, o: &Options) {
    // Server access logs go to their own bucket: a bucket cannot log to itself usefully, and
    // log delivery supports only SSE-S3.
    let access_log_bucket = json!({
        "Type": "AWS::S3::Bucket",
        // Retained like the stack bucket it audits, --dev included: CloudFormation cannot
        // delete a bucket that holds objects, and this one always does (a --dev stack
        // would stop at DELETE_FAILED). README says how to remove both afterwards.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketEncryption": { "ServerSideEncryptionConfiguration": [{ "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } }] },
            "PublicAccessBlockConfiguration": public_access_block(),
            "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
            "VersioningConfiguration": { "Status": "Enabled" },
            "LifecycleConfiguration": { "Rules": [{ "Id": "ExpireAccessLogs", "Status": "Enabled", "ExpirationInDays": 365, "NoncurrentVersionExpiration": { "NoncurrentDays": 30 } }] }
        }
    });
    // A drill's bucket holds a copy of the source's data for an hour: no access log of its
    // own, which would keep receiving log files after the drill emptied it for deletion.
    if !o.drill {
        add_access_log_bucket(t, access_log_bucket);
    }
    add_stack_bucket(t, o);
}

fn add_access_log_bucket(t: &mut Template, access_log_bucket: Value) {
    t.add_resource("AccessLogBucket", access_log_bucket);
    t.add_resource(
        "AccessLogBucketPolicy",
        retained_bucket_policy(
            json!({
                "Bucket": ref_("AccessLogBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "S3ServerAccessLogs",
                            "Effect": "Allow",
                            "Principal": { "Service": "logging.s3.amazonaws.com" },
                            "Action": "s3:PutObject",
                            "Resource": sub("${AccessLogBucket.Arn}/*"),
                            "Condition": { "StringEquals": { "aws:SourceAccount": ref_("AWS::AccountId") } }
                        },
                        deny_insecure_transport(get_att("AccessLogBucket", "Arn"), sub("${AccessLogBucket.Arn}/*"))
                    ]
                }
            }),
        ),
    );
}

fn add_stack_bucket(t: &mut Template, o: &Options) {
    let mut bucket = json!({
        "Type": "AWS::S3::Bucket",
        // The bucket outlives the stack: it holds the backups a recovery stack restores.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": if o.drill {
                crate::stack::drill_resource_name(None)
            } else {
                join("-", vec![json!("openemr"), crate::cfn::select(2, json!({ "Fn::Split": ["/", ref_("AWS::StackId")] }))])
            },
            "BucketEncryption": { "ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": { "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn(o) },
                "BucketKeyEnabled": true
            }] },
            "PublicAccessBlockConfiguration": public_access_block(),
            "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
            "VersioningConfiguration": { "Status": "Enabled" },
            "LoggingConfiguration": { "DestinationBucketName": ref_("AccessLogBucket"), "LogFilePrefix": "stack-bucket/" },
            "LifecycleConfiguration": { "Rules": [
                { "Id": "ExpireOldVersions", "Status": "Enabled", "NoncurrentVersionExpiration": { "NoncurrentDays": 90 } },
                { "Id": "AbortIncompleteUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 7 } }
            ] },
            "Tags": [name_tag("bucket")]
        }
    });
    let mut statements = vec![deny_insecure_transport(bucket_arn(), bucket_objects("*"))];
    if o.drill {
        // No access log in a drill (see add_bucket); no Deny that would keep the drill from
        // emptying it for its deletion.
        bucket["Properties"]
            .as_object_mut()
            .expect("properties")
            .remove("LoggingConfiguration");
    } else {
        statements.splice(0..0, backup_protection());
    }
    t.add_resource(BUCKET, bucket);
    t.add_resource(
        "BucketPolicy",
        retained_bucket_policy(json!({
            "Bucket": ref_(BUCKET),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": statements
            }
        })),
    );
}

/// The stack bucket's Deny statements that keep its backups and earlier trail logs (not in a
/// drill stack, which must be deletable).
fn backup_protection() -> Vec<Value> {
    vec![
        // The backups: only the NFS agent's own role removes them (pruning
        // old chains); no other principal of the account, administrators
        // included, until someone changes this policy (which CloudTrail
        // records). Deleted versions stay recoverable for the lifecycle's 90 days.
        json!({
            "Sid": "OnlyTheBackupAgentDeletesBackups",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": bucket_objects(&format!("{}*", stack_contract::bucket::BACKUP_PREFIX)),
            "Condition": { "ArnNotEquals": { "aws:PrincipalArn": get_att("NFSBackupRole", "Arn") } }
        }),
        // Trail logs written here before the trail had its own bucket stay.
        json!({
            "Sid": "NobodyDeletesEarlierTrailLogs",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": bucket_objects("AWSLogs/*")
        }),
    ]
}

fn public_access_block() -> Value {
    json!({ "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true })
}

fn deny_insecure_transport(bucket: Value, objects: Value) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket, objects],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } }
    })
}

/// The trail's ARN, built from its name (a GetAtt would make the bucket policy and the trail
/// depend on each other).
fn trail_arn() -> Value {
    sub(
        "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/${AWS::StackName}-trail",
    )
}

/// The trail's bucket: nothing but CloudTrail writes to it, nobody deletes from it (a bucket
/// policy deny), and S3 Object Lock keeps every log file for the log retention (governance
/// mode: an administrator holding `s3:BypassGovernanceRetention` can still clean up a test
/// stack; compliance mode would make that impossible for years).
fn add_trail_bucket(t: &mut Template) {
    use crate::stack::RETENTION_PARAMETER;
    t.add_resource(
        "CloudTrailBucket",
        json!({
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": { "ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": { "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": get_att("CloudTrailKey", "Arn") },
                    "BucketKeyEnabled": true
                }] },
                "PublicAccessBlockConfiguration": public_access_block(),
                "OwnershipControls": { "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] },
                "VersioningConfiguration": { "Status": "Enabled" },
                "ObjectLockEnabled": true,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": { "DefaultRetention": { "Mode": "GOVERNANCE", "Days": ref_(RETENTION_PARAMETER) } }
                },
                "LoggingConfiguration": { "DestinationBucketName": ref_("AccessLogBucket"), "LogFilePrefix": "trail-bucket/" },
                "LifecycleConfiguration": { "Rules": [
                    { "Id": "ExpireAfterRetention", "Status": "Enabled", "ExpirationInDays": ref_(RETENTION_PARAMETER), "NoncurrentVersionExpiration": { "NoncurrentDays": 1 } }
                ] },
                "Tags": [name_tag("trail")]
            }
        }),
    );
    t.add_resource(
        "CloudTrailBucketPolicy",
        retained_bucket_policy(
            json!({
                "Bucket": ref_("CloudTrailBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudTrailAclCheck",
                            "Effect": "Allow",
                            "Principal": { "Service": "cloudtrail.amazonaws.com" },
                            "Action": "s3:GetBucketAcl",
                            "Resource": get_att("CloudTrailBucket", "Arn"),
                            "Condition": { "StringEquals": { "aws:SourceArn": trail_arn() } }
                        },
                        {
                            "Sid": "CloudTrailWrite",
                            "Effect": "Allow",
                            "Principal": { "Service": "cloudtrail.amazonaws.com" },
                            "Action": "s3:PutObject",
                            "Resource": sub("${CloudTrailBucket.Arn}/AWSLogs/${AWS::AccountId}/*"),
                            "Condition": { "StringEquals": { "aws:SourceArn": trail_arn() } }
                        },
                        {
                            "Sid": "NobodyDeletesTrailLogs",
                            "Effect": "Deny",
                            "Principal": "*",
                            // Not the bucket's lock or lifecycle configuration: CloudFormation sets those
                            // from LogRetentionDays at every update.
                            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutObjectRetention"],
                            "Resource": [get_att("CloudTrailBucket", "Arn"), sub("${CloudTrailBucket.Arn}/*")]
                        },
                        deny_insecure_transport(get_att("CloudTrailBucket", "Arn"), sub("${CloudTrailBucket.Arn}/*"))
                    ]
                }
            }),
        ),
    );
}

fn add_trail(t: &mut Template, o: &Options) {
    add_trail_bucket(t);
    // The trail has its own key in every stack: a recovery stack runs on the original's key,
    // whose policy may not let CloudTrail use it.
    t.add_resource(
        "CloudTrailKey",
        stack_key(
            o,
            "CloudTrail log files",
            vec![json!({
                "Sid": "CloudTrailEncryptsLogs",
                "Effect": "Allow",
                "Principal": { "Service": "cloudtrail.amazonaws.com" },
                "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": { "StringEquals": { "aws:SourceArn": trail_arn() } }
            })],
        ),
    );
    t.add_resource("CloudTrailLogGroup", crate::stack::log_group(None));
    t.add_resource(
        "CloudTrailLogsRole",
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": crate::cfn::assume_role_policy("cloudtrail.amazonaws.com"),
                "Policies": [{
                    "PolicyName": "DeliverToLogGroup",
                    "PolicyDocument": crate::cfn::policy_document(vec![
                        allow(&["logs:CreateLogStream", "logs:PutLogEvents"], json!([get_att("CloudTrailLogGroup", "Arn")]))
                    ])
                }]
            }),
        ),
    );
    t.add_resource(
        "CloudTrail",
        json!({
            "Type": "AWS::CloudTrail::Trail",
            "DependsOn": ["CloudTrailBucketPolicy"],
            "Properties": {
                "TrailName": sub("${AWS::StackName}-trail"),
                "S3BucketName": ref_("CloudTrailBucket"),
                "IsLogging": true,
                "IsMultiRegionTrail": true,
                "IncludeGlobalServiceEvents": true,
                "EnableLogFileValidation": true,
                "KMSKeyId": get_att("CloudTrailKey", "Arn"),
                "CloudWatchLogsLogGroupArn": get_att("CloudTrailLogGroup", "Arn"),
                "CloudWatchLogsRoleArn": get_att("CloudTrailLogsRole", "Arn")
            }
        }),
    );
}
