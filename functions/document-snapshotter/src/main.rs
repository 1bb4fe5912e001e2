//! Runtime wiring only: logging, settings, clients, then the handler in the library.

use document_snapshotter::{Clients, Config, Error, Request};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let clients = Clients::new(&aws_clients::lambda_sdk_config());
    let clients = &clients;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        // Read per invocation, as every function does: a bad configuration fails each
        // invocation with its reason (`DocumentSnapshotConfig`), which raises the error alarm.
        let config = Config::from_env()?;
        document_snapshotter::invoke(clients, &config, event)
            .await
            .map_err(Error::from)
    }))
    .await
}
