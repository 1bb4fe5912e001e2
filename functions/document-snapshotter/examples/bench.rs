//! Benchmark (numbers, not a test): cold start + one invocation against the emulator with
//! `N` existing snapshots of ours (default 200).
//!
//! ```text
//! cargo run --release -p document-snapshotter --example bench [-- 200]
//! ```
//!
//! The parent starts moto, seeds one volume and N snapshots, then runs *itself* again as a
//! fresh child process (`--measure`), so the child's numbers are a cold process: settings,
//! SDK config and clients, then one invocation. The child counts the HTTP requests its EC2
//! client sends (an SDK interceptor, retries included) by EC2 action and reports its peak RSS
//! (VmHWM). Parent: wall time from spawn to exit.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use document_snapshotter::{Config, Detail, Request, SdkEc2, Snapshotter, tags, unix_now};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/00000000-0000-0000-0000-000000000000";

/// Counts the requests sent, by EC2 `Action`.
#[derive(Debug, Clone, Default)]
struct Counter(Arc<Mutex<BTreeMap<String, usize>>>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "Counter"
    }
    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = ctx.request().body().bytes().unwrap_or_default();
        let text = String::from_utf8_lossy(body);
        let action = text
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or("?")
            .to_owned();
        *self.0.lock().unwrap().entry(action).or_default() += 1;
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--measure") {
        measure().await;
    } else {
        let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
        parent(n).await;
    }
}

async fn parent(n: usize) {
    let moto = test_harness::Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
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
    let now = unix_now();
    let seed = Instant::now();
    for i in 0..n {
        let time = tags::format_time(now - (i as i64 + 1) * 86_400);
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::Snapshot)
            .tags(Tag::builder().key(tags::STACK_ID).value(STACK).build())
            .tags(
                Tag::builder()
                    .key(tags::VOLUME_ROLE)
                    .value("CouchDBVolume")
                    .build(),
            )
            .tags(Tag::builder().key(tags::BACKUP_TIME).value(time).build())
            .build();
        ec2.create_snapshot()
            .volume_id(&vol)
            .tag_specifications(spec)
            .send()
            .await
            .unwrap();
    }
    eprintln!(
        "seeded {n} snapshots in {:.1} s",
        seed.elapsed().as_secs_f64()
    );

    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("--measure")
        .envs(moto.env())
        .env("STACK_ID", STACK)
        .env("VOLUMES", format!("CouchDBVolume={vol}"))
        .env("RETAIN_COUNT", "3");
    let start = Instant::now();
    let out = cmd.output().expect("run the measuring child");
    let wall = start.elapsed();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child: serde_json::Value = serde_json::from_slice(&out.stdout).expect("child prints JSON");
    let left = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap()
        .snapshots()
        .len();
    let report = serde_json::json!({
        "existing_snapshots": n,
        "cold_start_plus_invocation_ms": wall.as_millis() as u64,
        "child": child,
        "snapshots_left": left,
    });
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
}

async fn measure() {
    let t0 = Instant::now();
    let config = Config::from_lookup(|k| std::env::var(k).ok()).expect("settings");
    let sdk = aws_clients::sdk_config().await;
    let counter = Counter::default();
    let client = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let snapshotter = Snapshotter {
        ec2: SdkEc2::new(client),
        region,
        copy_ec2: None,
        config,
    };
    let init = t0.elapsed();
    let mut event = Request::default();
    event.detail_type = "Scheduled Event".into();
    event.source = "aws.events".into();
    event.detail = Detail::default();
    let t1 = Instant::now();
    let summary = snapshotter
        .handle(&event, unix_now())
        .await
        .expect("a clean run");
    let invoke = t1.elapsed();
    let calls = counter.0.lock().unwrap().clone();
    let report = serde_json::json!({
        "init_ms": init.as_secs_f64() * 1000.0,
        "invoke_ms": invoke.as_secs_f64() * 1000.0,
        "peak_rss_kib": peak_rss_kib(),
        "api_calls": calls,
        "api_calls_total": calls.values().sum::<usize>(),
        "created": summary.volumes[0].created.is_some(),
        "kept": summary.volumes[0].kept.len(),
        "deleted": summary.volumes[0].deleted.len(),
    });
    println!("{report}");
}
