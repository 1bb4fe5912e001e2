//! Lambda entry point: logging, AWS clients, and the protocol crate's runtime loop.

use std::sync::Arc;

use recovery_params::Clients;
use recovery_params::Request;

#[tokio::main]
async fn main() -> Result<(), custom_resource::Error> {
    aws_clients::init_logging();
    let clients = Arc::new(Clients::new(&aws_clients::lambda_sdk_config()));
    custom_resource::run(move |request: Request, _context| {
        let clients = Arc::clone(&clients);
        async move { recovery_params::handler(&clients, request).await }
    })
    .await
}
