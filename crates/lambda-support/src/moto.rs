//! moto's server on 127.0.0.1 as a child process, with its IAM access control on, and SDK
//! clients for it: the harness of the Lambdas' wire tests (feature `moto`).
//!
//! Needs moto 5 with its server extra for the Python in `METERING_PYTHON`
//! (default `python3`). If moto cannot be started the tests fail.
//!
//! # Access control
//!
//! The server starts with `INITIAL_NO_AUTH_ACTION_COUNT` = 3: its first three AWS calls go
//! unchecked, and [`MotoServer::start`] spends them creating an admin user (CreateUser,
//! PutUserPolicy allowing `*` on `*`, CreateAccessKey). Every later call must be signed with
//! credentials moto issued, and is allowed only if the caller's policies allow it; `start`
//! proves that with a call signed by unknown keys, which must fail. PutRolePolicy runs
//! moto's policy-document validator on the policy given. The test's own setup
//! (buckets, work groups, objects) uses the admin's credentials ([`athena_client`],
//! [`s3_client`]); a function under test uses a role's ([`MotoServer::role_credentials`]:
//! CreateRole, PutRolePolicy with the policy given, AssumeRole), through [`athena_client_as`]
//! and [`s3_client_as`].
//!
//! What moto 5.2 checks (`moto/core/authorization.py`, `moto/iam/access_control.py`), with
//! the four corrections [`LAUNCHER`] applies:
//!
//! - the SigV4 signature, and that the access key is an IAM user's or an assumed role's
//!   (with its session token);
//! - the action, `<service>:<Operation>`, against the Action/NotAction of the caller's
//!   inline and attached policies (an explicit Deny wins);
//! - the resource only for S3 (the bucket ARN for bucket operations such as ListObjectsV2 =
//!   `s3:ListBucket`, `arn:aws:s3:::bucket/key` for object operations), IAM operations on an
//!   existing role and STS AssumeRole (the role's ARN, plus its trust policy for AssumeRole)
//!   and SQS (the queue's ARN). Every other service (Athena, Glue, KMS, Lake Formation, …)
//!   is checked by action only: a statement naming the wrong work group or database still
//!   allows the call. Patterns are regular expressions with `*` as `.*`, case-sensitive
//!   (IAM's `?` is no wildcard there);
//! - no condition but `StringEquals` on `sts:ExternalId` of AssumeRole: a statement with
//!   any other condition (e.g. `StringLike` on `s3:prefix`) applies as if it had none;
//! - no resource-based policy (bucket policies aside), no permissions boundary, no SCP, no
//!   `NotResource` (a statement with `NotResource` and no `Resource` allows its actions
//!   everywhere);
//! - nothing a service does on the caller's behalf: Athena's reads and writes of Glue and S3
//!   (the tables, the data, the query results) are not checked, since moto's Athena runs no
//!   query.
//!
//! moto refuses an S3 call as S3 does (403, `AccessDenied`; in DeleteObjects, per key). It
//! refuses a call to a JSON service such as Athena with an XML body, which the SDK cannot
//! parse: the error has no code (not `AccessDeniedException`), but its text holds moto's
//! message, `… is not authorized to perform: athena:StartQueryExecution`.
//!
//! The corrections (moto's own behaviour would fail calls AWS allows):
//!
//! 1. moto recomputes the signature from the URL werkzeug has already decoded, so a `%2F` in
//!    a query value (ListObjectsV2's `prefix=json-data/…`) or a `%3D` in an S3 key
//!    (`…/year=2026/…`) fails with SignatureDoesNotMatch (moto issue #5948); the launcher
//!    has it use the request target as sent.
//! 2. For the services it has no resource for, moto matches the statement's Resource against
//!    `*`, so a statement naming an ARN (`athena:StartQueryExecution` on the work group)
//!    never allows anything; the launcher lets any Resource match there, so the action alone
//!    is checked.
//! 3. DeleteObjects is checked as `s3:DeleteObject` on the bucket's ARN, where AWS checks
//!    each key; the launcher checks each key. If any key is refused, all are (moto's own
//!    answer, every key AccessDenied), where AWS would refuse only those.
//! 4. Cognito's UpdateUserAttributes is authorized by the user's access token alone: "Amazon
//!    Cognito doesn't evaluate AWS Identity and Access Management (IAM) policies in requests
//!    for this API operation" (Amazon Cognito API Reference, UpdateUserAttributes), and the
//!    SDK sends it unsigned; moto's list of such public operations lacks it, so it refused the
//!    call. The launcher adds it.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_athena::config::{Credentials, Intercept, Region};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde_json::{json, Value};

use crate::sdk;

/// The renderer of the policies the generated Terraform declares
/// ([`iam_policy::Module::policy_document`]), for the functions' roles.
pub use iam_policy;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The account moto puts everything in.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region of every client.
pub const REGION: &str = "us-east-1";
/// The IAM user whose credentials the test's own setup uses.
pub const ADMIN_USER: &str = "wire-test-admin";
/// The calls moto lets through unchecked: CreateUser, PutUserPolicy, CreateAccessKey.
const UNCHECKED_CALLS: u32 = 3;

/// Runs moto's server (`python -c LAUNCHER <server arguments>`) with four corrections to
/// its IAM access control; see the [module documentation](self).
pub const LAUNCHER: &str = r#"
import sys

import moto
import xmltodict
from urllib.parse import urlsplit
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.responses import BaseResponse
from moto.iam.access_control import IAMPolicyStatement

if not moto.__version__.startswith("5."):
    sys.exit(f"the wire tests' moto launcher is written for moto 5, not {moto.__version__}")

# 1. The signature is checked against the request target as sent (moto #5948), not the URL
#    werkzeug decoded (%2F in a query value, %3D in an S3 key).
_setup_class = BaseResponse.setup_class


def setup_class(self, request, full_url, *args, **kwargs):
    _setup_class(self, request, full_url, *args, **kwargs)
    environ = getattr(request, "environ", None) or {}
    self._target_as_sent = environ.get("RAW_URI")


BaseResponse.setup_class = setup_class

_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


def authorize(self, iam_request_cls, resource="*"):
    target = getattr(self, "_target_as_sent", None)
    if not target:
        return _authorize(self, iam_request_cls, resource)
    decoded = self.uri
    parts = urlsplit(decoded)
    self.uri = f"{parts.scheme}://{parts.netloc}{target}"
    try:
        return _authorize(self, iam_request_cls, resource)
    finally:
        self.uri = decoded


ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize

# 2. Where moto has no resource for a request ("*": Athena, Glue, KMS, ...), any Resource of a
#    statement matches: the action alone is checked.
_matches = IAMPolicyStatement._check_element_matches


def matches(self, element, value):
    if element == "Resource" and value == "*":
        return True
    return _matches(self, element, value)


IAMPolicyStatement._check_element_matches = matches

# 3. DeleteObjects needs s3:DeleteObject on each key, not on the bucket.
_authorize_s3 = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action


def authorize_s3(self, bucket_name=None, key_name=None):
    checking = (
        ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT
    )
    if (
        checking
        and bucket_name
        and key_name is None
        and self.data.get("Action") == "DeleteObject"
        and "delete" in self.querystring
    ):
        objects = xmltodict.parse(self.body).get("Delete", {}).get("Object", [])
        if not isinstance(objects, list):
            objects = [objects]
        for obj in objects:
            _authorize_s3(self, bucket_name=bucket_name, key_name=obj["Key"])
        return
    return _authorize_s3(self, bucket_name=bucket_name, key_name=key_name)


ActionAuthenticatorMixin._authenticate_and_authorize_s3_action = authorize_s3

# 4. Cognito operations authorized by the user's access token, which the SDK sends unsigned:
#    AWS evaluates no IAM policy for them; moto lists only some as public.
ActionAuthenticatorMixin.PUBLIC_OPERATIONS = ActionAuthenticatorMixin.PUBLIC_OPERATIONS + [
    "AWSCognitoIdentityProviderService.UpdateUserAttributes",
]

from moto.server import main

main(sys.argv[1:])
"#;

/// moto's server, killed when dropped (also on panic).
pub struct MotoServer {
    child: Child,
    port: u16,
    log: PathBuf,
    admin: Credentials,
}

impl MotoServer {
    /// Starts moto's server on a free port of 127.0.0.1 with IAM access control on, waits
    /// until it answers, creates the admin user and checks that unknown credentials are
    /// refused.
    pub fn start() -> Self {
        let python = std::env::var("METERING_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let port = free_port();
        let log = log_dir().join(format!("moto-{port}.log"));
        let log_file = File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create moto log {}: {e}", log.display()));
        let child = Command::new(&python)
            .args(["-c", LAUNCHER, "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", UNCHECKED_CALLS.to_string())
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
        let mut server = Self {
            child,
            port,
            log,
            admin: Credentials::new("", "", None, None, "none yet"),
        };
        server.wait_until_ready(&python);
        server.admin = server.create_admin();
        server.check_access_control();
        server
    }

    fn wait_until_ready(&mut self, python: &str) {
        let began = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("moto child status") {
                panic!(
                    "moto's server ({python:?} -c LAUNCHER) exited with {status} before \
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

    /// The admin user, made with the calls moto lets through unchecked (their signature is
    /// not checked either).
    fn create_admin(&self) -> Credentials {
        let nobody = Credentials::new("AKIDUNCHECKEDCALLS00", "unchecked", None, None, "none");
        self.iam(&nobody, "CreateUser", &[("UserName", ADMIN_USER)]);
        let everything = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        });
        self.iam(
            &nobody,
            "PutUserPolicy",
            &[
                ("UserName", ADMIN_USER),
                ("PolicyName", "everything"),
                ("PolicyDocument", &everything.to_string()),
            ],
        );
        let created = self.iam(&nobody, "CreateAccessKey", &[("UserName", ADMIN_USER)]);
        Credentials::new(
            xml_text(&created, "AccessKeyId"),
            xml_text(&created, "SecretAccessKey"),
            None,
            None,
            "moto admin user",
        )
    }

    /// Fails unless moto refuses a call signed with keys it never issued: a harness that
    /// silently allowed everything would make every permission test pass.
    fn check_access_control(&self) {
        let stranger = Credentials::new("AKIAUNKNOWNKEY000000", "secret", None, None, "none");
        let (status, response) = self.aws_query(
            "iam",
            &stranger,
            &[("Action", "ListUsers"), ("Version", "2010-05-08")],
        );
        assert!(
            status == 403 && response.contains("InvalidClientTokenId"),
            "moto's IAM access control is not on: a call with unknown keys got HTTP {status}:\n\
             {response}\n{}",
            self.log_tail()
        );
    }

    /// The admin's credentials: what the test's own setup uses.
    pub fn admin_credentials(&self) -> &Credentials {
        &self.admin
    }

    /// `arn:aws:iam::<account>:role/<name>`.
    pub fn role_arn(name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}")
    }

    /// Creates the role `name` (one the admin may assume) with `policy` as its only policy,
    /// assumes it and returns the session's credentials: a Lambda function's identity.
    pub fn role_credentials(&self, name: &str, policy: &Value) -> Credentials {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:user/{ADMIN_USER}")},
                "Action": "sts:AssumeRole",
            }],
        });
        self.iam(
            &self.admin,
            "CreateRole",
            &[
                ("RoleName", name),
                ("AssumeRolePolicyDocument", &trust.to_string()),
            ],
        );
        self.iam(
            &self.admin,
            "PutRolePolicy",
            &[
                ("RoleName", name),
                ("PolicyName", name),
                ("PolicyDocument", &policy.to_string()),
            ],
        );
        let role_arn = Self::role_arn(name);
        let (status, assumed) = self.aws_query(
            "sts",
            &self.admin,
            &[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", &role_arn),
                ("RoleSessionName", name),
            ],
        );
        assert_eq!(status, 200, "AssumeRole {role_arn}: {assumed}");
        Credentials::new(
            xml_text(&assumed, "AccessKeyId"),
            xml_text(&assumed, "SecretAccessKey"),
            Some(xml_text(&assumed, "SessionToken")),
            None,
            "moto assumed role",
        )
    }

    /// An IAM call that must succeed; returns the response.
    fn iam(&self, credentials: &Credentials, action: &str, params: &[(&str, &str)]) -> String {
        let mut all = vec![("Action", action), ("Version", "2010-05-08")];
        all.extend_from_slice(params);
        let (status, response) = self.aws_query("iam", credentials, &all);
        assert_eq!(
            status,
            200,
            "IAM {action} on moto: {response}\n{}",
            self.log_tail()
        );
        response
    }

    /// A query-protocol call (IAM, STS) signed with `credentials`: (status, response).
    fn aws_query(
        &self,
        service: &str,
        credentials: &Credentials,
        params: &[(&str, &str)],
    ) -> (u16, String) {
        let body = params
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let host = format!("127.0.0.1:{}", self.port);
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let identity = credentials.clone().into();
        let signing = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name(service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("SigV4 parameters")
            .into();
        let signable = SignableRequest::new(
            "POST",
            format!("http://{host}/"),
            [("host", host.as_str()), ("content-type", content_type)].into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .expect("a signable request");
        let (instructions, _signature) = sign(signable, &signing)
            .expect("SigV4 signing")
            .into_parts();
        let mut headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
        headers.extend(
            instructions
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned())),
        );
        let (status, response) = self
            .exchange("POST", "/", &headers, &body)
            .unwrap_or_else(|e| panic!("{service} call to moto: {e}\n{}", self.log_tail()));
        (status, response_body(&response).to_owned())
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

    /// A bare HTTP/1.1 request to moto's own API (not AWS-signed); the whole response.
    pub fn http(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let headers = [("Content-Type".to_owned(), "application/json".to_owned())];
        self.exchange(method, path, &headers, body)
    }

    /// One HTTP/1.1 request with `headers` (Host and Content-Length added); the status and
    /// the whole response.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
             Content-Length: {len}\r\n",
            port = self.port,
            len = body.len()
        );
        for (name, value) in headers {
            if !name.eq_ignore_ascii_case("host") {
                request.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes())?;
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
                "account_id": ACCOUNT_ID,
                "region": REGION,
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

/// `text` form-encoded as Python's `urllib.parse.quote_plus` does (unreserved characters as
/// they are, a space as `+`, every other byte as `%XX`): moto parses a form body, and checks
/// the signature against the body botocore re-encodes from the parsed values.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The body of a whole HTTP response.
fn response_body(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map_or(response, |(_, body)| body)
}

/// The text of the first `<tag>` element of `xml`; panics if there is none.
fn xml_text(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map(|(text, _)| text.to_owned())
        .unwrap_or_else(|| panic!("no <{tag}> in moto's answer:\n{xml}"))
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

async fn sdk_config(server: &MotoServer, credentials: &Credentials) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(server.endpoint())
        .credentials_provider(credentials.clone())
        .load()
        .await
}

/// An Athena client for moto with the admin's credentials, for the test's own setup and
/// checks; `interceptor`, if any, sees every call.
pub async fn athena_client(
    server: &MotoServer,
    interceptor: Option<impl Intercept + 'static>,
) -> aws_sdk_athena::Client {
    athena_client_as(server, server.admin_credentials(), interceptor).await
}

/// An Athena client for moto configured the way production configures it, with only
/// endpoint, credentials and region fixed; `interceptor`, if any, sees every call (a test's
/// recorder).
pub async fn athena_client_as(
    server: &MotoServer,
    credentials: &Credentials,
    interceptor: Option<impl Intercept + 'static>,
) -> aws_sdk_athena::Client {
    let config = sdk_config(server, credentials).await;
    let mut builder = sdk::athena_config(aws_sdk_athena::config::Builder::from(&config));
    if let Some(interceptor) = interceptor {
        builder = builder.interceptor(interceptor);
    }
    aws_sdk_athena::Client::from_conf(builder.build())
}

/// The S3 client for moto with the admin's credentials, like [`athena_client`].
pub async fn s3_client(
    server: &MotoServer,
    interceptor: Option<impl Intercept + 'static>,
) -> aws_sdk_s3::Client {
    s3_client_as(server, server.admin_credentials(), interceptor).await
}

/// The S3 client for moto, like [`athena_client_as`]; path-style addressing, since the
/// endpoint is an IP address.
pub async fn s3_client_as(
    server: &MotoServer,
    credentials: &Credentials,
    interceptor: Option<impl Intercept + 'static>,
) -> aws_sdk_s3::Client {
    let config = sdk_config(server, credentials).await;
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

/// (query, work group) of every execution moto holds, oldest first (as the admin).
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::SharedInterceptor;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};

    const BUCKET: &str = "probe-data";

    fn delete(keys: &[&str]) -> Delete {
        Delete::builder()
            .set_objects(Some(
                keys.iter()
                    .map(|key| ObjectIdentifier::builder().key(*key).build().unwrap())
                    .collect(),
            ))
            .quiet(true)
            .build()
            .unwrap()
    }

    /// The module documentation's account of what moto checks, call by call, as a role
    /// whose policy allows S3 writes under `allowed/` only, listing with a condition, and
    /// StartQueryExecution in another work group than the one used.
    #[tokio::test]
    async fn access_control_checks_what_the_documentation_says() {
        let server = MotoServer::start();
        let admin_s3 = s3_client(&server, None::<SharedInterceptor>).await;
        admin_s3
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        for key in ["allowed/year=2026/a", "other/b"] {
            admin_s3
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(ByteStream::from_static(b"{}"))
                .send()
                .await
                .unwrap();
        }
        athena_client(&server, None::<SharedInterceptor>)
            .await
            .create_work_group()
            .name("used")
            .send()
            .await
            .unwrap();
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "athena:StartQueryExecution",
                    "Resource": format!("arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/another"),
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:DeleteObject"],
                    "Resource": format!("arn:aws:s3:::{BUCKET}/allowed/*"),
                },
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": format!("arn:aws:s3:::{BUCKET}"),
                    "Condition": {"StringLike": {"s3:prefix": ["allowed/*"]}},
                },
            ],
        });
        let role = server.role_credentials("probe", &policy);
        let s3 = s3_client_as(&server, &role, None::<SharedInterceptor>).await;
        let athena = athena_client_as(&server, &role, None::<SharedInterceptor>).await;
        let code = |e: &dyn aws_sdk_s3::error::ProvideErrorMetadata| e.code().map(str::to_owned);

        // S3 objects: action and resource; a key with `=` is signed right (correction 1).
        let put = |key: &'static str| {
            s3.put_object()
                .bucket(BUCKET)
                .key(key)
                .body(ByteStream::from_static(b"{}"))
                .send()
        };
        put("allowed/year=2026/c").await.expect("PutObject allowed");
        let refused = put("other/c").await.unwrap_err();
        assert_eq!(code(&refused).as_deref(), Some("AccessDenied"));
        let refused = s3
            .get_object()
            .bucket(BUCKET)
            .key("allowed/year=2026/c")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            code(&refused).as_deref(),
            Some("AccessDenied"),
            "no GetObject"
        );

        // The bucket: ListBucket's condition on s3:prefix is not evaluated; a prefix with
        // `/` and `=` is signed right (correction 1).
        for prefix in ["allowed/year=2026/", "other/"] {
            let listed = s3
                .list_objects_v2()
                .bucket(BUCKET)
                .prefix(prefix)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{prefix}: {}", DisplayError(&e)));
            assert!(listed.key_count().unwrap_or_default() >= 1, "{prefix}");
        }

        // DeleteObjects: s3:DeleteObject on each key (correction 3); one refused key, all
        // refused.
        let both = s3
            .delete_objects()
            .bucket(BUCKET)
            .delete(delete(&["allowed/year=2026/a", "other/b"]))
            .send()
            .await
            .unwrap();
        let mut refused: Vec<(&str, &str)> = both
            .errors()
            .iter()
            .map(|e| (e.key().unwrap_or_default(), e.code().unwrap_or_default()))
            .collect();
        refused.sort();
        assert_eq!(
            refused,
            [
                ("allowed/year=2026/a", "AccessDenied"),
                ("other/b", "AccessDenied")
            ]
        );
        let allowed = s3
            .delete_objects()
            .bucket(BUCKET)
            .delete(delete(&["allowed/year=2026/a"]))
            .send()
            .await
            .unwrap();
        assert!(allowed.errors().is_empty(), "{:?}", allowed.errors());

        // Athena: the action only (correction 2): the statement names another work group.
        athena
            .start_query_execution()
            .query_string("SELECT 1")
            .work_group("used")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", DisplayError(&e)));
        let refused = athena.list_query_executions().send().await.unwrap_err();
        let text = DisplayError(&refused).to_string();
        assert!(
            text.contains(
                "assumed-role/probe/probe is not authorized to perform: \
                 athena:ListQueryExecutions"
            ),
            "{text}"
        );
    }

    /// An SDK error with its causes, as the functions report it.
    struct DisplayError<'a, E>(&'a E);

    impl<E: std::error::Error> std::fmt::Display for DisplayError<'_, E> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}", aws_sdk_s3::error::DisplayErrorContext(self.0))
        }
    }
}
