//! Benchmark (numbers, not a test): the function's release binary, cold start + one invocation
//! against the emulator, through the shared harness (`test_harness::bench`: a fake Lambda
//! Runtime API, a request-counting proxy in front of moto, peak RSS of the process).
//!
//! ```text
//! cargo bench -p document-snapshotter --bench snapshots
//! ```
//! Scenarios, each run 3 times on a freshly seeded emulator (the first run changes the state):
//! - `200 existing`: one volume with 200 completed snapshots of ours (a long backlog): one
//!   create, ⌈200/1000⌉ = 1 describe, 197 deletes (N = 3);
//! - `steady state`: N = 3 of ours plus yesterday's: one create, one describe, one delete;
//! - `dual-AZ, 200 each`: two volumes with 200 each: 2 creates, ⌈400/1000⌉ = 1 describe, 394 deletes.

use document_snapshotter::tags;
use serde_json::json;
use stack_contract::document_snapshotter as env;
use test_harness::Moto;
use test_harness::bench::{Lambda, Measurement, Summary};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/00000000-0000-0000-0000-000000000000";
const RUNS: usize = 3;

/// Creates one volume per role with `existing` snapshots of ours each; returns `VOLUMES`.
async fn seed(moto: &Moto, roles: &[&str], existing: usize) -> String {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let now = time::OffsetDateTime::now_utc();
    let mut volumes = Vec::new();
    for role in roles {
        let vol = ec2
            .create_volume()
            .availability_zone("us-east-1a")
            .size(10)
            .send()
            .await
            .unwrap()
            .volume_id()
            .unwrap()
            .to_owned();
        for i in 0..existing {
            let spec = TagSpecification::builder()
                .resource_type(ResourceType::Snapshot)
                .tags(Tag::builder().key(tags::STACK_ID).value(STACK).build())
                .tags(Tag::builder().key(tags::VOLUME_ROLE).value(*role).build())
                .tags(
                    Tag::builder()
                        .key(tags::BACKUP_TIME)
                        .value(tags::format_time(now - time::Duration::days(i as i64 + 1)))
                        .build(),
                )
                .build();
            ec2.create_snapshot()
                .volume_id(&vol)
                .tag_specifications(spec)
                .send()
                .await
                .unwrap();
        }
        volumes.push(format!("{role}={vol}"));
    }
    volumes.join(",")
}

fn scenario(label: &str, roles: &[&str], existing: usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let event = json!({
        "version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-25T07:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {}
    });
    let mut runs: Vec<Measurement> = Vec::new();
    for _ in 0..RUNS {
        let moto = Moto::start();
        let volumes = rt.block_on(seed(&moto, roles, existing));
        let mut lambda = Lambda::new(
            "document-snapshotter",
            env!("CARGO_BIN_EXE_document-snapshotter"),
        )
        .aws(&moto)
        .env(env::STACK_ID, STACK)
        .env(env::VOLUMES, volumes)
        .env(env::RETAIN_COUNT, "3");
        let m = lambda.invoke(&event);
        assert!(
            m.answer.is_response(),
            "{label}: {:?}\n{}",
            m.answer,
            m.logs
        );
        runs.push(m);
    }
    let summary = Summary::of(&format!("document-snapshotter: {label}"), &runs);
    println!("{}", summary.tsv());
}

fn main() {
    scenario("200 existing", &["CouchDBVolume"], 200);
    scenario("steady state (4 existing)", &["CouchDBVolume"], 4);
    scenario(
        "dual-AZ, 200 each",
        &["CouchDBVolume", "RCouchDBVolume"],
        200,
    );
}
