//! 100,000 objects under `Backup/` in the emulator: the right verdict, one list request per
//! 1,000 keys (counted by an SDK interceptor on the wire, and by the checker itself), and a
//! summary that holds one entry per backup set, not per object.
//!
//! Putting 100,000 objects through moto's HTTP API takes minutes, so this moto server's bucket
//! is filled in-process (tests/seed_moto.py); the listing under test is plain HTTP.

mod common;

use backup_checker::checks::Thresholds;
use backup_checker::{Config, check};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_objects_one_list_call_per_thousand() {
    let now = now();
    let keys = layout_100k(now);
    assert_eq!(keys.len() + 1, OBJECTS);

    let mut moto = SeededMoto::start();
    let sdk = moto.sdk_config().await;
    let (clients, lists) = counting_clients(&sdk);
    create_bucket(&clients.s3, "big-backup").await;
    put_passphrase(&clients.s3, "big-backup", true).await;
    moto.seed("big-backup", keys.into_iter());

    let config = Config {
        bucket: "big-backup".into(),
        prefix: "Backup/".into(),
        volumes: vec![],
        db_instance: None,
        limits: Thresholds {
            max_age: time::Duration::hours(26),
            max_skew: time::Duration::hours(2),
        },
        topic: None,
        stack: "big".into(),
        drill_max_age: None,
    };
    let run = check(&clients, &config, now).await;
    assert!(run.report.ok, "{:#?}", run.report.checks);
    let pages = OBJECTS.div_ceil(1000);
    assert_eq!(lists.count(), pages, "list requests on the wire");
    assert_eq!(
        run.api_calls
            .s3_list_objects
            .load(std::sync::atomic::Ordering::Relaxed) as usize,
        pages
    );
    let chain = &run.report.checks[0];
    // memory: one summary per backup set (2 fulls + 39 incrementals), none per object
    assert!(
        chain
            .message
            .contains(&format!("{OBJECTS} objects in 41 backup sets")),
        "{}",
        chain.message
    );
    assert!(
        chain.message.contains("and 10 incremental(s)"),
        "{}",
        chain.message
    );
}
