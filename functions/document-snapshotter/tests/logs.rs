//! The snapshotter's log lines. One subscriber for the whole test binary, installed once as
//! the global default and writing into a shared buffer; each test reads back only the lines
//! of its own invocation (by request id). A per-test `set_default` subscriber would miss
//! events whenever another test of the binary registers the same callsites in parallel (the
//! callsite interest cache is global), so it is not used.

mod common;

use std::sync::OnceLock;

use common::*;

/// A `tracing` writer into a shared buffer, to read the JSON log lines back.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The binary's one subscriber (installed on first use).
fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
}

impl Logs {
    /// The lines logged inside the invocation `request_id`.
    fn lines_of(&self, request_id: &str) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every log line is JSON"))
            .filter(|l| l["span"]["request_id"] == request_id)
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

fn snapshotter(ec2: &Mock) -> document_snapshotter::Snapshotter {
    document_snapshotter::Snapshotter {
        ec2: ec2.client(),
        region: "us-east-1".into(),
        copy_ec2: None,
        config: config(&[COUCH], 1),
    }
}

#[tokio::test]
async fn logs_are_json_lines_with_the_request_id_and_the_summary() {
    let logs = logs();
    let ec2 = Mock::new().volume("vol-a", None).listing(vec![
        ours("snap-2", "vol-a", "CouchDBVolume", State::Completed, 2),
        ours("snap-1", "vol-a", "CouchDBVolume", State::Completed, 1),
    ]);
    let summary = snapshotter(&ec2)
        .invoke(invocation("req-ok-1", false))
        .await
        .expect("a clean run");
    assert_eq!(summary.volumes[0].deleted, ["snap-2"]);

    let lines = logs.lines_of("req-ok-1");
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
    let logs = logs();
    let failing = Mock::new()
        .volume("vol-a", None)
        .listing(vec![])
        .fail("create:vol-a", "RequestLimitExceeded");
    let err = snapshotter(&failing)
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
    let lines = logs.lines_of("req-bad-2");
    let bad = lines
        .iter()
        .find(|l| l["fields"]["message"] == "document snapshots incomplete")
        .expect("an error line");
    assert_eq!(
        (bad["level"].as_str(), bad["span"]["request_id"].as_str()),
        (Some("ERROR"), Some("req-bad-2"))
    );
}
