//! Runtime wiring only: logging, the Elastic Beanstalk client, then the protocol crate around
//! the handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let config = aws_clients::lambda_sdk_config();
    let eb = aws_sdk_elasticbeanstalk::Client::new(&config);
    custom_resource::run(move |request, _context| {
        let eb = eb.clone();
        async move { platform_resolver::handle(&eb, request).await }
    })
    .await
}
