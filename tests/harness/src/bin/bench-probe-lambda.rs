//! A tiny Lambda that the bench harness's own test runs (tests/bench_harness.rs): it reads the
//! S3 object named in the event and answers its length; `{"fail": true}` answers an error;
//! `"put_url"` also PUTs the answer there (as a custom resource answers CloudFormation).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The Lambdas' configuration, read from the process environment the harness gives it.
    let s3 = aws_clients::s3_client(&aws_clients::lambda_sdk_config());
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let s3 = s3.clone();
        async move {
            let (event, context) = event.into_parts();
            if event["fail"] == json!(true) {
                return Err(Error::from("asked to fail"));
            }
            let object = s3
                .get_object()
                .bucket(event["bucket"].as_str().unwrap_or_default())
                .key(event["key"].as_str().unwrap_or_default())
                .send()
                .await?;
            let body = object.body.collect().await?.into_bytes();
            let answer = json!({
                "length": body.len(),
                "request_id": context.request_id,
                "deadline_ms": context.deadline,
            });
            if let Some(url) = event["put_url"].as_str() {
                put(url, &answer.to_string()).await?;
            }
            Ok::<Value, Error>(answer)
        }
    }))
    .await
}

/// A plain HTTP/1.1 PUT to `http://host:port/path`.
async fn put(url: &str, body: &str) -> Result<(), Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or("put_url must be http://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "PUT /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: \r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    if !response.starts_with("HTTP/1.1 200") {
        return Err(format!("PUT answered {response:?}").into());
    }
    Ok(())
}
