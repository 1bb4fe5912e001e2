//! The application's enhanced health: the service role Elastic Beanstalk's health reporting
//! runs as, the environment's option settings that turn it on and publish `EnvironmentHealth`
//! (which `ApplicationHealthAlarm` reads), and its instances' statement.

use serde_json::{Value, json};

use crate::cfn::{policy_document, ref_, resource, sub};
use crate::template::Template;

/// The role Elastic Beanstalk's enhanced health reporting runs as (see
/// [`option_settings`]).
pub const BEANSTALK_SERVICE_ROLE: &str = "BeanstalkServiceRole";

/// Enhanced health reporting runs as a service role of the environment (its managed policy
/// AWSElasticBeanstalkEnhancedHealth, cut down to the describe calls health needs). A drill
/// stack has it without the alarms.
pub fn add_service_role(t: &mut Template) {
    t.add_resource(
        BEANSTALK_SERVICE_ROLE,
        resource(
            "AWS::IAM::Role",
            json!({
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": { "Service": ["elasticbeanstalk.amazonaws.com"] },
                        "Action": ["sts:AssumeRole"],
                        // The external id Elastic Beanstalk passes when it assumes a service role.
                        "Condition": { "StringEquals": { "sts:ExternalId": "elasticbeanstalk" } }
                    }]
                },
                "Policies": [{
                    "PolicyName": "EnhancedHealth",
                    "PolicyDocument": policy_document(vec![json!({
                        "Effect": "Allow",
                        // Describe calls support no resource-level permissions.
                        "Action": ENHANCED_HEALTH_ACTIONS,
                        "Resource": ["*"]
                    })])
                }]
            }),
        ),
    );
}

/// What Elastic Beanstalk reads to judge an environment's health: its load balancer's view of
/// the instances, the instances' state and the Auto Scaling group's activity.
pub const ENHANCED_HEALTH_ACTIONS: [&str; 9] = [
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

/// The `EBEnvironment` option settings `ApplicationHealthAlarm` needs: enhanced health
/// reporting (with its service role, [`BEANSTALK_SERVICE_ROLE`]) publishing the environment's
/// `EnvironmentHealth` to CloudWatch every minute. Its instances also need
/// [`instance_statement`] in their role.
pub fn option_settings() -> Vec<Value> {
    let config_document = json!({
        "Version": 1,
        "CloudWatchMetrics": { "Environment": { "EnvironmentHealth": 60 }, "Instance": {} }
    });
    vec![
        json!({ "Namespace": "aws:elasticbeanstalk:healthreporting:system", "OptionName": "SystemType", "Value": "enhanced" }),
        json!({ "Namespace": "aws:elasticbeanstalk:healthreporting:system", "OptionName": "ConfigDocument", "Value": config_document.to_string() }),
        json!({ "Namespace": "aws:elasticbeanstalk:environment", "OptionName": "ServiceRole", "Value": ref_(BEANSTALK_SERVICE_ROLE) }),
    ]
}

/// The statement the application instances' role needs for enhanced health: the health agent
/// on each instance reports to Elastic Beanstalk (the role cannot name the environment, which
/// depends on it: the application's environments).
pub fn instance_statement() -> Value {
    json!({
        "Effect": "Allow",
        "Action": ["elasticbeanstalk:PutInstanceStatistics"],
        "Resource": [
            sub("arn:${AWS::Partition}:elasticbeanstalk:${AWS::Region}:${AWS::AccountId}:application/${EBApplication}"),
            sub("arn:${AWS::Partition}:elasticbeanstalk:${AWS::Region}:${AWS::AccountId}:environment/${EBApplication}/*")
        ]
    })
}
