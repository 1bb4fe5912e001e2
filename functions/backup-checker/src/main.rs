//! Lambda entry point: runtime wiring only; the checks are in the library.

use backup_checker::{Clients, Config};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aws_clients::init_logging();
    let clients = Clients::new(&aws_clients::lambda_sdk_config());
    let clients = &clients;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        // Read per invocation: a bad configuration fails every one with its reason
        // (`BackupCheckConfig`), and so raises the error alarm.
        let config = Config::from_env()?;
        let mut stdout = std::io::stdout();
        let now = time::OffsetDateTime::now_utc();
        backup_checker::handle(clients, &config, now, &mut stdout).await
    }))
    .await
}
