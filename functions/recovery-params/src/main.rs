//! Lambda entry point: logging, AWS clients, and the protocol crate's runtime loop.

use std::sync::Arc;

use recovery_params::Request;
use recovery_params::aws::Aws;

#[tokio::main]
async fn main() -> Result<(), custom_resource::Error> {
    aws_clients::init_logging();
    let aws = Arc::new(Aws::new(&aws_clients::lambda_sdk_config()));
    custom_resource::run(move |request: Request, _context| {
        let aws = Arc::clone(&aws);
        async move { recovery_params::handler(&aws, request).await }
    })
    .await
}
