//! The public endpoint, read from every generated template the way the load balancer, the
//! firewall and Elastic Beanstalk will act on it: HTTPS only with a current TLS policy, port 80
//! a redirect and nothing else, a firewall in front, HTTPS to the instances, alarms on it.

mod common;

use common::{all_templates, checked_templates, resources_of};
use serde_json::{Value, json};

fn option<'a>(settings: &'a [Value], namespace: &str, name: &str) -> Option<&'a Value> {
    settings
        .iter()
        .find(|s| s["Namespace"] == namespace && s["OptionName"] == name)
        .map(|s| &s["Value"])
}

/// The settings of the environment (none of them conditional).
fn settings(t: &Value) -> Vec<Value> {
    let settings = t["Resources"]["EBEnvironment"]["Properties"]["OptionSettings"]
        .as_array()
        .unwrap()
        .clone();
    for s in &settings {
        assert!(s.get("Fn::If").is_none(), "conditional setting {s}");
    }
    settings
}

#[test]
fn only_https_reaches_openemr_and_port_80_only_redirects() {
    for (name, _, t) in all_templates() {
        let listeners = resources_of(&t, "AWS::ElasticLoadBalancingV2::Listener");
        assert_eq!(listeners.len(), 2, "{name}: HTTP and HTTPS listeners only");
        let r = &t["Resources"];
        let http = &r["HTTPListener"]["Properties"];
        assert_eq!(http["Port"], 80, "{name}");
        assert_eq!(
            http["DefaultActions"],
            json!([{ "Type": "redirect", "RedirectConfig": { "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301" } }]),
            "{name}: port 80 redirects"
        );
        let https = &r["HTTPSListener"];
        assert!(
            https.get("Condition").is_none(),
            "{name}: the HTTPS listener always exists"
        );
        assert_eq!(https["Properties"]["Protocol"], "HTTPS", "{name}");
        assert_eq!(
            https["Properties"]["SslPolicy"], "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "{name}: TLS 1.2+ only"
        );
        assert_eq!(
            https["Properties"]["Certificates"],
            json!([{ "CertificateArn": { "Ref": "CertificateArn" } }])
        );
        // The certificate is required: no empty default, no empty alternative.
        let certificate = &t["Parameters"]["CertificateArn"];
        assert!(certificate.get("Default").is_none(), "{name}");
        assert!(
            !certificate["AllowedPattern"]
                .as_str()
                .unwrap()
                .contains("^$|"),
            "{name}"
        );
        assert!(t["Conditions"].get("HasCertificate").is_none(), "{name}");
        assert_eq!(
            t["Outputs"]["OpenEMR"]["Value"],
            json!({ "Fn::Sub": "https://${DomainName}/" }),
            "{name}: the clinic's URL"
        );
    }
}

/// Elastic Beanstalk's documented rules for an environment on a shared Application Load
/// Balancer (developer guide, "Configuring a shared Application Load Balancer", and the
/// `aws:elbv2:*` namespaces of "General options for all environments"), in every stack and
/// drill: the environment's rule sits on one listener and names its host (without
/// `HostHeaders` Elastic Beanstalk matches only the environment's CNAME, and a request for the
/// clinic's name gets the listener's 404); `aws:elbv2:listener:default` does not apply to a
/// shared balancer; only `SharedLoadBalancer` and `SecurityGroups` are valid in
/// `aws:elbv2:loadbalancer`, and without `SecurityGroups` Elastic Beanstalk adds a group of its
/// own; the process speaks HTTPS to the instances and checks OpenEMR's login page.
#[test]
fn the_environment_follows_the_shared_load_balancer_rules() {
    for (name, options, t) in checked_templates() {
        let s = settings(&t);
        let (listener, port, host) = if options.drill {
            (
                "HTTPListener",
                "80",
                json!({ "Fn::GetAtt": ["ApplicationLoadBalancer", "DNSName"] }),
            )
        } else {
            ("HTTPSListener", "443", json!({ "Ref": "DomainName" }))
        };
        let listeners: Vec<&Value> = s
            .iter()
            .filter(|x| {
                x["Namespace"]
                    .as_str()
                    .unwrap()
                    .starts_with("aws:elbv2:listener:")
            })
            .collect();
        assert_eq!(
            listeners,
            [
                &json!({ "Namespace": format!("aws:elbv2:listener:{port}"), "OptionName": "Rules", "Value": "openemr" })
            ],
            "{name}: one listener carries the rule, and no listener:default"
        );
        assert_eq!(
            t["Resources"][listener]["Properties"]["Port"].to_string(),
            port,
            "{name}"
        );
        let depends = &t["Resources"]["EBEnvironment"]["DependsOn"];
        assert!(
            depends.as_array().unwrap().contains(&json!(listener)),
            "{name}: the listener exists before Elastic Beanstalk adds its rule"
        );
        let rule = "aws:elbv2:listenerrule:openemr";
        assert_eq!(option(&s, rule, "HostHeaders"), Some(&host), "{name}");
        assert_eq!(option(&s, rule, "Process"), Some(&json!("default")));
        let load_balancer: Vec<&Value> = s
            .iter()
            .filter(|x| x["Namespace"] == "aws:elbv2:loadbalancer")
            .map(|x| &x["OptionName"])
            .collect();
        assert_eq!(
            load_balancer,
            [&json!("SharedLoadBalancer"), &json!("SecurityGroups")],
            "{name}"
        );
        assert_eq!(
            option(&s, "aws:elbv2:loadbalancer", "SecurityGroups"),
            Some(&json!({ "Ref": "LoadBalancerSecurityGroup" }))
        );
        assert_eq!(
            option(
                &s,
                "aws:elasticbeanstalk:environment",
                "LoadBalancerIsShared"
            ),
            Some(&json!("true"))
        );
        assert_eq!(
            option(&s, "aws:elbv2:loadbalancer", "SharedLoadBalancer"),
            Some(&json!({ "Ref": "ApplicationLoadBalancer" }))
        );
        let process = "aws:elasticbeanstalk:environment:process:default";
        assert_eq!(option(&s, process, "Protocol"), Some(&json!("HTTPS")));
        assert_eq!(option(&s, process, "Port"), Some(&json!("443")));
        assert_eq!(
            option(&s, process, "HealthCheckPath"),
            Some(&json!(
                stack_gen::components::application::HEALTH_CHECK_PATH
            ))
        );
        assert_eq!(option(&s, process, "MatcherHTTPCode"), Some(&json!("200")));
        // No Classic Load Balancer option is left.
        assert!(
            s.iter()
                .all(|x| !x["Namespace"].as_str().unwrap().starts_with("aws:elb:")),
            "{name}: Classic Load Balancer settings"
        );
        // Replaceable: a fixed name would forbid the create-before-delete of a replacement
        // (SolutionStackName and the rules change only that way); a drill's is its teardown's.
        assert_eq!(
            t["Resources"]["EBEnvironment"]["Properties"]
                .get("EnvironmentName")
                .is_some(),
            options.drill,
            "{name}"
        );
    }
}

/// The drill's verifier requests the login page at a URL whose host is the one the drill
/// stack's rule forwards: resolved from the generated templates with the same load balancer.
#[test]
fn the_drill_verifier_requests_what_the_drill_rule_forwards() {
    use test_harness::intrinsics::resolve;
    let dns = "internal-openemr-drill-123.us-east-1.elb.amazonaws.com";
    let lookup = |name: &str| match name {
        "ApplicationLoadBalancer.DNSName" => Some(json!(dns)),
        _ => None,
    };
    let mut drills = 0;
    for (name, options, t) in checked_templates() {
        if !options.drill {
            continue;
        }
        drills += 1;
        let s = settings(&t);
        let host = resolve(
            option(&s, "aws:elbv2:listenerrule:openemr", "HostHeaders").unwrap(),
            &lookup,
        );
        let url = resolve(
            &t["Resources"][stack_gen::components::restore_drill::VERIFIER]["Properties"]["Environment"]
                ["Variables"][stack_contract::restore_drill::data::APPLICATION_URL],
            &lookup,
        );
        let url = url.as_str().unwrap();
        let requested = url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("{name}: {url} is not plain HTTP"));
        assert_eq!(json!(requested), host, "{name}: {url}");
        assert!(
            url.ends_with(stack_gen::components::application::LOGIN_PATH),
            "{name}: {url}"
        );
    }
    assert!(drills > 0);
}

#[test]
fn the_instances_take_https_from_the_load_balancer_only() {
    for (name, _, t) in all_templates() {
        let r = &t["Resources"];
        let ingress: Vec<_> = resources_of(&t, "AWS::EC2::SecurityGroupIngress")
            .into_iter()
            .filter(|(_, x)| {
                x["Properties"]["GroupId"] == json!({ "Ref": "ApplicationSecurityGroup" })
            })
            .collect();
        assert_eq!(ingress.len(), 1, "{name}: {ingress:?}");
        let p = &ingress[0].1["Properties"];
        assert_eq!(p["FromPort"], 443);
        assert_eq!(
            p["SourceSecurityGroupId"],
            json!({ "Ref": "LoadBalancerSecurityGroup" }),
            "{name}"
        );
        let egress = &r["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupEgress"];
        assert_eq!(egress.as_array().unwrap().len(), 1, "{name}");
        assert_eq!(
            egress[0]["DestinationSecurityGroupId"],
            json!({ "Ref": "ApplicationSecurityGroup" })
        );
        let public: Vec<u64> = resources_of(&t, "AWS::EC2::SecurityGroupIngress")
            .into_iter()
            .filter(|(_, x)| {
                x["Properties"]["GroupId"] == json!({ "Ref": "LoadBalancerSecurityGroup" })
            })
            .map(|(_, x)| x["Properties"]["FromPort"].as_u64().unwrap())
            .collect();
        assert_eq!(public, [443, 80], "{name}");
    }
}

#[test]
fn a_firewall_with_managed_rules_and_a_rate_limit_guards_the_load_balancer() {
    for (name, _, t) in all_templates() {
        let r = &t["Resources"];
        assert_eq!(
            r["WebACLAssociation"]["Properties"],
            json!({ "ResourceArn": { "Ref": "ApplicationLoadBalancer" }, "WebACLArn": { "Fn::GetAtt": ["WebACL", "Arn"] } })
        );
        let acl = &r["WebACL"]["Properties"];
        assert_eq!(acl["Scope"], "REGIONAL");
        let rules = acl["Rules"].as_array().unwrap();
        let groups: Vec<&str> = rules
            .iter()
            .filter_map(|x| x["Statement"]["ManagedRuleGroupStatement"]["Name"].as_str())
            .collect();
        assert_eq!(
            groups,
            [
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesSQLiRuleSet"
            ],
            "{name}"
        );
        let blocking = json!({ "Fn::If": ["WebFirewallBlocks", { "None": {} }, { "Count": {} }] });
        for rule in rules
            .iter()
            .filter(|x| x["Statement"].get("ManagedRuleGroupStatement").is_some())
        {
            assert_eq!(rule["OverrideAction"], blocking, "{name} {}", rule["Name"]);
        }
        let rate = rules
            .iter()
            .find(|x| x["Statement"].get("RateBasedStatement").is_some())
            .expect("a rate limit");
        assert_eq!(
            rate["Statement"]["RateBasedStatement"],
            json!({ "Limit": { "Ref": "WebRequestRateLimit" }, "AggregateKeyType": "IP" })
        );
        assert_eq!(
            rate["Action"],
            json!({ "Fn::If": ["WebFirewallBlocks", { "Block": {} }, { "Count": {} }] })
        );
        assert_eq!(t["Parameters"]["WebFirewallMode"]["Default"], "block");
        // Uploads are not blocked by the common set's 8 KB body limit.
        let common = &rules[0]["Statement"]["ManagedRuleGroupStatement"];
        assert_eq!(
            common["RuleActionOverrides"],
            json!([{ "Name": "SizeRestrictions_BODY", "ActionToUse": { "Count": {} } }])
        );
        // The firewall's log keeps no session or patient data.
        let redacted = &r["WebACLLogging"]["Properties"]["RedactedFields"];
        for field in [
            json!({ "SingleHeader": { "Name": "cookie" } }),
            json!({ "SingleHeader": { "Name": "authorization" } }),
            json!({ "QueryString": {} }),
        ] {
            assert!(
                redacted.as_array().unwrap().contains(&field),
                "{name}: {field}"
            );
        }
    }
}

#[test]
fn the_endpoint_alarms_page_the_operators_with_their_thresholds() {
    for (name, _, t) in all_templates() {
        let r = &t["Resources"];
        for (alarm, metric, threshold, default) in [
            (
                "ApplicationErrorsAlarm",
                "HTTPCode_Target_5XX_Count",
                "AlarmApplicationErrors",
                10,
            ),
            (
                "LoadBalancerErrorsAlarm",
                "HTTPCode_ELB_5XX_Count",
                "AlarmApplicationErrors",
                10,
            ),
            (
                "ApplicationLatencyAlarm",
                "TargetResponseTime",
                "AlarmApplicationLatencySeconds",
                3,
            ),
            (
                "CertificateExpiryAlarm",
                "DaysToExpiry",
                "AlarmCertificateExpiryDays",
                30,
            ),
        ] {
            let p = &r[alarm]["Properties"];
            assert_eq!(p["MetricName"], metric, "{name} {alarm}");
            assert_eq!(
                p["Threshold"],
                json!({ "Ref": threshold }),
                "{name} {alarm}"
            );
            assert_eq!(
                t["Parameters"][threshold]["Default"], default,
                "{name} {threshold}"
            );
            assert_eq!(
                p["AlarmActions"],
                json!([{ "Ref": "OperatorAlerts" }]),
                "{name} {alarm}"
            );
        }
        assert!(
            r["CertificateExpiryAlarm"].get("Condition").is_none(),
            "{name}: the certificate is required, so always watched"
        );
        assert_eq!(
            r["ApplicationErrorsAlarm"]["Properties"]["Dimensions"],
            json!([{ "Name": "LoadBalancer", "Value": { "Fn::GetAtt": ["ApplicationLoadBalancer", "LoadBalancerFullName"] } }])
        );
    }
}
