//! Lambda entry point: runtime wiring only; the checks are in the library.

use backup_checker::{Config, gather::Clients};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    aws_clients::init_logging();
    // A bad configuration fails every invocation with the reason (and so raises the error alarm).
    let config = Config::from_env();
    let clients = Clients::new(&aws_clients::sdk_config().await);
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| {
        let (config, clients) = (config.clone(), clients.clone());
        async move {
            let config = config.map_err(Error::from)?;
            let mut stdout = std::io::stdout();
            backup_checker::handle(&clients, &config, backup_checker::now(), &mut stdout)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
