//! Runtime wiring only: logging, the S3 client, then the protocol crate around the handler.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let config = aws_clients::sdk_config().await;
    let s3 = aws_clients::s3_client(&config);
    custom_resource::run(move |request, _context| {
        let s3 = s3.clone();
        async move { cert_reader::handle(&s3, request).await }
    })
    .await
}
