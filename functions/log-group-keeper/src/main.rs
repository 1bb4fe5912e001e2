//! Runtime wiring only: logging, the CloudWatch Logs client, then the protocol crate around the
//! handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let config = aws_clients::lambda_sdk_config();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    custom_resource::run(move |request, _context| {
        let logs = logs.clone();
        async move { log_group_keeper::handle(&logs, request).await }
    })
    .await
}
