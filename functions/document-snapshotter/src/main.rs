//! Runtime wiring only: logging, settings, clients, then the handler in the library.

use document_snapshotter::{Config, Request, Snapshotter};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let config = Config::from_env()?;
    let sdk = aws_clients::lambda_sdk_config();
    let snapshotter = Snapshotter::from_sdk(&sdk, config);
    let snapshotter = &snapshotter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        snapshotter.invoke(event).await
    }))
    .await
}
