//! The function's settings, read once at cold start from the environment the template sets.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `STACK_ID` | `AWS::StackId`; the value of the `openemr:stack-id` tag | required |
//! | `VOLUMES` | `Role=vol-id[,Role=vol-id]`, e.g. `CouchDBVolume=vol-1,RCouchDBVolume=vol-2` | required |
//! | `RETAIN_COUNT` | completed snapshots kept per volume (≥ 1) | 3 |
//! | `DESCRIPTION` | snapshot description | `OpenEMR document store snapshot` |
//! | `IDEMPOTENCY_WINDOW_HOURS` | a volume with a snapshot younger than this gets no new one | 20 |
//! | `COPY_REGION` | copy each completed snapshot to this region (empty: no copy) | empty |
//! | `COPY_KMS_KEY_ID` | KMS key ARN in `COPY_REGION` for the copies (required with it) | empty |
//! | `DRY_RUN` | `true`: report only, change nothing | false |

use stack_contract::document_snapshotter as var;
use stack_contract::env::{self, Env, EnvError};
use time::Duration;

pub use stack_contract::volumes::Volume;

pub const DEFAULT_RETAIN: usize = 3;
pub const DEFAULT_DESCRIPTION: &str = "OpenEMR document store snapshot";
pub const DEFAULT_WINDOW_HOURS: i64 = 20;
/// A week: the template allows at most 23, the function accepts a longer manual setting.
pub const MAX_WINDOW_HOURS: i64 = 168;

/// Where copies go, when enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTarget {
    pub region: String,
    pub kms_key_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub stack_id: String,
    pub volumes: Vec<Volume>,
    pub retain: usize,
    pub description: String,
    /// A volume with a snapshot younger than this gets no new one.
    pub window: Duration,
    pub copy: Option<CopyTarget>,
    pub dry_run: bool,
}

/// A bad or missing setting, naming the variable (the shared environment reader's error).
pub type ConfigError = EnvError;

impl Config {
    /// Reads the settings from the process environment (the Lambda's).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::read(&env::process())
    }

    /// Reads the settings through `lookup` (a table in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::read(&Env::new(lookup))
    }

    fn read<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Config, ConfigError> {
        let stack_id = env.required(var::STACK_ID)?;
        let volumes = volumes(env)?;
        let retain = env.number_at_least(var::RETAIN_COUNT, DEFAULT_RETAIN, 1)?;
        let description = env
            .optional(var::DESCRIPTION)
            .unwrap_or_else(|| DEFAULT_DESCRIPTION.to_owned());
        let window_hours = env.number_in(
            var::IDEMPOTENCY_WINDOW_HOURS,
            DEFAULT_WINDOW_HOURS,
            1..=MAX_WINDOW_HOURS,
            "hours",
        )?;
        Ok(Config {
            stack_id,
            volumes,
            retain,
            description,
            window: Duration::hours(window_hours),
            copy: copy_target(env)?,
            dry_run: env.flag(var::DRY_RUN)?,
        })
    }
}

/// `COPY_REGION` and `COPY_KMS_KEY_ID`: both or neither.
fn copy_target<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<CopyTarget>, ConfigError> {
    match (
        env.optional(var::COPY_REGION),
        env.optional(var::COPY_KMS_KEY_ID),
    ) {
        (None, None) => Ok(None),
        (Some(region), Some(kms_key_id)) => Ok(Some(CopyTarget { region, kms_key_id })),
        (Some(region), None) => Err(env::invalid(
            var::COPY_REGION,
            &region,
            format!(
                "needs {} (a KMS key ARN in that region) as well",
                var::COPY_KMS_KEY_ID
            ),
        )),
        (None, Some(key)) => Err(env::invalid(
            var::COPY_KMS_KEY_ID,
            &key,
            format!("needs {} as well", var::COPY_REGION),
        )),
    }
}

/// `VOLUMES`: `CouchDBVolume=vol-1,RCouchDBVolume=vol-2` → volumes, in that order; roles
/// unique; at least one (an empty list is fine for the checker, not here).
fn volumes<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Vec<Volume>, ConfigError> {
    let volumes = env.volumes(var::VOLUMES)?;
    if volumes.is_empty() {
        // Unset is "not set"; a value naming nothing (",") is invalid.
        let text = env.required(var::VOLUMES)?;
        return Err(env::invalid(var::VOLUMES, &text, "names no volume"));
    }
    Ok(volumes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 2] = [
        ("STACK_ID", "arn:stack"),
        ("VOLUMES", "CouchDBVolume=vol-1"),
    ];

    #[test]
    fn defaults() {
        let c = config(&BASE).unwrap();
        assert_eq!(
            c.volumes,
            vec![Volume {
                role: "CouchDBVolume".into(),
                id: "vol-1".into()
            }]
        );
        assert_eq!(c.retain, 3);
        assert_eq!(c.description, DEFAULT_DESCRIPTION);
        assert_eq!(c.window, Duration::hours(20));
        assert_eq!(c.copy, None);
        assert!(!c.dry_run);
    }

    #[test]
    fn full() {
        let mut vars = vec![
            ("STACK_ID", "arn:stack"),
            ("VOLUMES", " CouchDBVolume=vol-1 , RCouchDBVolume=vol-2 "),
            ("RETAIN_COUNT", "7"),
            ("DESCRIPTION", "docs"),
            ("IDEMPOTENCY_WINDOW_HOURS", "6"),
            ("COPY_REGION", "us-west-2"),
            (
                "COPY_KMS_KEY_ID",
                "arn:aws:kms:us-west-2:123456789012:key/abc",
            ),
            ("DRY_RUN", "true"),
        ];
        let c = config(&vars).unwrap();
        assert_eq!(c.volumes.len(), 2);
        assert_eq!(
            c.volumes[1],
            Volume {
                role: "RCouchDBVolume".into(),
                id: "vol-2".into()
            }
        );
        assert_eq!(
            (c.retain, c.description.as_str(), c.window, c.dry_run),
            (7, "docs", Duration::hours(6), true)
        );
        assert_eq!(c.copy.unwrap().region, "us-west-2");
        // An empty COPY_REGION (the template's default) means no copy.
        vars[5] = ("COPY_REGION", "");
        vars[6] = ("COPY_KMS_KEY_ID", "");
        assert_eq!(config(&vars).unwrap().copy, None);
    }

    #[test]
    fn rejects() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("VOLUMES", "CouchDBVolume=vol-1")],
                "STACK_ID is not set",
            ),
            (vec![("STACK_ID", "s")], "VOLUMES is not set"),
            (
                vec![("STACK_ID", "s"), ("VOLUMES", "CouchDBVolume")],
                "Role=vol-id",
            ),
            (
                vec![("STACK_ID", "s"), ("VOLUMES", "CouchDBVolume=snap-1")],
                "Role=vol-id",
            ),
            (
                vec![("STACK_ID", "s"), ("VOLUMES", "A=vol-1,A=vol-2")],
                "twice",
            ),
            (vec![("STACK_ID", "s"), ("VOLUMES", ",")], "names no volume"),
            (
                vec![
                    ("STACK_ID", "s"),
                    ("VOLUMES", "A=vol-1"),
                    ("RETAIN_COUNT", "0"),
                ],
                "at least 1",
            ),
            (
                vec![
                    ("STACK_ID", "s"),
                    ("VOLUMES", "A=vol-1"),
                    ("RETAIN_COUNT", "three"),
                ],
                "at least 1",
            ),
            (
                vec![
                    ("STACK_ID", "s"),
                    ("VOLUMES", "A=vol-1"),
                    ("IDEMPOTENCY_WINDOW_HOURS", "0"),
                ],
                "1 to 168",
            ),
            (
                vec![
                    ("STACK_ID", "s"),
                    ("VOLUMES", "A=vol-1"),
                    ("COPY_REGION", "us-west-2"),
                ],
                "needs COPY_KMS_KEY_ID",
            ),
            (
                vec![
                    ("STACK_ID", "s"),
                    ("VOLUMES", "A=vol-1"),
                    ("COPY_KMS_KEY_ID", "k"),
                ],
                "needs COPY_REGION",
            ),
            (
                vec![
                    ("STACK_ID", "s"),
                    ("VOLUMES", "A=vol-1"),
                    ("DRY_RUN", "yes"),
                ],
                "true or false",
            ),
        ];
        for (vars, want) in cases {
            let err = config(&vars).unwrap_err().to_string();
            assert!(
                err.contains(want),
                "{vars:?}: {err} does not mention {want:?}"
            );
        }
    }
}
