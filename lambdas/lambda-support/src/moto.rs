//! moto's server on 127.0.0.1 as a child process, and SDK clients for it: the harness of the
//! Lambdas' wire tests (feature `moto`).
//!
//! Needs moto 5 with its server extra for the Python in `METERING_PYTHON`
//! (default `python3`). If moto cannot be started the tests fail.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_athena::config::{Credentials, Intercept, Region};
use serde_json::{json, Value};

use crate::sdk;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// moto's server, killed when dropped (also on panic).
pub struct MotoServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    /// Starts moto's server on a free port of 127.0.0.1 and waits until it answers.
    pub fn start() -> Self {
        let python = std::env::var("METERING_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let port = free_port();
        let log = log_dir().join(format!("moto-{port}.log"));
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

    /// `http://127.0.0.1:<port>`: the endpoint URL for SDK clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of moto's log, for a failing test's message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }

    /// A bare HTTP/1.1 request to moto's own API (not AWS-signed).
    pub fn http(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
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

    fn post(&self, path: &str, body: &Value) {
        let (status, response) = self
            .http("POST", path, &body.to_string())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        assert_eq!(status, 201, "POST {path}: {response}");
    }

    /// Every Athena execution moves one state (QUEUED → RUNNING → SUCCEEDED) per `times`
    /// GetQueryExecution calls.
    pub fn athena_transition(&self, times: u32) {
        self.post(
            "/moto-api/state-manager/set-transition",
            &json!({
                "model_name": "athena::execution",
                "transition": {"progression": "manual", "times": times}
            }),
        );
    }

    /// Queues GetQueryResults answers: moto hands the next one to each query started after
    /// this, DDL included, so `results` holds one entry per query to be started.
    pub fn queue_athena_results(&self, results: Vec<Value>) {
        self.post(
            "/moto-api/static/athena/query-results",
            &json!({
                "account_id": "123456789012",
                "region": "us-east-1",
                "results": results,
            }),
        );
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

async fn sdk_config(server: &MotoServer) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await
}

/// An Athena client for moto configured the way production configures it, with only
/// endpoint, credentials and region fixed; `interceptor`, if any, sees every call (a test's
/// recorder).
pub async fn athena_client(
    server: &MotoServer,
    interceptor: Option<impl Intercept + 'static>,
) -> aws_sdk_athena::Client {
    let config = sdk_config(server).await;
    let mut builder = sdk::athena_config(aws_sdk_athena::config::Builder::from(&config));
    if let Some(interceptor) = interceptor {
        builder = builder.interceptor(interceptor);
    }
    aws_sdk_athena::Client::from_conf(builder.build())
}

/// The S3 client for moto, like [`athena_client`]; path-style addressing, since the
/// endpoint is an IP address.
pub async fn s3_client(
    server: &MotoServer,
    interceptor: Option<impl Intercept + 'static>,
) -> aws_sdk_s3::Client {
    let config = sdk_config(server).await;
    let mut builder =
        sdk::s3_config(aws_sdk_s3::config::Builder::from(&config)).force_path_style(true);
    if let Some(interceptor) = interceptor {
        builder = builder.interceptor(interceptor);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Where moto's logs go: `CARGO_TARGET_TMPDIR` when set, else the system's temporary folder.
/// (Cargo gives integration tests that folder only when it compiles them, so a library
/// cannot name it.)
fn log_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("lambda-support-moto"));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create the moto log folder {}: {e}", dir.display()));
    dir
}

/// (query, work group) of every execution moto holds, oldest first.
pub async fn query_executions(athena: &aws_sdk_athena::Client) -> Vec<(String, String)> {
    let ids = athena
        .list_query_executions()
        .send()
        .await
        .expect("ListQueryExecutions")
        .query_execution_ids()
        .to_vec();
    let mut executions = Vec::new();
    for id in ids {
        let execution = athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .unwrap()
            .query_execution
            .unwrap();
        executions.push((
            execution.query().unwrap_or_default().to_owned(),
            execution.work_group().unwrap_or_default().to_owned(),
        ));
    }
    executions
}
