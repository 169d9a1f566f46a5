use compaction::settings::{SettingsError, ENV_LOCK_PREFIX};
use compaction::{App, Settings};
use lambda_runtime::{service_fn, LambdaEvent};
use lambda_support::athena::SdkAthena;
use lambda_support::lease::LeaseLock;
use lambda_support::s3::SdkS3;
use lambda_support::{logging, sdk};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let settings = Settings::from_env().inspect_err(|error| {
        tracing::error!(error = %error, "invalid configuration");
    })?;
    // Without the lease lock two runs of one hour could overlap: refuse to start.
    let lock_prefix = settings
        .lock_prefix
        .clone()
        .ok_or(SettingsError::Missing(ENV_LOCK_PREFIX))
        .inspect_err(|error| tracing::error!(error = %error, "invalid configuration"))?;
    // Throttling, 5xx and timeouts are retried by the SDK itself (standard mode, exponential
    // backoff with jitter), as `sdk` configures it; a call still failing fails the hour.
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let (athena, s3) = sdk::clients(&settings.region_name, endpoint.as_deref());
    let s3 = SdkS3::new(s3);
    let app = App::new(SdkAthena::new(athena), s3.clone(), settings)
        .with_lock(LeaseLock::new(s3, lock_prefix));
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| app.handle(event))).await
}
