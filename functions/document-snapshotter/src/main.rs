//! Runtime wiring only: logging, settings, clients, then the handler in the library.

use document_snapshotter::{Config, Error, Request, Snapshotter};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let sdk = aws_clients::lambda_sdk_config();
    let sdk = &sdk;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        // Read per invocation, as every function does: a bad configuration fails each
        // invocation with its reason (`DocumentSnapshotConfig`), which raises the error alarm.
        let config = Config::from_env()?;
        let snapshotter = Snapshotter::from_sdk(sdk, config);
        snapshotter.invoke(event).await.map_err(Error::from)
    }))
    .await
}
