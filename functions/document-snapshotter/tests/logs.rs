//! The snapshotter's log lines, read back through `test_harness::logs` (one global subscriber
//! per test binary: a per-test `set_default` one would miss events whenever another test
//! registers the same callsites in parallel); each test reads only the lines of its own
//! invocation (by request id).

mod common;

use common::*;

/// The lines logged inside the invocation `request_id`.
fn lines_of(logs: &test_harness::logs::Capture, request_id: &str) -> Vec<serde_json::Value> {
    logs.text()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every log line is JSON"))
        .filter(|l| l["span"]["request_id"] == request_id)
        .collect()
}

fn invocation(
    request_id: &str,
    dry_run: bool,
) -> lambda_runtime::LambdaEvent<document_snapshotter::Request> {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = request_id.into();
    let mut event = document_snapshotter::Request::default();
    event.detail_type = "Scheduled Event".into();
    event.source = "aws.events".into();
    event.detail = document_snapshotter::Detail { dry_run };
    lambda_runtime::LambdaEvent::new(event, ctx)
}

/// One invocation against `ec2`'s answers.
async fn invoke(
    ec2: &Mock,
    event: lambda_runtime::LambdaEvent<document_snapshotter::Request>,
) -> Result<document_snapshotter::Summary, document_snapshotter::Failed> {
    let clients = document_snapshotter::Clients { ec2: ec2.client() };
    document_snapshotter::invoke(&clients, &config(&[COUCH], 1), event).await
}

#[tokio::test]
async fn logs_are_json_lines_with_the_request_id_and_the_summary() {
    let logs = test_harness::logs::capture_json();
    let ec2 = Mock::new().volume("vol-a", None).listing(vec![
        ours("snap-2", "vol-a", "CouchDBVolume", State::Completed, 2),
        ours("snap-1", "vol-a", "CouchDBVolume", State::Completed, 1),
    ]);
    let summary = invoke(&ec2, invocation("req-ok-1", false))
        .await
        .expect("a clean run");
    assert_eq!(summary.volumes[0].deleted, ["snap-2"]);

    let lines = lines_of(&logs, "req-ok-1");
    let done = lines
        .iter()
        .find(|l| l["fields"]["message"] == "document snapshots done")
        .expect("a summary line");
    assert_eq!(done["level"], "INFO");
    assert_eq!(done["span"]["request_id"], "req-ok-1");
    let logged: serde_json::Value =
        serde_json::from_str(done["fields"]["summary"].as_str().unwrap()).unwrap();
    assert_eq!(logged["volumes"][0]["created"], "snap-new1");
    assert_eq!(logged["volumes"][0]["deleted"][0], "snap-2");
    let deleted = lines
        .iter()
        .find(|l| l["fields"]["message"] == "deleted snapshot")
        .expect("a line per delete");
    assert_eq!(deleted["fields"]["snapshot_id"], "snap-2");
    assert_eq!(deleted["span"]["request_id"], "req-ok-1");
}

#[tokio::test]
async fn a_failing_run_logs_at_error_and_its_error_names_the_cause() {
    let logs = test_harness::logs::capture_json();
    let failing = Mock::new()
        .volume("vol-a", None)
        .listing(vec![])
        .fail("create:vol-a", "RequestLimitExceeded");
    let err = invoke(&failing, invocation("req-bad-2", false))
        .await
        .unwrap_err();
    let diagnostic: lambda_runtime::Diagnostic = document_snapshotter::Error::from(err).into();
    assert_eq!(diagnostic.error_type, "DocumentSnapshotsIncomplete");
    assert!(
        diagnostic.error_message.contains("RequestLimitExceeded"),
        "{}",
        diagnostic.error_message
    );
    let lines = lines_of(&logs, "req-bad-2");
    let bad = lines
        .iter()
        .find(|l| l["fields"]["message"] == "document snapshots incomplete")
        .expect("an error line");
    assert_eq!(
        (bad["level"].as_str(), bad["span"]["request_id"].as_str()),
        (Some("ERROR"), Some("req-bad-2"))
    );
}
