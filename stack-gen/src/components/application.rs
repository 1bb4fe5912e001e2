//! Application: OpenEMR's official image on Elastic Beanstalk's Docker platform (Amazon Linux
//! 2023, the newest version of the branch when the environment is created), from the project's
//! bundle ([`bundle`]), behind the stack's own Application Load Balancer: HTTPS only (port 80
//! answers with a redirect and nothing else), a current TLS policy, a web application firewall
//! in front, and HTTPS again from the balancer to the instances. The image gets the real RDS
//! and ElastiCache endpoints (their certificates name them), its passwords as environment
//! secrets, and EFS as OpenEMR's `sites/`.
//!
//! [`endpoint`] writes the balancer, its firewall and alarms; [`environment`] what the
//! environment is given (option settings, variables, secrets); this module the parameters,
//! the instances' role, and the application, its version and environment.
//!
//! The balancer is the stack's, shared with the environment (`LoadBalancerIsShared`), not one
//! Elastic Beanstalk makes: only then does the template own its listeners (the redirect, the
//! TLS policy) and its ARN (the firewall's association). An Application Load Balancer does not
//! authenticate the instances the way the original's Classic one did with `EBCert`; what
//! replaces that guarantee is in docs/endpoint.md.

pub mod bundle;
pub mod endpoint;
pub mod environment;
pub mod health;
pub mod platform;

use serde_json::{Value, json};

use crate::cfn::{allow, get_att, if_, no_value, ref_, resource, sub};
use crate::options::{CERTIFICATE_ARN_PATTERN, DOMAIN_NAME_PATTERN, Options};
use crate::stack::{bucket_arn, bucket_objects, key_arn};
use crate::template::Template;

/// The bundle's bucket parameter (empty: `LambdaCodeBucket`) and its condition.
const BUNDLE_BUCKET: &str = "BeanstalkBundleBucket";
const BUNDLE_IN_CODE_BUCKET: &str = "BundleInCodeBucket";

pub use endpoint::{
    HEALTH_CHECK_PATH, IDLE_TIMEOUT_SECONDS, LOAD_BALANCER, LOGIN_PATH, MANAGED_RULE_GROUPS,
    TLS_POLICY, drill_application_url,
};
pub use environment::{
    ADMIN_SECRET, DEPLOYMENT_TIMEOUT_SECONDS, DOMAIN_NAME, DRILL_DEPLOYMENT_TIMEOUT_SECONDS,
    IMAGE_PARAMETER,
};
use environment::{add_secrets, install_secrets, option_settings, rule_listener};
use platform::{PLATFORM, PLATFORM_PARAMETER, PLATFORM_RESOLVED};

/// The Elastic Beanstalk application and environment (logical IDs), which the drill's stack
/// role may never change in the source stack.
pub const EB_APPLICATION: &str = "EBApplication";
pub const EB_ENVIRONMENT: &str = "EBEnvironment";

pub fn add(t: &mut Template, o: &Options) {
    add_parameters(t, o);
    add_secrets(t, o);
    platform::add(t, o);
    add_instance_role(t, o);
    endpoint::add(t, o);
    t.add_resource(
        EB_APPLICATION,
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
                "ApplicationName": ref_(EB_APPLICATION),
                "Description": "OpenEMR application bundle",
                "SourceBundle": {
                    "S3Bucket": if_(BUNDLE_IN_CODE_BUCKET, ref_("LambdaCodeBucket"), ref_(BUNDLE_BUCKET)),
                    "S3Key": ref_("BeanstalkBundleKey")
                }
            }),
        ),
    );
    use crate::components::{document_store, efs, nfs_backup};
    let mut depends = vec![json!(nfs_backup::INSTANCE)];
    depends.extend(efs::MOUNT_TARGETS.map(|id| json!(id)));
    depends.push(json!(rule_listener(o).0));
    if o.document_store() {
        depends.push(json!(document_store::PRIMARY_NODE));
        depends.push(json!(document_store::attachment(
            stack_contract::volumes::PRIMARY
        )));
    }
    let mut properties = json!({
        "ApplicationName": ref_(EB_APPLICATION),
        "Description": "OpenEMR",
        "SolutionStackName": if_(PLATFORM_RESOLVED, no_value(), ref_(PLATFORM_PARAMETER)),
        "PlatformArn": if_(PLATFORM_RESOLVED, get_att(PLATFORM, stack_contract::platform_resolver::attributes::PLATFORM_ARN), no_value()),
        "VersionLabel": ref_("EBApplicationVersion"),
        "OptionSettings": option_settings(o)
    });
    // No name of ours outside a drill: the platform (SolutionStackName, create-only) and the
    // shared balancer's rules change only by replacing the environment, and CloudFormation
    // creates the replacement before it deletes the old one, which a fixed name forbids. The
    // drill's name is how its teardown finds what it left.
    if o.drill {
        properties["EnvironmentName"] = crate::stack::drill_resource_name(None);
    }
    t.add_resource(
        EB_ENVIRONMENT,
        json!({
            "Type": "AWS::ElasticBeanstalk::Environment",
            // In a recovery stack EFS must be restored before OpenEMR starts on it; the shared
            // balancer's listener must exist before Elastic Beanstalk adds its rule to it.
            "DependsOn": depends,
            "Properties": properties
        }),
    );
}

fn add_parameters(t: &mut Template, o: &Options) {
    t.add_parameter(
        BUNDLE_BUCKET,
        json!({
            "Type": "String",
            "Default": "",
            "Description": "S3 bucket (in the stack's region) of the application bundle. Empty: the project's bundle, which `stack-ops package` uploads beside the Lambda zips in LambdaCodeBucket.",
            "AllowedPattern": "^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$",
            "ConstraintDescription": "an S3 bucket name, or empty for LambdaCodeBucket"
        }),
    );
    t.add_condition(
        BUNDLE_IN_CODE_BUCKET,
        json!({ "Fn::Equals": [ref_(BUNDLE_BUCKET), ""] }),
    );
    t.add_parameter(
        "BeanstalkBundleKey",
        json!({ "Type": "String", "Default": o.beanstalk_key(), "MinLength": 1, "Description": "S3 key of the application bundle: the project's (what `stack-ops package` uploaded), or --beanstalk-key's." }),
    );
    t.add_parameter(
        IMAGE_PARAMETER,
        json!({
            "Type": "String",
            "Default": bundle::DEFAULT_IMAGE,
            "AllowedPattern": "^[a-z0-9][a-z0-9._/:-]*(@sha256:[a-f0-9]{64})?$",
            "ConstraintDescription": "an image reference, e.g. openemr/openemr:8.0.0.3-2026-03-25 or <account>.dkr.ecr.<region>.amazonaws.com/openemr:8.0.0.3",
            "Description": "OpenEMR's container image: the project's official one, pinned (README, \"The application\", for mirroring it into your own ECR). A newer release upgrades the site on the next deployment (the image's own upgrade)."
        }),
    );
    t.add_parameter(
        "BeanstalkInstanceType",
        json!({ "Type": "String", "Default": "t3.medium", "Description": "EC2 instance type of the application servers." }),
    );
    if o.drill {
        return;
    }
    let mut certificate = json!({
        "Type": "String",
        "AllowedPattern": format!("^{CERTIFICATE_ARN_PATTERN}$"),
        "ConstraintDescription": "an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<id>, in the stack's region (for a trial without a domain, import a self-signed certificate for a test name into ACM: README, \"The domain and its certificate\")",
        "Description": "ACM certificate (in the stack's region) for DomainName: the load balancer serves HTTPS with it. Required: the balancer's rule for OpenEMR cannot be added later. --certificate-arn sets the default."
    });
    if let Some(arn) = &o.certificate_arn {
        certificate["Default"] = json!(arn);
    }
    t.add_parameter("CertificateArn", certificate);
    let mut domain = json!({
        "Type": "String",
        "AllowedPattern": format!("^{DOMAIN_NAME_PATTERN}$"),
        "ConstraintDescription": "a DNS name such as openemr.clinic.example (no scheme, port or path)",
        "Description": "The clinic's DNS name of OpenEMR, one the certificate covers: the load balancer forwards requests for this host (and only it) to OpenEMR. Point it at the LoadBalancerDNSName output. Changing it replaces the Elastic Beanstalk environment. --domain-name sets the default."
    });
    if let Some(name) = &o.domain_name {
        domain["Default"] = json!(name);
    }
    t.add_parameter(DOMAIN_NAME, domain);
    t.add_parameter(
        "WebFirewallMode",
        json!({
            "Type": "String",
            "Default": "block",
            "AllowedValues": ["block", "count"],
            "Description": "block: the web application firewall blocks what its rules match. count: it only counts (metrics and sampled requests in the WAF console), to try the rules on live traffic first."
        }),
    );
    t.add_parameter(
        "WebRequestRateLimit",
        json!({
            "Type": "Number",
            "Default": 2000,
            "MinValue": 100,
            "MaxValue": 2000000000,
            "Description": "Requests one client IP may make in any 5 minutes before the firewall blocks (or counts) it. A clinic behind one NAT address is one IP: raise this for large sites."
        }),
    );
    t.add_condition(
        "WebFirewallBlocks",
        json!({ "Fn::Equals": [ref_("WebFirewallMode"), "block"] }),
    );
}

fn add_instance_role(t: &mut Template, o: &Options) {
    t.add_resource(
        "BeanstalkInstanceRole",
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": crate::cfn::assume_role_policy("ec2.amazonaws.com"),
                "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/AWSElasticBeanstalkWebTier")],
                "Policies": [{
                    "PolicyName": "OpenEMRStackAccess",
                    "PolicyDocument": crate::cfn::policy_document(web_tier_statements(o))
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
}

/// The internet-facing tier reads only what serving OpenEMR needs, and writes nothing: its
/// own TLS certificate and key, the CA certificate (to trust CouchDB), with a document store
/// CouchDB's admin password, and where a first install can happen the two passwords it
/// needs. Nothing under `CA/keys` but its own key, nothing under `Backup/` or `recovery/`,
/// no trail logs, no deletes.
fn web_tier_statements(o: &Options) -> Vec<Value> {
    use crate::components::certs::{BEANSTALK_CERT_KEY, CA_CERT_KEY, WEB_TIER_KEY};
    let mut objects = vec![
        bucket_objects(BEANSTALK_CERT_KEY),
        bucket_objects(WEB_TIER_KEY),
        bucket_objects(CA_CERT_KEY),
    ];
    if o.document_store() {
        objects.push(bucket_objects(
            crate::components::document_store::ADMIN_PASSWORD_KEY,
        ));
    }
    let mut statements = crate::stack::list_bucket(bucket_arn(), &["CA/certs/*"]);
    statements.extend([
        health::instance_statement(),
        allow(&["s3:GetObject"], json!(objects)),
    ]);
    let mut services = vec![sub("s3.${AWS::Region}.amazonaws.com")];
    if !o.recovery {
        // Elastic Beanstalk reads the environment's secrets with the instance profile when an
        // instance boots (developer guide, "IAM permissions for secrets").
        statements.push(allow(
            &["secretsmanager:GetSecretValue"],
            json!(install_secrets()),
        ));
        services.push(sub("secretsmanager.${AWS::Region}.amazonaws.com"));
    }
    statements.push(json!({
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [key_arn(o)],
        "Condition": { "StringEquals": { "kms:ViaService": services } }
    }));
    statements
}
