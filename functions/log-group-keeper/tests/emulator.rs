//! The keeper against the emulator (moto server on loopback) under its own role as generated:
//! RDS's groups are created with the key and the retention when RDS has not made them yet, a
//! second run changes nothing, and a group outside the stack's names is neither touched nor
//! touchable. (moto has no AssociateKmsKey: adopting a group RDS or Elastic Beanstalk made is
//! in tests/mocks.rs.)

use aws_sdk_cloudwatchlogs::Client;
use log_group_keeper::{Props, gather, keep, plan};
use test_harness::Moto;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const DB: &str = "openemr-rdsinstance-1a2b3c";
const ENV: &str = "openemr-5a3c1f00";

fn props() -> Props {
    Props {
        log_groups: vec![
            format!("/aws/rds/instance/{DB}/error"),
            format!("/aws/rds/instance/{DB}/slowquery"),
        ],
        prefixes: vec![format!("/aws/elasticbeanstalk/{ENV}/")],
        retention_days: 365,
        kms_key_arn: KEY.into(),
    }
}

#[tokio::test]
async fn its_own_role_creates_rds_groups_with_the_key_and_the_retention() {
    let moto = Moto::start_with_iam();
    let admin = Client::new(&moto.sdk_config().await);
    // Someone else's group, and one under Beanstalk's prefix that already has both.
    admin
        .create_log_group()
        .log_group_name("/aws/lambda/someone-else")
        .send()
        .await
        .unwrap();
    let beanstalk = format!("/aws/elasticbeanstalk/{ENV}/var/log/eb-engine.log");
    admin
        .create_log_group()
        .log_group_name(&beanstalk)
        .kms_key_id(KEY)
        .send()
        .await
        .unwrap();
    admin
        .put_retention_policy()
        .log_group_name(&beanstalk)
        .retention_in_days(365)
        .send()
        .await
        .unwrap();

    let template = stack_gen::generate(&stack_gen::Options::default())
        .unwrap()
        .to_json();
    let mut env = test_harness::iam::stack_env("unused");
    env.insert("RDSInstance".into(), DB.into());
    env.insert("EBEnvironment".into(), ENV.into());
    let role = test_harness::iam::component(&moto, &template, "LogGroupKeeperRole", &env).await;
    let logs = Client::new(&role);
    // IAM is enforced: the role may not do what the template does not give it.
    assert!(
        logs.delete_log_group()
            .log_group_name("/aws/lambda/someone-else")
            .send()
            .await
            .is_err(),
        "the role deleted a log group"
    );

    let steps = keep(&logs, &props()).await.expect("keeps the groups");
    assert_eq!(steps, 4, "two creates, two retentions");
    let all = admin.describe_log_groups().send().await.unwrap();
    for log in ["error", "slowquery"] {
        let name = format!("/aws/rds/instance/{DB}/{log}");
        let group = all
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{name} not created"));
        assert_eq!(group.kms_key_id(), Some(KEY), "{name}");
        assert_eq!(group.retention_in_days(), Some(365), "{name}");
    }
    let other = all
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some("/aws/lambda/someone-else"))
        .unwrap();
    assert_eq!(
        other.retention_in_days(),
        None,
        "someone else's group was changed"
    );

    // Done once: a second run (a stack update) has nothing left to do.
    let existing = gather(&logs, &props()).await.unwrap();
    assert_eq!(existing.len(), 3);
    assert!(plan(&props(), &existing).is_empty(), "{existing:?}");
}
