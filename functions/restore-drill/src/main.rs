//! Runtime wiring only: logging, the SDK configuration, the process environment, then
//! [`restore_drill::handle`] for each event.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let sdk = aws_clients::lambda_sdk_config();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let sdk = sdk.clone();
        async move {
            let env = stack_contract::env::process();
            restore_drill::handle(
                &sdk,
                &env,
                event.payload,
                time::OffsetDateTime::now_utc(),
                &mut std::io::stdout(),
            )
            .await
        }
    }))
    .await
}
