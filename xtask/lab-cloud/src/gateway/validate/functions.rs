//! Lambda's functions as the emulator holds them, read by the checks as its administrator (straight from the
//! emulator, not through the gateway): a mapping's function must exist, and its execution role must be able to
//! read the stream.

use crate::gateway::roles::admin_config;
use anyhow::{Context, Result};
use aws_config::SdkConfig;

pub struct Functions {
    config: SdkConfig,
}

/// What the checks need of a function.
pub struct Function {
    /// Its execution role's ARN.
    pub role: String,
}

impl Functions {
    /// The functions of the emulator at `endpoint`.
    pub async fn new(endpoint: &str) -> Functions {
        Functions {
            config: admin_config(endpoint, crate::gateway::call::DEFAULT_REGION).await,
        }
    }

    /// The function `name` (a name, an ARN or a partial ARN, with or without a qualifier) in `region`; `Ok(None)`
    /// when Lambda has no such function.
    pub async fn get(&self, name: &str, region: &str) -> Result<Option<Function>> {
        let config = self
            .config
            .to_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        let found = aws_sdk_lambda::Client::new(&config)
            .get_function()
            .function_name(name)
            .send()
            .await;
        match found {
            Ok(found) => Ok(Some(Function {
                role: found
                    .configuration
                    .and_then(|configuration| configuration.role)
                    .unwrap_or_default(),
            })),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(error).context(format!("reading the function {name} from Lambda")),
        }
    }
}
