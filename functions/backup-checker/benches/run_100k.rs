//! Benchmark (numbers, not a test): the function's release binary, cold start + one invocation
//! against the emulator, through the shared harness (`test_harness::bench`: a fake Lambda
//! Runtime API, peak RSS of the process).
//!
//! ```text
//! cargo bench -p backup-checker --bench run_100k
//! ```
//! Scenarios:
//! - `100k objects`: 100,000 objects under `Backup/` (two chains, 41 backup sets) in a moto
//!   server seeded in-process (tests/seed_moto.py). The function talks to it directly, so its
//!   API calls are the ones it counts itself (`api_calls` in its answer), not the harness proxy.
//! - `nightly`: a realistic stack (one chain of 4 sets, ~20 objects, two document volumes, a
//!   database, the alert topic) in a plain `Moto`, calls counted by the harness proxy.

#[path = "../tests/common/mod.rs"]
mod common;

use stack_contract::backup_checker as env;
use std::time::Duration;

use common::*;
use serde_json::Value;
use test_harness::Moto;
use test_harness::bench::{Lambda, Measurement, Summary};

fn event() -> Value {
    serde_json::from_str(include_str!(
        "../../../events/backup-checker/scheduled.json"
    ))
    .unwrap()
}

fn lambda() -> Lambda {
    Lambda::new("backup-checker", env!("CARGO_BIN_EXE_backup-checker"))
        .memory_mb(256)
        .timeout(Duration::from_secs(300))
}

/// The function's own count of its API requests, as harness call counts.
fn own_calls(m: &mut Measurement) {
    if let test_harness::bench::Answer::Response(v) = &m.answer {
        for (name, op) in [
            ("s3_list_objects", "s3:ListObjectsV2"),
            ("s3_head_object", "s3:HeadObject"),
            ("s3_list_multipart_uploads", "s3:ListMultipartUploads"),
            ("ec2_describe_snapshots", "ec2:DescribeSnapshots"),
            ("rds_describe_db_snapshots", "rds:DescribeDBSnapshots"),
            ("sns_publish", "sns:Publish"),
        ] {
            let n = v["api_calls"][name].as_u64().unwrap_or(0) as usize;
            if n > 0 {
                m.api_calls.insert(op.to_owned(), n);
            }
        }
    }
}

fn hundred_thousand(runs: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = now();
    let mut moto = SeededMoto::start();
    rt.block_on(async {
        let s3 = aws_clients::s3_client(&moto.sdk_config().await);
        create_bucket(&s3, "bench-backup").await;
        put_passphrase(&s3, "bench-backup", true).await;
    });
    moto.seed("bench-backup", layout_100k(now).into_iter());
    let mut measurements = Vec::new();
    for _ in 0..runs {
        let mut lambda = lambda()
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env(env::BUCKET, "bench-backup")
            .env(env::STACK, "bench");
        let mut m = lambda.invoke(&event());
        assert!(m.answer.is_response(), "{:?}\n{}", m.answer, m.logs);
        own_calls(&mut m);
        measurements.push(m);
    }
    println!(
        "{}",
        Summary::of("backup-checker: 100k objects", &measurements).tsv()
    );
}

fn nightly(runs: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now = now();
    let mut measurements = Vec::new();
    for _ in 0..runs {
        let moto = Moto::start();
        let (volumes, topic) = rt.block_on(async {
            let config = moto.sdk_config().await;
            let s3 = aws_clients::s3_client(&config);
            create_bucket(&s3, "bench-nightly").await;
            put_keys(
                &s3,
                "bench-nightly",
                &chain(now - time::Duration::minutes(10), 5),
            )
            .await;
            put_passphrase(&s3, "bench-nightly", true).await;
            let ec2 = aws_sdk_ec2::Client::new(&config);
            let mut volumes = Vec::new();
            for role in stack_contract::volumes::ROLES {
                let v = ec2
                    .create_volume()
                    .availability_zone("us-east-1a")
                    .size(10)
                    .send()
                    .await
                    .unwrap();
                let id = v.volume_id().unwrap().to_owned();
                ec2.create_snapshot().volume_id(&id).send().await.unwrap();
                volumes.push(format!("{role}={id}"));
            }
            let rds = aws_sdk_rds::Client::new(&config);
            rds.create_db_instance()
                .db_instance_identifier("bench-db")
                .engine("mysql")
                .db_instance_class("db.t3.micro")
                .allocated_storage(20)
                .master_username("openemr")
                .master_user_password("bench-password-123")
                .send()
                .await
                .unwrap();
            let sns = aws_sdk_sns::Client::new(&config);
            let topic = sns
                .create_topic()
                .name("OperatorAlerts")
                .send()
                .await
                .unwrap()
                .topic_arn()
                .unwrap()
                .to_owned();
            (volumes.join(","), topic)
        });
        let mut lambda = lambda()
            .aws(&moto)
            .env(env::BUCKET, "bench-nightly")
            .env(env::VOLUMES, volumes)
            .env(env::DB_INSTANCE, "bench-db")
            .env(env::TOPIC, topic)
            .env(env::STACK, "bench");
        let m = lambda.invoke(&event());
        assert!(m.answer.is_response(), "{:?}\n{}", m.answer, m.logs);
        measurements.push(m);
    }
    println!(
        "{}",
        Summary::of("backup-checker: nightly (2 volumes, db)", &measurements).tsv()
    );
}

/// The function's own work on 100,000 names (parse + chain judgement), without the emulator.
fn scan_only() {
    let keys = layout_100k(now());
    let start = std::time::Instant::now();
    let mut scan = backup_checker::duplicity::BackupScan::new();
    for key in &keys {
        scan.add(key.strip_prefix("Backup/").unwrap());
    }
    let sets = scan.tracked_sets();
    let findings = scan.finish();
    let elapsed = start.elapsed();
    assert!(findings.problems.is_empty(), "{:?}", findings.problems);
    println!(
        "backup-checker: in-process scan of {} names: {:.1} ms, {sets} set summaries kept",
        keys.len(),
        elapsed.as_secs_f64() * 1000.0
    );
}

fn main() {
    scan_only();
    nightly(3);
    hundred_thousand(2);
}
