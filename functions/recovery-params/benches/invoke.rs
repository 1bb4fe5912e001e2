//! Benchmark (numbers, not a test): the function's release binary, cold start + one invocation
//! against the emulator, through the shared harness (`test_harness::bench`: a fake Lambda
//! Runtime API, a request-counting proxy in front of moto, peak RSS, the ResponseURL recorder).
//!
//! ```text
//! cargo bench -p recovery-params --bench invoke
//! ```
//! Scenarios, 3 runs each on one seeded emulator:
//! - `record`: RecoveryManifest Create (one PutObject);
//! - `resolve`: RecoveryParameters Create from a recorded stack (DescribeKey, DescribeDBSnapshots,
//!   DescribeSnapshots, GetBucketLocation, ListObjectsV2, HeadObject, GetObject);
//! - `resolve, bad input`: a snapshot that does not exist: the FAILED answer's latency.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use serde_json::Value;
use test_harness::Moto;
use test_harness::bench::{Lambda, Measurement, Summary};

const RUNS: usize = 3;

fn scenario(moto: &Moto, label: &str, logical_id: &str, properties: &Value, expect: &str) {
    let mut runs: Vec<Measurement> = Vec::new();
    for _ in 0..RUNS {
        let mut lambda =
            Lambda::new("recovery-params", env!("CARGO_BIN_EXE_recovery-params")).aws(moto);
        let event = event(
            "Create",
            &lambda.cfn_response_url(),
            STACK_ID,
            logical_id,
            properties.clone(),
            None,
        );
        let m = lambda.invoke(&event);
        assert!(
            m.answer.is_response(),
            "{label}: {:?}\n{}",
            m.answer,
            m.logs
        );
        assert_eq!(m.cfn_responses.len(), 1, "{label}: one answer");
        assert_eq!(
            m.cfn_responses[0]["Status"], expect,
            "{label}: {}",
            m.cfn_responses[0]["Reason"]
        );
        assert!(
            !m.logs.contains(PASSWORD),
            "{label}: the password is in the logs"
        );
        runs.push(m);
    }
    println!(
        "{}",
        Summary::of(&format!("recovery-params: {label}"), &runs).tsv()
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = Moto::start();
    let leftovers = rt.block_on(async {
        let config = moto.sdk_config().await;
        let resources = create_resources(&config, "bench").await;
        back_up(&config, &resources, "bench").await
    });
    scenario(
        &moto,
        "record",
        "RecoveryManifest",
        &record_properties(&leftovers.resources, "America/Chicago"),
        "SUCCESS",
    );
    scenario(
        &moto,
        "resolve",
        "RecoveryParameters",
        &resolve_properties(&leftovers, ""),
        "SUCCESS",
    );
    let mut bad = resolve_properties(&leftovers, "");
    bad["RecoveryCouchDBSnapshot"] = serde_json::json!("snap-0123456789abcdef0");
    scenario(
        &moto,
        "resolve, bad input",
        "RecoveryParameters",
        &bad,
        "FAILED",
    );
}
