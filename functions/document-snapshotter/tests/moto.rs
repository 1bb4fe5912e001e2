//! The snapshotter against the real emulator (moto server on loopback): real volumes, real
//! snapshots, real tags, real EC2 error codes. One emulator per test.
//!
//! moto makes every snapshot `completed` at once and sets StartTime to "now", so older
//! snapshots are seeded with an older `openemr:backup-time` tag (the time the decisions use).

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use document_snapshotter::config::{Config, CopyTarget, Volume};
use document_snapshotter::ec2;
use document_snapshotter::facts::{NewSnapshot, VolumeInfo};
use document_snapshotter::run::{Invocation, gather, run, run_with};
use document_snapshotter::{Clients, Detail, Request, handle, tags};
use test_harness::{Moto, REGION};
use time::{Duration, OffsetDateTime};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr/11111111-2222-3333-4444-555555555555";
const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/openemr-old/66666666-2222-3333-4444-555555555555";
const DAY: Duration = Duration::DAY;

async fn client(moto: &Moto) -> Client {
    Client::new(&moto.sdk_config().await)
}

async fn volume(ec2: &Client, name: &str) -> String {
    ec2.create_volume()
        .availability_zone(format!("{REGION}a"))
        .size(10)
        .volume_type(aws_sdk_ec2::types::VolumeType::Sc1)
        .encrypted(true)
        .tag_specifications(spec(ResourceType::Volume, &[("Name", name)]))
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_owned()
}

fn spec(kind: ResourceType, pairs: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            pairs
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

async fn snapshot(ec2: &Client, volume: &str, pairs: &[(&str, &str)]) -> String {
    let mut req = ec2.create_snapshot().volume_id(volume).description("seed");
    if !pairs.is_empty() {
        req = req.tag_specifications(spec(ResourceType::Snapshot, pairs));
    }
    req.send().await.unwrap().snapshot_id().unwrap().to_owned()
}

/// A snapshot of ours, as if taken `days` before `now`.
async fn ours(ec2: &Client, volume: &str, role: &str, now: OffsetDateTime, days: i64) -> String {
    let time = tags::format_time(now - Duration::days(days));
    snapshot(
        ec2,
        volume,
        &[
            (tags::STACK_ID, STACK),
            (tags::VOLUME_ROLE, role),
            (tags::BACKUP_TIME, &time),
        ],
    )
    .await
}

/// Every snapshot in the account: id → tags.
async fn all(ec2: &Client) -> BTreeMap<String, BTreeMap<String, String>> {
    let out = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    out.snapshots()
        .iter()
        .map(|s| {
            let tags = s
                .tags()
                .iter()
                .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
                .collect();
            (s.snapshot_id().unwrap().to_owned(), tags)
        })
        .collect()
}

fn config(volumes: &[(&str, &str)], retain: usize) -> Config {
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
        description: "OpenEMR document store snapshot".into(),
        window: time::Duration::hours(20),
        copy: None,
        dry_run: false,
    }
}

fn invocation(cfg: &Config, now: OffsetDateTime) -> Invocation<'_> {
    Invocation {
        cfg,
        region: REGION,
        now,
        dry_run: false,
    }
}

fn event(dry_run: bool) -> Request {
    let mut e = Request::default();
    e.detail_type = "Scheduled Event".into();
    e.source = "aws.events".into();
    e.detail = Detail { dry_run };
    e
}

#[tokio::test]
async fn keeps_n_deletes_the_oldest_and_never_touches_manual_or_foreign() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let vol = volume(&ec2, "openemr-couchdb").await;
    let manual = snapshot(&ec2, &vol, &[]).await;
    let manual_named = snapshot(&ec2, &vol, &[("Name", "before upgrade")]).await;
    let foreign = snapshot(
        &ec2,
        &vol,
        &[
            (tags::STACK_ID, OTHER_STACK),
            (tags::VOLUME_ROLE, "CouchDBVolume"),
            (tags::BACKUP_TIME, &tags::format_time(now - 30 * DAY)),
        ],
    )
    .await;
    let stray_role = snapshot(
        &ec2,
        &vol,
        &[
            (tags::STACK_ID, STACK),
            (tags::VOLUME_ROLE, "RetiredVolume"),
            (tags::BACKUP_TIME, &tags::format_time(now - 30 * DAY)),
        ],
    )
    .await;
    let mut mine = Vec::new();
    for days in (1..=5).rev() {
        mine.push(ours(&ec2, &vol, "CouchDBVolume", now, days).await); // oldest first
    }

    let clients = Clients { ec2: ec2.clone() };
    let cfg = config(&[("CouchDBVolume", &vol)], 3);
    let summary = handle(&clients, &cfg, &event(false), now)
        .await
        .expect("a clean run");
    let v = &summary.volumes[0];
    let created = v.created.clone().expect("a snapshot was taken");
    assert_eq!(v.kept, [mine[4].clone(), mine[3].clone(), mine[2].clone()]);
    assert_eq!(
        v.deleted,
        [mine[1].clone(), mine[0].clone()],
        "exactly the 2 oldest"
    );

    let after = all(&ec2).await;
    for id in [
        &manual,
        &manual_named,
        &foreign,
        &stray_role,
        &mine[2],
        &mine[3],
        &mine[4],
        &created,
    ] {
        assert!(after.contains_key(id), "{id} must survive");
    }
    assert!(!after.contains_key(&mine[0]) && !after.contains_key(&mine[1]));
    assert_eq!(after.len(), 8);
    let t = &after[&created];
    assert_eq!(t[tags::STACK_ID], STACK);
    assert_eq!(t[tags::VOLUME_ROLE], "CouchDBVolume");
    assert_eq!(t[tags::BACKUP_TIME], tags::format_time(now));
    assert_eq!(
        t["Name"], "openemr-couchdb",
        "the volume's Name tag is copied"
    );

    // Run every day for a week: manual and foreign ones still survive, ours stay at 3 + today's.
    for day in 1..=7 {
        let s = handle(&clients, &cfg, &event(false), now + Duration::days(day))
            .await
            .expect("a clean run");
        assert!(s.volumes[0].created.is_some());
    }
    let after = all(&ec2).await;
    for id in [&manual, &manual_named, &foreign, &stray_role] {
        assert!(after.contains_key(id), "{id} must survive every run");
    }
    // moto completes snapshots at once: 3 kept + the one taken by the last run.
    let ours_left = after
        .values()
        .filter(|t| tags::is_ours(t, STACK, "CouchDBVolume"))
        .count();
    assert_eq!(ours_left, 4);
}

#[tokio::test]
async fn two_invocations_in_one_window_make_one_snapshot() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let vol = volume(&ec2, "couch").await;
    let cfg = config(&[("CouchDBVolume", &vol)], 3);
    let sdk = ec2.clone();
    let first = run(&sdk, REGION, None, &cfg, now, false).await;
    let second = run(&sdk, REGION, None, &cfg, now + Duration::seconds(90), false).await;
    assert!(first.ok() && second.ok());
    let created = first.volumes[0].created.clone().unwrap();
    assert_eq!(second.volumes[0].created, None);
    assert_eq!(second.volumes[0].skipped[0].snapshot_id, created);
    assert_eq!(all(&ec2).await.len(), 1);
    // After the window, the next one is taken.
    let next = run(&sdk, REGION, None, &cfg, now + Duration::hours(21), false).await;
    assert!(next.volumes[0].created.is_some());
    assert_eq!(all(&ec2).await.len(), 2);
}

#[tokio::test]
async fn dual_az_both_volumes_snapshotted_and_pruned_independently() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let a = volume(&ec2, "couch-az1").await;
    let b = volume(&ec2, "couch-az2").await;
    let mut a_snaps = Vec::new();
    for days in (1..=5).rev() {
        a_snaps.push(ours(&ec2, &a, "CouchDBVolume", now, days).await);
    }
    let b_old = ours(&ec2, &b, "RCouchDBVolume", now, 1).await;
    let cfg = config(&[("CouchDBVolume", &a), ("RCouchDBVolume", &b)], 3);
    let s = run(&ec2.clone(), REGION, None, &cfg, now, false).await;
    assert!(s.ok(), "{:?}", s.errors);
    assert_eq!(s.volumes.len(), 2);
    assert_eq!(
        s.volumes[0].deleted,
        [a_snaps[1].clone(), a_snaps[0].clone()]
    );
    assert!(
        s.volumes[1].deleted.is_empty(),
        "the second volume's single snapshot is not pruned because of the first's"
    );
    assert_eq!(s.volumes[1].kept, [b_old]);
    let after = all(&ec2).await;
    let ca = &after[s.volumes[0].created.as_ref().unwrap()];
    let cb = &after[s.volumes[1].created.as_ref().unwrap()];
    assert_eq!(
        (ca[tags::VOLUME_ROLE].as_str(), ca["Name"].as_str()),
        ("CouchDBVolume", "couch-az1")
    );
    assert_eq!(
        (cb[tags::VOLUME_ROLE].as_str(), cb["Name"].as_str()),
        ("RCouchDBVolume", "couch-az2")
    );
    assert_eq!(
        ca[tags::BACKUP_TIME],
        cb[tags::BACKUP_TIME],
        "one backup set"
    );
}

#[tokio::test]
async fn a_gone_volume_deletes_nothing_and_fails_the_invocation() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let a = volume(&ec2, "couch").await;
    let gone = volume(&ec2, "couch-r").await;
    let mut seeded = Vec::new();
    for days in 1..=5 {
        seeded.push(ours(&ec2, &a, "CouchDBVolume", now, days).await);
        seeded.push(ours(&ec2, &gone, "RCouchDBVolume", now, days).await);
    }
    ec2.delete_volume().volume_id(&gone).send().await.unwrap();
    let clients = Clients { ec2: ec2.clone() };
    let cfg = config(&[("CouchDBVolume", &a), ("RCouchDBVolume", &gone)], 3);
    let err = handle(&clients, &cfg, &event(false), now)
        .await
        .expect_err("the invocation must fail");
    assert!(
        err.to_string()
            .contains(&format!("volume {gone} not found")),
        "{err}"
    );
    let after = all(&ec2).await;
    for id in &seeded {
        assert!(
            after.contains_key(id),
            "{id} deleted although a create failed"
        );
    }
    assert!(err.0.pruning_skipped.is_some());
}

#[tokio::test]
async fn a_create_rejected_by_ec2_deletes_nothing() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let a = volume(&ec2, "couch").await;
    let mut seeded = Vec::new();
    for days in 1..=5 {
        seeded.push(ours(&ec2, &a, "CouchDBVolume", now, days).await);
    }
    // The volume vanishes after the function described it and before its CreateSnapshot
    // reaches EC2: the real `InvalidVolume.NotFound` of a create, not our own existence check.
    let cfg = config(&[("CouchDBVolume", &a)], 3);
    let facts = gather(&ec2, &cfg).await.unwrap();
    ec2.delete_volume().volume_id(&a).send().await.unwrap();
    let s = run_with(&ec2, None, &invocation(&cfg, now), &facts).await;
    assert!(!s.ok());
    assert!(
        s.errors[0].contains("InvalidVolume.NotFound"),
        "{:?}",
        s.errors
    );
    assert_eq!(all(&ec2).await.len(), 5);
}

#[tokio::test]
async fn a_snapshot_gone_midway_is_reported_and_the_rest_still_pruned() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let a = volume(&ec2, "couch").await;
    let mut mine = Vec::new();
    for days in (1..=6).rev() {
        mine.push(ours(&ec2, &a, "CouchDBVolume", now, days).await); // oldest first
    }
    // N=2: the 4 oldest go; the 2nd of them vanishes underneath.
    let vanishing = mine[2].clone();
    // Someone else deletes it after the function listed it, before its DeleteSnapshot.
    let cfg = config(&[("CouchDBVolume", &a)], 2);
    let facts = gather(&ec2, &cfg).await.unwrap();
    ec2.delete_snapshot()
        .snapshot_id(&vanishing)
        .send()
        .await
        .unwrap();
    let s = run_with(&ec2, None, &invocation(&cfg, now), &facts).await;
    assert!(
        s.ok(),
        "an already-gone snapshot is not an error: {:?}",
        s.errors
    );
    let v = &s.volumes[0];
    assert_eq!(
        v.deleted,
        [mine[3].clone(), mine[1].clone(), mine[0].clone()]
    );
    assert!(
        v.skipped
            .iter()
            .any(|k| k.snapshot_id == vanishing && k.reason.contains("already gone"))
    );
    let after = all(&ec2).await;
    assert_eq!(after.len(), 3, "2 kept + today's");
    assert!(after.contains_key(&mine[4]) && after.contains_key(&mine[5]));
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let a = volume(&ec2, "couch").await;
    for days in 1..=5 {
        ours(&ec2, &a, "CouchDBVolume", now, days).await;
    }
    snapshot(&ec2, &a, &[]).await;
    let before = all(&ec2).await;
    // Dry run asked by the event...
    let clients = Clients { ec2: ec2.clone() };
    let cfg = config(&[("CouchDBVolume", &a)], 3);
    let s = handle(&clients, &cfg, &event(true), now).await.unwrap();
    assert!(s.dry_run && s.volumes[0].would_create);
    assert_eq!(s.volumes[0].would_delete.len(), 2);
    assert!(s.volumes[0].created.is_none() && s.volumes[0].deleted.is_empty());
    assert_eq!(all(&ec2).await, before);
    // ...or by the environment (DRY_RUN=true), whatever the event says.
    let mut cfg = config(&[("CouchDBVolume", &a)], 3);
    cfg.dry_run = true;
    let s = handle(&clients, &cfg, &event(false), now).await.unwrap();
    assert!(s.dry_run && s.volumes[0].would_create);
    assert_eq!(all(&ec2).await, before);
}

#[tokio::test]
async fn copies_to_the_second_region_tagged_once_and_pruned_there() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let ec2 = Client::new(&sdk);
    let target_sdk = moto.sdk_config_in("us-west-2").await;
    let west = Client::new(&target_sdk);
    let now = OffsetDateTime::now_utc();
    let a = volume(&ec2, "couch").await;
    let y = ours(&ec2, &a, "CouchDBVolume", now, 1).await;
    // Old copies of ours in the copy region (seeded on a volume there) and a manual one.
    let wv = west
        .create_volume()
        .availability_zone("us-west-2a")
        .size(10)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_owned();
    let mut old_copies = Vec::new();
    for days in (2..=4).rev() {
        old_copies.push(ours(&west, &wv, "CouchDBVolume", now, days).await); // oldest first
    }
    let manual_west = snapshot(&west, &wv, &[]).await;

    let mut cfg = config(&[("CouchDBVolume", &a)], 2);
    cfg.copy = Some(CopyTarget {
        region: "us-west-2".into(),
        kms_key_id: "arn:aws:kms:us-west-2:123456789012:key/0000".into(),
    });
    let clients = Clients::new(&sdk);
    assert_eq!(clients.region(), REGION, "the copy's source region");
    let s = handle(&clients, &cfg, &event(false), now)
        .await
        .expect("a clean run");
    let c = &s.copies[0];
    assert_eq!(c.region, "us-west-2");
    assert_eq!(c.copy_of.as_deref(), Some(y.as_str()));
    let copy = c.created.clone().expect("copied");
    assert_eq!(c.kept, [old_copies[2].clone(), old_copies[1].clone()]);
    assert_eq!(c.deleted, [old_copies[0].clone()]);

    let west_after = all(&west).await;
    assert!(west_after.contains_key(&manual_west));
    let t = &west_after[&copy];
    assert_eq!(t[tags::STACK_ID], STACK);
    assert_eq!(t[tags::SOURCE_SNAPSHOT], y);
    assert_eq!(t[tags::SOURCE_REGION], REGION);
    assert_eq!(
        t[tags::BACKUP_TIME],
        tags::format_time(now - DAY),
        "the copy carries its source's backup time"
    );
    let kms = west
        .describe_snapshots()
        .snapshot_ids(&copy)
        .send()
        .await
        .unwrap()
        .snapshots()[0]
        .kms_key_id()
        .map(str::to_owned);
    assert_eq!(
        kms.as_deref(),
        Some("arn:aws:kms:us-west-2:123456789012:key/0000")
    );

    // moto completes today's snapshot at once, so the next run (same window: no new snapshot)
    // copies it; the run after that has nothing left to copy. Each source is copied once.
    let s = handle(&clients, &cfg, &event(false), now + Duration::seconds(60))
        .await
        .expect("a clean run");
    assert_eq!(s.volumes[0].created, None);
    let today = s.volumes[0].skipped[0].snapshot_id.clone();
    assert_eq!(s.copies[0].copy_of.as_deref(), Some(today.as_str()));
    assert!(s.copies[0].created.is_some());
    let s = handle(&clients, &cfg, &event(false), now + Duration::seconds(120))
        .await
        .expect("a clean run");
    assert_eq!(s.copies[0].created, None);
    assert!(
        s.copies[0]
            .skipped
            .iter()
            .any(|k| k.reason.contains("already copied"))
    );
    for source in [&y, &today] {
        let copies = west
            .describe_snapshots()
            .filters(
                Filter::builder()
                    .name(format!("tag:{}", tags::SOURCE_SNAPSHOT))
                    .values(source)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(copies.snapshots().len(), 1, "{source} copied once");
    }
}

#[tokio::test]
async fn sdk_errors_carry_ec2_codes() {
    let moto = Moto::start();
    let ec2 = client(&moto).await;
    let gone_volume = volume(&ec2, "gone").await;
    let gone_snapshot = snapshot(&ec2, &gone_volume, &[]).await;
    ec2.delete_snapshot()
        .snapshot_id(&gone_snapshot)
        .send()
        .await
        .unwrap();
    ec2.delete_volume()
        .volume_id(&gone_volume)
        .send()
        .await
        .unwrap();
    let e = ec2::delete_snapshot(&ec2, &gone_snapshot)
        .await
        .unwrap_err();
    assert!(document_snapshotter::facts::is_not_found(&e), "{e:?}");
    assert!(!document_snapshotter::facts::is_in_use(&e));
    let new = NewSnapshot {
        description: "x".into(),
        tags: vec![],
    };
    let e = ec2::create_snapshot(&ec2, &gone_volume, &new)
        .await
        .unwrap_err();
    assert_eq!(e.code, "InvalidVolume.NotFound", "{e:?}");
    // A missing volume is left out of describe_volumes rather than failing it.
    let live = volume(&ec2, "live").await;
    let found = ec2::describe_volumes(&ec2, &[gone_volume.clone(), live.clone()])
        .await
        .unwrap();
    assert_eq!(
        found,
        [VolumeInfo {
            id: live,
            name: Some("live".into())
        }]
    );
}

/// A loopback HTTP server that answers every request as throttled EC2 does (503,
/// `RequestLimitExceeded`), counting the requests: the SDK's real retry and error parsing.
async fn throttling_endpoint() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body by Content-Length.
                loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        while buf.len() < end + 4 + len {
                            let n = socket.read(&mut chunk).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        break;
                    }
                }
                seen.fetch_add(1, Ordering::SeqCst);
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttle-1</RequestID></Response>";
                let response = format!(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_throttled_create_is_retried_by_the_sdk_then_deletes_nothing() {
    use aws_sdk_ec2::config::retry::RetryConfig;
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let ec2 = Client::new(&sdk);
    let now = OffsetDateTime::now_utc();
    let a = volume(&ec2, "couch").await;
    for days in 1..=5 {
        ours(&ec2, &a, "CouchDBVolume", now, days).await;
    }
    let (url, requests) = throttling_endpoint().await;
    let conf = aws_sdk_ec2::config::Builder::from(&sdk)
        .endpoint_url(url)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(10)),
        )
        .build();
    // Facts from the emulator; the create then goes to the throttling endpoint.
    let cfg = config(&[("CouchDBVolume", &a)], 3);
    let facts = gather(&ec2, &cfg).await.unwrap();
    let throttled = Client::from_conf(conf);
    let s = run_with(&throttled, None, &invocation(&cfg, now), &facts).await;
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "the SDK retried the throttled create"
    );
    assert!(!s.ok());
    assert!(
        s.errors[0].contains("RequestLimitExceeded"),
        "{:?}",
        s.errors
    );
    assert!(s.pruning_skipped.is_some());
    assert_eq!(all(&ec2).await.len(), 5, "nothing deleted");
}

/// With only what the template gives `DocumentBackupExecutionRole`, IAM enforced by the
/// emulator (actions; moto cannot judge the tag Conditions, `stack-gen/tests/iam_conditions.rs`
/// does): a night's run creates, tags and prunes.
#[tokio::test]
async fn its_own_role_snapshots_and_prunes() {
    let moto = Moto::start_with_iam();
    let admin = client(&moto).await;
    let now = OffsetDateTime::now_utc();
    let vol = volume(&admin, "couch-iam").await;
    let mut old = Vec::new();
    for days in (1..=4).rev() {
        old.push(ours(&admin, &vol, "CouchDBVolume", now, days).await);
    }
    let template = stack_gen::generate(&stack_gen::Options::default())
        .unwrap()
        .to_json();
    let role = test_harness::iam::component(
        &moto,
        &template,
        "DocumentBackupExecutionRole",
        &test_harness::iam::stack_env("unused"),
    )
    .await;
    // IAM is enforced: the role may not do what the template does not give it.
    assert!(
        volume_with(&Client::new(&role)).await.is_err(),
        "the role created a volume"
    );
    let summary = run(
        &Client::new(&role),
        REGION,
        None,
        &config(&[("CouchDBVolume", &vol)], 3),
        now,
        false,
    )
    .await;
    assert!(summary.ok(), "{summary:?}");
    assert!(summary.volumes[0].created.is_some());
    assert_eq!(
        summary.volumes[0].deleted,
        [old[0].clone()],
        "the oldest beyond 3"
    );
    let after = all(&admin).await;
    assert_eq!(after.len(), 4);
}

async fn volume_with(ec2: &Client) -> Result<(), String> {
    ec2.create_volume()
        .availability_zone(format!("{REGION}a"))
        .size(1)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}
