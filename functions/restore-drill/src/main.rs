//! Runtime wiring only: logging, the clients (once per process), then
//! [`restore_drill::handle`] for each event with the process environment.

use lambda_runtime::{LambdaEvent, service_fn};
use restore_drill::Clients;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let clients = Clients::new(&aws_clients::lambda_sdk_config());
    let clients = &clients;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Read per invocation: a bad setting fails each invocation with its errorType.
        let env = stack_contract::env::process();
        restore_drill::handle(
            clients,
            &env,
            event.payload,
            time::OffsetDateTime::now_utc(),
            &mut std::io::stdout(),
        )
        .await
    }))
    .await
}
