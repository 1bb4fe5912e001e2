//! States the emulator cannot show (moto's EC2 snapshots are `completed` at once and its
//! describe calls ignore MaxResults): the real SDK clients with answers scripted by `aws-smithy-mocks`, for pending snapshots and pagination.

use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_sdk_ec2::types::{Snapshot, SnapshotState};
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
use aws_sdk_rds::types::DbSnapshot;
use aws_smithy_mocks::{RuleMode, mock};
use aws_smithy_types::DateTime;
use backup_checker::gather::{ApiCalls, database_snapshots, volume_snapshots};
use stack_contract::volumes::{PRIMARY, Volume};

const T: i64 = 1_795_590_001;

fn snapshot(id: &str, state: SnapshotState, time: i64) -> Snapshot {
    Snapshot::builder()
        .snapshot_id(id)
        .state(state)
        .start_time(DateTime::from_secs(time))
        .volume_id("vol-1")
        .build()
}

#[tokio::test]
async fn ec2_pages_are_followed_and_only_completed_snapshots_count() {
    let rule = mock!(aws_sdk_ec2::Client::describe_snapshots)
        .sequence()
        .output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(snapshot("snap-pending", SnapshotState::Pending, T + 86_400))
                .snapshots(snapshot("snap-old", SnapshotState::Completed, T - 86_400))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(snapshot("snap-newest", SnapshotState::Completed, T))
                .snapshots(snapshot("snap-error", SnapshotState::Error, T + 3600))
                .build()
        })
        .build();
    let ec2 = test_harness::mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&rule]);
    let calls = ApiCalls::default();
    let found = volume_snapshots(
        &ec2,
        &Volume {
            role: PRIMARY.into(),
            id: "vol-1".into(),
        },
        &calls,
    )
    .await
    .unwrap();
    assert_eq!(rule.num_calls(), 2);
    assert_eq!(
        calls
            .ec2_describe_snapshots
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    assert_eq!(
        found.newest.as_ref().map(|s| s.id.as_str()),
        Some("snap-newest")
    );
    assert_eq!(found.newest.unwrap().time.unix_timestamp(), T);
    assert_eq!(found.pending, 1);
}

#[tokio::test]
async fn rds_pages_are_followed_and_only_available_snapshots_count() {
    let snap = |id: &str, status: &str, time: i64| {
        DbSnapshot::builder()
            .db_snapshot_identifier(id)
            .status(status)
            .snapshot_create_time(DateTime::from_secs(time))
            .build()
    };
    let rule = mock!(aws_sdk_rds::Client::describe_db_snapshots)
        .sequence()
        .output(move || {
            DescribeDbSnapshotsOutput::builder()
                .db_snapshots(snap("rds:db-creating", "creating", T + 60))
                .marker("m2")
                .build()
        })
        .output(move || {
            DescribeDbSnapshotsOutput::builder()
                .db_snapshots(snap("rds:db-today", "available", T))
                .db_snapshots(snap("db-manual-old", "available", T - 7 * 86_400))
                .build()
        })
        .build();
    let rds = test_harness::mock_client!(aws_sdk_rds, RuleMode::Sequential, [&rule]);
    let calls = ApiCalls::default();
    let found = database_snapshots(&rds, "db", &calls).await.unwrap();
    assert_eq!(rule.num_calls(), 2);
    assert_eq!(found.newest.map(|s| s.id), Some("rds:db-today".to_owned()));
}
