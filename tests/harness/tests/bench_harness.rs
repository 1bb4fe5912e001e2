//! The bench harness measures a real Lambda binary: the fake Runtime API serves one event and
//! records the answer, the counting proxy counts the AWS calls, the recorder gets the PUTs.

use std::time::Duration;

use serde_json::json;
use test_harness::Moto;
use test_harness::bench::{Answer, Lambda, Summary};

const PROBE: &str = env!("CARGO_BIN_EXE_bench-probe-lambda");

fn put_object(moto: &Moto, bucket: &str, key: &str, body: &'static [u8]) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let config = moto.sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn one_cold_invocation_is_answered_measured_and_its_aws_calls_counted() {
    let moto = Moto::start();
    put_object(&moto, "bench-probe", "CA/certs/x.crt", b"twelve bytes");
    let mut lambda = Lambda::new("bench-probe", PROBE)
        .aws(&moto)
        .timeout(Duration::from_secs(20));
    let event = json!({ "bucket": "bench-probe", "key": "CA/certs/x.crt", "put_url": lambda.cfn_response_url() });

    let m = lambda.invoke(&event);

    let Answer::Response(answer) = &m.answer else {
        panic!("no response: {:?}\n{}", m.answer, m.logs)
    };
    assert_eq!(answer["length"], json!(12));
    assert!(
        answer["request_id"].as_str().unwrap().starts_with("bench-"),
        "{answer}"
    );
    // The deadline the runtime saw is the function timeout after the event was served.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let deadline = answer["deadline_ms"].as_u64().unwrap();
    assert!(
        deadline > now_ms + 15_000 && deadline <= now_ms + 20_000,
        "deadline {deadline}, now {now_ms}"
    );
    assert_eq!(
        m.api_calls,
        [("s3:GetObject".to_owned(), 1)].into_iter().collect()
    );
    assert_eq!(m.cfn_responses, vec![answer.clone()]);
    assert!(
        m.peak_rss_kib.is_some_and(|k| k > 1000),
        "peak RSS {:?}",
        m.peak_rss_kib
    );
    assert!(
        m.init > Duration::ZERO
            && m.invocation > Duration::ZERO
            && m.total >= m.init + m.invocation
    );

    // A second cold start counts its own calls only.
    let again = lambda.invoke(&event);
    assert_eq!(again.api_call_count(), 1);
    let summary = Summary::of("bench-probe", &[m, again]);
    assert_eq!(summary.runs, 2);
    assert!(
        summary.tsv().starts_with("bench\tbench-probe\t2\t"),
        "{}",
        summary.tsv()
    );
    assert!(
        summary.tsv().ends_with("\t1\ts3:GetObject×1"),
        "{}",
        summary.tsv()
    );
    println!("{summary}");
}

#[test]
fn a_handler_error_and_a_failed_aws_call_are_error_answers() {
    let moto = Moto::start();
    let mut lambda = Lambda::new("bench-probe-errors", PROBE).aws(&moto);

    let failed = lambda.invoke(&json!({ "fail": true }));
    let Answer::Error(error) = &failed.answer else {
        panic!("{:?}", failed.answer)
    };
    assert!(error.to_string().contains("asked to fail"), "{error}");
    assert_eq!(failed.api_call_count(), 0);

    let missing = lambda.invoke(&json!({ "bucket": "no-such-bucket", "key": "k" }));
    assert!(
        matches!(missing.answer, Answer::Error(_)),
        "{:?}",
        missing.answer
    );
    assert_eq!(
        missing.api_calls.get("s3:GetObject"),
        Some(&1),
        "{:?}",
        missing.api_calls
    );
}

#[test]
fn a_process_that_exits_without_answering_is_reported() {
    let mut lambda = Lambda::new("true", "/bin/true");
    let m = lambda.invoke(&json!({}));
    assert_eq!(m.answer, Answer::Exited("exit code 0".to_owned()));
}
