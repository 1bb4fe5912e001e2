//! The protocol against a real HTTP server on loopback that records the PUTs
//! (`test_harness::response_url::ResponseUrl`): each test asserts how many answers arrived and
//! what they said.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use custom_resource::{AnswerError, Context, Options, Request, RetryPolicy, Success, handle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use test_harness::response_url::{Recorded, ResponseUrl};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/test/0a1b2c3d";

fn event(kind: &str, url: &str, request_id: &str, physical_id: Option<&str>) -> Value {
    let mut event = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cr",
        "ResponseURL": url,
        "StackId": STACK,
        "RequestId": request_id,
        "LogicalResourceId": "Thing",
        "ResourceType": "Custom::Thing",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cr", "Name": "n1"}
    });
    if let Some(id) = physical_id {
        event["PhysicalResourceId"] = json!(id);
    }
    if kind == "Update" {
        event["OldResourceProperties"] = json!({"ServiceToken": "x", "Name": "n0"});
    }
    event
}

fn fast_options() -> Options {
    Options {
        deadline_margin: Duration::from_secs(5),
        retry: RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
            attempt_timeout: Duration::from_secs(5),
        },
    }
}

/// The one answer the server got (fails if it got none or several).
fn only_answer(server: &ResponseUrl) -> (Recorded, Value) {
    let got = server.requests();
    assert_eq!(
        got.len(),
        1,
        "expected exactly one answer, got {}: {got:?}",
        got.len()
    );
    let answer = got.into_iter().next().unwrap();
    let body = answer.json();
    (answer, body)
}

#[tokio::test]
async fn success_answers_once_with_data_and_default_physical_id() {
    let server = ResponseUrl::start();
    let handler = |request: Request, _ctx: Context| async move {
        let Request::Create(create) = request else {
            return Err("expected Create".to_owned());
        };
        Ok(Success::new().with_data("Name", create.resource_properties["Name"].clone()))
    };
    let answer = handle(
        &handler,
        event("Create", &server.url(), "req-1", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    assert!(answer.handler_called);
    assert_eq!(answer.delivery.attempts, 1);

    let (request, body) = only_answer(&server);
    assert_eq!(request.method, "PUT");
    assert!(
        request.target.contains("X-Amz-Signature=abc123"),
        "query kept: {}",
        request.target
    );
    assert_eq!(
        request.header("content-type"),
        Some(""),
        "Content-Type present and empty"
    );
    assert_eq!(
        body,
        json!({
            "Status": "SUCCESS",
            "PhysicalResourceId": "Thing-req-1",
            "StackId": STACK,
            "RequestId": "req-1",
            "LogicalResourceId": "Thing",
            "NoEcho": false,
            "Data": {"Name": "n1"}
        })
    );
}

#[tokio::test]
async fn update_and_delete_keep_the_request_physical_id() {
    for kind in ["Update", "Delete"] {
        let server = ResponseUrl::start();
        let handler = |_: Request, _: Context| async { Ok::<_, String>(Success::new()) };
        handle(
            &handler,
            event(kind, &server.url(), "req-2", Some("existing-id")),
            Context::default(),
            &fast_options(),
        )
        .await
        .unwrap();
        let (_, body) = only_answer(&server);
        assert_eq!(body["Status"], "SUCCESS", "{kind}");
        assert_eq!(body["PhysicalResourceId"], "existing-id", "{kind}");
    }
}

#[tokio::test]
async fn handler_error_answers_failed_with_its_message() {
    let server = ResponseUrl::start();
    let handler =
        |_: Request, _: Context| async { Err::<Success, _>("bucket b1 has no key k1".to_owned()) };
    let answer = handle(
        &handler,
        event("Create", &server.url(), "req-3", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    assert_eq!(answer.delivery.status, 200);
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["Reason"], "bucket b1 has no key k1");
    assert_eq!(body["PhysicalResourceId"], "create-failed:req-3");
    assert!(body.get("Data").is_none());

    // On Update the request's own id is kept, so the rollback targets the real resource.
    let server = ResponseUrl::start();
    handle(
        &handler,
        event("Update", &server.url(), "req-4", Some("real-id")),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["PhysicalResourceId"], "real-id");
}

#[tokio::test]
async fn panic_in_the_handler_answers_failed() {
    let server = ResponseUrl::start();
    let handler = |_: Request, _: Context| async {
        if true {
            panic!("kaboom in the handler");
        }
        Ok::<_, String>(Success::new())
    };
    let answer = handle(
        &handler,
        event("Create", &server.url(), "req-5", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    assert!(answer.handler_called);
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(
        body["Reason"],
        "the handler panicked: kaboom in the handler"
    );
    assert_eq!(body["PhysicalResourceId"], "create-failed:req-5");
}

#[tokio::test]
async fn panic_while_building_the_handler_future_answers_failed() {
    let server = ResponseUrl::start();
    let handler = |_: Request, _: Context| -> std::future::Ready<Result<Success, String>> {
        panic!("kaboom {}", "before the future");
    };
    handle(
        &handler,
        event("Delete", &server.url(), "req-6", Some("p-6")),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(
        body["Reason"],
        "the handler panicked: kaboom before the future"
    );
    assert_eq!(body["PhysicalResourceId"], "p-6");
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Typed {
    service_token: String,
    bucket: String,
}

#[tokio::test]
async fn malformed_event_answers_failed_without_calling_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = Arc::clone(&calls);
        move |_: Request<Typed>, _: Context| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>(Success::new()) }
        }
    };
    // Properties without the required Bucket.
    let server = ResponseUrl::start();
    let answer = handle(
        &handler,
        event("Create", &server.url(), "req-7", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    assert!(!answer.handler_called);
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(reason.starts_with("malformed request: "), "{reason}");
    assert!(
        reason.contains("Bucket"),
        "names the missing field: {reason}"
    );
    assert_eq!(body["PhysicalResourceId"], "create-failed:req-7");
    assert_eq!(body["RequestId"], "req-7");
    assert_eq!(body["LogicalResourceId"], "Thing");

    // An unknown RequestType and a missing StackId: still answered.
    let server = ResponseUrl::start();
    let mut broken = event("Create", &server.url(), "req-8", None);
    broken["RequestType"] = json!("Rename");
    broken.as_object_mut().unwrap().remove("StackId");
    handle(&handler, broken, Context::default(), &fast_options())
        .await
        .unwrap();
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"].as_str().unwrap().contains("Rename"),
        "{body}"
    );

    // No ResponseURL: nobody to answer, and the invocation says so.
    let server = ResponseUrl::start();
    let mut no_url = event("Create", &server.url(), "req-9", None);
    no_url.as_object_mut().unwrap().remove("ResponseURL");
    let err = handle(&handler, no_url, Context::default(), &fast_options())
        .await
        .unwrap_err();
    assert!(matches!(err, AnswerError::NoResponseUrl));
    assert!(server.wait_for(1, Duration::from_millis(200)).is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

fn context_with_deadline_in(left: Duration) -> Context {
    let mut context = Context::default();
    context.deadline = (SystemTime::now() + left)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context
}

#[tokio::test]
async fn a_handler_slower_than_the_deadline_is_answered_failed_before_it() {
    let server = ResponseUrl::start();
    let finished = Arc::new(AtomicUsize::new(0));
    let handler = {
        let finished = Arc::clone(&finished);
        move |_: Request, _: Context| {
            let finished = Arc::clone(&finished);
            async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(Success::new())
            }
        }
    };
    let started = Instant::now();
    // 3 s left and a 5 s margin: the handler gets half, 1.5 s.
    let context = context_with_deadline_in(Duration::from_secs(3));
    handle(
        &handler,
        event("Update", &server.url(), "req-10", Some("p-10")),
        context,
        &fast_options(),
    )
    .await
    .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1400),
        "answered too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "answered after the deadline: {elapsed:?}"
    );
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"].as_str().unwrap().starts_with("timed out"),
        "{body}"
    );
    assert_eq!(body["PhysicalResourceId"], "p-10");
    // The handler was aborted: no second answer, and it never finished.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests().len(), 1);
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_oversized_reason_is_truncated_to_fit_4096_bytes() {
    let server = ResponseUrl::start();
    let handler = |_: Request, _: Context| async {
        Err::<Success, _>(format!("start {} end", "é".repeat(6000)))
    };
    handle(
        &handler,
        event("Create", &server.url(), "req-11", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    let (request, body) = only_answer(&server);
    assert!(request.body.len() <= 4096, "{} bytes", request.body.len());
    assert!(
        request.body.len() > 4000,
        "truncated far too much: {} bytes",
        request.body.len()
    );
    let reason = body["Reason"].as_str().unwrap();
    assert!(reason.starts_with("start éé"));
    assert!(reason.ends_with("[truncated]"));
    assert_eq!(body["Status"], "FAILED");
}

#[tokio::test]
async fn oversized_data_fails_loudly_and_keeps_the_physical_id() {
    let server = ResponseUrl::start();
    let handler = |_: Request, _: Context| async {
        Ok::<_, String>(
            Success::new()
                .with_physical_id("made-it")
                .with_data("Huge", "Z".repeat(5000))
                .with_data("Small", "s"),
        )
    };
    let answer = handle(
        &handler,
        event("Create", &server.url(), "req-12", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    assert_eq!(answer.response.status, custom_resource::Status::Failed);
    let (request, body) = only_answer(&server);
    assert!(request.body.len() <= 4096);
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(
        reason.contains("Huge") && reason.contains("Small") && reason.contains("4096"),
        "{reason}"
    );
    assert!(!reason.contains("ZZZ"));
    assert!(body.get("Data").is_none());
    // The handler created something: the rollback's Delete must reach it.
    assert_eq!(body["PhysicalResourceId"], "made-it");
}

#[tokio::test]
async fn delete_after_a_failed_create_succeeds_without_calling_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = Arc::clone(&calls);
        move |_: Request, _: Context| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<Success, _>("cannot create".to_owned()) }
        }
    };
    let server = ResponseUrl::start();
    handle(
        &handler,
        event("Create", &server.url(), "req-13", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    let (_, created) = only_answer(&server);
    assert_eq!(created["Status"], "FAILED");
    let failed_id = created["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // CloudFormation's rollback: a Delete carrying the FAILED answer's physical id.
    let server = ResponseUrl::start();
    let answer = handle(
        &handler,
        event("Delete", &server.url(), "req-14", Some(&failed_id)),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    assert!(!answer.handler_called);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "handler not called on Delete"
    );
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["PhysicalResourceId"], failed_id);
    assert_eq!(body["RequestId"], "req-14");
}

/// The process-wide capture (`test_harness::logs`): a per-test subscriber could miss events
/// whose callsites other tests of this binary hit first.
#[tokio::test]
async fn no_echo_is_answered_and_secret_values_never_reach_the_log() {
    let logs = test_harness::logs::capture();

    let server = ResponseUrl::start();
    let handler = |_: Request, _: Context| async {
        Ok::<_, String>(
            Success::new()
                .with_data("Password", "s3cr3t-Value")
                .with_data("User", "admin")
                .with_no_echo(),
        )
    };
    let mut event = event("Create", &server.url(), "req-15", None);
    event["ResourceProperties"]["Passphrase"] = json!("pr0p-secret");
    handle(&handler, event, Context::default(), &fast_options())
        .await
        .unwrap();

    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["NoEcho"], true);
    assert_eq!(
        body["Data"],
        json!({"Password": "s3cr3t-Value", "User": "admin"})
    );

    let answer = logs
        .lines_with("answering CloudFormation")
        .into_iter()
        .find(|line| line.contains("User"))
        .unwrap_or_default();
    let logs = logs.text();
    assert!(!answer.is_empty(), "the answer is logged: {logs}");
    assert!(
        answer.contains("Password"),
        "attribute names are logged: {answer}"
    );
    assert!(
        !logs.contains("s3cr3t-Value"),
        "a secret value reached the log: {logs}"
    );
    assert!(
        !logs.contains("pr0p-secret"),
        "a property value reached the log: {logs}"
    );
    assert!(
        !logs.contains("X-Amz-Signature"),
        "the pre-signed URL reached the log: {logs}"
    );
}

#[tokio::test]
async fn a_response_url_answering_500_then_200_gets_the_same_answer_twice_and_one_is_accepted() {
    let server = ResponseUrl::with_statuses([500]);
    let handler =
        |_: Request, _: Context| async { Ok::<_, String>(Success::new().with_data("A", "1")) };
    let answer = handle(
        &handler,
        event("Create", &server.url(), "req-16", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap();
    assert_eq!(answer.delivery.attempts, 2);
    assert_eq!(answer.delivery.status, 200);
    let got = server.requests();
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 200]
    );
    assert_eq!(got[0].body, got[1].body, "a retry resends the same answer");
    assert_eq!(got[1].json()["Status"], "SUCCESS");
    assert_eq!(got[1].header("content-type"), Some(""));
}

#[tokio::test]
async fn a_refusing_response_url_is_not_retried_and_fails_the_invocation() {
    let server = ResponseUrl::with_statuses([403]);
    let handler = |_: Request, _: Context| async { Ok::<_, String>(Success::new()) };
    let err = handle(
        &handler,
        event("Create", &server.url(), "req-17", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap_err();
    let AnswerError::Undelivered { response, error } = err else {
        panic!("expected Undelivered")
    };
    assert_eq!(response.status, custom_resource::Status::Success);
    assert_eq!(error.attempts, 1);
    assert_eq!(server.requests().len(), 1);

    // Always 503: the attempts run out, the invocation fails (so Lambda may retry it).
    let server = ResponseUrl::with_statuses([503; 10]);
    let err = handle(
        &handler,
        event("Create", &server.url(), "req-18", None),
        Context::default(),
        &fast_options(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn an_invocation_arriving_at_its_deadline_still_answers_once() {
    let server = ResponseUrl::start();
    let handler = |_: Request, _: Context| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, String>(Success::new())
    };
    let mut context = Context::default();
    // Already past (epoch ms a second ago): the handler gets no time, the PUT still one attempt.
    context.deadline = (SystemTime::now() - Duration::from_secs(1))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let answer = handle(
        &handler,
        event("Create", &server.url(), "req-19", None),
        context,
        &fast_options(),
    )
    .await
    .unwrap();
    assert_eq!(answer.delivery.attempts, 1);
    let (_, body) = only_answer(&server);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"].as_str().unwrap().starts_with("timed out"),
        "{body}"
    );
}
