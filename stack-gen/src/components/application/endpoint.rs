//! The public endpoint: the stack's own Application Load Balancer (HTTPS only, a current TLS
//! policy, port 80 answering with a redirect), the web application firewall in front of it,
//! and the endpoint's alarms; in a drill, an internal balancer with neither. See
//! docs/endpoint.md.

use serde_json::{Value, json};

use crate::cfn::{if_, ref_, resource, sub};
use crate::options::Options;
use crate::template::Template;

/// Logical ID of the public load balancer (the alarms watch it by this name).
pub const LOAD_BALANCER: &str = "ApplicationLoadBalancer";
/// How long the balancer keeps an idle connection: long reports answer after minutes.
pub const IDLE_TIMEOUT_SECONDS: u32 = 300;
/// The TLS policy of the HTTPS listener: TLS 1.3 and 1.2 only, forward-secret ciphers.
pub const TLS_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/// The AWS managed rule groups the firewall runs, in priority order.
pub const MANAGED_RULE_GROUPS: [&str; 3] = [
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
];

/// The balancer, and outside a drill its firewall and alarms (a drill's balancer is
/// internal: no firewall, no alarms on what clinicians meet).
pub(super) fn add(t: &mut Template, o: &Options) {
    add_load_balancer(t, o);
    if !o.drill {
        add_firewall(t);
        add_endpoint_alarms(t);
    }
}

fn add_load_balancer(t: &mut Template, o: &Options) {
    if o.drill {
        add_drill_load_balancer(t);
        return;
    }
    t.add_resource(
        "LoadBalancerSecurityGroup",
        security_group("OpenEMR public load balancer: HTTPS, and HTTP for the redirect only"),
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
    // A production stack's endpoint is not deleted by a stray console click.
    t.add_resource(LOAD_BALANCER, load_balancer(false, !o.dev));
    t.add_resource(
        "HTTPListener",
        http_listener(json!({
            "Type": "redirect",
            "RedirectConfig": { "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301" }
        })),
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

/// The balancer: internet-facing in the public subnets, or internal (a drill's) in the
/// private ones.
fn load_balancer(internal: bool, deletion_protection: bool) -> Value {
    let (scheme, subnets) = if internal {
        ("internal", ["PrivateSubnet1", "PrivateSubnet2"])
    } else {
        ("internet-facing", ["PublicSubnet1", "PublicSubnet2"])
    };
    json!({
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {
            "Type": "application",
            "Scheme": scheme,
            "Subnets": subnets.map(ref_),
            "SecurityGroups": [ref_("LoadBalancerSecurityGroup")],
            "LoadBalancerAttributes": balancer_attributes(deletion_protection),
            "Tags": [crate::cfn::name_tag("load-balancer")]
        }
    })
}

/// The balancer's security group: out, HTTPS to the application servers only (inline, so that
/// it replaces the default allow-all egress); in, as each balancer adds.
fn security_group(description: &str) -> Value {
    resource(
        "AWS::EC2::SecurityGroup",
        json!({
            "GroupDescription": description,
            "VpcId": ref_("VPC"),
            "SecurityGroupEgress": [
                { "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationSecurityGroupId": ref_("ApplicationSecurityGroup"), "Description": "HTTPS to the application servers (requests and health checks)" }
            ],
            "Tags": [crate::cfn::name_tag("load-balancer")]
        }),
    )
}

/// Port 80's listener, answering with `action` what no rule of the environment forwards.
fn http_listener(action: Value) -> Value {
    resource(
        "AWS::ElasticLoadBalancingV2::Listener",
        json!({
            "LoadBalancerArn": ref_(LOAD_BALANCER),
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [action]
        }),
    )
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
        security_group("OpenEMR drill load balancer: HTTP from the drill verifier only"),
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
    t.add_resource(LOAD_BALANCER, load_balancer(true, false));
    // Elastic Beanstalk adds the rule that forwards to OpenEMR; anything else is 404.
    t.add_resource(
        "HTTPListener",
        http_listener(json!({
            "Type": "fixed-response",
            "FixedResponseConfig": { "StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not found" }
        })),
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
    use crate::stack::{Tells, alarm};
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
    let balancer_alarm = |description: &str, metric: &str, judged: Value| {
        let mut properties = json!({
            "Namespace": "AWS/ApplicationELB",
            "MetricName": metric,
            "Dimensions": load_balancer.clone(),
            "Period": 300
        });
        if let (Some(all), Value::Object(more)) = (properties.as_object_mut(), judged) {
            all.extend(more);
        }
        // No requests, no data: not an outage by itself (the health alarm covers that).
        alarm(
            sub(description),
            properties,
            "notBreaching",
            Tells::FiringAndClearing,
        )
    };
    t.add_resource(
        "ApplicationErrorsAlarm",
        balancer_alarm(
            "OpenEMR (${AWS::StackName}) answered more than AlarmApplicationErrors 5xx errors in 5 minutes: the application servers fail requests.",
            "HTTPCode_Target_5XX_Count",
            json!({ "Statistic": "Sum", "EvaluationPeriods": 1, "Threshold": ref_("AlarmApplicationErrors"), "ComparisonOperator": "GreaterThanThreshold" }),
        ),
    );
    t.add_resource(
        "LoadBalancerErrorsAlarm",
        balancer_alarm(
            "The load balancer of OpenEMR (${AWS::StackName}) answered more than AlarmApplicationErrors 5xx errors itself in 5 minutes: no healthy application server, or none reachable.",
            "HTTPCode_ELB_5XX_Count",
            json!({ "Statistic": "Sum", "EvaluationPeriods": 1, "Threshold": ref_("AlarmApplicationErrors"), "ComparisonOperator": "GreaterThanThreshold" }),
        ),
    );
    t.add_resource(
        "ApplicationLatencyAlarm",
        balancer_alarm(
            "OpenEMR (${AWS::StackName}) is slow: the 95th percentile of its response time stayed above AlarmApplicationLatencySeconds for 15 minutes.",
            "TargetResponseTime",
            json!({ "ExtendedStatistic": "p95", "EvaluationPeriods": 3, "Threshold": ref_("AlarmApplicationLatencySeconds"), "ComparisonOperator": "GreaterThanThreshold" }),
        ),
    );
    // ACM publishes the metric daily; a missing day is not an expiry.
    t.add_resource(
        "CertificateExpiryAlarm",
        alarm(
            sub("The HTTPS certificate of OpenEMR (${AWS::StackName}) expires in fewer than AlarmCertificateExpiryDays days: renew or re-import it, then update CertificateArn if it changed."),
            json!({
                "Namespace": "AWS/CertificateManager",
                "MetricName": "DaysToExpiry",
                "Dimensions": [{ "Name": "CertificateArn", "Value": ref_("CertificateArn") }],
                "Statistic": "Minimum",
                "Period": 86400,
                "EvaluationPeriods": 1,
                "Threshold": ref_("AlarmCertificateExpiryDays"),
                "ComparisonOperator": "LessThanThreshold"
            }),
            "notBreaching",
            Tells::FiringAndClearing,
        ),
    );
}

fn visibility(metric: &str) -> Value {
    json!({ "SampledRequestsEnabled": true, "CloudWatchMetricsEnabled": true, "MetricName": metric })
}
