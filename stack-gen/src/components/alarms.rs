//! Alarms on what breaks a clinic, each to the operators' topic ([`ALERT_TOPIC`]) when it
//! fires and when it clears: the database (CPU, free storage before it is full, connections),
//! the session store (memory, evictions), the CouchDB and NFS backup instances (status checks,
//! disk use published by their CloudWatch agent, see [`crate::instance::agent_config`]) and the
//! application's health (Elastic Beanstalk enhanced health). Thresholds are parameters, grouped
//! in the console after the stack's own, with defaults for a small clinic.
//!
//! The load balancer's alarms (5xx, latency, certificate expiry) belong to the application
//! component; the backup checker's to `backup_checker`.
//!
//! Missing data: every alarm here treats it as missing, so an alarm whose resource has not
//! reported yet (a new stack, an instance still installing its agent) waits in
//! INSUFFICIENT_DATA instead of paging.

use serde_json::{Value, json};

use crate::cfn::{ref_, sub};
use crate::components::{document_store, nfs_backup};
use crate::instance::{
    DISK_USED_METRIC, METRICS_NAMESPACE, NODE_DIMENSION, PATH_DIMENSION, STACK_DIMENSION,
};
use crate::options::Options;
use crate::stack::{Tells, alarm};
use crate::template::Template;

/// The Elastic Beanstalk environment whose health is watched (application component).
pub const ENVIRONMENT: &str = crate::components::application::EB_ENVIRONMENT;

/// A threshold parameter of one or more alarms.
pub struct Threshold {
    pub parameter: &'static str,
    pub default: u32,
    pub min: u32,
    pub max: u32,
    pub description: &'static str,
}

pub const DATABASE_CPU: Threshold = Threshold {
    parameter: "AlarmDatabaseCPUPercent",
    default: 80,
    min: 1,
    max: 100,
    description: "Alarm when the database's average CPU stays above this percentage for 15 minutes.",
};
pub const DATABASE_FREE_STORAGE: Threshold = Threshold {
    parameter: "AlarmDatabaseFreeStoragePercent",
    default: 10,
    min: 1,
    max: 50,
    description: "Alarm when the database's free storage falls below this percentage of PatientRecords (raise PatientRecords before it is full; RDS allows one storage change every 6 hours).",
};
pub const DATABASE_CONNECTIONS: Threshold = Threshold {
    parameter: "AlarmDatabaseConnections",
    default: 200,
    min: 1,
    max: 16000,
    description: "Alarm when the database's connections exceed this number for 10 minutes. RDS MySQL's max_connections is the class's memory / 12 MiB (about 340 for db.t4g.medium, 170 for db.t4g.small): keep this below it.",
};
pub const REDIS_MEMORY: Threshold = Threshold {
    parameter: "AlarmRedisMemoryPercent",
    default: 80,
    min: 1,
    max: 100,
    description: "Alarm when the session store (Redis) uses more than this percentage of its memory for 10 minutes; beyond 100% it evicts sessions (users are logged out).",
};
pub const REDIS_EVICTIONS: Threshold = Threshold {
    parameter: "AlarmRedisEvictions",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "Alarm when the session store evicts more than this many keys in 5 minutes (an evicted session logs its user out).",
};
pub const DISK_USED: Threshold = Threshold {
    parameter: "AlarmDiskUsedPercent",
    default: 85,
    min: 1,
    max: 99,
    description: "Alarm when a watched file system of the CouchDB or NFS backup instance is fuller than this percentage (CouchDB: / and /srv/couchdb; NFS backup: /).",
};
pub const APPLICATION_HEALTH: Threshold = Threshold {
    parameter: "AlarmApplicationHealth",
    default: 20,
    min: 15,
    max: 25,
    description: "Alarm when the application's enhanced health stays at or above this level for 5 minutes: 15 Warning, 20 Degraded, 25 Severe.",
};

/// Every threshold, in the order the console shows them.
pub const THRESHOLDS: [&Threshold; 7] = [
    &DATABASE_CPU,
    &DATABASE_FREE_STORAGE,
    &DATABASE_CONNECTIONS,
    &REDIS_MEMORY,
    &REDIS_EVICTIONS,
    &DISK_USED,
    &APPLICATION_HEALTH,
];

/// The console's label of the thresholds' parameter group.
pub const THRESHOLDS_LABEL: &str = "Alarm thresholds (defaults for a small clinic)";

/// Enhanced health's levels of `EnvironmentHealth`, those worth an alarm.
const HEALTH_LEVELS: [u32; 3] = [15, 20, 25];

pub fn add(t: &mut Template, o: &Options) {
    for threshold in THRESHOLDS {
        let mut p = json!({
            "Type": "Number",
            "Default": threshold.default,
            "MinValue": threshold.min,
            "MaxValue": threshold.max,
            "Description": threshold.description
        });
        if threshold.parameter == APPLICATION_HEALTH.parameter {
            p["AllowedValues"] = json!(HEALTH_LEVELS);
        }
        t.add_parameter(threshold.parameter, p);
    }
    add_database(t, o);
    add_redis(t, o);
    for node in document_store::nodes(o) {
        add_instance(t, node, "CouchDB node", &document_store::MONITORED_PATHS);
    }
    add_instance(
        t,
        nfs_backup::INSTANCE,
        "NFS backup agent",
        &nfs_backup::MONITORED_PATHS,
    );
    add_application(t);
}

/// A metric-math query of one metric (not an alarm's result by itself).
fn metric(id: &str, namespace: &str, name: &str, dimensions: Value, stat: &str) -> Value {
    json!({
        "Id": id,
        "MetricStat": {
            "Metric": { "Namespace": namespace, "MetricName": name, "Dimensions": dimensions },
            "Period": 300,
            "Stat": stat
        },
        "ReturnData": false
    })
}

/// `MAX([m1, m2, ...])` of `metrics`, labelled: the worst of several nodes or paths.
fn worst_of(metrics: Vec<Value>, label: &str) -> Vec<Value> {
    let ids: Vec<&str> = metrics.iter().map(|m| m["Id"].as_str().unwrap()).collect();
    let expression = json!({
        "Id": "worst",
        "Expression": format!("MAX([{}])", ids.join(", ")),
        "Label": label,
        "ReturnData": true
    });
    let mut all = metrics;
    all.push(expression);
    all
}

fn threshold(t: &Threshold) -> Value {
    ref_(t.parameter)
}

fn add_database(t: &mut Template, o: &Options) {
    let db = json!([{ "Name": "DBInstanceIdentifier", "Value": ref_(crate::components::database::DB_INSTANCE) }]);
    t.add_resource(
        "DatabaseCPUAlarm",
        alarm(
            sub("The OpenEMR database of ${AWS::StackName} has been busy for 15 minutes (CPU above AlarmDatabaseCPUPercent): pages slow down. Look at RDS Performance Insights or the slow-query log; a larger DBInstanceClass helps."),
            json!({
                "Namespace": "AWS/RDS",
                "MetricName": "CPUUtilization",
                "Dimensions": db,
                "Statistic": "Average",
                "Period": 300,
                "EvaluationPeriods": 3,
                "Threshold": threshold(&DATABASE_CPU),
                "ComparisonOperator": "GreaterThanThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
    // CloudFormation cannot multiply, so the free bytes become a percentage of the allocated
    // GiB in the alarm's own metric math.
    let allocated = if o.recovery {
        "${RecoveryParameters.PatientRecords}"
    } else {
        "${PatientRecords}"
    };
    t.add_resource(
        "DatabaseFreeStorageAlarm",
        alarm(
            sub("The OpenEMR database of ${AWS::StackName} has less free storage than AlarmDatabaseFreeStoragePercent of its allocation: when it is full, OpenEMR stops saving records. Raise PatientRecords (a stack update; RDS grows the volume online)."),
            json!({
                "Metrics": [
                    metric("free", "AWS/RDS", "FreeStorageSpace", db.clone(), "Minimum"),
                    {
                        "Id": "freepercent",
                        "Expression": sub(&format!("100 * free / ({allocated} * 1073741824)")),
                        "Label": "Free storage (% of allocated)",
                        "ReturnData": true
                    }
                ],
                "EvaluationPeriods": 1,
                "Threshold": threshold(&DATABASE_FREE_STORAGE),
                "ComparisonOperator": "LessThanThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
    t.add_resource(
        "DatabaseConnectionsAlarm",
        alarm(
            sub("The OpenEMR database of ${AWS::StackName} has had more connections than AlarmDatabaseConnections for 10 minutes: near max_connections, new logins fail."),
            json!({
                "Namespace": "AWS/RDS",
                "MetricName": "DatabaseConnections",
                "Dimensions": db,
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 2,
                "Threshold": threshold(&DATABASE_CONNECTIONS),
                "ComparisonOperator": "GreaterThanThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
}

/// The cache clusters of the replication group: its member clusters are named
/// `<ReplicationGroupId>-001`, `-002`, ... and ElastiCache publishes each one's metrics under
/// its `CacheClusterId` (the primary can move between them on fail-over).
pub fn redis_nodes(o: &Options) -> Vec<Value> {
    let count = if o.dual_az { 2 } else { 1 };
    (1..=count)
        .map(|n| {
            sub(&format!(
                "${{{}}}-{n:03}",
                crate::components::redis::REPLICATION_GROUP
            ))
        })
        .collect()
}

fn add_redis(t: &mut Template, o: &Options) {
    let per_node = |name: &str, stat: &str| -> Vec<Value> {
        redis_nodes(o)
            .into_iter()
            .enumerate()
            .map(|(i, node)| {
                metric(
                    &format!("node{}", i + 1),
                    "AWS/ElastiCache",
                    name,
                    json!([{ "Name": "CacheClusterId", "Value": node }]),
                    stat,
                )
            })
            .collect()
    };
    t.add_resource(
        "RedisMemoryAlarm",
        alarm(
            sub("The session store (Redis) of ${AWS::StackName} has used more than AlarmRedisMemoryPercent of its memory for 10 minutes: when it is full it evicts sessions and users are logged out. A larger CacheNodeType helps."),
            json!({
                "Metrics": worst_of(per_node("DatabaseMemoryUsagePercentage", "Maximum"), "Memory used (%), fullest node"),
                "EvaluationPeriods": 2,
                "Threshold": threshold(&REDIS_MEMORY),
                "ComparisonOperator": "GreaterThanThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
    t.add_resource(
        "RedisEvictionsAlarm",
        alarm(
            sub("The session store (Redis) of ${AWS::StackName} evicted more keys than AlarmRedisEvictions in 5 minutes: users were logged out because it is full."),
            json!({
                "Metrics": worst_of(per_node("Evictions", "Sum"), "Evictions, most on a node"),
                "EvaluationPeriods": 1,
                "Threshold": threshold(&REDIS_EVICTIONS),
                "ComparisonOperator": "GreaterThanThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
}

/// Status checks and disk use of the instance `id` (`what` it is, for the descriptions), whose
/// agent publishes the use of `paths`.
fn add_instance(t: &mut Template, id: &str, what: &str, paths: &[&str]) {
    t.add_resource(
        &format!("{id}StatusAlarm"),
        alarm(
            sub(&format!("The {what} {id} of ${{AWS::StackName}} has failed its EC2 status checks (system or instance) for 10 minutes: it is unreachable or impaired. Reboot it, or stop and start it to move it to other hardware.")),
            json!({
                "Namespace": "AWS/EC2",
                "MetricName": "StatusCheckFailed",
                "Dimensions": [{ "Name": "InstanceId", "Value": ref_(id) }],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 2,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
    let metrics = paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            metric(
                &format!("path{}", i + 1),
                METRICS_NAMESPACE,
                DISK_USED_METRIC,
                json!([
                    { "Name": STACK_DIMENSION, "Value": ref_("AWS::StackName") },
                    { "Name": NODE_DIMENSION, "Value": id },
                    { "Name": PATH_DIMENSION, "Value": path }
                ]),
                "Maximum",
            )
        })
        .collect();
    t.add_resource(
        &format!("{id}DiskAlarm"),
        alarm(
            sub(&format!("A file system of the {what} {id} of ${{AWS::StackName}} ({}) is fuller than AlarmDiskUsedPercent: `df -h` on the instance shows which. Grow the volume or free space before it is full.", paths.join(", "))),
            json!({
                "Metrics": worst_of(metrics, "Disk used (%), fullest file system"),
                "EvaluationPeriods": 2,
                "Threshold": threshold(&DISK_USED),
                "ComparisonOperator": "GreaterThanThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
}

fn add_application(t: &mut Template) {
    t.add_resource(
        "ApplicationHealthAlarm",
        alarm(
            sub("The OpenEMR application of ${AWS::StackName} has been unhealthy for 5 minutes (Elastic Beanstalk enhanced health at or above AlarmApplicationHealth): the environment's Health page in the Elastic Beanstalk console names the causes."),
            json!({
                "Namespace": "AWS/ElasticBeanstalk",
                "MetricName": "EnvironmentHealth",
                "Dimensions": [{ "Name": "EnvironmentName", "Value": ref_(ENVIRONMENT) }],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 5,
                "Threshold": threshold(&APPLICATION_HEALTH),
                "ComparisonOperator": "GreaterThanOrEqualToThreshold"
            }), "missing", Tells::FiringAndClearing),
    );
    crate::components::application::health::add_service_role(t);
}

/// The console's parameter groups: the stack's parameters in their order, then the alarms'
/// thresholds: these, and any other component's whose name says `Alarm` (the endpoint's, say).
/// (Parameters in no group would show first.)
pub fn add_parameter_groups(t: &mut Template) {
    let mut thresholds: Vec<String> = THRESHOLDS
        .iter()
        .map(|p| p.parameter.to_owned())
        .filter(|p| t.parameters().contains_key(p))
        .collect();
    let mut stack = Vec::new();
    for name in t.parameters().keys() {
        if thresholds.contains(name) {
            continue;
        }
        if name.contains("Alarm") {
            thresholds.push(name.clone());
        } else {
            stack.push(name.clone());
        }
    }
    let mut groups = vec![json!({ "Label": { "default": "OpenEMR stack" }, "Parameters": stack })];
    if !thresholds.is_empty() {
        groups.push(json!({ "Label": { "default": THRESHOLDS_LABEL }, "Parameters": thresholds }));
    }
    t.add_metadata(
        "AWS::CloudFormation::Interface",
        json!({ "ParameterGroups": groups }),
    );
}
