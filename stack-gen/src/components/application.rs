//! Application: OpenEMR on Elastic Beanstalk (PHP platform), behind a load balancer that
//! talks HTTPS to the instances and authenticates them with the stack CA's certificate
//! (`EBCert`). Bundle and platform are parameters with the flags' values as defaults.

use serde_json::{Value, json};

use crate::cfn::{allow, get_att, join, ref_, resource, sub};
use crate::components::foundation::{ZONE, bucket, bucket_arn, bucket_objects, key_arn};
use crate::options::Options;
use crate::template::Template;

pub fn add(t: &mut Template, o: &Options) {
    t.add_parameter(
        "BeanstalkBundleBucket",
        json!({
            "Type": "String",
            "Description": "S3 bucket (in the stack's region) holding the OpenEMR application bundle. The original's regional buckets are gone; upload the bundle to a bucket you control.",
            "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            "ConstraintDescription": "an S3 bucket name"
        }),
    );
    t.add_parameter(
        "BeanstalkBundleKey",
        json!({ "Type": "String", "Default": o.beanstalk_key(), "MinLength": 1, "Description": "S3 key of the OpenEMR application bundle (--beanstalk-key sets the default)." }),
    );
    t.add_parameter(
        "BeanstalkPlatform",
        json!({ "Type": "String", "Default": o.beanstalk_platform(), "MinLength": 1, "Description": "Elastic Beanstalk solution stack (a PHP platform; --beanstalk-version sets the default)." }),
    );
    t.add_parameter(
        "BeanstalkInstanceType",
        json!({ "Type": "String", "Default": "t3.medium", "Description": "EC2 instance type of the application servers." }),
    );
    t.add_resource(
        "BeanstalkInstanceRole",
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": crate::cfn::assume_role_policy("ec2.amazonaws.com"),
                "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/AWSElasticBeanstalkWebTier")],
                "Policies": [{
                    "PolicyName": "OpenEMRStackAccess",
                    "PolicyDocument": crate::cfn::policy_document(vec![
                        allow(&["s3:ListBucket"], json!([bucket_arn()])),
                        allow(&["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], json!([bucket_objects("*")])),
                        allow(&["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], json!([key_arn(o)])),
                    ])
                }]
            }),
        ),
    );
    t.add_resource(
        "BeanstalkInstanceProfile",
        resource(
            "AWS::IAM::InstanceProfile",
            json!({ "Roles": [ref_("BeanstalkInstanceRole")] }),
        ),
    );
    t.add_resource(
        "EBApplication",
        resource(
            "AWS::ElasticBeanstalk::Application",
            json!({ "Description": "OpenEMR" }),
        ),
    );
    t.add_resource(
        "EBApplicationVersion",
        resource(
            "AWS::ElasticBeanstalk::ApplicationVersion",
            json!({
                "ApplicationName": ref_("EBApplication"),
                "Description": "OpenEMR application bundle",
                "SourceBundle": { "S3Bucket": ref_("BeanstalkBundleBucket"), "S3Key": ref_("BeanstalkBundleKey") }
            }),
        ),
    );
    let mut depends = vec![
        json!("NFSBackupInstance"),
        json!("EFSMountPrivate1"),
        json!("EFSMountPrivate2"),
    ];
    if o.document_store() {
        depends.push(json!("CouchDBInstance"));
        depends.push(json!("CouchDBVolumeAttachment"));
    }
    t.add_resource(
        "EBEnvironment",
        json!({
            "Type": "AWS::ElasticBeanstalk::Environment",
            // In a recovery stack EFS must be restored before OpenEMR starts on it.
            "DependsOn": depends,
            "Properties": {
                "ApplicationName": ref_("EBApplication"),
                "Description": "OpenEMR",
                "SolutionStackName": ref_("BeanstalkPlatform"),
                "VersionLabel": ref_("EBApplicationVersion"),
                "OptionSettings": option_settings(o)
            }
        }),
    );
}

fn option(namespace: &str, name: &str, value: Value) -> Value {
    json!({ "Namespace": namespace, "OptionName": name, "Value": value })
}

fn option_settings(o: &Options) -> Vec<Value> {
    let time_zone = if o.recovery {
        get_att("RecoveryParameters", "TimeZone")
    } else {
        ref_("TimeZone")
    };
    let env = "aws:elasticbeanstalk:application:environment";
    let mut settings = vec![
        option("aws:ec2:vpc", "VPCId", ref_("VPC")),
        option(
            "aws:ec2:vpc",
            "Subnets",
            join(",", vec![ref_("PrivateSubnet1"), ref_("PrivateSubnet2")]),
        ),
        option(
            "aws:ec2:vpc",
            "ELBSubnets",
            join(",", vec![ref_("PublicSubnet1"), ref_("PublicSubnet2")]),
        ),
        option("aws:ec2:vpc", "ELBScheme", json!("public")),
        option(
            "aws:autoscaling:launchconfiguration",
            "IamInstanceProfile",
            ref_("BeanstalkInstanceProfile"),
        ),
        option(
            "aws:autoscaling:launchconfiguration",
            "SecurityGroups",
            ref_("ApplicationSecurityGroup"),
        ),
        option(
            "aws:autoscaling:launchconfiguration",
            "InstanceType",
            ref_("BeanstalkInstanceType"),
        ),
        option(
            "aws:autoscaling:launchconfiguration",
            "EC2KeyName",
            ref_("EC2KeyPair"),
        ),
        option(
            "aws:autoscaling:launchconfiguration",
            "DisableIMDSv1",
            json!("true"),
        ),
        option(
            "aws:autoscaling:asg",
            "MinSize",
            json!(if o.dual_az { "2" } else { "1" }),
        ),
        option("aws:autoscaling:asg", "MaxSize", json!("4")),
        option(
            "aws:elasticbeanstalk:environment",
            "EnvironmentType",
            json!("LoadBalanced"),
        ),
        option(
            "aws:elasticbeanstalk:environment",
            "LoadBalancerType",
            json!("classic"),
        ),
        option("aws:elb:listener:80", "ListenerProtocol", json!("HTTP")),
        option("aws:elb:listener:80", "InstancePort", json!("443")),
        option("aws:elb:listener:80", "InstanceProtocol", json!("HTTPS")),
        option(
            "aws:elb:policies:backendencryption",
            "PublicKeyPolicyNames",
            json!("backendkey"),
        ),
        option(
            "aws:elb:policies:backendencryption",
            "InstancePorts",
            json!("443"),
        ),
        option(
            "aws:elb:policies:backendkey",
            "PublicKey",
            get_att("EBCert", "PublicKey"),
        ),
        option(
            "aws:elasticbeanstalk:cloudwatch:logs",
            "StreamLogs",
            json!("true"),
        ),
        option(
            "aws:elasticbeanstalk:cloudwatch:logs",
            "RetentionInDays",
            json!("365"),
        ),
        option(env, "REDIS_IP", json!(format!("redis.{ZONE}"))),
        option(env, "FILE_SYSTEM_ID", ref_("ElasticFileSystem")),
        option(env, "NFS_HOSTNAME", json!(format!("nfs.{ZONE}"))),
        option(env, "S3BUCKET", bucket()),
        option(env, "KMSKEY", key_arn(o)),
        option(env, "TIMEZONE", time_zone),
    ];
    if o.dual_az {
        settings.push(option(env, "COUCHDBZONE", json!("dual")));
    }
    settings
}
