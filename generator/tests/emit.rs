//! `metering-gen emit`: the event it builds, its refusals (exit 2, naming the option), and a
//! send to moto's Firehose with credentials limited to the writers' policy, the stream named
//! by the stack's outputs.

use lambda_support::moto::{MotoServer, ACCOUNT_ID, REGION};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_metering-gen"))
}

fn emit(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("emit")
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

#[test]
fn the_event_is_what_billing_reads() {
    let output = emit(&[
        "--type",
        "tokens.generated",
        "--tenant",
        "acme",
        "--value",
        "1532.5",
        "--id",
        "e-1",
        "--time",
        "2026-10-07T12:00:00Z",
        "--property",
        "model=large",
        "--dry-run",
    ]);
    assert!(output.status.success(), "{output:?}");
    let line = String::from_utf8(output.stdout).unwrap();
    let event: Value = serde_json::from_str(line.trim_end()).unwrap();
    assert_eq!(
        event,
        json!({"id": "e-1", "tenant": "acme", "type": "tokens.generated",
               "time": "2026-10-07T12:00:00Z", "value": "1532.5", "properties": {"model": "large"}})
    );
    let parsed = metering::Event::parse(line.trim_end().as_bytes()).unwrap();
    assert_eq!(parsed.value, Some(1_532_500_000_000));

    // Defaults: a fresh id and now.
    let output = emit(&["--type", "job.completed", "--tenant", "acme", "--dry-run"]);
    let event: Value = serde_json::from_slice(&output.stdout).unwrap();
    let id = event["id"].as_str().unwrap();
    assert!(id.starts_with("evt-") && id.len() == 36, "{id}");
    let time = chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - time.to_utc()).num_seconds().abs() < 60);
}

#[test]
fn an_event_billing_would_not_count_is_refused_naming_the_option() {
    for (args, expected) in [
        (
            vec!["--value", "-3"],
            "error: --value: `value` \"-3\" is negative: usage is 0 or more: billing would not count this event",
        ),
        (
            vec!["--value", "1e3"],
            "error: --value: `value` \"1e3\" has an exponent",
        ),
        (
            vec!["--time", "yesterday"],
            "error: --time: `time` `yesterday` is not an RFC 3339 date-time",
        ),
        (vec!["--id", ""], "error: --id: no `id`"),
        (
            vec!["--property", "model"],
            "error: --property: `model` is not `name=value`",
        ),
    ] {
        let mut all = vec!["--type", "t", "--tenant", "acme", "--dry-run"];
        all.extend(args);
        let output = emit(&all);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(stderr.contains(expected), "{all:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    let output = emit(&["--type", "t", "--tenant", "", "--dry-run"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("error: --tenant: no `tenant`"));
}

#[test]
fn a_stack_without_the_stream_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs.json");
    std::fs::write(&outputs, r#"{"user_pool_id": {"value": "p"}}"#).unwrap();
    let output = emit(&[
        "--type",
        "t",
        "--tenant",
        "acme",
        "--outputs",
        outputs.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("no `usage_events_stream_name` output: the stack has no usage-events stream"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_the_stream_of_the_stack() {
    let server = MotoServer::start();
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": format!("arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/usage-events"),
        }],
    });
    let backend = server.role_credentials("backend", &policy);
    let environment =
        verify::testing::events_stream(&server, "usage-events", "bucket", "usage-events", &backend)
            .await;
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs.json");
    std::fs::write(
        &outputs,
        r#"{"usage_events_stream_name": {"value": "usage-events"}}"#,
    )
    .unwrap();
    let output = Command::new(bin())
        .args([
            "emit",
            "--type",
            "tokens.generated",
            "--tenant",
            "acme",
            "--value",
            "7",
        ])
        .args(["--id", "e-42", "--outputs", outputs.to_str().unwrap()])
        .envs(environment)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("sent to usage-events: {\"id\":\"e-42\""),
        "{stdout}"
    );
    let objects = verify::testing::objects(&server, "bucket", "usage-events").await;
    assert_eq!(objects.len(), 1);
    let event = metering::Event::parse(&objects[0]).unwrap();
    assert_eq!((&*event.id, &*event.tenant), ("e-42", "acme"));
    assert_eq!(event.value, Some(7_000_000_000));
}
