//! What to check, read from the environment the template sets (names in
//! [`stack_contract::backup_checker`]).

use stack_contract::backup_checker::{
    BUCKET, DB_INSTANCE, DEFAULT_MAX_AGE_HOURS, DEFAULT_MAX_SKEW_HOURS, DRILL_MAX_AGE_DAYS,
    MAX_AGE_HOURS, MAX_HOURS, MAX_SKEW_HOURS, PREFIX, STACK, TOPIC, VOLUMES, passphrase_name,
};
use stack_contract::bucket::BACKUP_PREFIX;
use stack_contract::env::{self, Env, EnvError};
use stack_contract::restore_drill::MAX_AGE_DAYS_RANGE;
use stack_contract::volumes::Volume;
use time::Duration;

use crate::checks::Thresholds;

/// The `STACK_NAME` used when the variable is unset (a local invoke).
pub const DEFAULT_STACK: &str = "openemr";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bucket: String,
    /// Ends with `/`.
    pub prefix: String,
    /// Roles are the volumes' logical IDs ([`stack_contract::volumes::ROLES`]).
    pub volumes: Vec<Volume>,
    pub db_instance: Option<String>,
    pub limits: Thresholds,
    pub topic: Option<String>,
    pub stack: String,
    /// `DrillMaxAgeDays` when the stack has a scheduled restore drill: its age is reported.
    pub drill_max_age: Option<Duration>,
}

impl Config {
    /// Reads the configuration through `var` (a table in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, EnvError> {
        Config::read(&Env::new(var))
    }

    /// Reads the process environment (Lambda).
    pub fn from_env() -> Result<Config, EnvError> {
        Config::read(&env::process())
    }

    fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Config, EnvError> {
        let mut prefix = env
            .optional(PREFIX)
            .unwrap_or_else(|| BACKUP_PREFIX.to_owned());
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        let hours = |name, default, min| env.number_in(name, default, min..=MAX_HOURS, "hours");
        let limits = Thresholds {
            max_age: Duration::hours(hours(MAX_AGE_HOURS, DEFAULT_MAX_AGE_HOURS, 1)?),
            max_skew: Duration::hours(hours(MAX_SKEW_HOURS, DEFAULT_MAX_SKEW_HOURS, 0)?),
        };
        Ok(Config {
            bucket: env.required(BUCKET)?,
            prefix,
            // Absent or empty without a document store.
            volumes: env.volumes(VOLUMES)?,
            db_instance: env.optional(DB_INSTANCE),
            limits,
            topic: env.optional(TOPIC),
            stack: env
                .optional(STACK)
                .unwrap_or_else(|| DEFAULT_STACK.to_owned()),
            drill_max_age: match env.optional(DRILL_MAX_AGE_DAYS) {
                None => None,
                Some(_) => {
                    let (min, max) = MAX_AGE_DAYS_RANGE;
                    let days = min.into()..=max.into();
                    Some(Duration::days(env.number_in(
                        DRILL_MAX_AGE_DAYS,
                        0,
                        days,
                        "days",
                    )?))
                }
            },
        })
    }

    /// `s3://bucket/prefix`, for messages.
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The passphrase object's key: [`stack_contract::bucket::PASSPHRASE_KEY`] under this
    /// configuration's prefix.
    pub fn passphrase_key(&self) -> String {
        format!("{}{}", self.prefix, passphrase_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stack_contract::volumes::{PRIMARY, REPLICA};
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| map.get(k).cloned()).map_err(|e| e.to_string())
    }

    #[test]
    fn config_defaults_and_parsing() {
        let volumes = format!("{PRIMARY}=vol-1, {REPLICA}=vol-2");
        let c = config(&[(BUCKET, "b"), (VOLUMES, &volumes), (DB_INSTANCE, "db")]).unwrap();
        assert_eq!(c.prefix, "Backup/");
        assert_eq!(
            c.limits,
            Thresholds {
                max_age: Duration::hours(26),
                max_skew: Duration::hours(2)
            }
        );
        assert_eq!(c.volumes.len(), 2);
        assert_eq!(
            c.volumes[1],
            Volume {
                role: REPLICA.into(),
                id: "vol-2".into()
            }
        );
        assert_eq!(c.db_instance.as_deref(), Some("db"));
        assert_eq!(c.topic, None);
        assert_eq!(
            c.drill_max_age, None,
            "no drill unless the template says so"
        );
        assert_eq!(c.passphrase_key(), stack_contract::bucket::PASSPHRASE_KEY);
        // no document store: empty list
        let c = config(&[
            (BUCKET, "b"),
            (VOLUMES, ""),
            (PREFIX, "x"),
            (MAX_SKEW_HOURS, "0"),
            (DRILL_MAX_AGE_DAYS, "35"),
        ])
        .unwrap();
        assert!(c.volumes.is_empty());
        assert_eq!(c.prefix, "x/");
        assert_eq!(c.limits.max_skew, Duration::ZERO);
        assert_eq!(c.drill_max_age, Some(Duration::days(35)));
    }

    #[test]
    fn config_errors_name_the_variable() {
        for (vars, word) in [
            (vec![], BUCKET),
            (vec![(BUCKET, "b"), (VOLUMES, "vol-1")], VOLUMES),
            (vec![(BUCKET, "b"), (VOLUMES, "CouchDBVolume=i-1")], VOLUMES),
            (vec![(BUCKET, "b"), (MAX_AGE_HOURS, "0")], MAX_AGE_HOURS),
            (vec![(BUCKET, "b"), (MAX_SKEW_HOURS, "two")], MAX_SKEW_HOURS),
            (
                vec![(BUCKET, "b"), (DRILL_MAX_AGE_DAYS, "0")],
                DRILL_MAX_AGE_DAYS,
            ),
        ] {
            let e = config(&vars).unwrap_err();
            assert!(e.contains(word), "{e}");
        }
    }
}
