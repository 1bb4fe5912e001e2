//! The platform version the environment runs unless `BeanstalkPlatform` names one: the newest
//! recommended version of [`DOCKER_BRANCH`] when the stack is created. A fixed version would be
//! superseded within weeks, and Elastic Beanstalk lets only accounts that used a superseded
//! version recently create environments on it. The custom resource resolves again only when
//! its properties change, so an update with the same parameters leaves the platform as it is;
//! managed platform updates keep it patched within the branch.

use serde_json::json;

use crate::cfn::{allow, get_att, ref_};
use crate::lambda::{RustFunction, add_function, add_role};
use crate::options::Options;
use crate::template::Template;
use stack_contract::platform_resolver::properties::BRANCH;

/// The platform parameter (empty: resolved) and its condition.
pub const PLATFORM_PARAMETER: &str = "BeanstalkPlatform";
pub const PLATFORM_RESOLVED: &str = "ResolvePlatform";
/// The custom resource naming the platform version (attribute `PlatformArn`).
pub const PLATFORM: &str = "ApplicationPlatform";
/// Elastic Beanstalk's Docker platform branch for Amazon Linux 2023.
pub const DOCKER_BRANCH: &str = "Docker running on 64bit Amazon Linux 2023";
/// The function behind it, and its role.
pub const RESOLVER: &str = "PlatformResolver";
const RESOLVER_ROLE: &str = "PlatformResolverRole";

pub fn add(t: &mut Template, o: &Options) {
    t.add_parameter(
        PLATFORM_PARAMETER,
        json!({ "Type": "String", "Default": o.beanstalk_platform(), "Description": format!("Elastic Beanstalk solution stack. Empty: the newest version of the {DOCKER_BRANCH} branch when the environment is created (managed updates keep it patched); --beanstalk-version pins one.") }),
    );
    t.add_condition(
        PLATFORM_RESOLVED,
        json!({ "Fn::Equals": [ref_(PLATFORM_PARAMETER), ""] }),
    );
    // ListPlatformVersions has no resource types (Service Authorization Reference, AWS
    // Elastic Beanstalk): "*" is its only form.
    add_role(
        t,
        RESOLVER_ROLE,
        RESOLVER,
        vec![allow(
            &["elasticbeanstalk:ListPlatformVersions"],
            json!(["*"]),
        )],
    );
    add_function(
        t,
        RustFunction {
            id: RESOLVER,
            code: "PlatformResolver",
            role: RESOLVER_ROLE,
            description: "Custom resource ApplicationPlatform: the newest recommended version of the Elastic Beanstalk platform branch the application runs on",
            environment: json!({}),
            timeout_seconds: 60,
            memory_mb: 128,
            reserved_concurrency: 1,
        },
    );
    t.add_resource(
        PLATFORM,
        json!({
            "Type": "Custom::ElasticBeanstalkPlatform",
            "Condition": PLATFORM_RESOLVED,
            "Properties": {
                "ServiceToken": get_att(RESOLVER, "Arn"),
                (BRANCH): DOCKER_BRANCH
            }
        }),
    );
}
