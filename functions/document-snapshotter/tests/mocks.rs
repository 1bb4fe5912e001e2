//! What the emulator cannot show (moto makes every snapshot `completed` at once and ignores
//! MaxResults): pending and error snapshots, several pages with NextToken, throttling and
//! failures injected at a chosen call. The real SDK client runs with its answers scripted by
//! `aws-smithy-mocks` (`common::Mock`); the same run code is exercised against the emulator in
//! `tests/moto.rs`.

mod common;

use common::*;

#[tokio::test]
async fn two_completed_and_one_pending_none_go() {
    let ec2 = Mock::new().volume("vol-a", Some("couch")).listing(vec![
        ours("snap-1", "vol-a", "CouchDBVolume", State::Completed, 2),
        ours("snap-2", "vol-a", "CouchDBVolume", State::Completed, 1),
        ours("snap-p", "vol-a", "CouchDBVolume", State::Pending, 1),
    ]);
    // The pending one is a day old: it does not cover today's window, so one is created.
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 3),
        NOW,
        false,
    )
    .await;
    assert!(s.ok(), "{:?}", s.errors);
    let v = &s.volumes[0];
    assert_eq!(v.created.as_deref(), Some("snap-new1"));
    assert!(v.deleted.is_empty());
    assert_eq!(v.kept, ["snap-2", "snap-1"]);
    assert!(
        v.skipped
            .iter()
            .any(|k| k.snapshot_id == "snap-p" && k.reason.starts_with("pending"))
    );
    assert_eq!(ec2.calls("delete"), 0);
}

#[tokio::test]
async fn pending_and_error_snapshots_are_never_the_reason_to_delete() {
    // N=3: 3 completed, plus newer pending and error ones. Nothing completed may go.
    let ec2 = Mock::new().volume("vol-a", None).listing(vec![
        ours("snap-c1", "vol-a", "CouchDBVolume", State::Completed, 6),
        ours("snap-c2", "vol-a", "CouchDBVolume", State::Completed, 5),
        ours("snap-c3", "vol-a", "CouchDBVolume", State::Completed, 4),
        ours("snap-e1", "vol-a", "CouchDBVolume", State::Error, 3),
        ours("snap-e2", "vol-a", "CouchDBVolume", State::Error, 2),
        ours("snap-p1", "vol-a", "CouchDBVolume", State::Pending, 1),
    ]);
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 3),
        NOW,
        false,
    )
    .await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(s.volumes[0].kept, ["snap-c3", "snap-c2", "snap-c1"]);
    assert!(s.volumes[0].deleted.is_empty());
    assert_eq!(ec2.calls("delete"), 0);
    let skipped: Vec<&str> = s.volumes[0]
        .skipped
        .iter()
        .map(|k| k.snapshot_id.as_str())
        .collect();
    assert_eq!(skipped, ["snap-e1", "snap-e2", "snap-p1"]);
}

#[tokio::test]
async fn an_error_snapshot_inside_the_window_does_not_stop_a_new_one() {
    let ours_now = |id: &str, state: State, time: OffsetDateTime| {
        snap(
            id,
            "vol-a",
            state,
            time,
            &[
                (tags::STACK_ID, STACK),
                (tags::VOLUME_ROLE, "CouchDBVolume"),
            ],
        )
    };
    // The second listing is what EC2 shows after the first run: its snapshot, pending.
    let ec2 = Mock::new()
        .volume("vol-a", None)
        .listing(vec![ours_now(
            "snap-err",
            State::Error,
            NOW - Duration::seconds(600),
        )])
        .listing(vec![
            ours_now("snap-err", State::Error, NOW - Duration::seconds(600)),
            ours_now("snap-new1", State::Pending, NOW),
        ]);
    let client = ec2.client();
    let s = run(&client, "us-east-1", None, &config(&[COUCH], 3), NOW, false).await;
    assert_eq!(s.volumes[0].created.as_deref(), Some("snap-new1"));
    // A pending one inside the window does stop it (EventBridge delivered twice).
    let s = run(
        &client,
        "us-east-1",
        None,
        &config(&[COUCH], 3),
        NOW + Duration::seconds(60),
        false,
    )
    .await;
    assert_eq!(s.volumes[0].created, None);
    assert!(
        s.volumes[0]
            .skipped
            .iter()
            .any(|k| k.snapshot_id == "snap-new1" && k.reason.contains("already covers"))
    );
    assert_eq!(ec2.calls("create"), 1);
}

#[tokio::test]
async fn pagination_more_than_one_page_is_followed() {
    // 7 snapshots of ours among 7 of another stack (a server filter is not trusted), 4 pages
    // of at most 4: the plan must see all of ours.
    let mut all = Vec::new();
    for day in 1..=7 {
        all.push(ours(
            &format!("snap-{day}"),
            "vol-a",
            "CouchDBVolume",
            State::Completed,
            day,
        ));
        all.push(snap(
            &format!("snap-other{day}"),
            "vol-a",
            State::Completed,
            NOW - Duration::days(day),
            &[
                (tags::STACK_ID, OTHER_STACK),
                (tags::VOLUME_ROLE, "CouchDBVolume"),
            ],
        ));
    }
    let mut pages = all.chunks(4).map(<[_]>::to_vec).collect::<Vec<_>>();
    let last = pages.pop().unwrap();
    let mut ec2 = Mock::new().volume("vol-a", None);
    for (i, page) in pages.into_iter().enumerate() {
        ec2 = ec2.page(page, &format!("token-{}", i + 1));
    }
    let ec2 = ec2.listing(last);
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 3),
        NOW,
        false,
    )
    .await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(
        ec2.calls("describe_snapshots"),
        4,
        "14 snapshots at 4 a page"
    );
    assert_eq!(s.volumes[0].kept, ["snap-1", "snap-2", "snap-3"]);
    assert_eq!(
        sorted(s.volumes[0].deleted.clone()),
        ["snap-4", "snap-5", "snap-6", "snap-7"]
    );
    // Other stack's snapshots untouched.
    assert_eq!(
        ec2.delete_calls()
            .iter()
            .filter(|i| i.starts_with("snap-other"))
            .count(),
        0
    );
}

#[tokio::test]
async fn a_repeated_next_token_is_an_error_not_a_loop() {
    let ec2 = Mock::new().page(vec![], "same");
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 3),
        NOW,
        false,
    )
    .await;
    assert!(!s.ok());
    assert!(s.errors[0].contains("same NextToken"), "{:?}", s.errors);
    assert_eq!(ec2.calls("describe_snapshots"), 2);
    assert_eq!(
        ec2.calls("create") + ec2.calls("delete") + ec2.calls("copy"),
        0,
        "must not create, delete or copy"
    );
}

#[tokio::test]
async fn throttled_create_deletes_nothing_and_reports() {
    let ec2 = Mock::new()
        .volume("vol-a", None)
        .volume("vol-b", None)
        .listing(vec![
            ours("snap-a1", "vol-a", "CouchDBVolume", State::Completed, 5),
            ours("snap-a2", "vol-a", "CouchDBVolume", State::Completed, 4),
            ours("snap-a3", "vol-a", "CouchDBVolume", State::Completed, 3),
            ours("snap-a4", "vol-a", "CouchDBVolume", State::Completed, 2),
            ours("snap-b1", "vol-b", "RCouchDBVolume", State::Completed, 5),
            ours("snap-b2", "vol-b", "RCouchDBVolume", State::Completed, 4),
            ours("snap-b3", "vol-b", "RCouchDBVolume", State::Completed, 3),
            ours("snap-b4", "vol-b", "RCouchDBVolume", State::Completed, 2),
        ])
        .fail("create:vol-b", "RequestLimitExceeded");
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH, ("RCouchDBVolume", "vol-b")], 3),
        NOW,
        false,
    )
    .await;
    assert!(!s.ok());
    assert!(
        s.errors
            .iter()
            .any(|e| e.contains("RCouchDBVolume") && e.contains("RequestLimitExceeded")),
        "{:?}",
        s.errors
    );
    assert!(s.pruning_skipped.is_some());
    // The other volume's snapshot was still taken; nothing old is gone.
    assert_eq!(ec2.calls("delete"), 0);
    assert_eq!(s.volumes[0].created.as_deref(), Some("snap-new1"));
    assert_eq!(ec2.calls("create"), 2);
}

#[tokio::test]
async fn listing_failure_changes_nothing() {
    let ec2 = Mock::new()
        .volume("vol-a", None)
        .listing(vec![ours(
            "snap-1",
            "vol-a",
            "CouchDBVolume",
            State::Completed,
            9,
        )])
        .fail("describe_snapshots", "RequestLimitExceeded");
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 1),
        NOW,
        false,
    )
    .await;
    assert!(!s.ok());
    assert_eq!(ec2.calls("create") + ec2.calls("delete"), 0);
    assert!(
        s.errors[0].contains("RequestLimitExceeded"),
        "{:?}",
        s.errors
    );
}

#[tokio::test]
async fn delete_failing_midway_leaves_the_rest_consistent() {
    // N=1 and 5 completed: 4 to delete. The 2nd is in use by an AMI, the 3rd is already
    // gone, the 4th fails with an unexpected error. The others are still deleted; only the
    // unexpected one fails the invocation.
    let ec2 = Mock::new()
        .volume("vol-a", None)
        .listing(vec![
            ours("snap-5", "vol-a", "CouchDBVolume", State::Completed, 5),
            ours("snap-4", "vol-a", "CouchDBVolume", State::Completed, 4),
            ours("snap-3", "vol-a", "CouchDBVolume", State::Completed, 3),
            ours("snap-2", "vol-a", "CouchDBVolume", State::Completed, 2),
            ours("snap-1", "vol-a", "CouchDBVolume", State::Completed, 1),
        ])
        .fail("delete:snap-3", "InvalidSnapshot.InUse")
        .fail("delete:snap-4", "InvalidSnapshot.NotFound")
        .fail("delete:snap-5", "UnauthorizedOperation");
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 1),
        NOW,
        false,
    )
    .await;
    let v = &s.volumes[0];
    assert_eq!(v.kept, ["snap-1"]);
    assert_eq!(v.deleted, ["snap-2"]);
    assert!(
        v.skipped
            .iter()
            .any(|k| k.snapshot_id == "snap-3" && k.reason.contains("in use"))
    );
    assert!(
        v.skipped
            .iter()
            .any(|k| k.snapshot_id == "snap-4" && k.reason.contains("already gone"))
    );
    assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    assert!(s.errors[0].contains("snap-5") && s.errors[0].contains("UnauthorizedOperation"));
    assert_eq!(ec2.calls("delete"), 4, "every planned delete was attempted");
    // The kept one and the new one are never asked to go; only snap-2's delete succeeded.
    assert_eq!(ec2.delete_calls(), ["snap-2", "snap-3", "snap-4", "snap-5"]);
    assert_eq!(v.created.as_deref(), Some("snap-new1"));
}

fn copy_to_west(cfg: &mut Config, kms_key_id: &str) {
    cfg.copy = Some(CopyTarget {
        region: "us-west-2".into(),
        kms_key_id: kms_key_id.into(),
    });
}

#[tokio::test]
async fn copies_wait_for_a_completed_source_and_are_pruned_by_the_same_rules() {
    // Source: today's is pending, yesterday's completed. Copy region: 3 old copies of ours and
    // one foreign. N=2.
    let copy_of =
        |id: &str, days: i64| ours(id, "vol-ffffffff", "CouchDBVolume", State::Completed, days);
    let source = Mock::new().volume("vol-a", Some("couch")).listing(vec![
        ours("snap-old", "vol-a", "CouchDBVolume", State::Completed, 2),
        ours("snap-y", "vol-a", "CouchDBVolume", State::Completed, 1),
        snap(
            "snap-today",
            "vol-a",
            State::Pending,
            NOW - Duration::seconds(300),
            &[
                (tags::STACK_ID, STACK),
                (tags::VOLUME_ROLE, "CouchDBVolume"),
            ],
        ),
    ]);
    let foreign = snap(
        "copy-foreign",
        "vol-ffffffff",
        State::Completed,
        NOW - 9 * DAY,
        &[
            (tags::STACK_ID, OTHER_STACK),
            (tags::VOLUME_ROLE, "CouchDBVolume"),
        ],
    );
    // The copy region as the first run leaves it: copy-3 pruned, yesterday's copy pending.
    let made = snap(
        "snap-copy1",
        "vol-ffffffff",
        State::Pending,
        NOW,
        &[
            (tags::STACK_ID, STACK),
            (tags::VOLUME_ROLE, "CouchDBVolume"),
            (tags::SOURCE_SNAPSHOT, "snap-y"),
        ],
    );
    let target = Mock::new()
        .listing(vec![
            copy_of("copy-3", 5),
            copy_of("copy-2", 4),
            copy_of("copy-1", 3),
            foreign.clone(),
        ])
        .listing(vec![
            copy_of("copy-2", 4),
            copy_of("copy-1", 3),
            foreign,
            made,
        ]);
    let mut cfg = config(&[COUCH], 2);
    copy_to_west(&mut cfg, "arn:aws:kms:us-west-2:123456789012:key/k");
    let (source_ec2, target_ec2) = (source.client(), target.client());

    let s = run(
        &source_ec2,
        "us-east-1",
        Some(&target_ec2),
        &cfg,
        NOW,
        false,
    )
    .await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(
        s.volumes[0].created, None,
        "today's pending snapshot covers the window"
    );
    let c = &s.copies[0];
    assert_eq!(c.region, "us-west-2");
    assert_eq!(
        c.copy_of.as_deref(),
        Some("snap-y"),
        "the newest completed, not the pending one"
    );
    assert_eq!(c.created.as_deref(), Some("snap-copy1"));
    assert_eq!(c.kept, ["copy-1", "copy-2"]);
    assert_eq!(c.deleted, ["copy-3"]);
    assert!(!target.called("delete:copy-foreign"));
    let copy = target.made.lock().unwrap()["snap-copy1"].clone();
    assert_eq!(
        copy.get(tags::SOURCE_SNAPSHOT).map(String::as_str),
        Some("snap-y")
    );
    assert_eq!(copy.get(tags::STACK_ID).map(String::as_str), Some(STACK));
    assert_eq!(
        copy.get("Name").map(String::as_str),
        None,
        "the source had no Name tag"
    );

    // Again in the same window: no second copy.
    let s = run(
        &source_ec2,
        "us-east-1",
        Some(&target_ec2),
        &cfg,
        NOW + Duration::seconds(60),
        false,
    )
    .await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(s.copies[0].created, None);
    assert_eq!(target.calls("copy"), 1);
}

#[tokio::test]
async fn a_failed_copy_prunes_nothing_in_the_copy_region() {
    let source = Mock::new().volume("vol-a", None).listing(vec![ours(
        "snap-y",
        "vol-a",
        "CouchDBVolume",
        State::Completed,
        1,
    )]);
    let target = Mock::new()
        .listing(vec![
            ours(
                "copy-2",
                "vol-ffffffff",
                "CouchDBVolume",
                State::Completed,
                4,
            ),
            ours(
                "copy-1",
                "vol-ffffffff",
                "CouchDBVolume",
                State::Completed,
                3,
            ),
        ])
        .fail("copy:snap-y", "InvalidParameterValue");
    let mut cfg = config(&[COUCH], 1);
    copy_to_west(&mut cfg, "k");
    let s = run(
        &source.client(),
        "us-east-1",
        Some(&target.client()),
        &cfg,
        NOW,
        false,
    )
    .await;
    assert!(!s.ok());
    assert!(s.errors.iter().any(|e| e.contains("copying snap-y failed")));
    assert_eq!(target.calls("delete"), 0);
}

#[tokio::test]
async fn dry_run_calls_no_mutating_api() {
    let ec2 = Mock::new().volume("vol-a", None).listing(vec![
        ours("snap-3", "vol-a", "CouchDBVolume", State::Completed, 3),
        ours("snap-2", "vol-a", "CouchDBVolume", State::Completed, 2),
        ours("snap-1", "vol-a", "CouchDBVolume", State::Completed, 1),
    ]);
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 1),
        NOW,
        true,
    )
    .await;
    assert!(s.ok() && s.dry_run);
    assert!(s.volumes[0].would_create);
    assert_eq!(s.volumes[0].would_delete, ["snap-2", "snap-3"]);
    assert!(s.volumes[0].deleted.is_empty() && s.volumes[0].created.is_none());
    assert_eq!(
        ec2.calls("create") + ec2.calls("delete") + ec2.calls("copy"),
        0
    );
}

#[tokio::test]
async fn a_backup_time_tag_in_the_future_does_not_block_tonights_snapshot() {
    // Tagged a year ahead (a wrong clock, or a hand edit) but started two days ago: it counts
    // as two days old, so it neither covers tonight nor outranks newer snapshots.
    let ec2 = Mock::new().volume("vol-a", None).listing(vec![
        snap(
            "snap-future",
            "vol-a",
            State::Completed,
            NOW - 2 * DAY,
            &[
                (tags::STACK_ID, STACK),
                (tags::VOLUME_ROLE, "CouchDBVolume"),
                (tags::BACKUP_TIME, &tags::format_time(NOW + 365 * DAY)),
            ],
        ),
        ours("snap-y", "vol-a", "CouchDBVolume", State::Completed, 1),
    ]);
    let s = run(
        &ec2.client(),
        "us-east-1",
        None,
        &config(&[COUCH], 1),
        NOW,
        false,
    )
    .await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(s.volumes[0].created.as_deref(), Some("snap-new1"));
    assert_eq!(s.volumes[0].kept, ["snap-y"]);
    assert_eq!(s.volumes[0].deleted, ["snap-future"]);
}

#[tokio::test]
async fn a_copy_region_equal_to_the_stacks_is_refused() {
    let ec2 = Mock::new().volume("vol-a", None).listing(vec![ours(
        "snap-y",
        "vol-a",
        "CouchDBVolume",
        State::Completed,
        1,
    )]);
    let other = Mock::new().listing(vec![]);
    let mut cfg = config(&[COUCH], 3);
    cfg.copy = Some(CopyTarget {
        region: "us-east-1".into(),
        kms_key_id: "k".into(),
    });
    let s = run(
        &ec2.client(),
        "us-east-1",
        Some(&other.client()),
        &cfg,
        NOW,
        false,
    )
    .await;
    assert!(!s.ok());
    assert!(s.errors[0].contains("own region"), "{:?}", s.errors);
    assert_eq!(other.calls(""), 0, "no call in the 'copy' region");
    assert_eq!(
        s.volumes[0].created.as_deref(),
        Some("snap-new1"),
        "the snapshot itself is still taken"
    );
}

#[tokio::test]
async fn a_long_backlog_is_pruned_over_several_runs() {
    use document_snapshotter::run::MAX_DELETES_PER_RUN;
    let backlog = MAX_DELETES_PER_RUN + 3;
    let seeded: Vec<String> = (0..=backlog).map(|i| format!("snap-{i:04}")).collect();
    let of = |ids: &[String]| -> Vec<_> {
        ids.iter()
            .map(|id| {
                let i: i64 = id[5..].parse().unwrap();
                ours(id, "vol-a", "CouchDBVolume", State::Completed, i + 1)
            })
            .collect()
    };
    // What EC2 holds the next night: the newest (kept), the 3 oldest (deferred: deletes go
    // newest first) and the first run's own snapshot, completed by then.
    let mut next_night = of(&[
        seeded[0].clone(),
        seeded[backlog - 2].clone(),
        seeded[backlog - 1].clone(),
        seeded[backlog].clone(),
    ]);
    next_night.push(ours(
        "snap-new1",
        "vol-a",
        "CouchDBVolume",
        State::Completed,
        0,
    ));
    let ec2 = Mock::new()
        .volume("vol-a", None)
        .listing(of(&seeded))
        .listing(next_night);
    let client = ec2.client();
    // N=1: `backlog` to delete; the first run stops at the cap and defers the rest.
    let s = run(&client, "us-east-1", None, &config(&[COUCH], 1), NOW, false).await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(s.volumes[0].deleted.len(), MAX_DELETES_PER_RUN);
    assert_eq!(
        sorted(s.volumes[0].deleted.clone()),
        seeded[1..=MAX_DELETES_PER_RUN]
    );
    let deferred = s.volumes[0]
        .skipped
        .iter()
        .filter(|k| k.reason.starts_with("deferred"))
        .count();
    assert_eq!(deferred, 3);
    assert_eq!(ec2.calls("delete"), MAX_DELETES_PER_RUN);
    // The next night finishes the job.
    let s = run(
        &client,
        "us-east-1",
        None,
        &config(&[COUCH], 1),
        NOW + DAY,
        false,
    )
    .await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(
        s.volumes[0].deleted.len(),
        4,
        "the 3 deferred and the day-old one"
    );
    // Left: the one kept (last night's) and tonight's new one; every seeded one is gone.
    assert_eq!(s.volumes[0].kept, ["snap-new1"]);
    assert_eq!(s.volumes[0].created.as_deref(), Some("snap-new2"));
    assert_eq!(sorted(ec2.delete_calls()), seeded);
}
