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

use thiserror::Error;

pub const DEFAULT_RETAIN: usize = 3;
pub const DEFAULT_DESCRIPTION: &str = "OpenEMR document store snapshot";
pub const DEFAULT_WINDOW_HOURS: i64 = 20;

/// One document volume of the stack: its logical ID in the template and its volume id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub role: String,
    pub id: String,
}

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
    pub window_secs: i64,
    pub copy: Option<CopyTarget>,
    pub dry_run: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} = {value:?}: {why}")]
    Invalid {
        name: &'static str,
        value: String,
        why: &'static str,
    },
}

impl Config {
    /// Reads the settings through `lookup` (the process environment in the Lambda).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let stack_id = get("STACK_ID").ok_or(ConfigError::Missing("STACK_ID"))?;
        let volumes_text = get("VOLUMES").ok_or(ConfigError::Missing("VOLUMES"))?;
        let volumes = parse_volumes(&volumes_text)?;
        let retain = match get("RETAIN_COUNT") {
            None => DEFAULT_RETAIN,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(invalid(
                        "RETAIN_COUNT",
                        &v,
                        "must be a whole number of at least 1",
                    ));
                }
            },
        };
        let description = get("DESCRIPTION").unwrap_or_else(|| DEFAULT_DESCRIPTION.to_owned());
        let window_hours = match get("IDEMPOTENCY_WINDOW_HOURS") {
            None => DEFAULT_WINDOW_HOURS,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=168).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "IDEMPOTENCY_WINDOW_HOURS",
                        &v,
                        "must be a whole number of hours from 1 to 168",
                    ));
                }
            },
        };
        let copy = match (get("COPY_REGION"), get("COPY_KMS_KEY_ID")) {
            (None, None) => None,
            (Some(region), Some(kms_key_id)) => Some(CopyTarget { region, kms_key_id }),
            (Some(region), None) => {
                return Err(invalid(
                    "COPY_REGION",
                    &region,
                    "needs COPY_KMS_KEY_ID (a KMS key ARN in that region) as well",
                ));
            }
            (None, Some(key)) => {
                return Err(invalid(
                    "COPY_KMS_KEY_ID",
                    &key,
                    "needs COPY_REGION as well",
                ));
            }
        };
        let dry_run = match get("DRY_RUN").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => return Err(invalid("DRY_RUN", other, "must be true or false")),
        };
        Ok(Config {
            stack_id,
            volumes,
            retain,
            description,
            window_secs: window_hours * 3600,
            copy,
            dry_run,
        })
    }
}

fn invalid(name: &'static str, value: &str, why: &'static str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        why,
    }
}

/// `CouchDBVolume=vol-1,RCouchDBVolume=vol-2` → volumes, in that order; roles unique.
pub fn parse_volumes(text: &str) -> Result<Vec<Volume>, ConfigError> {
    let mut volumes: Vec<Volume> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((role, id)) = item.split_once('=') else {
            return Err(invalid("VOLUMES", text, "each item must be Role=vol-id"));
        };
        let (role, id) = (role.trim(), id.trim());
        if role.is_empty() || !id.starts_with("vol-") {
            return Err(invalid("VOLUMES", text, "each item must be Role=vol-id"));
        }
        if volumes.iter().any(|v| v.role == role) {
            return Err(invalid("VOLUMES", text, "a role appears twice"));
        }
        volumes.push(Volume {
            role: role.to_owned(),
            id: id.to_owned(),
        });
    }
    if volumes.is_empty() {
        return Err(invalid("VOLUMES", text, "names no volume"));
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
        assert_eq!(c.window_secs, 20 * 3600);
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
            (c.retain, c.description.as_str(), c.window_secs, c.dry_run),
            (7, "docs", 6 * 3600, true)
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
