//! The template (stack-gen's backup_checker component) and the function agree: every variable
//! the template sets is one the function reads and parses, and the alarm watches the metric the
//! function writes.

use backup_checker::Config;
use serde_json::Value;
use stack_contract::backup_checker as env;
use stack_contract::volumes::{PRIMARY, REPLICA};
use stack_gen::{Options, generate};

/// The function's environment as CloudFormation would resolve it, with sample values.
fn resolved_env(o: &Options) -> Vec<(String, String)> {
    let t = generate(o).unwrap().to_json();
    let vars = t["Resources"]["BackupCheckerFunction"]["Properties"]["Environment"]["Variables"]
        .as_object()
        .unwrap()
        .clone();
    vars.into_iter()
        .map(|(k, v)| {
            let value = match &v {
                Value::String(s) => s.clone(),
                _ => {
                    let text = v.to_string();
                    if text.contains("CouchDBVolume") {
                        // Fn::Sub "CouchDBVolume=${CouchDBVolume}[,RCouchDBVolume=${RCouchDBVolume}]"
                        v["Fn::Sub"]
                            .as_str()
                            .unwrap()
                            .replace("${CouchDBVolume}", "vol-0a")
                            .replace("${RCouchDBVolume}", "vol-0b")
                    } else if text.contains("BackupMaxAgeHours") {
                        "26".into()
                    } else if text.contains("BackupMaxSkewHours") {
                        "2".into()
                    } else if text.contains("DrillMaxAgeDays") {
                        // Fn::If DrillScheduled: the parameter's value.
                        "35".into()
                    } else {
                        format!("resolved-{k}")
                    }
                }
            };
            (k, value)
        })
        .collect()
}

#[test]
fn template_environment_is_what_the_function_reads() {
    let known = [
        env::BUCKET,
        env::PREFIX,
        env::VOLUMES,
        env::DB_INSTANCE,
        env::MAX_AGE_HOURS,
        env::MAX_SKEW_HOURS,
        env::TOPIC,
        env::STACK,
        env::DRILL_MAX_AGE_DAYS,
    ];
    // (options, volume roles, drill age reported)
    for (o, roles, drill) in [
        (Options::default(), vec![PRIMARY], Some(35)),
        (
            Options {
                dual_az: true,
                ..Options::default()
            },
            vec![PRIMARY, REPLICA],
            Some(35),
        ),
        (
            Options {
                skip_document_store: true,
                ..Options::default()
            },
            vec![],
            Some(35),
        ),
        // A recovery stack has no drill of its own.
        (
            Options {
                recovery: true,
                ..Options::default()
            },
            vec![PRIMARY],
            None,
        ),
    ] {
        let vars = resolved_env(&o);
        for (k, _) in &vars {
            assert!(
                known.contains(&k.as_str()),
                "the template sets {k}, which the function does not read"
            );
        }
        let config =
            Config::from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
                .unwrap();
        assert_eq!(
            config
                .volumes
                .iter()
                .map(|v| v.role.as_str())
                .collect::<Vec<_>>(),
            roles,
            "{:?}",
            o.flags()
        );
        assert_eq!(config.prefix, "Backup/");
        assert!(config.topic.is_some() && config.db_instance.is_some());
        assert_eq!(config.limits.max_age, time::Duration::hours(26));
        assert_eq!(
            config.drill_max_age.map(|d| d.whole_days()),
            drill,
            "{:?}",
            o.flags()
        );
    }
}

#[test]
fn alarm_watches_the_metric_the_function_writes() {
    let t = generate(&Options::default()).unwrap().to_json();
    let alarm = &t["Resources"]["BackupCheckFailedAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], env::NAMESPACE);
    assert_eq!(alarm["MetricName"], env::FAILED_METRIC);
    assert_eq!(alarm["Dimensions"][0]["Name"], env::STACK_DIMENSION);
    // the function's STACK_NAME is the same value as the alarm's dimension
    let env = &t["Resources"]["BackupCheckerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(env[env::STACK], alarm["Dimensions"][0]["Value"]);
}

#[test]
fn the_overdue_drill_alarm_watches_the_age_the_function_writes() {
    use stack_contract::restore_drill::DAYS_SINCE_SUCCESS_METRIC;
    let t = generate(&Options::default()).unwrap().to_json();
    let alarm = &t["Resources"]["RestoreDrillOverdueAlarm"]["Properties"];
    // The function writes check metrics with dimensions Stack and Check (output::emf_lines).
    assert_eq!(alarm["Namespace"], env::NAMESPACE);
    assert_eq!(alarm["MetricName"], DAYS_SINCE_SUCCESS_METRIC);
    let vars = &t["Resources"]["BackupCheckerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        alarm["Dimensions"],
        serde_json::json!([
            { "Name": env::STACK_DIMENSION, "Value": vars[env::STACK] },
            { "Name": env::CHECK_DIMENSION, "Value": env::DRILL_CHECK }
        ])
    );
    // Its threshold and the function's are the same parameter.
    assert_eq!(
        vars[env::DRILL_MAX_AGE_DAYS]["Fn::If"][1],
        alarm["Threshold"]
    );
}
