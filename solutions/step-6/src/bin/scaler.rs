//! The scaler Lambda's binary: the Lambda runtime's loop, which calls the handler with each SNS event (an alarm's
//! change of state). Everything else lives in the library, where the tests reach it.

use lambda_runtime::{Error, run, service_fn};
use scaling::handler::{Scaler, handler};

// ANCHOR: main
#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let scaler = Scaler::new(&config, |name| std::env::var(name).ok());
    run(service_fn(|event| handler(&scaler, event))).await
}
// ANCHOR_END: main
