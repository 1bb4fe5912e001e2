//! The snapshotter's log lines, in a test binary of their own: a `tracing` subscriber set
//! for one test (`set_default`) misses events when other tests of the same binary register
//! the same callsites in parallel, so this test must not share its process.

mod common;

use common::*;

/// A `tracing` writer into a shared buffer, to read the JSON log lines back.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
            .collect()
    }
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

#[tokio::test]
async fn logs_are_json_lines_with_the_request_id_and_the_summary() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = Fake::new(1000)
        .volume("vol-a", None)
        .ours("snap-2", "vol-a", "CouchDBVolume", State::Completed, 2)
        .ours("snap-1", "vol-a", "CouchDBVolume", State::Completed, 1);
    let snapshotter = document_snapshotter::Snapshotter {
        ec2: fake,
        region: "us-east-1".into(),
        copy_ec2: None,
        config: config(&[COUCH], 1),
    };
    let summary = snapshotter
        .invoke(invocation("req-ok-1", false))
        .await
        .expect("a clean run");
    assert_eq!(summary.volumes[0].deleted, ["snap-2"]);

    let lines = logs.lines();
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

    // A failing run logs at ERROR and the invocation's error names the cause.
    let failing = Fake::new(1000)
        .volume("vol-a", None)
        .fail("create:vol-a", "RequestLimitExceeded");
    let snapshotter = document_snapshotter::Snapshotter {
        ec2: failing,
        region: "us-east-1".into(),
        copy_ec2: None,
        config: config(&[COUCH], 1),
    };
    let err = snapshotter
        .invoke(invocation("req-bad-2", false))
        .await
        .unwrap_err();
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "DocumentSnapshotsIncomplete");
    assert!(
        diagnostic.error_message.contains("RequestLimitExceeded"),
        "{}",
        diagnostic.error_message
    );
    let lines = logs.lines();
    let bad = lines
        .iter()
        .find(|l| l["fields"]["message"] == "document snapshots incomplete")
        .expect("an error line");
    assert_eq!(
        (bad["level"].as_str(), bad["span"]["request_id"].as_str()),
        (Some("ERROR"), Some("req-bad-2"))
    );
}
