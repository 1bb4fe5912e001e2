//! cert-reader against the emulator, answered through the protocol crate to a loopback
//! ResponseURL: what CloudFormation would receive.

use std::time::Duration;

use cert_reader::{Props, certificate_body};
use custom_resource::{Context, Options, Request, RetryPolicy, handle};
use serde_json::{Value, json};
use test_harness::Moto;
use test_harness::response_url::ResponseUrl;

const CERT: &str = include_str!("fixtures/beanstalk.crt");
const KEY: &str = "CA/certs/beanstalk.crt";

fn event(kind: &str, url: &str, bucket: &str, key: &str) -> Value {
    let mut event = json!({
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/guid",
        "RequestId": format!("req-{kind}"),
        "LogicalResourceId": "EBCert",
        "ResourceType": "AWS::CloudFormation::CustomResource",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cr", "Bucket": bucket, "Key": key}
    });
    if kind != "Create" {
        event["PhysicalResourceId"] = json!("EBCert-req-Create");
    }
    if kind == "Update" {
        event["OldResourceProperties"] = event["ResourceProperties"].clone();
    }
    event
}

fn options() -> Options {
    Options {
        retry: RetryPolicy {
            attempts: 2,
            first_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..Options::default()
    }
}

/// Runs one request through the real handler and returns the one answer CloudFormation got.
async fn answer(s3: &aws_sdk_s3::Client, event: Value) -> Value {
    let server = ResponseUrl::start();
    let mut event = event;
    event["ResponseURL"] = json!(server.url());
    let handler = |request: Request<Props>, _: Context| {
        let s3 = s3.clone();
        async move { cert_reader::handle(&s3, request).await }
    };
    handle(&handler, event, Context::default(), &options())
        .await
        .expect("answer delivered");
    let got = server.requests();
    assert_eq!(got.len(), 1, "exactly one answer: {got:?}");
    got[0].json()
}

async fn bucket_with(moto: &Moto, bucket: &str, objects: &[(&str, &str)]) -> aws_sdk_s3::Client {
    let s3 = aws_clients::s3_client(&moto.sdk_config().await);
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    for (key, body) in objects {
        s3.put_object()
            .bucket(bucket)
            .key(*key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    s3
}

#[tokio::test]
async fn object_present_returns_the_certificate_body() {
    let moto = Moto::start();
    let s3 = bucket_with(&moto, "cert-present", &[(KEY, CERT)]).await;
    let body = answer(&s3, event("Create", "", "cert-present", KEY)).await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["PhysicalResourceId"], "EBCert-req-Create");
    let public_key = body["Data"]["PublicKey"].as_str().unwrap();
    let expected: String = CERT.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(public_key, expected);
    assert_eq!(public_key, certificate_body(CERT).unwrap());
    assert_eq!(body["NoEcho"], false, "a certificate is public");
}

#[tokio::test]
async fn update_reads_the_object_again() {
    let moto = Moto::start();
    let s3 = bucket_with(&moto, "cert-update", &[(KEY, CERT)]).await;
    let first = answer(&s3, event("Create", "", "cert-update", KEY)).await;
    let renewed = "-----BEGIN CERTIFICATE-----\nUkVORVdFRA==\n-----END CERTIFICATE-----\n";
    s3.put_object()
        .bucket("cert-update")
        .key(KEY)
        .body(renewed.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let second = answer(&s3, event("Update", "", "cert-update", KEY)).await;
    assert_eq!(second["Status"], "SUCCESS", "{second}");
    assert_ne!(first["Data"]["PublicKey"], second["Data"]["PublicKey"]);
    assert_eq!(second["Data"]["PublicKey"], "UkVORVdFRA==");
    assert_eq!(
        second["PhysicalResourceId"], "EBCert-req-Create",
        "Update keeps the physical id"
    );
}

#[tokio::test]
async fn object_missing_fails_naming_bucket_and_key() {
    let moto = Moto::start();
    let s3 = bucket_with(&moto, "cert-missing", &[("CA/certs/couch.crt", CERT)]).await;
    let body = answer(&s3, event("Create", "", "cert-missing", KEY)).await;
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(
        body["Reason"],
        "the certificate object s3://cert-missing/CA/certs/beanstalk.crt does not exist"
    );
    assert_eq!(body["PhysicalResourceId"], "create-failed:req-Create");
    assert!(body.get("Data").is_none());
}

#[tokio::test]
async fn wrong_bucket_fails_naming_it() {
    let moto = Moto::start();
    // The certificate exists, but in another bucket than the one the request names.
    let s3 = bucket_with(&moto, "cert-right", &[(KEY, CERT)]).await;
    let body = answer(&s3, event("Create", "", "cert-wrong", KEY)).await;
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(
        reason.contains("bucket cert-wrong does not exist"),
        "{reason}"
    );
    assert!(
        reason.contains("s3://cert-wrong/CA/certs/beanstalk.crt"),
        "{reason}"
    );
}

#[tokio::test]
async fn an_object_that_is_not_a_certificate_fails() {
    let moto = Moto::start();
    let s3 = bucket_with(
        &moto,
        "cert-garbage",
        &[(
            KEY,
            "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n",
        )],
    )
    .await;
    let body = answer(&s3, event("Create", "", "cert-garbage", KEY)).await;
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(
        body["Reason"],
        "s3://cert-garbage/CA/certs/beanstalk.crt is not a PEM certificate: no -----BEGIN CERTIFICATE----- line"
    );
}

#[tokio::test]
async fn delete_touches_nothing() {
    let moto = Moto::start();
    let s3 = aws_clients::s3_client(&moto.sdk_config().await);
    // No bucket at all: a Delete that read anything would fail.
    let body = answer(&s3, event("Delete", "", "cert-gone", KEY)).await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["PhysicalResourceId"], "EBCert-req-Create");
    assert!(body.get("Data").is_none());
}

/// With only what the template gives `BarebonesLambdaRole`, IAM enforced by the emulator: the
/// application certificate is readable, the private keys beside it are not.
#[tokio::test]
async fn its_own_role_reads_the_certificate_and_nothing_else() {
    let moto = Moto::start_with_iam();
    let bucket = "cert-iam";
    bucket_with(
        &moto,
        bucket,
        &[(KEY, CERT), ("CA/keys/beanstalk.key", "private")],
    )
    .await;
    let template = stack_gen::generate(&stack_gen::Options::default())
        .unwrap()
        .to_json();
    let role = test_harness::iam::component(
        &moto,
        &template,
        "BarebonesLambdaRole",
        &test_harness::iam::stack_env(bucket),
    )
    .await;
    let s3 = aws_clients::s3_client(&role);
    let body = answer(&s3, event("Create", "", bucket, KEY)).await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    let refused = answer(&s3, event("Create", "", bucket, "CA/keys/beanstalk.key")).await;
    assert_eq!(refused["Status"], "FAILED", "{refused}");
    assert!(!refused.to_string().contains("private"), "{refused}");
}
