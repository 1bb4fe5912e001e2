//! Application: OpenEMR's official image on Elastic Beanstalk's Docker platform (Amazon Linux
//! 2023, the newest version of the branch when the environment is created), from the project's
//! bundle ([`bundle`]), behind the stack's own Application Load Balancer: HTTPS only (port 80
//! answers with a redirect and nothing else), a current TLS policy, a web application firewall
//! in front, and HTTPS again from the balancer to the instances. The image gets the real RDS
//! and ElastiCache endpoints (their certificates name them), its passwords as environment
//! secrets, and EFS as OpenEMR's `sites/`.
//!
//! The balancer is the stack's, shared with the environment (`LoadBalancerIsShared`), not one
//! Elastic Beanstalk makes: only then does the template own its listeners (the redirect, the
//! TLS policy) and its ARN (the firewall's association). An Application Load Balancer does not
//! authenticate the instances the way the original's Classic one did with `EBCert`; what
//! replaces that guarantee is in docs/endpoint.md.

pub mod bundle;
pub mod health;
pub mod platform;

use serde_json::{Value, json};

use crate::cfn::{allow, get_att, if_, join, no_value, ref_, resource, sub};
use crate::options::{CERTIFICATE_ARN_PATTERN, DOMAIN_NAME_PATTERN, Options};
use crate::stack::{bucket, bucket_arn, bucket_objects, keep_policy, key_arn};
use crate::template::Template;

/// Logical ID of the public load balancer (the alarms watch it by this name).
pub const LOAD_BALANCER: &str = "ApplicationLoadBalancer";
/// The bundle's bucket parameter (empty: `LambdaCodeBucket`) and its condition.
const BUNDLE_BUCKET: &str = "BeanstalkBundleBucket";
const BUNDLE_IN_CODE_BUCKET: &str = "BundleInCodeBucket";
/// The image parameter.
pub const IMAGE_PARAMETER: &str = "OpenEMRImage";
use platform::{PLATFORM, PLATFORM_PARAMETER, PLATFORM_RESOLVED};
/// The OpenEMR administrator's initial password (generated; README, "First login").
pub const ADMIN_SECRET: &str = "OpenEMRAdminSecret";
/// The parameter naming the clinic's DNS name of OpenEMR (the certificate's): the only host
/// the load balancer's rule forwards to the environment.
pub const DOMAIN_NAME: &str = "DomainName";
/// The TLS policy of the HTTPS listener: TLS 1.3 and 1.2 only, forward-secret ciphers.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// The AWS managed rule groups the firewall runs, in priority order.
pub const MANAGED_RULE_GROUPS: [&str; 3] = [
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
];

/// The Elastic Beanstalk application and environment (logical IDs), which the drill's stack
/// role may never change in the source stack.
pub const EB_APPLICATION: &str = "EBApplication";
pub const EB_ENVIRONMENT: &str = "EBEnvironment";

pub fn add(t: &mut Template, o: &Options) {
    add_parameters(t, o);
    add_secrets(t, o);
    platform::add(t, o);
    add_instance_role(t, o);
    add_load_balancer(t, o);
    // A drill's balancer is internal: no firewall, no alarms on what clinicians meet.
    if !o.drill {
        add_firewall(t);
        add_endpoint_alarms(t);
    }
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
    let mut depends = vec![
        json!("NFSBackupInstance"),
        json!("EFSMountPrivate1"),
        json!("EFSMountPrivate2"),
        json!(rule_listener(o).0),
    ];
    if o.document_store() {
        depends.push(json!("CouchDBInstance"));
        depends.push(json!("CouchDBVolumeAttachment"));
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

fn add_load_balancer(t: &mut Template, o: &Options) {
    if o.drill {
        add_drill_load_balancer(t);
        return;
    }
    t.add_resource(
        "LoadBalancerSecurityGroup",
        resource(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": "OpenEMR public load balancer: HTTPS, and HTTP for the redirect only",
                "VpcId": ref_("VPC"),
                // Inline, so that it replaces the default allow-all egress.
                "SecurityGroupEgress": [
                    { "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationSecurityGroupId": ref_("ApplicationSecurityGroup"), "Description": "HTTPS to the application servers (requests and health checks)" }
                ],
                "Tags": [crate::cfn::name_tag("load-balancer")]
            }),
        ),
    );
    for (id, port, description) in [
        ("LoadBalancerHTTPSIngress", 443, "HTTPS from the internet"),
        (
            "LoadBalancerHTTPIngress",
            80,
            "HTTP from the internet: answered with a redirect to HTTPS",
        ),
    ] {
        t.add_resource(
            id,
            resource(
                "AWS::EC2::SecurityGroupIngress",
                json!({
                    "GroupId": ref_("LoadBalancerSecurityGroup"),
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "CidrIp": "0.0.0.0/0",
                    "Description": description
                }),
            ),
        );
    }
    t.add_resource(
        LOAD_BALANCER,
        json!({
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": [ref_("PublicSubnet1"), ref_("PublicSubnet2")],
                "SecurityGroups": [ref_("LoadBalancerSecurityGroup")],
                // A production stack's endpoint is not deleted by a stray console click.
                "LoadBalancerAttributes": balancer_attributes(!o.dev),
                "Tags": [crate::cfn::name_tag("load-balancer")]
            }
        }),
    );
    t.add_resource(
        "HTTPListener",
        resource(
            "AWS::ElasticLoadBalancingV2::Listener",
            json!({
                "LoadBalancerArn": ref_(LOAD_BALANCER),
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": [{
                    "Type": "redirect",
                    "RedirectConfig": { "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301" }
                }]
            }),
        ),
    );
    t.add_resource(
        "HTTPSListener",
        resource(
            "AWS::ElasticLoadBalancingV2::Listener",
            json!({
                "LoadBalancerArn": ref_(LOAD_BALANCER),
                "Port": 443,
                "Protocol": "HTTPS",
                "SslPolicy": TLS_POLICY,
                "Certificates": [{ "CertificateArn": ref_("CertificateArn") }],
                // Elastic Beanstalk adds the rule that forwards DomainName to OpenEMR; any
                // other host is 404.
                "DefaultActions": [{
                    "Type": "fixed-response",
                    "FixedResponseConfig": { "StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not found" }
                }]
            }),
        ),
    );
}

/// The attributes of the stack's balancer, public or a drill's: requests with malformed
/// headers never reach OpenEMR, and the idle timeout is set here because Elastic Beanstalk
/// takes no balancer settings for a shared one.
fn balancer_attributes(deletion_protection: bool) -> Value {
    json!([
        { "Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true" },
        { "Key": "routing.http.desync_mitigation_mode", "Value": "strictest" },
        { "Key": "idle_timeout.timeout_seconds", "Value": IDLE_TIMEOUT_SECONDS.to_string() },
        { "Key": "deletion_protection.enabled", "Value": deletion_protection.to_string() }
    ])
}

/// The balancer of a drill stack: internal, in the private subnets, reachable only from the
/// drill's verifier, and serving OpenEMR on plain HTTP (port 80 forwards through Elastic
/// Beanstalk's listener rule; there is no certificate for an internal name). Behind it the
/// instances still serve HTTPS, as in every stack.
fn add_drill_load_balancer(t: &mut Template) {
    use crate::stack::DATA_SECURITY_GROUP;
    t.add_resource(
        "LoadBalancerSecurityGroup",
        resource(
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": "OpenEMR drill load balancer: HTTP from the drill verifier only",
                "VpcId": ref_("VPC"),
                "SecurityGroupEgress": [
                    { "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationSecurityGroupId": ref_("ApplicationSecurityGroup"), "Description": "HTTPS to the application servers (requests and health checks)" }
                ],
                "Tags": [crate::cfn::name_tag("load-balancer")]
            }),
        ),
    );
    t.add_resource(
        "LoadBalancerHTTPIngress",
        crate::cfn::ingress_from_group(
            "LoadBalancerSecurityGroup",
            80,
            DATA_SECURITY_GROUP,
            "HTTP from the drill's verifier (the login page check)",
        ),
    );
    t.add_resource(
        LOAD_BALANCER,
        json!({
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Type": "application",
                "Scheme": "internal",
                "Subnets": [ref_("PrivateSubnet1"), ref_("PrivateSubnet2")],
                "SecurityGroups": [ref_("LoadBalancerSecurityGroup")],
                "LoadBalancerAttributes": balancer_attributes(false),
                "Tags": [crate::cfn::name_tag("load-balancer")]
            }
        }),
    );
    t.add_resource(
        "HTTPListener",
        resource(
            "AWS::ElasticLoadBalancingV2::Listener",
            json!({
                "LoadBalancerArn": ref_(LOAD_BALANCER),
                "Port": 80,
                "Protocol": "HTTP",
                // Elastic Beanstalk adds the rule that forwards to OpenEMR; anything else is 404.
                "DefaultActions": [{
                    "Type": "fixed-response",
                    "FixedResponseConfig": { "StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not found" }
                }]
            }),
        ),
    );
}

/// The URL of OpenEMR's login page in a drill stack (inside its network, plain HTTP).
pub fn drill_application_url() -> Value {
    sub(&format!("http://${{{LOAD_BALANCER}.DNSName}}{LOGIN_PATH}"))
}

/// OpenEMR's login page in the official image, whose document root is OpenEMR itself.
pub const LOGIN_PATH: &str = "/interface/login/login.php?site=default";
/// The balancer's health check: the login page (site `default` when none is named). The
/// image starts Apache only once OpenEMR is installed, and the page needs PHP and the site's
/// configuration: it answers 200 only when OpenEMR does.
pub const HEALTH_CHECK_PATH: &str = "/interface/login/login.php";

/// The firewall: AWS's managed rule groups and a per-IP rate limit, blocking or (parameter)
/// only counting.
fn add_firewall(t: &mut Template) {
    let blocks_or_counts =
        |blocking: Value, counting: Value| if_("WebFirewallBlocks", blocking, counting);
    let mut rules: Vec<Value> = MANAGED_RULE_GROUPS
        .iter()
        .enumerate()
        .map(|(priority, group)| {
            let mut statement = json!({ "VendorName": "AWS", "Name": group });
            if *group == "AWSManagedRulesCommonRuleSet" {
                // The common set blocks request bodies over 8 KB: every document a clinician
                // uploads. SQL injection and bad inputs in bodies are still inspected.
                statement["RuleActionOverrides"] =
                    json!([{ "Name": "SizeRestrictions_BODY", "ActionToUse": { "Count": {} } }]);
            }
            json!({
                "Name": group,
                "Priority": priority,
                "Statement": { "ManagedRuleGroupStatement": statement },
                "OverrideAction": blocks_or_counts(json!({ "None": {} }), json!({ "Count": {} })),
                "VisibilityConfig": visibility(group)
            })
        })
        .collect();
    rules.push(json!({
        "Name": "RequestRatePerIP",
        "Priority": MANAGED_RULE_GROUPS.len(),
        "Statement": { "RateBasedStatement": { "Limit": ref_("WebRequestRateLimit"), "AggregateKeyType": "IP" } },
        "Action": blocks_or_counts(json!({ "Block": {} }), json!({ "Count": {} })),
        "VisibilityConfig": visibility("RequestRatePerIP")
    }));
    t.add_resource(
        "WebACL",
        resource(
            "AWS::WAFv2::WebACL",
            json!({
                "Description": sub("OpenEMR ${AWS::StackName}: public endpoint"),
                "Scope": "REGIONAL",
                "DefaultAction": { "Allow": {} },
                "Rules": rules,
                "VisibilityConfig": visibility("OpenEMR")
            }),
        ),
    );
    // Its log: what was blocked and why. Cookies, the Authorization header and query strings
    // (OpenEMR puts patient ids in them) are redacted: no session or patient data in logs.
    t.add_resource(
        "WebACLLogGroup",
        crate::stack::log_group(Some(sub("aws-waf-logs-${AWS::StackName}"))),
    );
    t.add_resource(
        "WebACLLogging",
        resource(
            "AWS::WAFv2::LoggingConfiguration",
            json!({
                "ResourceArn": crate::cfn::get_att("WebACL", "Arn"),
                // The group's ARN without the `:*` its Arn attribute ends with.
                "LogDestinationConfigs": [sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${WebACLLogGroup}")],
                "RedactedFields": [
                    { "SingleHeader": { "Name": "cookie" } },
                    { "SingleHeader": { "Name": "authorization" } },
                    { "QueryString": {} }
                ]
            }),
        ),
    );
    t.add_resource(
        "WebACLAssociation",
        resource(
            "AWS::WAFv2::WebACLAssociation",
            json!({ "ResourceArn": ref_(LOAD_BALANCER), "WebACLArn": crate::cfn::get_att("WebACL", "Arn") }),
        ),
    );
}

/// Alarms on what a clinician meets at the door: server errors, slow answers, and the
/// certificate running out (an imported one does not renew itself). Thresholds are parameters.
fn add_endpoint_alarms(t: &mut Template) {
    use crate::stack::ALERT_TOPIC;
    t.add_parameter(
        "AlarmApplicationErrors",
        json!({ "Type": "Number", "Default": 10, "MinValue": 1, "Description": "Alarm when the application (or the load balancer) answers more than this many 5xx errors in 5 minutes." }),
    );
    t.add_parameter(
        "AlarmApplicationLatencySeconds",
        json!({ "Type": "Number", "Default": 3, "MinValue": 1, "MaxValue": 60, "Description": "Alarm when the 95th percentile of the application's response time stays above this many seconds for 15 minutes." }),
    );
    t.add_parameter(
        "AlarmCertificateExpiryDays",
        json!({ "Type": "Number", "Default": 30, "MinValue": 1, "MaxValue": 365, "Description": "Alarm when the load balancer's certificate expires in fewer days than this (ACM renews the certificates it issued; imported ones are yours to replace)." }),
    );
    let load_balancer = json!([{ "Name": "LoadBalancer", "Value": crate::cfn::get_att(LOAD_BALANCER, "LoadBalancerFullName") }]);
    let alarm = |description: &str, metric: &str, extra: Value| {
        let mut properties = json!({
            "AlarmDescription": sub(description),
            "Namespace": "AWS/ApplicationELB",
            "MetricName": metric,
            "Dimensions": load_balancer.clone(),
            "Period": 300,
            // No requests, no data: not an outage by itself (the health alarm covers that).
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref_(ALERT_TOPIC)],
            "OKActions": [ref_(ALERT_TOPIC)]
        });
        if let (Some(all), Value::Object(more)) = (properties.as_object_mut(), extra) {
            all.extend(more);
        }
        resource("AWS::CloudWatch::Alarm", properties)
    };
    t.add_resource(
        "ApplicationErrorsAlarm",
        alarm(
            "OpenEMR (${AWS::StackName}) answered more than AlarmApplicationErrors 5xx errors in 5 minutes: the application servers fail requests.",
            "HTTPCode_Target_5XX_Count",
            json!({ "Statistic": "Sum", "EvaluationPeriods": 1, "Threshold": ref_("AlarmApplicationErrors"), "ComparisonOperator": "GreaterThanThreshold" }),
        ),
    );
    t.add_resource(
        "LoadBalancerErrorsAlarm",
        alarm(
            "The load balancer of OpenEMR (${AWS::StackName}) answered more than AlarmApplicationErrors 5xx errors itself in 5 minutes: no healthy application server, or none reachable.",
            "HTTPCode_ELB_5XX_Count",
            json!({ "Statistic": "Sum", "EvaluationPeriods": 1, "Threshold": ref_("AlarmApplicationErrors"), "ComparisonOperator": "GreaterThanThreshold" }),
        ),
    );
    t.add_resource(
        "ApplicationLatencyAlarm",
        alarm(
            "OpenEMR (${AWS::StackName}) is slow: the 95th percentile of its response time stayed above AlarmApplicationLatencySeconds for 15 minutes.",
            "TargetResponseTime",
            json!({ "ExtendedStatistic": "p95", "EvaluationPeriods": 3, "Threshold": ref_("AlarmApplicationLatencySeconds"), "ComparisonOperator": "GreaterThanThreshold" }),
        ),
    );
    t.add_resource(
        "CertificateExpiryAlarm",
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": sub("The HTTPS certificate of OpenEMR (${AWS::StackName}) expires in fewer than AlarmCertificateExpiryDays days: renew or re-import it, then update CertificateArn if it changed."),
                "Namespace": "AWS/CertificateManager",
                "MetricName": "DaysToExpiry",
                "Dimensions": [{ "Name": "CertificateArn", "Value": ref_("CertificateArn") }],
                "Statistic": "Minimum",
                "Period": 86400,
                "EvaluationPeriods": 1,
                "Threshold": ref_("AlarmCertificateExpiryDays"),
                "ComparisonOperator": "LessThanThreshold",
                // ACM publishes the metric daily; a missing day is not an expiry.
                "TreatMissingData": "notBreaching",
                "AlarmActions": [ref_(ALERT_TOPIC)],
                "OKActions": [ref_(ALERT_TOPIC)]
            }
        }),
    );
}

fn visibility(metric: &str) -> Value {
    json!({ "SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": metric })
}

fn option(namespace: &str, name: &str, value: Value) -> Value {
    json!({ "Namespace": namespace, "OptionName": name, "Value": value })
}

/// Security patches within the platform branch, in the weekly maintenance window; minor
/// versions too, since a new Docker version raises the branch's minor version. Elastic
/// Beanstalk's managed-updates service-linked role does it (it creates the role if the account
/// has none; the stack's `BeanstalkServiceRole` holds enhanced health's reads only). A drill's
/// environment lives an hour and gets none.
fn managed_updates() -> Vec<Value> {
    let actions = "aws:elasticbeanstalk:managedactions";
    vec![
        option(actions, "ManagedActionsEnabled", json!("true")),
        option(
            actions,
            "PreferredStartTime",
            crate::components::backup_schedule::platform_update_window(),
        ),
        option(
            actions,
            "ServiceRoleForManagedUpdates",
            json!("AWSServiceRoleForElasticBeanstalkManagedUpdates"),
        ),
        option(
            "aws:elasticbeanstalk:managedactions:platformupdate",
            "UpdateLevel",
            json!("minor"),
        ),
    ]
}

/// How long Elastic Beanstalk waits for a deployment (its range is 1-3600 s; it adds 240).
pub const DEPLOYMENT_TIMEOUT_SECONDS: u32 = 3600;
/// A drill's: its site is restored, so no install runs (image pull and start only).
pub const DRILL_DEPLOYMENT_TIMEOUT_SECONDS: u32 = 1200;
/// How long the balancer keeps an idle connection: long reports answer after minutes.
pub const IDLE_TIMEOUT_SECONDS: u32 = 300;

const ENVIRONMENT: &str = "aws:elasticbeanstalk:application:environment";
const ENVIRONMENT_SECRETS: &str = "aws:elasticbeanstalk:application:environmentsecrets";

/// What the bundle reads from the environment (its [`bundle::CONTAINER_VARIABLES`] and
/// [`bundle::HOOK_VARIABLES`]): the real RDS and ElastiCache endpoints (their certificates
/// name them, not the stack's private-zone CNAMEs), and, where a first install can happen,
/// the passwords as environment secrets: the ARN of the secret (and its JSON key) is in the
/// template, its value only on the instances. A recovery or drill stack restores a configured
/// site, so it gives no install credentials at all.
fn application_environment(o: &Options) -> Vec<Value> {
    use crate::components::database::{MASTER_USER, SCHEMA};
    use bundle::hook;
    let mut settings = vec![
        option(ENVIRONMENT, "OPENEMR_IMAGE", ref_(IMAGE_PARAMETER)),
        option(
            ENVIRONMENT,
            "MYSQL_HOST",
            get_att(crate::components::database::DB_INSTANCE, "Endpoint.Address"),
        ),
        option(
            ENVIRONMENT,
            "MYSQL_PORT",
            get_att(crate::components::database::DB_INSTANCE, "Endpoint.Port"),
        ),
        option(ENVIRONMENT, "MYSQL_DATABASE", json!(SCHEMA)),
        option(
            ENVIRONMENT,
            "REDIS_SERVER",
            get_att(
                crate::components::redis::REPLICATION_GROUP,
                "PrimaryEndPoint.Address",
            ),
        ),
        option(ENVIRONMENT, hook::EFS_ID, ref_("ElasticFileSystem")),
        option(ENVIRONMENT, hook::BUCKET, bucket()),
        option(ENVIRONMENT, hook::REGION, ref_("AWS::Region")),
        option(
            ENVIRONMENT,
            hook::RDS_CA_URL,
            sub(
                "https://truststore.pki.rds.amazonaws.com/${AWS::Region}/${AWS::Region}-bundle.pem",
            ),
        ),
        option(
            ENVIRONMENT,
            hook::SITE_REQUIRED,
            json!(o.recovery.to_string()),
        ),
    ];
    if !o.recovery {
        let master_password = sub("${DatabaseSecret}:password");
        settings.extend([
            option(ENVIRONMENT, "MYSQL_ROOT_USER", json!(MASTER_USER)),
            option(ENVIRONMENT, "MYSQL_USER", json!(MASTER_USER)),
            option(ENVIRONMENT, "OE_USER", json!(bundle::ADMIN_USER)),
            option(
                ENVIRONMENT_SECRETS,
                "MYSQL_ROOT_PASS",
                master_password.clone(),
            ),
            option(ENVIRONMENT_SECRETS, "MYSQL_PASS", master_password),
            option(ENVIRONMENT_SECRETS, "OE_PASS", ref_(ADMIN_SECRET)),
        ]);
    }
    settings
}

/// The secrets the application servers read where a first install can happen: the database's
/// master password (the database component's secret) and the OpenEMR administrator's
/// ([`add_secrets`]).
fn install_secrets() -> Vec<Value> {
    vec![ref_("DatabaseSecret"), ref_(ADMIN_SECRET)]
}

/// The OpenEMR administrator's initial password, generated: letters and digits only, since
/// the image's installer splits its arguments on `=` and spaces. None where no install
/// happens (recovery, drill).
fn add_secrets(t: &mut Template, o: &Options) {
    if o.recovery {
        return;
    }
    t.add_resource(
        ADMIN_SECRET,
        json!({
            "Type": "AWS::SecretsManager::Secret",
            // Kept like the database's: a site restored from this stack's backups still has
            // this administrator until someone changes the password.
            "DeletionPolicy": keep_policy(o, "Retain"),
            "UpdateReplacePolicy": keep_policy(o, "Retain"),
            "Properties": {
                "Description": sub("OpenEMR ${AWS::StackName}: the initial password of OpenEMR's administrator (user admin); change it at the first login"),
                "KmsKeyId": key_arn(o),
                "GenerateSecretString": { "PasswordLength": 24, "ExcludePunctuation": true, "IncludeSpace": false }
            }
        }),
    );
}

/// Name of the environment's listener rule (`aws:elbv2:listenerrule:<name>`).
const LISTENER_RULE: &str = "openemr";

/// The listener Elastic Beanstalk adds the environment's rule to (logical ID, port): HTTPS,
/// or in a drill the internal balancer's plain HTTP.
fn rule_listener(o: &Options) -> (&'static str, u16) {
    if o.drill {
        ("HTTPListener", 80)
    } else {
        ("HTTPSListener", 443)
    }
}

/// The host the environment's rule forwards: the clinic's name, or in a drill the internal
/// balancer's own DNS name, which the drill's verifier requests
/// ([`drill_application_url`]).
fn rule_host(o: &Options) -> Value {
    if o.drill {
        get_att(LOAD_BALANCER, "DNSName")
    } else {
        ref_(DOMAIN_NAME)
    }
}

/// The environment's rule on the shared balancer (Elastic Beanstalk developer guide,
/// "Configuring a shared Application Load Balancer"): on one listener only, so the other keeps
/// its own default action (port 80's redirect); for one host, since without `HostHeaders`
/// Elastic Beanstalk matches the environment's CNAME, which nobody requests. There is no
/// `aws:elbv2:listener:default` (it does not apply to shared balancers), and none of this can
/// change once the environment exists.
fn listener_settings(o: &Options) -> Vec<Value> {
    let rule = format!("aws:elbv2:listenerrule:{LISTENER_RULE}");
    let (_, port) = rule_listener(o);
    vec![
        option(
            &format!("aws:elbv2:listener:{port}"),
            "Rules",
            json!(LISTENER_RULE),
        ),
        option(&rule, "HostHeaders", rule_host(o)),
        option(&rule, "PathPatterns", json!("/*")),
        option(&rule, "Process", json!("default")),
        option(&rule, "Priority", json!("1")),
    ]
}

fn option_settings(o: &Options) -> Vec<Value> {
    let mut settings = vec![
        option("aws:ec2:vpc", "VPCId", ref_("VPC")),
        option(
            "aws:ec2:vpc",
            "Subnets",
            join(",", vec![ref_("PrivateSubnet1"), ref_("PrivateSubnet2")]),
        ),
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
            json!("application"),
        ),
        option(
            "aws:elasticbeanstalk:environment",
            "LoadBalancerIsShared",
            json!("true"),
        ),
        option(
            "aws:elbv2:loadbalancer",
            "SharedLoadBalancer",
            ref_(LOAD_BALANCER),
        ),
        // The balancer's own group, so that Elastic Beanstalk attaches no group of its own
        // (it does to a shared balancer unless this is set).
        option(
            "aws:elbv2:loadbalancer",
            "SecurityGroups",
            ref_("LoadBalancerSecurityGroup"),
        ),
        // The instances serve HTTPS (the stack CA's beanstalk certificate): traffic from the
        // balancer to them is encrypted too.
        option(
            "aws:elasticbeanstalk:environment:process:default",
            "Port",
            json!("443"),
        ),
        option(
            "aws:elasticbeanstalk:environment:process:default",
            "Protocol",
            json!("HTTPS"),
        ),
        option(
            "aws:elasticbeanstalk:environment:process:default",
            "HealthCheckPath",
            json!(HEALTH_CHECK_PATH),
        ),
        option(
            "aws:elasticbeanstalk:environment:process:default",
            "MatcherHTTPCode",
            // Not a redirect (to the setup wizard, say): the login page itself.
            json!("200"),
        ),
    ];
    settings.extend(listener_settings(o));
    settings.extend([
        option(
            "aws:elasticbeanstalk:cloudwatch:logs",
            "StreamLogs",
            json!("true"),
        ),
        option(
            "aws:elasticbeanstalk:cloudwatch:logs",
            "RetentionInDays",
            ref_(crate::stack::RETENTION_PARAMETER),
        ),
        // A first install (schema, then the image pull) takes longer than the 10 minutes
        // Elastic Beanstalk waits for a deployment by default.
        option(
            "aws:elasticbeanstalk:command",
            "Timeout",
            json!(
                if o.drill {
                    DRILL_DEPLOYMENT_TIMEOUT_SECONDS
                } else {
                    DEPLOYMENT_TIMEOUT_SECONDS
                }
                .to_string()
            ),
        ),
    ]);
    if !o.drill {
        settings.extend(managed_updates());
    }
    settings.extend(application_environment(o));
    // Enhanced health, publishing the EnvironmentHealth metric the health alarm watches.
    settings.extend(health::option_settings());
    settings
}
