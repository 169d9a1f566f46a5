//! `metering-gen verify` against a stack on loopback: moto (IAM access control on) for
//! Cognito, S3, Athena and Glue, and stand-ins for the API stage, Firehose, the two functions
//! and Cognito's write rule ([`verify::testing`] says what each does and why). Every stage's
//! success and failure, the clean-up after a failure and after an interruption, in the
//! library and in the binary (a real SIGINT).
//!
//! Needs moto 5 with its server extra for the Python in `METERING_PYTHON` (default
//! `python3`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use verify::testing::{self, World};
use verify::{Options, Report, Stage, Status, Verifier};

fn options() -> Options {
    Options {
        poll: Duration::from_millis(200),
        locked_wait: Duration::from_millis(100),
        timeout: Some(Duration::from_secs(30)),
        query_poll: lambda_backoff(),
        ..Options::default()
    }
}

fn lambda_backoff() -> verify::Backoff {
    verify::Backoff {
        initial: Duration::from_millis(20),
        factor: 2,
        max: Duration::from_millis(200),
    }
}

async fn run(world: &World, options: Options, billing: bool) -> Report {
    run_with(world, options, world.outputs(billing)).await
}

async fn run_with(world: &World, options: Options, outputs: Value) -> Report {
    let stack = verify::Stack::from_json(&outputs.to_string(), "outputs").unwrap();
    let verifier = Verifier::new(
        stack,
        world.aws().await,
        verify::Http::new().unwrap(),
        options,
    );
    verify::run_until(&verifier, std::future::pending(), |stage| {
        println!("{stage}")
    })
    .await
}

fn statuses(report: &Report) -> Vec<(Stage, Status)> {
    report.stages.iter().map(|s| (s.stage, s.status)).collect()
}

fn stage(report: &Report, stage: Stage) -> &verify::StageReport {
    report
        .stages
        .iter()
        .find(|s| s.stage == stage)
        .unwrap_or_else(|| panic!("no {stage} in {report}"))
}

/// The billing preview of a function that measured `usage` for the tenant asked.
fn preview_with(usage: BTreeMap<String, u64>) -> impl Fn(&Value, &[String]) -> Value {
    move |event: &Value, _: &[String]| {
        let tenant = event["tenant"].as_str().unwrap_or_default().to_owned();
        json!({
            "month": event["month"],
            "preview": true,
            "tenant": tenant,
            "query_execution_id": "q-preview",
            "hours_not_compacted": [],
            "usage": {tenant.clone(): usage},
            "invoices": [],
            "test_tenants": [tenant],
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_passes_against_a_working_stack_and_the_user_is_deleted() {
    let world = World::start().await;
    world.set_preview(preview_with(testing::expected_usage(5)));

    let report = run(&world, options(), true).await;
    println!("{report}");

    // A stack without usage events: that stage is skipped, saying why.
    let expected: Vec<(Stage, Status)> = Stage::ALL
        .map(|s| match s {
            Stage::Events => (s, Status::Skip),
            _ => (s, Status::Pass),
        })
        .to_vec();
    assert_eq!(
        statuses(&report),
        expected,
        "{report}\n{}",
        world.server.log_tail()
    );
    assert_eq!(
        stage(&report, Stage::Events).summary,
        "usage events are not deployed (no usage_events_stream_name output)"
    );
    assert_eq!(report.exit_code(), 0);
    assert!(world.users().await.is_empty(), "the test user is deleted");
    readme_quotes(&report);
    // 5 calls, a bad parameter and one without a token, all logged.
    assert_eq!(world.served(), 7);
    assert_eq!(world.delivered().len(), 7);

    let tenant = tenant_of(&report);
    assert!(tenant.starts_with("verify-"), "{tenant}");

    // The compaction twice for the records' hour, early; the preview once, for the tenant.
    let invocations = world.invocations();
    let hour = chrono::Utc::now().format("%Y-%m-%dT%H").to_string();
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert_eq!(
        invocations,
        [
            (
                testing::COMPACTION.to_owned(),
                json!({"hour": hour, "early": true})
            ),
            (
                testing::COMPACTION.to_owned(),
                json!({"hour": hour, "early": true})
            ),
            (
                testing::BILLING.to_owned(),
                json!({"month": month, "preview": true, "tenant": tenant})
            ),
        ]
    );
}

/// The README quotes such a run: each stage's line starts as the report's does (its summary
/// up to the first random part), and the last line is the report's.
fn readme_quotes(report: &Report) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    // The README quotes a stack without usage events, and (for now) no line of the events
    // stage: its SKIP line is not looked for.
    let text = report.to_string();
    let mut quoted = readme
        .lines()
        .skip_while(|l| !l.starts_with("PASS stack"))
        .take_while(|l| !l.starts_with("```"));
    for line in text
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("SKIP events"))
    {
        let stable: String = line
            .chars()
            .take_while(|c| !c.is_ascii_digit() || line.starts_with("verify:"))
            .collect();
        let found = quoted.by_ref().find(|q| !q.starts_with(' '));
        assert!(
            found.is_some_and(|q| q.starts_with(&stable)),
            "the README's verify output has no line starting {stable:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_stage_names_what_does_not_exist_and_nothing_is_created() {
    let world = World::start().await;
    let mut outputs = world.outputs(true);
    outputs["compaction_function_name"]["value"] = json!("NoSuchFunction");
    outputs["parquet_table"]["value"] = json!("mydatabase.no_such_table");

    let report = run_with(&world, options(), outputs).await;

    let stack = stage(&report, Stage::Stack);
    assert_eq!(stack.status, Status::Fail, "{report}");
    assert_eq!(
        stack.summary,
        "2 of 7 checks failed: was `terraform apply` run in this region and account, with \
         these outputs?"
    );
    assert_eq!(
        stack.details[0],
        "function NoSuchFunction: ResourceNotFoundException: Function not found: NoSuchFunction"
    );
    assert!(
        stack.details[1].starts_with("table mydatabase.no_such_table: EntityNotFoundException"),
        "{report}"
    );
    assert_eq!(stage(&report, Stage::Identity).status, Status::Skip);
    let cleanup = stage(&report, Stage::Cleanup);
    assert_eq!(
        (cleanup.status, cleanup.summary.as_str()),
        (Status::Skip, "no test user was created")
    );
    assert!(world.users().await.is_empty());
    assert_eq!(world.served(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_stage_names_the_likely_cause_of_a_wrong_answer() {
    let world = World::start().await;
    let mut outputs = world.outputs(true);
    outputs["verify"]["value"]["metered_path"] = json!("/random/nothing");

    let report = run_with(&world, options(), outputs).await;

    let api = stage(&report, Stage::Api);
    assert_eq!(api.status, Status::Fail, "{report}");
    assert!(
        api.summary.starts_with("call 1 (GET http://127.0.0.1:")
            && api.summary.ends_with(
                "/prod/random/nothing?num=2&len=8) answered 403, not 200: API Gateway found \
                 no such method (Missing Authentication Token) or refused it: is \
                 `rest_api_endpoint` the metered stage's URL and the stage deployed?"
            ),
        "{report}"
    );
    assert_eq!(
        api.details,
        [r#"{"message":"Missing Authentication Token"}"#]
    );
    for later in [Stage::Delivery, Stage::Compaction, Stage::Usage] {
        assert_eq!(stage(&report, later).status, Status::Skip);
    }
    assert_eq!(stage(&report, Stage::Cleanup).status, Status::Pass);
    assert!(world.users().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_fails_when_the_app_client_may_write_the_tenant_and_the_user_is_deleted() {
    let world = World::start().await;
    // moto's own behaviour: no write rule.
    world.allow_tenant_writes();

    let report = run(&world, options(), true).await;

    let identity = stage(&report, Stage::Identity);
    assert_eq!(identity.status, Status::Fail, "{report}");
    assert_eq!(
        identity.summary,
        "the app client could write `custom:tenant_id`: a user can move their usage to another \
         tenant; the client's write_attributes must not list it"
    );
    for later in [Stage::Api, Stage::Delivery, Stage::Compaction, Stage::Usage] {
        let skipped = stage(&report, later);
        assert_eq!(skipped.status, Status::Skip);
        assert_eq!(skipped.summary, "not run: stage `identity` failed");
    }
    assert_eq!(stage(&report, Stage::Cleanup).status, Status::Pass);
    assert_eq!(report.exit_code(), 1);
    assert!(world.users().await.is_empty(), "the test user is deleted");
    assert_eq!(world.served(), 0, "no call was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_fails_naming_the_likely_cause_and_firehose_s_error_output() {
    let world = World::start().await;
    world.deliver(false);
    let aws = world.aws().await;
    let error_key = "error/year=2026/month=12/day=03/hour=11/AccessDenied/x";
    aws.s3
        .put_object()
        .bucket(testing::BUCKET)
        .key(error_key)
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    let options = Options {
        timeout: Some(Duration::from_secs(2)),
        ..options()
    };

    let report = run(&world, options, true).await;

    let delivery = stage(&report, Stage::Delivery);
    assert_eq!(delivery.status, Status::Fail, "{report}");
    assert_eq!(
        delivery.summary,
        format!(
            "no records after 2 s: is the stage's access log destination the Firehose ARN \
             arn:aws:firehose:us-east-1:123456789012:deliverystream/amazon-apigateway-random-gen? \
             Firehose error output: s3://{}/{error_key} (1 object(s) since the calls)",
            testing::BUCKET
        )
    );
    assert!(delivery.details[0].starts_with("missing request ids "));
    assert_eq!(stage(&report, Stage::Compaction).status, Status::Skip);
    assert_eq!(stage(&report, Stage::Cleanup).status, Status::Pass);
    assert!(world.users().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_fails_when_a_request_is_in_parquet_twice() {
    let world = World::start().await;
    world.parquet_copies(2);

    let report = run(&world, options(), true).await;

    let compaction = stage(&report, Stage::Compaction);
    assert_eq!(compaction.status, Status::Fail, "{report}");
    assert_eq!(
        compaction.summary,
        "the Parquet table \"mydatabase\".\"restapi_access_log_parquet\" does not hold each \
         record once after the compaction"
    );
    assert_eq!(compaction.details.len(), 7, "{compaction:?}");
    assert!(compaction.details[0].ends_with(" is in the Parquet table 2 times"));
    assert_eq!(stage(&report, Stage::Usage).status, Status::Skip);
    assert!(world.users().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_locked_by_the_scheduled_run_is_tried_again_then_fails_naming_it() {
    let world = World::start().await;
    world.set_preview(preview_with(testing::expected_usage(5)));
    world.lock_compaction(2);

    let report = run(&world, options(), true).await;

    assert_eq!(
        stage(&report, Stage::Compaction).status,
        Status::Pass,
        "{report}"
    );
    let compactions = world
        .invocations()
        .into_iter()
        .filter(|(function, _)| function == testing::COMPACTION)
        .count();
    assert_eq!(compactions, 4, "two refused, then the two rounds");

    let world = World::start().await;
    world.lock_compaction(3);
    let report = run(&world, options(), true).await;
    let compaction = stage(&report, Stage::Compaction);
    assert_eq!(compaction.status, Status::Fail, "{report}");
    assert!(
        compaction.summary.contains(
            "failed: the hour was still locked by another run after 3 tries 0 s apart \
             (the scheduled run?): MergeSmallFilesWithAthenaCTAS failed (Unhandled) on "
        ) && compaction.summary.contains("Compaction.Locked"),
        "{report}"
    );
    assert!(world.users().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_fails_when_the_preview_does_not_count_the_calls() {
    let world = World::start().await;
    let mut short = testing::expected_usage(5);
    short.insert("api_requests".into(), 4);
    world.set_preview(preview_with(short));

    let report = run(&world, options(), true).await;

    let usage = stage(&report, Stage::Usage);
    assert_eq!(usage.status, Status::Fail, "{report}");
    assert!(
        usage.summary.ends_with("does not match the calls"),
        "{usage:?}"
    );
    assert_eq!(
        usage.details[0],
        "api_requests: the preview has 4, the records give 5"
    );
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_skipped_without_billing() {
    let world = World::start().await;

    let report = run(&world, options(), false).await;

    let usage = stage(&report, Stage::Usage);
    assert_eq!(usage.status, Status::Skip, "{report}");
    assert_eq!(
        usage.summary,
        "billing is not deployed (no billing_function_name output)"
    );
    assert_eq!(report.exit_code(), 0);
    assert!(world
        .invocations()
        .iter()
        .all(|(function, _)| function == testing::COMPACTION));
}

/// The test tenant's id from the identity stage's summary.
fn tenant_of(report: &Report) -> String {
    stage(report, Stage::Identity)
        .summary
        .split("as tenant ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned()
}

fn identity_and_events() -> Options {
    Options {
        stages: verify::select(&[Stage::Identity, Stage::Events]).unwrap(),
        ..options()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_folder_and_the_parquet_table_once_each_with_their_value() {
    let world = World::start().await;
    world.set_preview(preview_with(testing::expected_usage(5)));

    let report = run_with(&world, options(), world.outputs_with_events(true)).await;

    assert_eq!(
        statuses(&report),
        Stage::ALL.map(|s| (s, Status::Pass)).to_vec(),
        "{report}\n{}",
        world.server.log_tail()
    );
    // The events' compaction function and tables are found too.
    let stack = stage(&report, Stage::Stack);
    assert_eq!(stack.summary, "10 resources found", "{stack:?}");
    for found in [
        "function MergeSmallFilesWithAthenaCTAS-usage-events",
        "table mydatabase.usage_events_json",
        "table mydatabase.usage_events_parquet",
    ] {
        assert!(stack.details[0].contains(found), "{found} in {stack:?}");
    }
    let events = stage(&report, Stage::Events);
    let hour = chrono::Utc::now().format("%Y-%m-%dT%H").to_string();
    assert!(
        events
            .summary
            .starts_with("2 events (one sent twice) in usage-events/ after ")
            && events.summary.ends_with(&format!(
                " s as canonical lines; compacted {hour}: the Parquet table holds each once \
                 with its exact value"
            )),
        "{events:?}"
    );
    assert!(world.users().await.is_empty(), "the test user is deleted");

    // Three lines delivered (the first event twice), canonical, of the test tenant.
    let tenant = tenant_of(&report);
    // The stage may have passed on the first object, before the copy's.
    for _ in 0..20 {
        if world.events_delivered().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lines: Vec<Value> = world
        .events_delivered()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], lines[2], "the first event sent again");
    for (line, value) in lines.iter().zip(["1.5", "1234567.123456789", "1.5"]) {
        assert_eq!(line["tenant"], json!(tenant));
        assert_eq!(line["type"], "verify.event");
        assert_eq!(line["value"], value);
        assert!(line["time"].is_i64(), "{line}");
    }
    // The events compaction once, for the events' hour, early, after the access log's.
    let invocations = world.invocations();
    assert_eq!(
        invocations.last().unwrap(),
        &(
            testing::EVENTS_COMPACTION.to_owned(),
            json!({"hour": hour, "early": true})
        ),
        "{invocations:?}"
    );
    assert_eq!(
        invocations
            .iter()
            .filter(|(f, _)| f == testing::EVENTS_COMPACTION)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_that_never_reach_the_folder_fail_naming_it_and_the_error_output() {
    let world = World::start().await;
    world.deliver_events(false);
    let aws = world.aws().await;
    let error_key = "usage-events-errors/processing-failed/2026/12/03/11/usage-events-1-x";
    aws.s3
        .put_object()
        .bucket(testing::BUCKET)
        .key(error_key)
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    let options = Options {
        timeout: Some(Duration::from_secs(2)),
        ..identity_and_events()
    };

    let report = run_with(&world, options, world.outputs_with_events(true)).await;

    assert_eq!(
        statuses(&report),
        [
            (Stage::Identity, Status::Pass),
            (Stage::Events, Status::Fail),
            (Stage::Cleanup, Status::Pass),
        ],
        "{report}"
    );
    let events = stage(&report, Stage::Events);
    assert_eq!(
        events.summary,
        format!(
            "no events in s3://{bucket}/usage-events/ after 2 s, though the stream accepted \
             them: does the usage-events function run, and may the stream's role write to the \
             bucket (and use its key)? Firehose error output: s3://{bucket}/{error_key} (1 \
             object(s) since the events were sent)",
            bucket = testing::BUCKET
        )
    );
    assert!(
        events.details[0].starts_with("missing event ids evt-"),
        "{events:?}"
    );
    assert_eq!(report.exit_code(), 1);
    assert!(world.users().await.is_empty(), "the test user is deleted");
    assert!(world
        .invocations()
        .iter()
        .all(|(f, _)| f != testing::EVENTS_COMPACTION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_fail_when_the_parquet_table_holds_an_event_twice() {
    let world = World::start().await;
    world.events_parquet_copies(2);

    let report = run_with(
        &world,
        identity_and_events(),
        world.outputs_with_events(true),
    )
    .await;

    let events = stage(&report, Stage::Events);
    assert_eq!(events.status, Status::Fail, "{report}");
    assert_eq!(
        events.summary,
        "the Parquet table \"mydatabase\".\"usage_events_parquet\" does not hold each event \
         once with its value after the compaction"
    );
    assert_eq!(events.details.len(), 2, "{events:?}");
    assert!(
        events
            .details
            .iter()
            .all(|d| d.starts_with("evt-") && d.ends_with(" is in the Parquet table 2 times")),
        "{events:?}"
    );
    assert_eq!(stage(&report, Stage::Cleanup).status, Status::Pass);
    assert!(world.users().await.is_empty(), "the test user is deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_stage_says_when_the_outputs_predate_it_or_name_an_unknown_stream() {
    let world = World::start().await;
    // The tree's `verify` output has no `usage_events` (generated before the stage).
    let mut outputs = world.outputs_with_events(false);
    outputs["verify"]["value"]
        .as_object_mut()
        .unwrap()
        .remove("usage_events");

    let report = run_with(&world, identity_and_events(), outputs).await;

    let events = stage(&report, Stage::Events);
    assert_eq!(events.status, Status::Fail, "{report}");
    assert_eq!(
        events.summary,
        "the outputs have `usage_events_stream_name` but no `verify.usage_events` (the events' \
         folder, error folder and buffer interval): the tree was generated before verify's \
         events stage; run `make gen` and `terraform apply`"
    );
    assert!(world.events_delivered().is_empty(), "nothing was sent");

    // A stream that does not exist: the sending fails, naming the stream.
    let mut outputs = world.outputs_with_events(false);
    outputs["usage_events_stream_name"]["value"] = json!("no-such-stream");
    let report = run_with(&world, identity_and_events(), outputs).await;
    let events = stage(&report, Stage::Events);
    assert_eq!(events.status, Status::Fail, "{report}");
    assert!(
        events
            .summary
            .starts_with("could not send the events: PutRecordBatch to `no-such-stream` failed: ")
            && events.summary.contains("ResourceNotFoundException")
            && events.summary.ends_with(
                "may the caller (like the backend's role, with the policy of \
                 `usage_events_writer_policy_arn`) put records to no-such-stream?"
            ),
        "{events:?}"
    );
    assert_eq!(stage(&report, Stage::Cleanup).status, Status::Pass);
    assert!(world.users().await.is_empty(), "the test user is deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_deletes_its_user() {
    let world = World::start().await;
    world.deliver(false);
    let options = Options {
        timeout: Some(Duration::from_secs(120)),
        ..options()
    };
    let stack = verify::Stack::from_json(&world.outputs(true).to_string(), "outputs").unwrap();
    let verifier = Verifier::new(
        stack,
        world.aws().await,
        verify::Http::new().unwrap(),
        options,
    );
    // Interrupted while the delivery stage waits.
    let interrupt = async {
        while world.served() < 7 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(world.users().await.len(), 1, "the user exists meanwhile");
    };

    let report = verify::run_until(&verifier, interrupt, |_| {}).await;

    assert_eq!(
        statuses(&report),
        [
            (Stage::Stack, Status::Pass),
            (Stage::Identity, Status::Pass),
            (Stage::Api, Status::Pass),
            (Stage::Cleanup, Status::Pass),
        ],
        "{report}"
    );
    assert!(report.interrupted.is_some());
    assert_eq!(report.exit_code(), 3);
    assert!(world.users().await.is_empty(), "the test user is deleted");
}

// ---- the binary ----

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_metering-gen"))
}

fn outputs_file(world: &World, billing: bool) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), world.outputs(billing).to_string()).unwrap();
    file
}

/// Ctrl-C while the delivery stage waits: the user is deleted, the report says so, exit 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_deletes_its_user_on_ctrl_c() {
    let world = World::start().await;
    world.deliver(false);
    let outputs = outputs_file(&world, true);
    let mut child = std::process::Command::new(bin())
        .args(["verify", "--outputs"])
        .arg(outputs.path())
        .args(["--timeout", "120"])
        .envs(world.environment())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that ends before its calls (a binary built without `verify`) fails the test
    // instead of hanging it.
    while world.served() < 7 {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            panic!(
                "the command ended ({status}) before its calls: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.users().await.len(), 1);
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "PASS stack",
        "PASS identity",
        "PASS api",
        "PASS cleanup",
        "interrupted: ",
    ] {
        assert!(stdout.contains(line), "{line:?} in\n{stdout}");
    }
    assert!(world.users().await.is_empty(), "the test user is deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_json_and_exits_by_the_stages() {
    let world = World::start().await;
    let outputs = outputs_file(&world, true);
    let output = std::process::Command::new(bin())
        .args(["verify", "--json", "--stages", "stack", "--outputs"])
        .arg(outputs.path())
        .envs(world.environment())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["stages"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["stages"][0]["stage"], "stack");
    assert_eq!(report["stages"][0]["status"], "pass");

    // identity alone: moto lets the client write the tenant, so it fails; exit 1, no user left.
    world.allow_tenant_writes();
    let output = std::process::Command::new(bin())
        .args(["verify", "--stages", "identity", "--outputs"])
        .arg(outputs.path())
        .envs(world.environment())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL identity") && stdout.contains("the app client could write"),
        "{stdout}"
    );
    assert!(stdout.contains("PASS cleanup"), "{stdout}");
    assert!(world.users().await.is_empty());
}

#[test]
fn bad_arguments_and_outputs_exit_2_naming_the_problem() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(bin())
            .arg("verify")
            .args(args)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--stages", "delivery"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(
            "stage `delivery` works on what identity and api finds: add them (--stages identity,api,delivery)"
        ),
        "{stderr}"
    );
    let (code, stderr) = run(&["--stages", "bill"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown stage `bill`"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outputs.json");
    std::fs::write(&file, r#"{"user_pool_id": {"value": "p"}}"#).unwrap();
    let (code, stderr) = run(&["--outputs", file.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!(
            "error: {}: missing output(s) user_pool_client_id, ",
            file.display()
        )),
        "{stderr}"
    );
    let (code, stderr) = run(&["--outputs", "/nonexistent/outputs.json"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("error: /nonexistent/outputs.json: cannot read"),
        "{stderr}"
    );
}
