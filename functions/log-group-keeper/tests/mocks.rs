//! What the emulator cannot show (moto has no AssociateKmsKey): adopting the groups RDS and
//! Elastic Beanstalk made themselves, a group RDS creates between the listing and our create,
//! and a refused association failing the resource with a Reason naming the group. The real
//! SDK client runs with its answers scripted by `aws-smithy-mocks`.

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::associate_kms_key::{
    AssociateKmsKeyError, AssociateKmsKeyOutput,
};
use aws_sdk_cloudwatchlogs::operation::create_log_group::{
    CreateLogGroupError, CreateLogGroupOutput,
};
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyOutput;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_smithy_mocks::{MockResponse, RuleMode, mock};
use aws_smithy_types::error::ErrorMetadata;
use log_group_keeper::{Error, Props, keep};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

fn props() -> Props {
    Props {
        log_groups: vec![
            "/aws/rds/instance/db1/error".into(),
            "/aws/rds/instance/db1/slowquery".into(),
        ],
        prefixes: vec!["/aws/elasticbeanstalk/env1/".into()],
        retention_days: 365,
        kms_key_arn: KEY.into(),
    }
}

/// A client whose DescribeLogGroups lists `existing` (filtered by the request's prefix), whose
/// CreateLogGroup answers `create_error` if given, whose AssociateKmsKey answers
/// `associate_error` if given; every mutating call is recorded.
fn client(
    existing: &[(&str, Option<i32>, Option<&str>)],
    create_error: Option<&str>,
    associate_error: Option<&str>,
) -> (Client, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let groups: Vec<LogGroup> = existing
        .iter()
        .map(|(name, retention, key)| {
            LogGroup::builder()
                .log_group_name(*name)
                .set_retention_in_days(*retention)
                .set_kms_key_id(key.map(str::to_owned))
                .build()
        })
        .collect();
    let describe = mock!(Client::describe_log_groups).then_compute_output(move |req| {
        let prefix = req.log_group_name_prefix().unwrap_or_default().to_owned();
        DescribeLogGroupsOutput::builder()
            .set_log_groups(Some(
                groups
                    .iter()
                    .filter(|g| g.log_group_name().unwrap_or_default().starts_with(&prefix))
                    .cloned()
                    .collect(),
            ))
            .build()
    });
    let c = Arc::clone(&calls);
    let create_error = create_error.map(str::to_owned);
    let create = mock!(Client::create_log_group).then_compute_response(move |req| {
        c.lock().unwrap().push(format!(
            "create {}",
            req.log_group_name().unwrap_or_default()
        ));
        match &create_error {
            Some(code) => MockResponse::Error(CreateLogGroupError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("from the mock")
                    .build(),
            )),
            None => MockResponse::Output(CreateLogGroupOutput::builder().build()),
        }
    });
    let c = Arc::clone(&calls);
    let retention = mock!(Client::put_retention_policy).then_compute_output(move |req| {
        c.lock().unwrap().push(format!(
            "retention {} {}",
            req.log_group_name().unwrap_or_default(),
            req.retention_in_days().unwrap_or_default()
        ));
        PutRetentionPolicyOutput::builder().build()
    });
    let c = Arc::clone(&calls);
    let associate_error = associate_error.map(str::to_owned);
    let associate = mock!(Client::associate_kms_key).then_compute_response(move |req| {
        c.lock().unwrap().push(format!(
            "key {} {}",
            req.log_group_name().unwrap_or_default(),
            req.kms_key_id().unwrap_or_default()
        ));
        match &associate_error {
            Some(code) => MockResponse::Error(AssociateKmsKeyError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("from the mock")
                    .build(),
            )),
            None => MockResponse::Output(AssociateKmsKeyOutput::builder().build()),
        }
    });
    let client = test_harness::mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&describe, &create, &retention, &associate],
        |config| config
            .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
    );
    (client, calls)
}

#[tokio::test]
async fn the_groups_rds_and_beanstalk_made_are_adopted() {
    let (logs, calls) = client(
        &[
            ("/aws/rds/instance/db1/error", None, None),
            (
                "/aws/elasticbeanstalk/env1/var/log/httpd/access_log",
                Some(365),
                None,
            ),
            (
                "/aws/elasticbeanstalk/env1/var/log/eb-engine.log",
                Some(7),
                Some(KEY),
            ),
            ("/aws/elasticbeanstalk/env10/var/log/other", None, None),
        ],
        None,
        None,
    );
    keep(&logs, &props()).await.expect("adopted");
    assert_eq!(
        *calls.lock().unwrap(),
        [
            "retention /aws/elasticbeanstalk/env1/var/log/eb-engine.log 365".to_owned(),
            format!("key /aws/elasticbeanstalk/env1/var/log/httpd/access_log {KEY}"),
            "retention /aws/rds/instance/db1/error 365".to_owned(),
            format!("key /aws/rds/instance/db1/error {KEY}"),
            "create /aws/rds/instance/db1/slowquery".to_owned(),
            "retention /aws/rds/instance/db1/slowquery 365".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_group_rds_made_meanwhile_is_adopted_instead_of_created() {
    let (logs, calls) = client(&[], Some("ResourceAlreadyExistsException"), None);
    keep(&logs, &props()).await.expect("adopted after the race");
    let calls = calls.lock().unwrap();
    assert!(
        calls.contains(&format!("key /aws/rds/instance/db1/error {KEY}")),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"retention /aws/rds/instance/db1/slowquery 365".to_owned()),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_refused_association_names_the_group_and_the_key_policy() {
    let (logs, calls) = client(
        &[("/aws/rds/instance/db1/error", Some(365), None)],
        None,
        Some("AccessDeniedException"),
    );
    let error = keep(&logs, &props()).await.unwrap_err();
    assert!(
        matches!(error, Error::Key { ref name, .. } if name == "/aws/rds/instance/db1/error"),
        "{error}"
    );
    let reason = error.to_string();
    assert!(
        reason.contains("/aws/rds/instance/db1/error") && reason.contains("key's policy"),
        "{reason}"
    );
    assert_eq!(error.error_type(), "LogGroupKeyNotAssociated");
    // It stopped at the failure: nothing after it was attempted.
    assert_eq!(calls.lock().unwrap().len(), 1);
}
