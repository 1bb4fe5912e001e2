//! What the Elastic Beanstalk environment is given: its option settings (network, instances,
//! the shared balancer's rule, logs, deployments, managed updates, enhanced health) and the
//! image's variables and secrets, with the OpenEMR administrator's generated password.

use serde_json::{Value, json};

use crate::cfn::{get_att, join, ref_, sub};
use crate::components::application::bundle;
use crate::components::application::endpoint::{HEALTH_CHECK_PATH, LOAD_BALANCER};
use crate::components::application::health;
use crate::options::Options;
use crate::stack::{bucket, keep_policy, key_arn};
use crate::template::Template;

/// The image parameter.
pub const IMAGE_PARAMETER: &str = "OpenEMRImage";
/// The OpenEMR administrator's initial password (generated; README, "First login").
pub const ADMIN_SECRET: &str = "OpenEMRAdminSecret";
/// The parameter naming the clinic's DNS name of OpenEMR (the certificate's): the only host
/// the load balancer's rule forwards to the environment.
pub const DOMAIN_NAME: &str = "DomainName";

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
pub(super) fn install_secrets() -> Vec<Value> {
    vec![ref_("DatabaseSecret"), ref_(ADMIN_SECRET)]
}

/// The OpenEMR administrator's initial password, generated: letters and digits only, since
/// the image's installer splits its arguments on `=` and spaces. None where no install
/// happens (recovery, drill).
pub(super) fn add_secrets(t: &mut Template, o: &Options) {
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
pub(super) fn rule_listener(o: &Options) -> (&'static str, u16) {
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

pub(super) fn option_settings(o: &Options) -> Vec<Value> {
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
