//! The sample events in `events/log-group-keeper/` (used with `cargo lambda invoke
//! --data-file`) are real requests: each is run through the protocol crate against moto, its
//! ResponseURL pointed at a loopback recorder, and answered SUCCESS with the stable physical id.
//! Create makes the RDS groups; Update applies its new retention to them; Delete leaves them.

use std::path::PathBuf;

use aws_sdk_cloudwatchlogs::Client;
use custom_resource::{Context, Options};
use log_group_keeper::{PHYSICAL_ID, Props};
use serde_json::{Value, json};
use test_harness::Moto;
use test_harness::response_url::ResponseUrl;

fn sample(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/log-group-keeper")
        .join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("JSON")
}

async fn run(logs: &Client, mut event: Value) -> Value {
    let server = ResponseUrl::start();
    event["ResponseURL"] = json!(server.url());
    let handler = |request: custom_resource::Request<Props>, _context: Context| {
        let logs = logs.clone();
        async move { log_group_keeper::handle(&logs, request).await }
    };
    custom_resource::handle(&handler, event, Context::default(), &Options::default())
        .await
        .expect("answered");
    let answers = server.requests();
    assert_eq!(answers.len(), 1);
    answers[0].json()
}

async fn retention(logs: &Client, name: &str) -> Option<i32> {
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .unwrap();
    out.log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .and_then(|g| g.retention_in_days())
}

#[tokio::test]
async fn every_sample_event_is_answered_as_expected() {
    let moto = Moto::start();
    let logs = Client::new(&moto.sdk_config().await);
    let error = "/aws/rds/instance/openemr-rdsinstance-1a2b3c/error";
    for (name, days) in [
        ("create.json", Some(365)),
        ("update.json", Some(731)),
        ("delete.json", Some(731)),
    ] {
        let answer = run(&logs, sample(name)).await;
        assert_eq!(answer["Status"], "SUCCESS", "{name}: {answer}");
        assert_eq!(answer["PhysicalResourceId"], PHYSICAL_ID, "{name}");
        assert_eq!(retention(&logs, error).await, days, "{name}");
    }
}
