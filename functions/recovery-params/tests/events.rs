//! The sample events in `events/recovery-params/` (used with `cargo lambda invoke --data-file`)
//! are real requests: each is run through the protocol crate against moto, its ResponseURL
//! pointed at a loopback recorder.

use std::path::PathBuf;

use custom_resource::{Context, Options};
use recovery_params::Clients;
use recovery_params::Request;
use serde_json::{Value, json};
use test_harness::Moto;
use test_harness::response_url::ResponseUrl;

fn sample(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/recovery-params")
        .join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("JSON")
}

async fn run(clients: &Clients, mut event: Value) -> Value {
    let server = ResponseUrl::start();
    event["ResponseURL"] = json!(server.url());
    let handler = |request: Request, _context: Context| {
        let clients = clients.clone();
        async move { recovery_params::handler(&clients, request).await }
    };
    custom_resource::handle(&handler, event, Context::default(), &Options::default())
        .await
        .expect("answered");
    let answers = server.requests();
    assert_eq!(answers.len(), 1);
    answers[0].json()
}

#[tokio::test]
async fn every_sample_event_is_answered_as_expected() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let clients = Clients::new(&config);
    aws_clients::s3_client(&config)
        .create_bucket()
        .bucket("openemr-local-bucket")
        .send()
        .await
        .unwrap();

    for name in [
        "record-create.json",
        "record-update.json",
        "record-delete.json",
        "resolve-delete.json",
    ] {
        let event = sample(name);
        let kind = event["RequestType"].as_str().unwrap().to_lowercase();
        assert!(
            name.ends_with(&format!("-{kind}.json")),
            "{name} is a {kind} request"
        );
        let body = run(&clients, event).await;
        assert_eq!(body["Status"], "SUCCESS", "{name}: {}", body["Reason"]);
        assert!(!body.to_string().contains("example-Passw0rd"), "{name}");
    }
    // The record samples wrote the manifest (Update: the other time zone).
    let stored = aws_clients::s3_client(&config)
        .get_object()
        .bucket("openemr-local-bucket")
        .key("recovery/manifest.json")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec();
    let manifest = recovery_params::manifest::Manifest::parse(&stored).unwrap();
    assert_eq!(manifest.time_zone, "America/New_York");

    // The resolve samples are well-formed: in an empty account they fail on existence only.
    for name in ["resolve-create.json", "resolve-update.json"] {
        let body = run(&clients, sample(name)).await;
        assert_eq!(body["Status"], "FAILED", "{name}");
        let reason = body["Reason"].as_str().unwrap();
        for input in [
            "RecoveryKMSKey",
            "RecoveryRDSSnapshotARN",
            "RecoveryCouchDBSnapshot",
        ] {
            assert!(
                reason.contains(&format!("{input}: ")) && !reason.contains("is not a"),
                "{name}: {reason}"
            );
        }
        assert!(reason.contains("not found"), "{name}: {reason}");
    }
}
