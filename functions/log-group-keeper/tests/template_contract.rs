//! The template and the function agree: in every generated template, `ServiceLogGroups`'
//! properties (references replaced by what CloudFormation would pass) parse with the
//! function's own parser, name RDS's export groups of the stack's database and Elastic
//! Beanstalk's groups of its environment, and carry the stack's retention and log key.

use log_group_keeper::Props;
use serde_json::{Value, json};
use test_harness::intrinsics;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

fn plausible(name: &str) -> Option<Value> {
    Some(json!(match name {
        "LogGroupKeeperFunction.Arn" => "arn:aws:lambda:us-east-1:123456789012:function:keeper",
        "RDSInstance" => "openemr-rdsinstance-1a2b3c",
        "EBEnvironment" => "openemr-5a3c1f00",
        "LogGroupKey.Arn" => KEY,
        "LogRetentionDays" => "365",
        _ => return None,
    }))
}

#[test]
fn every_templates_service_log_groups_parse_with_the_functions_parser() {
    for (name, options) in stack_gen::reference_combinations() {
        let template = stack_gen::generate(&options).unwrap().to_json();
        let resource = &template["Resources"]["ServiceLogGroups"];
        assert_eq!(
            resource["Type"], "AWS::CloudFormation::CustomResource",
            "{name}"
        );
        let properties = intrinsics::resolve(&resource["Properties"], &plausible);
        let props: Props = serde_json::from_value(properties)
            .unwrap_or_else(|e| panic!("{name}: ServiceLogGroups does not parse: {e}"));
        assert_eq!(
            props.log_groups,
            [
                "/aws/rds/instance/openemr-rdsinstance-1a2b3c/error",
                "/aws/rds/instance/openemr-rdsinstance-1a2b3c/slowquery"
            ],
            "{name}"
        );
        assert_eq!(
            props.prefixes,
            ["/aws/elasticbeanstalk/openemr-5a3c1f00/"],
            "{name}"
        );
        assert_eq!(props.retention_days, 365);
        assert_eq!(props.kms_key_arn, KEY);
        // The groups RDS exports into are exactly the logs the database exports.
        let exports =
            &template["Resources"]["RDSInstance"]["Properties"]["EnableCloudwatchLogsExports"];
        let exported: Vec<String> = exports
            .as_array()
            .unwrap()
            .iter()
            .map(|log| {
                format!(
                    "/aws/rds/instance/openemr-rdsinstance-1a2b3c/{}",
                    log.as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(props.log_groups, exported, "{name}");
    }
}
