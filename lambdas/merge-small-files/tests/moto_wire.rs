//! The real SDK client against moto's Athena server, over HTTP on loopback.
//!
//! Needs moto 5 with its server extra for the Python in `METERING_PYTHON`
//! (default `python3`). If moto cannot be started the tests fail.
//!
//! moto's Athena keeps each StartQueryExecution as an execution that moves
//! QUEUED → RUNNING → SUCCEEDED only when GetQueryExecution is called; its
//! state manager is set to "manual, 2 ticks" so every query answers QUEUED,
//! RUNNING, RUNNING, SUCCEEDED, and the job must poll four times before it
//! may start the next query.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_athena::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_sdk_athena::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_athena::error::BoxError;
use aws_sdk_athena::operation::get_query_execution::GetQueryExecutionOutput;
use aws_sdk_athena::operation::start_query_execution::{
    StartQueryExecutionInput, StartQueryExecutionOutput,
};
use aws_sdk_athena::operation::stop_query_execution::StopQueryExecutionInput;
use aws_sdk_athena::types::{QueryExecutionState, StatementType};
use lambda_runtime::{Context, LambdaEvent};
use merge_small_files::sql::Step;
use merge_small_files::{App, Backoff, Config, JobError, SdkAthena};
use serde_json::json;

const WORK_GROUP: &str = "metering-wg";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// moto's server as a child process, killed when dropped (also on panic).
struct MotoServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    fn start() -> Self {
        let python = std::env::var("METERING_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let port = free_port();
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("moto-{port}.log"));
        let log_file = File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create moto log {}: {e}", log.display()));
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto's server with {python:?} (set METERING_PYTHON to a Python \
                     that has `moto[server]` 5 installed): {e}"
                )
            });
        let mut server = Self { child, port, log };
        server.wait_until_ready(&python);
        server
    }

    fn wait_until_ready(&mut self, python: &str) {
        let began = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("moto child status") {
                panic!(
                    "moto's server ({python:?} -m moto.server) exited with {status} before \
                     answering; is moto 5 with the server extra installed for it?\n{}",
                    self.log_tail()
                );
            }
            if let Ok((200, _)) = self.http("GET", "/moto-api/", "") {
                return;
            }
            if began.elapsed() > STARTUP_TIMEOUT {
                panic!(
                    "moto's server on port {} did not answer within {STARTUP_TIMEOUT:?}\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }

    /// A bare HTTP/1.1 request to moto's own API (not AWS-signed).
    fn http(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n{body}",
            port = self.port,
            len = body.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad response: {response:?}")))?;
        Ok((status, response))
    }

    /// Makes every Athena execution need two GetQueryExecution calls per state step.
    fn slow_down_athena(&self) {
        let body = json!({
            "model_name": "athena::execution",
            "transition": {"progression": "manual", "times": 2}
        })
        .to_string();
        let (status, response) = self
            .http("POST", "/moto-api/state-manager/set-transition", &body)
            .expect("set-transition request");
        assert_eq!(status, 201, "set-transition: {response}");
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// What the SDK sent and received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Start { sql: String, work_group: String },
    Started(String),
    Polled { id: String, state: String },
    Stop(String),
}

#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let mut seen = self.0.lock().unwrap();
        if let Some(start) = input.downcast_ref::<StartQueryExecutionInput>() {
            seen.push(Seen::Start {
                sql: start.query_string().unwrap_or_default().to_owned(),
                work_group: start.work_group().unwrap_or_default().to_owned(),
            });
        } else if let Some(stop) = input.downcast_ref::<StopQueryExecutionInput>() {
            seen.push(Seen::Stop(
                stop.query_execution_id().unwrap_or_default().to_owned(),
            ));
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let mut seen = self.0.lock().unwrap();
        if let Some(started) = output.downcast_ref::<StartQueryExecutionOutput>() {
            seen.push(Seen::Started(
                started.query_execution_id().unwrap_or_default().to_owned(),
            ));
        } else if let Some(got) = output.downcast_ref::<GetQueryExecutionOutput>() {
            let execution = got.query_execution();
            seen.push(Seen::Polled {
                id: execution
                    .and_then(|e| e.query_execution_id())
                    .unwrap_or_default()
                    .to_owned(),
                state: execution
                    .and_then(|e| e.status())
                    .and_then(|s| s.state())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}

fn config() -> Config {
    Config::from_lookup(|name| {
        Some(
            match name {
                "OLD_DATABASE" => "metering",
                "OLD_TABLE_NAME" => "api_access_json",
                "NEW_DATABASE" => "metering",
                "NEW_TABLE_NAME" => "api_access_parquet",
                "COLUMN_NAMES" => "requestId,ip,user,requestTime,httpMethod,resourcePath,status,protocol,responseLength",
                "ATHENA_WORK_GROUP" => WORK_GROUP,
                "OLD_TABLE_LOCATION_PREFIX" => "s3://usage-bucket/json-data",
                "OUTPUT_PREFIX" => "s3://usage-bucket/parquet-data",
                "STAGING_OUTPUT_PREFIX" => "s3://athena-results/tmp",
                "REGION_NAME" => "us-east-1",
                _ => return None,
            }
            .to_owned(),
        )
    })
    .unwrap()
}

/// An SDK client for moto built the way production builds it (aws-config),
/// with only endpoint, credentials and region fixed.
async fn athena_client(server: &MotoServer, recorder: Option<Recorder>) -> aws_sdk_athena::Client {
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    let mut builder = aws_sdk_athena::config::Builder::from(&sdk_config);
    if let Some(recorder) = recorder {
        builder = builder.interceptor(recorder);
    }
    aws_sdk_athena::Client::from_conf(builder.build())
}

fn scheduled_event(deadline_in: Duration) -> LambdaEvent<serde_json::Value> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut context = Context::default();
    context.request_id = "test-invocation".to_owned();
    context.deadline = (now + deadline_in).as_millis() as u64;
    LambdaEvent::new(
        json!({
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-11-28T01:10:07Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/merge-small-files-hourly"],
            "detail": {}
        }),
        context,
    )
}

fn fast_backoff() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        factor: 2,
        max: Duration::from_millis(200),
    }
}

const DROP_TEMP: &str = "DROP TABLE IF EXISTS `metering`.`tmp_api_access_parquet_2026112800`";
const CTAS: &str = "CREATE TABLE \"metering\".\"tmp_api_access_parquet_2026112800\" \
     WITH (external_location = 's3://usage-bucket/parquet-data/year=2026/month=11/day=28/hour=00/', \
     format = 'PARQUET', write_compression = 'SNAPPY') \
     AS SELECT \"requestId\", \"ip\", \"user\", \"requestTime\", \"httpMethod\", \"resourcePath\", \
     \"status\", \"protocol\", \"responseLength\" \
     FROM \"metering\".\"api_access_json\" \
     WHERE year = 2026 AND month = 11 AND day = 28 AND hour = 0";

#[tokio::test]
async fn scheduled_event_runs_three_waited_queries_against_moto() {
    let server = MotoServer::start();
    server.slow_down_athena();
    let admin = athena_client(&server, None).await;
    admin
        .create_work_group()
        .name(WORK_GROUP)
        .send()
        .await
        .expect("CreateWorkGroup on moto");

    let recorder = Recorder::default();
    let client = athena_client(&server, Some(recorder.clone())).await;
    let app = App::new(SdkAthena::new(client), config()).with_backoff(fast_backoff());

    let compacted = app
        .handle(scheduled_event(Duration::from_secs(120)))
        .await
        .unwrap_or_else(|e| panic!("handler failed: {e}\n{}", server.log_tail()));

    // What Athena (moto) holds afterwards, read with a separate client.
    let listed = admin
        .list_query_executions()
        .work_group(WORK_GROUP)
        .send()
        .await
        .expect("ListQueryExecutions");
    let ids: Vec<String> = listed.query_execution_ids().to_vec();
    assert_eq!(ids.len(), 3, "{ids:?}");
    let everywhere = admin.list_query_executions().send().await.unwrap();
    assert_eq!(
        everywhere.query_execution_ids(),
        ids.as_slice(),
        "no query outside {WORK_GROUP}"
    );

    let expected_sql = [DROP_TEMP, CTAS, DROP_TEMP];
    for (id, sql) in ids.iter().zip(expected_sql) {
        let execution = admin
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .expect("GetQueryExecution")
            .query_execution
            .expect("QueryExecution");
        assert_eq!(execution.query(), Some(sql), "query {id}");
        assert_eq!(
            execution.work_group(),
            Some(WORK_GROUP),
            "work group of {id}"
        );
        // moto appends "<id>.csv" to the OutputLocation it was given.
        assert_eq!(
            execution
                .result_configuration()
                .and_then(|r| r.output_location()),
            Some(format!("s3://athena-results/tmp/{id}.csv").as_str()),
        );
        assert_eq!(execution.statement_type(), Some(&StatementType::Ddl));
        assert_eq!(
            execution.status().and_then(|s| s.state()),
            Some(&QueryExecutionState::Succeeded)
        );
    }

    // On the wire: each query polled through QUEUED, RUNNING, RUNNING to
    // SUCCEEDED before the next StartQueryExecution went out.
    let mut expected = Vec::new();
    for (id, sql) in ids.iter().zip(expected_sql) {
        expected.push(Seen::Start {
            sql: sql.to_owned(),
            work_group: WORK_GROUP.to_owned(),
        });
        expected.push(Seen::Started(id.clone()));
        for state in ["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"] {
            expected.push(Seen::Polled {
                id: id.clone(),
                state: state.to_owned(),
            });
        }
    }
    assert_eq!(recorder.seen(), expected);

    assert_eq!(compacted.hour, "2026-11-28T00");
    assert_eq!(
        compacted.destination,
        "s3://usage-bucket/parquet-data/year=2026/month=11/day=28/hour=00/"
    );
    let records: Vec<(Step, &str, &str, u32)> = compacted
        .queries
        .iter()
        .map(|q| {
            (
                q.step,
                q.query_execution_id.as_str(),
                q.state.as_str(),
                q.polls,
            )
        })
        .collect();
    assert_eq!(
        records,
        vec![
            (Step::DropLeftover, ids[0].as_str(), "SUCCEEDED", 4),
            (Step::CreateParquet, ids[1].as_str(), "SUCCEEDED", 4),
            (Step::DropTemp, ids[2].as_str(), "SUCCEEDED", 4),
        ]
    );
}

#[tokio::test]
async fn missing_work_group_fails_naming_the_hour_and_step() {
    let server = MotoServer::start();
    let recorder = Recorder::default();
    let client = athena_client(&server, Some(recorder.clone())).await;
    let app = App::new(SdkAthena::new(client), config()).with_backoff(fast_backoff());

    let err = app
        .handle(scheduled_event(Duration::from_secs(120)))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            JobError::Start {
                step: Step::DropLeftover,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("hour 2026-11-28T00: could not start the drop_leftover query: StartQueryExecution failed"),
        "{message}"
    );
    assert!(message.contains("WorkGroup does not exist"), "{message}");
    assert_eq!(recorder.seen().len(), 1, "only the one StartQueryExecution");
}

#[tokio::test]
async fn query_stuck_in_moto_is_stopped_at_the_deadline() {
    let server = MotoServer::start();
    // A thousand GetQueryExecution calls per state step: never done within the budget.
    let body = json!({
        "model_name": "athena::execution",
        "transition": {"progression": "manual", "times": 1000}
    })
    .to_string();
    let (status, response) = server
        .http("POST", "/moto-api/state-manager/set-transition", &body)
        .unwrap();
    assert_eq!(status, 201, "{response}");
    let admin = athena_client(&server, None).await;
    admin
        .create_work_group()
        .name(WORK_GROUP)
        .send()
        .await
        .unwrap();
    let recorder = Recorder::default();
    let client = athena_client(&server, Some(recorder.clone())).await;
    let app = App::new(SdkAthena::new(client), config())
        .with_backoff(fast_backoff())
        .with_safety_margin(Duration::from_secs(1));

    let began = Instant::now();
    let err = app
        .handle(scheduled_event(Duration::from_secs(3)))
        .await
        .unwrap_err();
    let took = began.elapsed();

    let JobError::Deadline {
        step,
        query_execution_id,
        last_state,
        ..
    } = &err
    else {
        panic!("expected a deadline error, got {err:?}");
    };
    assert_eq!(*step, Step::DropLeftover);
    assert_eq!(last_state.as_str(), "QUEUED");
    assert!(err.to_string().contains("2026-11-28T00"), "{err}");
    assert!(
        err.to_string().contains(query_execution_id.as_str()),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(
        recorder.seen().last(),
        Some(&Seen::Stop(query_execution_id.clone()))
    );

    let execution = admin
        .get_query_execution()
        .query_execution_id(query_execution_id)
        .send()
        .await
        .unwrap()
        .query_execution
        .unwrap();
    assert_eq!(
        execution.status().and_then(|s| s.state()),
        Some(&QueryExecutionState::Cancelled),
        "StopQueryExecution reached moto"
    );
}
