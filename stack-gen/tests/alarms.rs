//! The alarms on what breaks a clinic, in every combination: each exists where what it
//! watches exists (and only there), reads the metric that resource publishes, compares it with
//! its threshold parameter (whose default fits a small clinic), and tells the operators' topic.

mod common;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use stack_gen::Options;
use stack_gen::components::alarms::{
    APPLICATION_HEALTH, DATABASE_CONNECTIONS, DATABASE_CPU, DATABASE_FREE_STORAGE, DISK_USED,
    REDIS_EVICTIONS, REDIS_MEMORY, THRESHOLDS, THRESHOLDS_LABEL, Threshold,
};
use stack_gen::components::application::health::{
    self, BEANSTALK_SERVICE_ROLE, ENHANCED_HEALTH_ACTIONS,
};
use stack_gen::components::backup_checker::CHECK_SILENCE_HOURS;
use stack_gen::instance::{
    DISK_USED_METRIC, METRICS_NAMESPACE, NODE_DIMENSION, PATH_DIMENSION, STACK_DIMENSION,
};

const TOPIC: &str = "OperatorAlerts";

/// (namespace, metric name, dimensions) of every metric an alarm reads: its own, or those of
/// its metric-math queries.
fn metrics_read(alarm: &Value) -> Vec<(String, String, Value)> {
    let p = &alarm["Properties"];
    match p.get("Metrics") {
        Some(queries) => queries
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|q| q.get("MetricStat"))
            .map(|s| {
                let m = &s["Metric"];
                (
                    m["Namespace"].as_str().unwrap().to_owned(),
                    m["MetricName"].as_str().unwrap().to_owned(),
                    m["Dimensions"].clone(),
                )
            })
            .collect(),
        None => vec![(
            p["Namespace"].as_str().unwrap().to_owned(),
            p["MetricName"].as_str().unwrap().to_owned(),
            p["Dimensions"].clone(),
        )],
    }
}

/// The expression an alarm's state follows, if it is a metric-math alarm: exactly one query
/// returns data, an expression over every metric query's id.
fn expression(alarm: &Value, name: &str) -> Option<Value> {
    let queries = alarm["Properties"].get("Metrics")?.as_array().unwrap();
    let returned: Vec<&Value> = queries.iter().filter(|q| q["ReturnData"] == true).collect();
    assert_eq!(returned.len(), 1, "{name}: one query is the alarm's result");
    let expression = returned[0]["Expression"].clone();
    let text = expression
        .as_str()
        .map(str::to_owned)
        .or_else(|| expression["Fn::Sub"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("{name}: the result is an expression"));
    for q in queries.iter().filter(|q| q.get("MetricStat").is_some()) {
        assert_eq!(q["ReturnData"], false, "{name}");
        assert!(
            text.contains(q["Id"].as_str().unwrap()),
            "{name}: {text} leaves out {}",
            q["Id"]
        );
    }
    Some(expression)
}

fn dims(pairs: &[(&str, Value)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(n, v)| json!({ "Name": n, "Value": v }))
            .collect(),
    )
}

fn r(id: &str) -> Value {
    json!({ "Ref": id })
}

fn sub(text: &str) -> Value {
    json!({ "Fn::Sub": text })
}

/// One expected alarm.
struct Expected {
    id: String,
    metrics: Vec<(&'static str, &'static str, Value)>,
    /// The threshold parameter, or the fixed threshold of a yes/no metric.
    threshold: Result<&'static Threshold, i64>,
    comparison: &'static str,
}

fn expected(o: &Options) -> Vec<Expected> {
    let db = || dims(&[("DBInstanceIdentifier", r("RDSInstance"))]);
    let redis = |metric: &'static str| -> Vec<(&'static str, &'static str, Value)> {
        let nodes = if o.dual_az { 2 } else { 1 };
        (1..=nodes)
            .map(|n| {
                (
                    "AWS/ElastiCache",
                    metric,
                    dims(&[(
                        "CacheClusterId",
                        sub(&format!("${{RedisReplicationGroup}}-00{n}")),
                    )]),
                )
            })
            .collect()
    };
    let mut all = vec![
        Expected {
            id: "DatabaseCPUAlarm".into(),
            metrics: vec![("AWS/RDS", "CPUUtilization", db())],
            threshold: Ok(&DATABASE_CPU),
            comparison: "GreaterThanThreshold",
        },
        Expected {
            id: "DatabaseFreeStorageAlarm".into(),
            metrics: vec![("AWS/RDS", "FreeStorageSpace", db())],
            threshold: Ok(&DATABASE_FREE_STORAGE),
            comparison: "LessThanThreshold",
        },
        Expected {
            id: "DatabaseConnectionsAlarm".into(),
            metrics: vec![("AWS/RDS", "DatabaseConnections", db())],
            threshold: Ok(&DATABASE_CONNECTIONS),
            comparison: "GreaterThanThreshold",
        },
        Expected {
            id: "RedisMemoryAlarm".into(),
            metrics: redis("DatabaseMemoryUsagePercentage"),
            threshold: Ok(&REDIS_MEMORY),
            comparison: "GreaterThanThreshold",
        },
        Expected {
            id: "RedisEvictionsAlarm".into(),
            metrics: redis("Evictions"),
            threshold: Ok(&REDIS_EVICTIONS),
            comparison: "GreaterThanThreshold",
        },
        Expected {
            id: "ApplicationHealthAlarm".into(),
            metrics: vec![(
                "AWS/ElasticBeanstalk",
                "EnvironmentHealth",
                dims(&[("EnvironmentName", r("EBEnvironment"))]),
            )],
            threshold: Ok(&APPLICATION_HEALTH),
            comparison: "GreaterThanOrEqualToThreshold",
        },
    ];
    let mut instances: Vec<(&str, Vec<&str>)> = vec![("NFSBackupInstance", vec!["/"])];
    if o.document_store() {
        instances.push(("CouchDBInstance", vec!["/", "/srv/couchdb"]));
        if o.dual_az {
            instances.push(("CouchReplicatedDBInstance", vec!["/", "/srv/couchdb"]));
        }
    }
    for (instance, paths) in instances {
        all.push(Expected {
            id: format!("{instance}StatusAlarm"),
            metrics: vec![(
                "AWS/EC2",
                "StatusCheckFailed",
                dims(&[("InstanceId", r(instance))]),
            )],
            threshold: Err(0),
            comparison: "GreaterThanThreshold",
        });
        all.push(Expected {
            id: format!("{instance}DiskAlarm"),
            metrics: paths
                .iter()
                .map(|path| {
                    (
                        METRICS_NAMESPACE,
                        DISK_USED_METRIC,
                        dims(&[
                            (STACK_DIMENSION, r("AWS::StackName")),
                            (NODE_DIMENSION, json!(instance)),
                            (PATH_DIMENSION, json!(path)),
                        ]),
                    )
                })
                .collect(),
            threshold: Ok(&DISK_USED),
            comparison: "GreaterThanThreshold",
        });
    }
    all
}

#[test]
fn each_alarm_watches_its_resource_against_its_parameter_and_tells_the_operators() {
    for (name, o, t) in common::all_templates() {
        let resources = t["Resources"].as_object().unwrap();
        for e in expected(&o) {
            let at = format!("{name} {}", e.id);
            let alarm = resources
                .get(&e.id)
                .unwrap_or_else(|| panic!("{at}: missing"));
            assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm", "{at}");
            let p = &alarm["Properties"];
            let read = metrics_read(alarm);
            let want: Vec<(String, String, Value)> = e
                .metrics
                .iter()
                .map(|(n, m, d)| ((*n).to_owned(), (*m).to_owned(), d.clone()))
                .collect();
            assert_eq!(read, want, "{at}: metrics");
            if read.len() > 1 {
                assert!(
                    expression(alarm, &at).is_some(),
                    "{at}: several metrics, one result"
                );
            }
            // What it watches exists in this template.
            for (_, _, d) in &read {
                for dim in d.as_array().unwrap() {
                    if let Some(id) = dim["Value"]["Ref"].as_str() {
                        assert!(
                            id.starts_with("AWS::") || resources.contains_key(id),
                            "{at}: watches {id}, absent"
                        );
                    }
                }
            }
            match e.threshold {
                Ok(threshold) => {
                    assert_eq!(p["Threshold"], r(threshold.parameter), "{at}: threshold");
                    let param = &t["Parameters"][threshold.parameter];
                    assert_eq!(param["Type"], "Number", "{at}");
                    assert_eq!(param["Default"], threshold.default, "{at}: default");
                    let (min, max) = (param["MinValue"].as_u64(), param["MaxValue"].as_u64());
                    assert!(
                        min.unwrap() <= u64::from(threshold.default)
                            && u64::from(threshold.default) <= max.unwrap(),
                        "{at}: default within MinValue/MaxValue"
                    );
                    assert!(
                        param["Description"].as_str().unwrap().len() > 40,
                        "{at}: says what it means"
                    );
                }
                Err(fixed) => assert_eq!(p["Threshold"], fixed, "{at}: threshold"),
            }
            assert_eq!(p["ComparisonOperator"], e.comparison, "{at}");
            assert_eq!(p["AlarmActions"], json!([r(TOPIC)]), "{at}: AlarmActions");
            assert_eq!(p["OKActions"], json!([r(TOPIC)]), "{at}: OKActions");
            // Nothing reported yet (a new stack) is no alarm.
            assert_eq!(p["TreatMissingData"], "missing", "{at}");
            assert!(p.get("InsufficientDataActions").is_none(), "{at}");
            assert!(
                p["AlarmDescription"]["Fn::Sub"]
                    .as_str()
                    .is_some_and(|d| d.contains("${AWS::StackName}")),
                "{at}: the description names the stack"
            );
        }
    }
}

#[test]
fn alarms_exist_only_where_their_resource_does() {
    for (name, o, t) in common::all_templates() {
        let resources = t["Resources"].as_object().unwrap();
        let alarms: BTreeSet<&str> = resources
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
            .map(|(id, _)| id.as_str())
            .collect();
        for instance in ["CouchDBInstance", "CouchReplicatedDBInstance"] {
            let exists = resources.contains_key(instance);
            assert_eq!(
                exists,
                instance == "CouchDBInstance" && o.document_store()
                    || o.document_store() && o.dual_az,
                "{name} {instance}"
            );
            for kind in ["StatusAlarm", "DiskAlarm"] {
                assert_eq!(
                    alarms.contains(format!("{instance}{kind}").as_str()),
                    exists,
                    "{name}: {instance}{kind} exists exactly when {instance} does"
                );
            }
        }
        // No alarm watches a resource the template lacks; every alarm tells the operators.
        for id in &alarms {
            let alarm = &resources[*id];
            for (_, _, d) in metrics_read(alarm) {
                for dim in d.as_array().into_iter().flatten() {
                    if let Some(target) = dim["Value"]["Ref"].as_str() {
                        assert!(
                            target.starts_with("AWS::")
                                || resources.contains_key(target)
                                || t["Parameters"].get(target).is_some(),
                            "{name} {id}: {target}"
                        );
                    }
                }
            }
            assert!(
                alarm["Properties"]["AlarmActions"]
                    .as_array()
                    .is_some_and(|a| a.contains(&r(TOPIC))),
                "{name} {id}: alarms no one"
            );
        }
    }
}

#[test]
fn free_storage_is_a_percentage_of_the_storage_the_database_was_given() {
    for (name, o, t) in common::all_templates() {
        let alarm = &t["Resources"]["DatabaseFreeStorageAlarm"];
        let e = expression(alarm, &name).unwrap();
        let text = e["Fn::Sub"].as_str().unwrap();
        let allocated = if o.recovery {
            "${RecoveryParameters.PatientRecords}"
        } else {
            "${PatientRecords}"
        };
        assert_eq!(
            text,
            format!("100 * free / ({allocated} * 1073741824)"),
            "{name}"
        );
        // The same GiB RDS was given.
        let storage = &t["Resources"]["RDSInstance"]["Properties"]["AllocatedStorage"];
        let expected_storage = if o.recovery {
            json!({ "Fn::GetAtt": ["RecoveryParameters", "PatientRecords"] })
        } else {
            r("PatientRecords")
        };
        assert_eq!(storage, &expected_storage, "{name}");
    }
}

/// The disk alarms read what each instance's agent is configured to publish.
#[test]
fn disk_alarms_read_what_the_agents_publish() {
    for (name, _, t) in common::all_templates() {
        let resources = t["Resources"].as_object().unwrap();
        let agents: Vec<(&String, &Value)> = resources
            .iter()
            .filter(|(_, r)| {
                r["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"][1]
                    .get("AgentConfig")
                    .is_some()
            })
            .collect();
        assert!(
            agents.iter().any(|(id, _)| *id == "NFSBackupInstance"),
            "{name}"
        );
        for (instance, r) in agents {
            let vars = &r["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"][1];
            let config: Value = serde_json::from_str(
                &vars["AgentConfig"]["Fn::Sub"]
                    .as_str()
                    .unwrap()
                    .replace("${AWS::StackName}", "the-stack"),
            )
            .unwrap();
            let disk = &config["metrics"]["metrics_collected"]["disk"];
            assert_eq!(config["metrics"]["namespace"], METRICS_NAMESPACE);
            assert_eq!(disk["append_dimensions"][NODE_DIMENSION], instance.as_str());
            assert_eq!(disk["append_dimensions"][STACK_DIMENSION], "the-stack");
            let published: Vec<Value> = disk["resources"].as_array().unwrap().clone();
            let alarm = &resources[&format!("{instance}DiskAlarm")];
            let read: Vec<Value> = metrics_read(alarm)
                .into_iter()
                .map(|(ns, metric, d)| {
                    assert_eq!(
                        (ns.as_str(), metric.as_str()),
                        (METRICS_NAMESPACE, DISK_USED_METRIC)
                    );
                    let d = d.as_array().unwrap();
                    let names: Vec<&str> = d.iter().map(|x| x["Name"].as_str().unwrap()).collect();
                    // Exactly the dimensions the agent's roll-up publishes.
                    assert_eq!(
                        names,
                        config["metrics"]["aggregation_dimensions"][0]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x.as_str().unwrap())
                            .collect::<Vec<_>>(),
                        "{name} {instance}"
                    );
                    d[2]["Value"].clone()
                })
                .collect();
            assert_eq!(read, published, "{name} {instance}: paths");
            // Its role may publish there, and only there.
            let policy = resources
                .values()
                .find(|p| {
                    p["Type"] == "AWS::IAM::ManagedPolicy"
                        && p["Properties"]["Roles"][0]
                            == resources[r["Properties"]["IamInstanceProfile"]["Ref"]
                                .as_str()
                                .unwrap()]["Properties"]["Roles"][0]
                })
                .unwrap();
            let puts: Vec<&Value> = policy["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["Action"] == json!(["cloudwatch:PutMetricData"]))
                .collect();
            assert_eq!(puts.len(), 1, "{name} {instance}");
            assert_eq!(
                puts[0]["Condition"],
                json!({ "StringEquals": { "cloudwatch:namespace": METRICS_NAMESPACE } })
            );
        }
    }
}

#[test]
fn the_backup_check_alarm_pages_on_a_failure_or_silence_but_not_before_the_first_check() {
    for (name, _, t) in common::all_templates() {
        let p = &t["Resources"]["BackupCheckFailedAlarm"]["Properties"];
        assert_eq!(p["MetricName"], "FailedChecks", "{name}");
        assert_eq!(p["Statistic"], "Maximum");
        assert_eq!(p["Threshold"], 0);
        assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold");
        // One failed check is enough.
        assert_eq!(p["DatapointsToAlarm"], 1);
        // Missing, not breaching: a new stack's alarm stays in the state it was created in.
        assert_eq!(p["TreatMissingData"], "missing", "{name}");
        // The evaluation range: the silence after which a daily check counts as missed.
        assert_eq!(
            p["Period"].as_u64().unwrap() * p["EvaluationPeriods"].as_u64().unwrap(),
            u64::from(CHECK_SILENCE_HOURS) * 3600
        );
        // More than the day between two checks, less than two of them.
        const { assert!(CHECK_SILENCE_HOURS > 24 && CHECK_SILENCE_HOURS < 48) };
        assert_eq!(p["Period"], 3600, "hourly, so the range is close to 26 h");
        for actions in ["AlarmActions", "OKActions", "InsufficientDataActions"] {
            assert_eq!(p[actions], json!([r(TOPIC)]), "{name} {actions}");
        }
        let schedule = &t["Resources"]["BackupCheckerScheduleFailedAlarm"]["Properties"];
        assert_eq!(schedule["Namespace"], "AWS/Events");
        assert_eq!(schedule["MetricName"], "FailedInvocations");
        assert_eq!(
            schedule["Dimensions"],
            dims(&[("RuleName", r("BackupCheckerSchedule"))])
        );
        assert_eq!(schedule["TreatMissingData"], "notBreaching");
        assert_eq!(schedule["AlarmActions"], json!([r(TOPIC)]));
    }
}

#[test]
fn environment_health_is_enhanced_and_published_as_the_alarm_reads_it() {
    let settings = health::option_settings();
    let find = |namespace: &str, option: &str| -> Value {
        settings
            .iter()
            .find(|s| s["Namespace"] == namespace && s["OptionName"] == option)
            .unwrap_or_else(|| panic!("{namespace} {option}"))["Value"]
            .clone()
    };
    let health = "aws:elasticbeanstalk:healthreporting:system";
    assert_eq!(find(health, "SystemType"), "enhanced");
    let document: Value =
        serde_json::from_str(find(health, "ConfigDocument").as_str().unwrap()).unwrap();
    assert_eq!(document["Version"], 1);
    assert_eq!(
        document["CloudWatchMetrics"]["Environment"]["EnvironmentHealth"], 60,
        "published every minute"
    );
    assert_eq!(
        find("aws:elasticbeanstalk:environment", "ServiceRole"),
        r(BEANSTALK_SERVICE_ROLE)
    );
    for (name, _, t) in common::all_templates() {
        let alarm = &t["Resources"]["ApplicationHealthAlarm"]["Properties"];
        assert_eq!(alarm["MetricName"], "EnvironmentHealth");
        // Its period is no shorter than the publishing interval.
        assert!(alarm["Period"].as_u64().unwrap() >= 60, "{name}");
        let role = &t["Resources"][BEANSTALK_SERVICE_ROLE];
        assert_eq!(role["Type"], "AWS::IAM::Role", "{name}");
        let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(statements[0]["Action"], json!(ENHANCED_HEALTH_ACTIONS));
        assert!(
            ENHANCED_HEALTH_ACTIONS.iter().all(|a| a
                .split(':')
                .nth(1)
                .unwrap()
                .starts_with("Describe")),
            "health only reads"
        );
    }
    let statement = health::instance_statement();
    assert_eq!(
        statement["Action"],
        json!(["elasticbeanstalk:PutInstanceStatistics"])
    );
}

#[test]
fn every_parameter_is_in_one_console_group_the_thresholds_last() {
    for (name, _, t) in common::all_templates() {
        let groups = t["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: parameter groups"));
        let mut grouped: Vec<&str> = Vec::new();
        for g in groups {
            grouped.extend(
                g["Parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap()),
            );
        }
        let parameters: Vec<&str> = t["Parameters"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted_grouped = grouped.clone();
        sorted_grouped.sort_unstable();
        let mut sorted_parameters = parameters.clone();
        sorted_parameters.sort_unstable();
        assert_eq!(
            sorted_grouped, sorted_parameters,
            "{name}: each parameter once"
        );
        let last = groups.last().unwrap();
        assert_eq!(last["Label"]["default"], THRESHOLDS_LABEL);
        let thresholds: Vec<&str> = last["Parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        // This module's first, in their order; every other alarm threshold with them.
        let ours: Vec<&str> = THRESHOLDS.iter().map(|p| p.parameter).collect();
        assert_eq!(thresholds[..ours.len()], ours[..], "{name}");
        let alarm_parameters: Vec<&str> = parameters
            .iter()
            .copied()
            .filter(|p| p.contains("Alarm"))
            .collect();
        let mut sorted_thresholds = thresholds.clone();
        sorted_thresholds.sort_unstable();
        let mut sorted_alarm_parameters = alarm_parameters.clone();
        sorted_alarm_parameters.sort_unstable();
        assert_eq!(sorted_thresholds, sorted_alarm_parameters, "{name}");
    }
}
