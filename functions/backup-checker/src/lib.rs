//! backup-checker: runs every night after the backups and proves they exist, are fresh and line
//! up — the EFS duplicity chain in the stack bucket's `Backup/`, the passphrase object, the
//! newest snapshot of each document volume and of the database, and the skew between them.
//!
//! Decisions are pure ([`duplicity`], [`checks`], [`output`]); AWS calls are in [`gather`].
//! A run logs one EMF metric line per check, sends an SNS alert when a check fails and then
//! fails the invocation, so both the metric alarm and the Lambda error alarm fire.

pub mod checks;
pub mod duplicity;
pub mod gather;
pub mod output;
pub mod stamp;

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use checks::{Findings, Report, Thresholds, VolumeRef};
use gather::{ApiCalls, Clients};

/// Environment variable names (the template sets them; see README).
pub mod env {
    pub const BUCKET: &str = "BACKUP_BUCKET";
    pub const PREFIX: &str = "BACKUP_PREFIX";
    pub const VOLUMES: &str = "DOCUMENT_VOLUMES";
    pub const DB_INSTANCE: &str = "DB_INSTANCE_ID";
    pub const MAX_AGE_HOURS: &str = "MAX_BACKUP_AGE_HOURS";
    pub const MAX_SKEW_HOURS: &str = "MAX_SKEW_HOURS";
    pub const TOPIC: &str = "ALERT_TOPIC_ARN";
    pub const STACK: &str = "STACK_NAME";
}

pub const DEFAULT_PREFIX: &str = "Backup/";
pub const DEFAULT_MAX_AGE_HOURS: i64 = 26;
pub const DEFAULT_MAX_SKEW_HOURS: i64 = 2;

/// What to check, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bucket: String,
    /// Ends with `/`.
    pub prefix: String,
    pub volumes: Vec<VolumeRef>,
    pub db_instance: Option<String>,
    pub limits: Thresholds,
    pub topic: Option<String>,
    pub stack: String,
}

impl Config {
    /// Reads the configuration through `var` (the process environment in Lambda).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let bucket = get(env::BUCKET)
            .ok_or_else(|| format!("{} is not set: the stack bucket to check", env::BUCKET))?;
        let mut prefix = get(env::PREFIX).unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        let mut volumes = Vec::new();
        for item in get(env::VOLUMES)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (role, volume_id) = item
                .split_once('=')
                .ok_or_else(|| format!("{}: {item:?} is not role=volume-id", env::VOLUMES))?;
            if !volume_id.starts_with("vol-") || role.is_empty() {
                return Err(format!("{}: {item:?} is not role=vol-...", env::VOLUMES));
            }
            volumes.push(VolumeRef {
                role: role.to_owned(),
                volume_id: volume_id.to_owned(),
            });
        }
        let hours = |name: &str, default: i64, min: i64| -> Result<i64, String> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<i64>() {
                    Ok(h) if (min..=24 * 366).contains(&h) => Ok(h),
                    _ => Err(format!(
                        "{name}: {v:?} is not a whole number of hours between {min} and {}",
                        24 * 366
                    )),
                },
            }
        };
        let limits = Thresholds {
            max_age_secs: hours(env::MAX_AGE_HOURS, DEFAULT_MAX_AGE_HOURS, 1)? * 3600,
            max_skew_secs: hours(env::MAX_SKEW_HOURS, DEFAULT_MAX_SKEW_HOURS, 0)? * 3600,
        };
        Ok(Config {
            bucket,
            prefix,
            volumes,
            db_instance: get(env::DB_INSTANCE),
            limits,
            topic: get(env::TOPIC),
            stack: get(env::STACK).unwrap_or_else(|| "openemr".to_owned()),
        })
    }

    pub fn from_env() -> Result<Config, String> {
        Config::from_vars(|name| std::env::var(name).ok())
    }
}

/// One run's result: the report and the API requests it took.
#[derive(Debug, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub report: Report,
    pub api_calls: ApiCalls,
}

/// Gathers everything and judges it at `now` (Unix seconds). Never fails: an AWS error is a
/// failed check.
pub async fn check(clients: &Clients, config: &Config, now: i64) -> Run {
    let calls = ApiCalls::default();
    let passphrase_key = format!("{}passphrase.txt", config.prefix);
    let (efs, multipart, passphrase, volumes, database) = tokio::join!(
        gather::scan_backup(&clients.s3, &config.bucket, &config.prefix, &calls),
        gather::multipart_uploads(&clients.s3, &config.bucket, &config.prefix, &calls),
        gather::passphrase(&clients.s3, &config.bucket, &passphrase_key, &calls),
        async {
            let mut found = Vec::new();
            for v in &config.volumes {
                found.push(
                    gather::volume_snapshots(&clients.ec2, v, &calls)
                        .await
                        .map_err(|e| (v.clone(), e)),
                );
            }
            found
        },
        async {
            match &config.db_instance {
                None => None,
                Some(id) => Some(
                    gather::database_snapshots(&clients.rds, id, &calls)
                        .await
                        .map_err(|e| (id.clone(), e)),
                ),
            }
        },
    );
    let findings = Findings {
        location: format!("s3://{}/{}", config.bucket, config.prefix),
        efs,
        passphrase,
        multipart,
        volumes,
        database,
    };
    let report = checks::evaluate(&findings, now, config.limits);
    Run {
        report,
        api_calls: calls,
    }
}

/// A full invocation: check, write the EMF lines to `metrics_out` (stdout in Lambda), alert and
/// fail when a check failed. Ok carries the run as JSON.
pub async fn handle(
    clients: &Clients,
    config: &Config,
    now: i64,
    metrics_out: &mut (dyn Write + Send),
) -> Result<Value, String> {
    let run = check(clients, config, now).await;
    for line in output::emf_lines(&run.report, &config.stack, now * 1000) {
        // A lost metric line must not hide the verdict: the error alarm still fires on failure.
        let _ = writeln!(metrics_out, "{line}");
    }
    let _ = metrics_out.flush();
    for c in &run.report.checks {
        if c.ok {
            tracing::info!(check = %c.name, "{}", c.message);
        } else {
            tracing::error!(check = %c.name, "{}", c.message);
        }
    }
    if run.report.ok {
        tracing::info!(
            api_calls = run.api_calls.total(),
            "all backup checks passed"
        );
        return Ok(serde_json::to_value(&run).unwrap_or_default());
    }
    if let Some(topic) = &config.topic {
        let log_group = std::env::var("AWS_LAMBDA_LOG_GROUP_NAME").ok();
        let (subject, message) = output::alert(&run.report, &config.stack, log_group.as_deref());
        if let Err(error) =
            gather::publish(&clients.sns, topic, &subject, &message, &run.api_calls).await
        {
            tracing::error!(%error, "could not publish the alert; the failed invocation still raises the error alarm");
        }
    }
    Err(output::failure_summary(&run.report))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn config_defaults_and_parsing() {
        let c = config(&[
            (env::BUCKET, "b"),
            (env::VOLUMES, "primary=vol-1, replica=vol-2"),
            (env::DB_INSTANCE, "db"),
        ])
        .unwrap();
        assert_eq!(c.prefix, "Backup/");
        assert_eq!(
            c.limits,
            Thresholds {
                max_age_secs: 26 * 3600,
                max_skew_secs: 2 * 3600
            }
        );
        assert_eq!(c.volumes.len(), 2);
        assert_eq!(
            c.volumes[1],
            VolumeRef {
                role: "replica".into(),
                volume_id: "vol-2".into()
            }
        );
        assert_eq!(c.db_instance.as_deref(), Some("db"));
        assert_eq!(c.topic, None);
        // no document store: empty list
        let c = config(&[
            (env::BUCKET, "b"),
            (env::VOLUMES, ""),
            (env::PREFIX, "x"),
            (env::MAX_SKEW_HOURS, "0"),
        ])
        .unwrap();
        assert!(c.volumes.is_empty());
        assert_eq!(c.prefix, "x/");
        assert_eq!(c.limits.max_skew_secs, 0);
    }

    #[test]
    fn config_errors_name_the_variable() {
        for (vars, word) in [
            (vec![], env::BUCKET),
            (
                vec![(env::BUCKET, "b"), (env::VOLUMES, "vol-1")],
                env::VOLUMES,
            ),
            (
                vec![(env::BUCKET, "b"), (env::VOLUMES, "primary=i-1")],
                env::VOLUMES,
            ),
            (
                vec![(env::BUCKET, "b"), (env::MAX_AGE_HOURS, "0")],
                env::MAX_AGE_HOURS,
            ),
            (
                vec![(env::BUCKET, "b"), (env::MAX_SKEW_HOURS, "two")],
                env::MAX_SKEW_HOURS,
            ),
        ] {
            let e = config(&vars).unwrap_err();
            assert!(e.contains(word), "{e}");
        }
    }
}
