//! Sending usage events: over the wire to moto's Firehose under the writers' policy (IAM
//! access control on), and the partial failures moto never produces, with the SDK's mocks.

use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchOutput;
use aws_sdk_firehose::types::PutRecordBatchResponseEntry;
use aws_sdk_firehose::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use lambda_support::moto::{MotoServer, ACCOUNT_ID, REGION};
use serde_json::json;
use std::sync::{Arc, Mutex};
use verify::send::{send_events, SendError, ATTEMPTS};

const STREAM: &str = "usage-events";
const BUCKET: &str = "events-bucket";

async fn firehose_as(
    server: &MotoServer,
    credentials: &aws_sdk_athena::config::Credentials,
) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(server.endpoint())
        .credentials_provider(credentials.clone())
        .load()
        .await;
    Client::new(&config)
}

fn events(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            json!({"id": format!("e-{i}"), "tenant": "acme", "type": "tokens.generated",
                   "time": 1_791_374_400_000i64 + i as i64, "value": "12.5"})
            .to_string()
            .into_bytes()
        })
        .collect()
}

// The writers' policy of the usage_events module, for this stream (its test pins the module's
// statement to these actions on the stream's ARN).
fn writer_policy() -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "SendUsageEvents",
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": format!("arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/{STREAM}"),
        }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_stream_under_the_writers_policy() {
    let server = MotoServer::start();
    let s3 =
        lambda_support::moto::s3_client(&server, None::<aws_sdk_s3::config::SharedInterceptor>)
            .await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let admin = firehose_as(&server, server.admin_credentials()).await;
    admin
        .create_delivery_stream()
        .delivery_stream_name(STREAM)
        .delivery_stream_type(aws_sdk_firehose::types::DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .role_arn(MotoServer::role_arn("delivery"))
                .bucket_arn(format!("arn:aws:s3:::{BUCKET}"))
                .prefix("usage-events/")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // 1201 events: three batches (500, 500, 201), each delivered as one object by moto.
    let writer = server.role_credentials("backend", &writer_policy());
    let backend = firehose_as(&server, &writer).await;
    let sent = events(1201);
    send_events(&backend, STREAM, &sent).await.unwrap();
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix("usage-events/")
        .send()
        .await
        .unwrap();
    let mut delivered = Vec::new();
    for object in listed.contents() {
        let body = s3
            .get_object()
            .bucket(BUCKET)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        delivered.push(body.to_vec());
    }
    assert_eq!(delivered.len(), 3, "one object per batch");
    let mut all: Vec<u8> = delivered.concat();
    all.sort_unstable();
    let mut expected: Vec<u8> = sent.concat();
    expected.sort_unstable();
    assert_eq!(all, expected, "every event's bytes arrived, once");

    // Without the policy, the call is refused: the error names the stream and the cause.
    let stranger = server.role_credentials("stranger", &json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "firehose:DescribeDeliveryStream", "Resource": "*"}],
    }));
    let error = send_events(&firehose_as(&server, &stranger).await, STREAM, &events(1))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, SendError::Call { .. })
            && message.starts_with("PutRecordBatch to `usage-events` failed:")
            && message.contains("AccessDenied"),
        "{message}"
    );
}

fn answer(codes: &[Option<&str>]) -> PutRecordBatchOutput {
    let responses: Vec<PutRecordBatchResponseEntry> = codes
        .iter()
        .map(|code| match code {
            None => PutRecordBatchResponseEntry::builder()
                .record_id("r")
                .build(),
            Some(code) => PutRecordBatchResponseEntry::builder()
                .error_code(*code)
                .error_message("try again")
                .build(),
        })
        .collect();
    PutRecordBatchOutput::builder()
        .failed_put_count(codes.iter().filter(|c| c.is_some()).count() as i32)
        .set_request_responses(Some(responses))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn only_the_refused_records_are_sent_again() {
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let record = |seen: Arc<Mutex<Vec<Vec<String>>>>| {
        move |input: &aws_sdk_firehose::operation::put_record_batch::PutRecordBatchInput| {
            let ids = input
                .records()
                .iter()
                .map(|r| {
                    let event: serde_json::Value =
                        serde_json::from_slice(r.data().as_ref()).unwrap();
                    event["id"].as_str().unwrap().to_owned()
                })
                .collect();
            seen.lock().unwrap().push(ids);
            true
        }
    };
    let first = mock!(Client::put_record_batch)
        .match_requests(record(seen.clone()))
        .then_output(|| {
            answer(&[
                None,
                Some("ServiceUnavailableException"),
                None,
                Some("InternalFailure"),
            ])
        });
    let second = mock!(Client::put_record_batch)
        .match_requests(record(seen.clone()))
        .then_output(|| answer(&[None, None]));
    let client = mock_client!(aws_sdk_firehose, RuleMode::Sequential, [&first, &second]);
    send_events(&client, STREAM, &events(4)).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [vec!["e-0", "e-1", "e-2", "e-3"], vec!["e-1", "e-3"],]
    );
}

#[tokio::test(start_paused = true)]
async fn records_still_refused_after_every_attempt_fail_the_send() {
    let answers = mock!(Client::put_record_batch)
        .sequence()
        .output(|| answer(&[None, Some("ServiceUnavailableException")]))
        .output(|| answer(&[Some("ServiceUnavailableException")]))
        .times(ATTEMPTS as usize - 1)
        .build();
    let client = mock_client!(aws_sdk_firehose, RuleMode::Sequential, [&answers]);
    let error = send_events(&client, STREAM, &events(2)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("`usage-events` refused 1 event(s) {ATTEMPTS} times; the last answer: ServiceUnavailableException: try again")
    );
    assert_eq!(answers.num_calls(), ATTEMPTS as usize);
}

#[tokio::test(start_paused = true)]
async fn an_answer_that_does_not_say_which_records_failed_sends_them_all_again() {
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let counted = seen.clone();
    let answers = mock!(Client::put_record_batch)
        .match_requests(move |input| {
            counted.lock().unwrap().push(input.records().len());
            true
        })
        .sequence()
        .output(|| answer(&[Some("InternalFailure")]))
        .output(|| answer(&[None, None, None]))
        .build();
    let client = mock_client!(aws_sdk_firehose, RuleMode::Sequential, [&answers]);
    send_events(&client, STREAM, &events(3)).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [3, 3]);
}

#[test]
fn the_code_in_the_billing_docs_is_the_code_that_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = std::fs::read_to_string(root.join("crates/verify/src/send.rs")).unwrap();
    let code = source
        .split_once("// docs:begin send_events\n")
        .and_then(|(_, rest)| rest.split_once("// docs:end send_events"))
        .map(|(code, _)| code)
        .expect("the markers in send.rs");
    let docs = std::fs::read_to_string(root.join("docs/billing.md")).unwrap();
    let shown = docs
        .split_once("<!-- send_events: crates/verify/src/send.rs -->\n```rust\n")
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(code, _)| code)
        .expect("the send_events block in docs/billing.md");
    assert_eq!(
        shown, code,
        "copy send_events from send.rs into docs/billing.md"
    );
}
