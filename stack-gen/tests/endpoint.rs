//! The public endpoint, read from every generated template the way the load balancer, the
//! firewall and Elastic Beanstalk will act on it: HTTPS only with a current TLS policy, port 80
//! a redirect and nothing else, a firewall in front, HTTPS to the instances, alarms on it.

mod common;

use common::{all_templates, resources_of};
use serde_json::{Value, json};

fn option<'a>(settings: &'a [Value], namespace: &str, name: &str) -> Option<&'a Value> {
    settings
        .iter()
        .find(|s| s["Namespace"] == namespace && s["OptionName"] == name)
        .map(|s| &s["Value"])
}

/// The settings of the environment, conditional ones (`Fn::If`) counted with their value.
fn settings(t: &Value) -> Vec<Value> {
    t["Resources"]["EBEnvironment"]["Properties"]["OptionSettings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| match s.get("Fn::If") {
            Some(branches) => {
                assert_eq!(branches[0], "HasCertificate", "{s}");
                assert_eq!(branches[2], json!({ "Ref": "AWS::NoValue" }), "{s}");
                branches[1].clone()
            }
            None => s.clone(),
        })
        .collect()
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
        assert_eq!(https["Condition"], "HasCertificate", "{name}");
        assert_eq!(https["Properties"]["Protocol"], "HTTPS", "{name}");
        assert_eq!(
            https["Properties"]["SslPolicy"], "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "{name}: TLS 1.2+ only"
        );
        assert_eq!(
            https["Properties"]["Certificates"],
            json!([{ "CertificateArn": { "Ref": "CertificateArn" } }])
        );
        assert_eq!(
            t["Conditions"]["HasCertificate"],
            json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": "CertificateArn" }, ""] }] })
        );
        // Elastic Beanstalk's rule is on 443; the default (80) listener gets none.
        let s = settings(&t);
        assert_eq!(
            option(&s, "aws:elbv2:listener:443", "Rules"),
            Some(&json!("openemr"))
        );
        assert_eq!(
            option(&s, "aws:elbv2:listener:default", "Rules"),
            Some(&json!(""))
        );
        assert!(
            s.iter().all(|x| x["Namespace"] != "aws:elbv2:listener:80"),
            "{name}"
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
        // HTTPS to the instances too.
        let process = "aws:elasticbeanstalk:environment:process:default";
        assert_eq!(option(&s, process, "Protocol"), Some(&json!("HTTPS")));
        assert_eq!(option(&s, process, "Port"), Some(&json!("443")));
        // No Classic Load Balancer option is left.
        assert!(
            s.iter()
                .all(|x| !x["Namespace"].as_str().unwrap().starts_with("aws:elb:")),
            "{name}: Classic Load Balancer settings"
        );
        assert!(
            t["Outputs"]["OpenEMR"]["Value"]["Fn::Sub"]
                .as_str()
                .unwrap()
                .starts_with("https://"),
            "{name}"
        );
    }
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
        assert_eq!(r["CertificateExpiryAlarm"]["Condition"], "HasCertificate");
        assert_eq!(
            r["ApplicationErrorsAlarm"]["Properties"]["Dimensions"],
            json!([{ "Name": "LoadBalancer", "Value": { "Fn::GetAtt": ["ApplicationLoadBalancer", "LoadBalancerFullName"] } }])
        );
    }
}
