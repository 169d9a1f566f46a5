//! moto's server on 127.0.0.1 as a child process, and SDK clients for it.
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
use aws_sdk_athena::config::{Credentials, Region};
use serde_json::{json, Value};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// moto's server, killed when dropped (also on panic).
pub struct MotoServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    pub fn start() -> Self {
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

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

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

/// A moto query result: every row's values as VarCharValue, the first row the header (as
/// Athena returns a SELECT); the first column `varchar`, the others `bigint`.
pub fn query_result(rows: &[Vec<&str>]) -> Value {
    let cell = |v: &str| json!({ "VarCharValue": v });
    let header = rows.first().cloned().unwrap_or_default();
    let column_info: Vec<Value> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let kind = if i == 0 { "varchar" } else { "bigint" };
            json!({"Name": name, "Label": name, "Type": kind})
        })
        .collect();
    json!({
        "rows": rows
            .iter()
            .map(|row| json!({"Data": row.iter().map(|v| cell(v)).collect::<Vec<_>>()}))
            .collect::<Vec<_>>(),
        "column_info": column_info,
    })
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
/// endpoint, credentials and region fixed.
pub async fn athena_client(server: &MotoServer) -> aws_sdk_athena::Client {
    let config = sdk_config(server).await;
    let builder = billing::sdk::athena_config(aws_sdk_athena::config::Builder::from(&config));
    aws_sdk_athena::Client::from_conf(builder.build())
}

/// The S3 client for moto; path-style addressing, since the endpoint is an IP address.
pub async fn s3_client(server: &MotoServer) -> aws_sdk_s3::Client {
    let config = sdk_config(server).await;
    let builder =
        billing::sdk::s3_config(aws_sdk_s3::config::Builder::from(&config)).force_path_style(true);
    aws_sdk_s3::Client::from_conf(builder.build())
}
