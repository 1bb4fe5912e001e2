//! Shared by the SDK-mock tests (`mocks.rs`, `logs.rs`): an `aws_sdk_ec2::Client` whose
//! answers are scripted with `aws-smithy-mocks` (listing pages in call order, volumes,
//! injected error codes), and a record of the calls it received. Nothing here emulates EC2's
//! state: each test scripts what each call answers.

#![allow(dead_code, unused_imports)]

pub use std::collections::{BTreeMap, HashMap};
pub use std::sync::{Arc, Mutex};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::copy_snapshot::{CopySnapshotError, CopySnapshotOutput};
use aws_sdk_ec2::operation::create_snapshot::{CreateSnapshotError, CreateSnapshotOutput};
use aws_sdk_ec2::operation::delete_snapshot::{DeleteSnapshotError, DeleteSnapshotOutput};
use aws_sdk_ec2::operation::describe_snapshots::{DescribeSnapshotsError, DescribeSnapshotsOutput};
use aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput;
use aws_sdk_ec2::types::{Snapshot, SnapshotState, Tag, TagSpecification};
use aws_smithy_mocks::{MockResponse, RuleMode, mock};

pub use document_snapshotter::config::{Config, CopyTarget, Volume};
pub use document_snapshotter::facts::State;
pub use document_snapshotter::run::run;
pub use document_snapshotter::tags;

pub const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/11111111-2222-3333-4444-555555555555";
pub const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/99999999-2222-3333-4444-555555555555";
pub use time::{Duration, OffsetDateTime};

pub const NOW: OffsetDateTime = time::macros::datetime!(2026-05-28 20:26:40 UTC);
pub const DAY: Duration = Duration::DAY;

/// A snapshot as `DescribeSnapshots` returns it. Tagged ones get an `openemr:backup-time` of
/// their start time unless the tags give one.
pub fn snap(
    id: &str,
    volume: &str,
    state: State,
    time: OffsetDateTime,
    t: &[(&str, &str)],
) -> Snapshot {
    let mut pairs: Vec<(String, String)> = t
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if !pairs.is_empty() && !pairs.iter().any(|(k, _)| k == tags::BACKUP_TIME) {
        pairs.push((tags::BACKUP_TIME.into(), tags::format_time(time)));
    }
    Snapshot::builder()
        .snapshot_id(id)
        .volume_id(volume)
        .state(SnapshotState::from(state.as_str()))
        .start_time(aws_sdk_ec2::primitives::DateTime::from_secs(
            time.unix_timestamp(),
        ))
        .set_tags(Some(
            pairs
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// One of ours, `days` ago.
pub fn ours(id: &str, volume: &str, role: &str, state: State, days: i64) -> Snapshot {
    snap(
        id,
        volume,
        state,
        NOW - Duration::days(days),
        &[(tags::STACK_ID, STACK), (tags::VOLUME_ROLE, role)],
    )
}

fn error(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message("injected")
        .build()
}

fn tag_map(specs: &[TagSpecification]) -> BTreeMap<String, String> {
    specs
        .iter()
        .flat_map(|s| s.tags())
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The script of one region's EC2 and the calls it received.
#[derive(Default, Clone)]
pub struct Mock {
    /// `DescribeSnapshots` answers in call order (the last one repeats): snapshots and
    /// `NextToken`.
    pages: Vec<(Vec<Snapshot>, Option<String>)>,
    volumes: Vec<(String, Option<String>)>,
    /// "create:vol-x", "delete:snap-x", "copy:snap-x", "describe_snapshots" → error code.
    fail: HashMap<String, String>,
    /// Every call, in order: "describe_snapshots", "describe_volumes", "create:vol-x",
    /// "delete:snap-x", "copy:snap-x".
    pub calls: Arc<Mutex<Vec<String>>>,
    /// Tags of each snapshot created or copied, by the id it was given.
    pub made: Arc<Mutex<BTreeMap<String, BTreeMap<String, String>>>>,
}

impl Mock {
    pub fn new() -> Mock {
        Mock::default()
    }
    pub fn volume(mut self, id: &str, name: Option<&str>) -> Mock {
        self.volumes.push((id.into(), name.map(Into::into)));
        self
    }
    /// The next `DescribeSnapshots` answer: a last page.
    pub fn listing(mut self, snapshots: Vec<Snapshot>) -> Mock {
        self.pages.push((snapshots, None));
        self
    }
    /// The next `DescribeSnapshots` answer: a page followed by `next_token`.
    pub fn page(mut self, snapshots: Vec<Snapshot>, next_token: &str) -> Mock {
        self.pages.push((snapshots, Some(next_token.into())));
        self
    }
    pub fn fail(mut self, call: &str, code: &str) -> Mock {
        self.fail.insert(call.into(), code.into());
        self
    }
    pub fn calls(&self, prefix: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
    pub fn called(&self, call: &str) -> bool {
        self.calls.lock().unwrap().iter().any(|c| c == call)
    }
    /// The ids whose delete was asked for, in order.
    pub fn delete_calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|c| c.strip_prefix("delete:").map(str::to_owned))
            .collect()
    }
    fn record(&self, call: String) -> Option<ErrorMetadata> {
        let failure = self.fail.get(&call).map(|code| error(code));
        self.calls.lock().unwrap().push(call);
        failure
    }
    fn new_id(&self, prefix: &str, tags: BTreeMap<String, String>) -> String {
        let mut made = self.made.lock().unwrap();
        let id = format!("{prefix}{}", made.len() + 1);
        made.insert(id.clone(), tags);
        id
    }

    /// A client answering by this script (no retries: each call is answered once).
    pub fn client(&self) -> Client {
        let m = self.clone();
        let listing = mock!(Client::describe_snapshots).then_compute_response(move |_| {
            if let Some(e) = m.record("describe_snapshots".into()) {
                return MockResponse::Error(DescribeSnapshotsError::generic(e));
            }
            let n = m.calls("describe_snapshots");
            let (snapshots, next) = m.pages[(n - 1).min(m.pages.len() - 1)].clone();
            MockResponse::Output(
                DescribeSnapshotsOutput::builder()
                    .set_snapshots(Some(snapshots))
                    .set_next_token(next)
                    .build(),
            )
        });
        let m = self.clone();
        let volumes = mock!(Client::describe_volumes).then_compute_output(move |_| {
            m.record("describe_volumes".into());
            let volumes = m.volumes.iter().map(|(id, name)| {
                let mut v = aws_sdk_ec2::types::Volume::builder().volume_id(id);
                if let Some(name) = name {
                    v = v.tags(Tag::builder().key("Name").value(name).build());
                }
                v.build()
            });
            DescribeVolumesOutput::builder()
                .set_volumes(Some(volumes.collect()))
                .build()
        });
        let m = self.clone();
        let create = mock!(Client::create_snapshot).then_compute_response(move |req| {
            let volume = req.volume_id().unwrap_or_default();
            if let Some(e) = m.record(format!("create:{volume}")) {
                return MockResponse::Error(CreateSnapshotError::generic(e));
            }
            let id = m.new_id("snap-new", tag_map(req.tag_specifications()));
            MockResponse::Output(CreateSnapshotOutput::builder().snapshot_id(id).build())
        });
        let m = self.clone();
        let delete = mock!(Client::delete_snapshot).then_compute_response(move |req| {
            let id = req.snapshot_id().unwrap_or_default();
            match m.record(format!("delete:{id}")) {
                Some(e) => MockResponse::Error(DeleteSnapshotError::generic(e)),
                None => MockResponse::Output(DeleteSnapshotOutput::builder().build()),
            }
        });
        let m = self.clone();
        let copy = mock!(Client::copy_snapshot).then_compute_response(move |req| {
            let source = req.source_snapshot_id().unwrap_or_default();
            if let Some(e) = m.record(format!("copy:{source}")) {
                return MockResponse::Error(CopySnapshotError::generic(e));
            }
            let id = m.new_id("snap-copy", tag_map(req.tag_specifications()));
            MockResponse::Output(CopySnapshotOutput::builder().snapshot_id(id).build())
        });
        test_harness::mock_client!(
            aws_sdk_ec2,
            RuleMode::MatchAny,
            [&listing, &volumes, &create, &delete, &copy],
            |config| config.retry_config(RetryConfig::disabled())
        )
    }
}

pub fn config(volumes: &[(&str, &str)], retain: usize) -> Config {
    Config {
        stack_id: STACK.into(),
        volumes: volumes
            .iter()
            .map(|(role, id)| Volume {
                role: role.to_string(),
                id: id.to_string(),
            })
            .collect(),
        retain,
        description: "test".into(),
        window: time::Duration::hours(20),
        copy: None,
        dry_run: false,
    }
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub const COUCH: (&str, &str) = ("CouchDBVolume", "vol-a");
