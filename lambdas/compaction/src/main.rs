use compaction::{App, Settings};
use lambda_runtime::{service_fn, LambdaEvent};
use lambda_support::sdk::Production;
use lambda_support::{env, logging};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    // Throttling, 5xx and timeouts are retried by the SDK itself (standard mode, exponential
    // backoff with jitter), as `sdk` configures it. Without the lease lock two runs of one
    // hour could overlap: `Production` refuses to start without it.
    let (settings, aws) = Settings::from_lookup(env::process)
        .and_then(|settings| {
            let aws = Production::from_env(&settings.region_name, settings.lock_prefix.as_ref())?;
            Ok((settings, aws))
        })
        .inspect_err(|error| tracing::error!(error = %error, "invalid configuration"))?;
    let app = App::new(aws.athena, aws.s3, settings).with_lock(aws.lock);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| app.handle(event))).await
}
