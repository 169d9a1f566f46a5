use aws_lambda_events::firehose::KinesisFirehoseEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};

async fn handler(
    event: LambdaEvent<KinesisFirehoseEvent>,
) -> Result<usage_events::Response, Error> {
    let (response, counts) = usage_events::transform(event.payload);
    println!("{}", counts.log_line());
    Ok(response)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
