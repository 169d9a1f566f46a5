use aws_config::{BehaviorVersion, Region};
use lambda_runtime::{service_fn, LambdaEvent};
use merge_small_files::{logging, App, Config, SdkAthena};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = Config::from_env().inspect_err(|error| {
        tracing::error!(error = %error, "invalid configuration");
    })?;
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(config.region_name.clone()))
        .load()
        .await;
    let athena = SdkAthena::new(aws_sdk_athena::Client::new(&sdk_config));
    let app = App::new(athena, config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| app.handle(event))).await
}
