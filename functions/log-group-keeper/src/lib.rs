//! `log-group-keeper`: the custom resource `ServiceLogGroups`. AWS services create some of the
//! stack's log groups themselves, under names known only once the service's resource exists:
//! RDS its log exports (`/aws/rds/instance/<id>/error`, `slowquery`), Elastic Beanstalk its
//! streamed logs (`/aws/elasticbeanstalk/<environment>/...`). Left alone they never expire
//! (RDS) and are not encrypted with the stack's key. This function gives them both.
//!
//! - Create / Update: every group named in `LogGroups` is created with the key and the
//!   retention unless it exists (RDS then writes into it); every existing group named there or
//!   under a `LogGroupPrefixes` prefix that lacks the retention or the key gets it.
//! - Delete: nothing (the groups are kept, like the stack's own).
//!
//! One request is: gather the groups that exist ([`gather`], DescribeLogGroups per name and
//! prefix), decide the steps purely ([`plan`]), act ([`act`]). A failure fails the resource
//! with a Reason naming the group and what to check.

use aws_clients::ApiError;
use custom_resource::{Request, Success};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use stack_contract::log_group_keeper::properties::{
    KMS_KEY_ARN, LOG_GROUP_PREFIXES, LOG_GROUPS, RETENTION_IN_DAYS,
};

/// The resource's PhysicalResourceId: one per stack, unchanged by updates (an update that
/// changed it would make CloudFormation send a Delete for the old one).
pub const PHYSICAL_ID: &str = "service-log-groups";

/// `ResourceProperties` of `ServiceLogGroups` (other properties, such as `ServiceToken`, are
/// ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Props {
    pub log_groups: Vec<String>,
    pub prefixes: Vec<String>,
    pub retention_days: i32,
    pub kms_key_arn: String,
}

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Props, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        let names = |name: &'static str| -> Result<Vec<String>, D::Error> {
            match map.get(name) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(text) if !text.trim().is_empty() => Ok(text.clone()),
                        _ => Err(D::Error::custom(format!(
                            "{name} must list non-empty log group names"
                        ))),
                    })
                    .collect(),
                Some(_) => Err(D::Error::custom(format!("{name} must be a list"))),
            }
        };
        // CloudFormation passes every scalar property as a string.
        let retention = match map.get(RETENTION_IN_DAYS) {
            Some(Value::String(text)) => text.parse::<i32>().ok(),
            Some(Value::Number(number)) => number.as_i64().and_then(|n| i32::try_from(n).ok()),
            None => return Err(D::Error::missing_field(RETENTION_IN_DAYS)),
            Some(_) => None,
        }
        .filter(|days| *days > 0)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "{RETENTION_IN_DAYS} must be a positive number of days"
            ))
        })?;
        let kms_key_arn = match map.get(KMS_KEY_ARN) {
            Some(Value::String(arn)) if arn.starts_with("arn:") && arn.contains(":kms:") => {
                arn.clone()
            }
            None => return Err(D::Error::missing_field(KMS_KEY_ARN)),
            Some(_) => {
                return Err(D::Error::custom(format!(
                    "{KMS_KEY_ARN} must be a KMS key ARN"
                )));
            }
        };
        Ok(Props {
            log_groups: names(LOG_GROUPS)?,
            prefixes: names(LOG_GROUP_PREFIXES)?,
            retention_days: retention,
            kms_key_arn,
        })
    }
}

impl serde::Serialize for Props {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry(LOG_GROUPS, &self.log_groups)?;
        map.serialize_entry(LOG_GROUP_PREFIXES, &self.prefixes)?;
        map.serialize_entry(RETENTION_IN_DAYS, &self.retention_days.to_string())?;
        map.serialize_entry(KMS_KEY_ARN, &self.kms_key_arn)?;
        map.end()
    }
}

/// A log group as DescribeLogGroups reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroup {
    pub name: String,
    pub retention_days: Option<i32>,
    pub kms_key_arn: Option<String>,
}

/// One change to make.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Create the group with the key (the retention follows as its own step).
    Create(String),
    SetRetention(String),
    AssociateKey(String),
}

/// What to do, given the groups that exist: create the named ones that do not, then give every
/// named or prefixed group the retention and the key it lacks. Sorted by group, creation
/// first; nothing for a group that already has both.
pub fn plan(props: &Props, existing: &[LogGroup]) -> Vec<Step> {
    let mut steps = Vec::new();
    for name in &props.log_groups {
        if !existing.iter().any(|g| &g.name == name) {
            steps.push(Step::Create(name.clone()));
            steps.push(Step::SetRetention(name.clone()));
        }
    }
    let adopted = existing.iter().filter(|g| {
        props.log_groups.contains(&g.name) || props.prefixes.iter().any(|p| g.name.starts_with(p))
    });
    for group in adopted {
        if group.retention_days != Some(props.retention_days) {
            steps.push(Step::SetRetention(group.name.clone()));
        }
        if group.kms_key_arn.as_deref() != Some(props.kms_key_arn.as_str()) {
            steps.push(Step::AssociateKey(group.name.clone()));
        }
    }
    steps.sort_by(|a, b| group_of(a).cmp(group_of(b)).then(a.cmp(b)));
    steps.dedup();
    steps
}

fn group_of(step: &Step) -> &str {
    match step {
        Step::Create(name) | Step::SetRetention(name) | Step::AssociateKey(name) => name,
    }
}

/// Why a request failed; the text becomes the CloudFormation Reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing the log groups under {prefix} failed: {error}")]
    Describe { prefix: String, error: ApiError },
    #[error(
        "creating the log group {name} failed: {error} (the function's role needs logs:CreateLogGroup on it, and the key's policy must let CloudWatch Logs use it)"
    )]
    Create { name: String, error: ApiError },
    #[error(
        "setting the retention of the log group {name} failed: {error} (the role needs logs:PutRetentionPolicy on it)"
    )]
    Retention { name: String, error: ApiError },
    #[error(
        "encrypting the log group {name} with the stack's log key failed: {error} (the role needs logs:AssociateKmsKey on it, and the key's policy must let CloudWatch Logs use it for this account's log groups)"
    )]
    Key { name: String, error: ApiError },
    #[error("unsupported request type")]
    UnknownRequest,
}

impl Error {
    /// The Lambda `errorType` of this failure (stable; README.md lists them).
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Describe { .. } => "LogGroupsUnlisted",
            Error::Create { .. } => "LogGroupNotCreated",
            Error::Retention { .. } => "LogGroupRetentionNotSet",
            Error::Key { .. } => "LogGroupKeyNotAssociated",
            Error::UnknownRequest => "UnsupportedRequestType",
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().into(),
            error_message: error.to_string(),
        }
    }
}

/// Every existing group named in `props` or under one of its prefixes (DescribeLogGroups by
/// prefix, every page).
pub async fn gather(
    logs: &aws_sdk_cloudwatchlogs::Client,
    props: &Props,
) -> Result<Vec<LogGroup>, Error> {
    let mut found: Vec<LogGroup> = Vec::new();
    for prefix in props.log_groups.iter().chain(&props.prefixes) {
        let mut pages = logs
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::Describe {
                prefix: prefix.clone(),
                error: ApiError::from_sdk(&e),
            })?;
            for group in page.log_groups() {
                let Some(name) = group.log_group_name() else {
                    continue;
                };
                if !found.iter().any(|g| g.name == name) {
                    found.push(LogGroup {
                        name: name.to_owned(),
                        retention_days: group.retention_in_days(),
                        kms_key_arn: group.kms_key_id().map(str::to_owned),
                    });
                }
            }
        }
    }
    Ok(found)
}

/// Carries out `steps`, in order; the first failure stops and is returned.
pub async fn act(
    logs: &aws_sdk_cloudwatchlogs::Client,
    props: &Props,
    steps: &[Step],
) -> Result<(), Error> {
    for step in steps {
        match step {
            Step::Create(name) => {
                let created = logs
                    .create_log_group()
                    .log_group_name(name)
                    .kms_key_id(&props.kms_key_arn)
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    // Made in the meantime by its service: adopt it instead.
                    Err(e) if ApiError::from_sdk(&e).is("ResourceAlreadyExistsException") => {
                        associate(logs, props, name).await?;
                    }
                    Err(e) => {
                        return Err(Error::Create {
                            name: name.clone(),
                            error: ApiError::from_sdk(&e),
                        });
                    }
                }
            }
            Step::SetRetention(name) => {
                logs.put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(props.retention_days)
                    .send()
                    .await
                    .map_err(|e| Error::Retention {
                        name: name.clone(),
                        error: ApiError::from_sdk(&e),
                    })?;
            }
            Step::AssociateKey(name) => associate(logs, props, name).await?,
        }
        tracing::info!(step = ?step, "log group updated");
    }
    Ok(())
}

async fn associate(
    logs: &aws_sdk_cloudwatchlogs::Client,
    props: &Props,
    name: &str,
) -> Result<(), Error> {
    logs.associate_kms_key()
        .log_group_name(name)
        .kms_key_id(&props.kms_key_arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::Key {
            name: name.to_owned(),
            error: ApiError::from_sdk(&e),
        })
}

/// Gather, plan, act.
pub async fn keep(logs: &aws_sdk_cloudwatchlogs::Client, props: &Props) -> Result<usize, Error> {
    let existing = gather(logs, props).await?;
    let steps = plan(props, &existing);
    tracing::info!(
        existing = existing.len(),
        steps = steps.len(),
        "log groups planned"
    );
    act(logs, props, &steps).await?;
    Ok(steps.len())
}

/// The custom-resource handler: Create and Update keep the groups, Delete leaves them.
pub async fn handle(
    logs: &aws_sdk_cloudwatchlogs::Client,
    request: Request<Props>,
) -> Result<Success, Error> {
    let props = match &request {
        Request::Create(create) => &create.resource_properties,
        Request::Update(update) => &update.resource_properties,
        Request::Delete(_) => return Ok(Success::new().with_physical_id(PHYSICAL_ID)),
        _ => return Err(Error::UnknownRequest),
    };
    keep(logs, props).await?;
    Ok(Success::new().with_physical_id(PHYSICAL_ID))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

    fn props() -> Props {
        Props {
            log_groups: vec![
                "/aws/rds/instance/db1/error".into(),
                "/aws/rds/instance/db1/slowquery".into(),
            ],
            prefixes: vec!["/aws/elasticbeanstalk/openemr-1/".into()],
            retention_days: 365,
            kms_key_arn: KEY.into(),
        }
    }

    fn group(name: &str, retention: Option<i32>, key: Option<&str>) -> LogGroup {
        LogGroup {
            name: name.into(),
            retention_days: retention,
            kms_key_arn: key.map(str::to_owned),
        }
    }

    #[test]
    fn plans() {
        use Step::*;
        let error = "/aws/rds/instance/db1/error";
        let slow = "/aws/rds/instance/db1/slowquery";
        let access = "/aws/elasticbeanstalk/openemr-1/var/log/httpd/access_log";
        let cases: Vec<(Vec<LogGroup>, Vec<Step>)> = vec![
            // Nothing there yet: both named groups are created, with the retention.
            (
                vec![],
                vec![
                    Create(error.into()),
                    SetRetention(error.into()),
                    Create(slow.into()),
                    SetRetention(slow.into()),
                ],
            ),
            // RDS made one already (never expires, AWS-owned encryption): adopted.
            (
                vec![group(error, None, None)],
                vec![
                    SetRetention(error.into()),
                    AssociateKey(error.into()),
                    Create(slow.into()),
                    SetRetention(slow.into()),
                ],
            ),
            // Everything in order: nothing to do.
            (
                vec![
                    group(error, Some(365), Some(KEY)),
                    group(slow, Some(365), Some(KEY)),
                    group(access, Some(365), Some(KEY)),
                ],
                vec![],
            ),
            // Beanstalk's group has its retention but not the key; another key is replaced.
            (
                vec![
                    group(error, Some(365), Some("arn:aws:kms:us-east-1:1:key/other")),
                    group(slow, Some(90), Some(KEY)),
                    group(access, Some(365), None),
                ],
                vec![
                    AssociateKey(access.into()),
                    AssociateKey(error.into()),
                    SetRetention(slow.into()),
                ],
            ),
            // A group outside the names and prefixes is not touched.
            (
                vec![
                    group(error, Some(365), Some(KEY)),
                    group(slow, Some(365), Some(KEY)),
                    group("/aws/elasticbeanstalk/other-env/x", None, None),
                    group("/aws/lambda/someone-else", None, None),
                ],
                vec![],
            ),
        ];
        for (existing, expected) in cases {
            assert_eq!(plan(&props(), &existing), expected, "{existing:?}");
        }
    }

    #[test]
    fn properties_as_cloudformation_sends_them() {
        let parsed: Props = serde_json::from_value(serde_json::json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:keeper",
            "LogGroups": ["/aws/rds/instance/db1/error"],
            "LogGroupPrefixes": ["/aws/elasticbeanstalk/openemr-1/"],
            "RetentionInDays": "3653",
            "KmsKeyArn": KEY
        }))
        .unwrap();
        assert_eq!(parsed.retention_days, 3653);
        assert_eq!(parsed.prefixes, ["/aws/elasticbeanstalk/openemr-1/"]);
        for (bad, needle) in [
            (serde_json::json!({ "KmsKeyArn": KEY }), "RetentionInDays"),
            (
                serde_json::json!({ "RetentionInDays": "0", "KmsKeyArn": KEY }),
                "RetentionInDays",
            ),
            (
                serde_json::json!({ "RetentionInDays": "365", "KmsKeyArn": "alias/x" }),
                "KmsKeyArn",
            ),
            (
                serde_json::json!({ "RetentionInDays": "365", "KmsKeyArn": KEY, "LogGroups": "x" }),
                "LogGroups",
            ),
            (
                serde_json::json!({ "RetentionInDays": "365", "KmsKeyArn": KEY, "LogGroupPrefixes": [""] }),
                "LogGroupPrefixes",
            ),
        ] {
            let error = serde_json::from_value::<Props>(bad)
                .unwrap_err()
                .to_string();
            assert!(error.contains(needle), "{error}");
        }
    }
}
