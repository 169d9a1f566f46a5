use billing::{logging, sdk, App, SdkAthena, SdkS3, Settings};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let settings = Settings::from_env().inspect_err(|error| {
        tracing::error!(error = %error, "invalid configuration");
    })?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let (athena, s3) = sdk::clients(&settings.region, endpoint.as_deref());
    let app = App::new(SdkAthena::new(athena), SdkS3::new(s3), settings);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| app.handle(event))).await
}
