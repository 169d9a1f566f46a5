//! A stack for `verify` to run against on loopback (feature `testing`): moto's server (IAM
//! access control on) for Cognito, S3, Athena and Glue, and stand-ins for what moto cannot
//! run, each on 127.0.0.1 and stopped when the [`World`] is dropped:
//!
//! - **the API stage**: answers the metered method as API Gateway and the function do (401
//!   without a token, 400 for a bad parameter, 200 and a JSON array), with an
//!   `x-amzn-RequestId`, and logs each request in the access-log format the stack deploys
//!   (`access_log::access_log_format`, its `$context` variables filled in);
//! - **Firehose**: puts the logged lines into the JSON folder as one object, while
//!   [`World::deliver`] is on. moto's Athena runs no SQL: before each delivery the stand-in
//!   queues what the tables would then answer to `verify`'s three queries (the JSON table's
//!   rows of the records, then the Parquet table's count per request, twice);
//! - **Lambda**: GetFunction of the two functions, and Invoke: the compaction answers as it
//!   does, the billing preview with what [`World::set_preview`] gives (moto runs functions
//!   only in Docker);
//! - **the usage-events stream**: PutRecordBatch (on the Lambda stand-in's address) of the
//!   stream [`EVENTS_STREAM`] puts each record's lines, as the usage-events function writes
//!   them (`metering::normalise`), into the events folder as one object, while
//!   [`World::deliver_events`] is on; an Invoke of the events compaction queues what the
//!   events' Parquet table then answers (one row per id, the value as `decimal(24,9)`);
//! - **Cognito's write rule**: a proxy in front of moto that refuses UpdateUserAttributes of
//!   the tenant attribute with `NotAuthorizedException`, as Cognito does for an attribute the
//!   app client may not write (moto does not check write attributes);
//!   [`World::allow_tenant_writes`] turns it off.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType, UsernameAttributeType,
};
use aws_sdk_glue::types::{Column, StorageDescriptor, TableInput};
use lambda_support::moto::MotoServer;
use serde_json::{json, Value};

use crate::aws::Aws;

pub const REGION: &str = lambda_support::moto::REGION;
pub const BUCKET: &str = "verify-access-logs";
pub const WORK_GROUP: &str = "SaaSMeteringDemo";
pub const DATABASE: &str = "mydatabase";
pub const JSON_TABLE: &str = "restapi_access_log_json";
pub const PARQUET_TABLE: &str = "restapi_access_log_parquet";
pub const COMPACTION: &str = "MergeSmallFilesWithAthenaCTAS";
pub const BILLING: &str = "MeteringMonthlyBilling";
pub const CONFIG_KEY: &str = "config/metering.json";
pub const TENANT_CLAIM: &str = "custom:tenant_id";
pub const STAGE_PATH: &str = "/prod";
pub const METERED_PATH: &str = "/random/strings";
pub const EVENTS_STREAM: &str = "usage-events";
pub const EVENTS_FOLDER: &str = "usage-events";
pub const EVENTS_ERRORS: &str = "usage-events-errors/";
pub const EVENTS_JSON_TABLE: &str = "usage_events_json";
pub const EVENTS_PARQUET_TABLE: &str = "usage_events_parquet";
pub const EVENTS_COMPACTION: &str = "MergeSmallFilesWithAthenaCTAS-usage-events";

/// The billing preview's answer to an event, given the lines delivered so far.
pub type Preview = Box<dyn Fn(&Value, &[String]) -> Value + Send>;

/// What the stand-ins share with the test.
struct Shared {
    moto: String,
    server: Arc<MotoServer>,
    /// Canonical event lines the events stream has not delivered yet.
    events_buffer: Mutex<Vec<String>>,
    /// Every event line delivered.
    events_delivered: Mutex<Vec<String>>,
    deliver_events: AtomicBool,
    /// Rows per event id the events' Parquet table answers.
    events_parquet_copies: AtomicUsize,
    /// Logged lines Firehose has not delivered yet.
    buffer: Mutex<Vec<String>>,
    /// Every line delivered.
    delivered: Mutex<Vec<String>>,
    /// Requests the API answered.
    served: AtomicUsize,
    deliver: AtomicBool,
    refuse_tenant_writes: AtomicBool,
    /// Rows per request the Parquet table answers.
    parquet_copies: AtomicU32,
    /// (function, event) of every invocation.
    invocations: Mutex<Vec<(String, Value)>>,
    /// Compaction invocations still to refuse as `Compaction.Locked`.
    compaction_locked: AtomicUsize,
    preview: Mutex<Preview>,
    stop: AtomicBool,
    next_id: AtomicUsize,
}

/// The stack on loopback; see the [module documentation](self).
pub struct World {
    pub server: Arc<MotoServer>,
    pub user_pool_id: String,
    pub client_id: String,
    shared: Arc<Shared>,
    api: Arc<tiny_http::Server>,
    lambda: Arc<tiny_http::Server>,
    proxy_port: u16,
    threads: Vec<JoinHandle<()>>,
}

impl World {
    pub async fn start() -> World {
        let server = Arc::new(MotoServer::start());
        let config = sdk_config(&server.endpoint(), &server).await;
        let aws = Aws::from_config(&config, true);

        let pool = aws
            .cognito
            .create_user_pool()
            .pool_name("UserPoolForApiGateway")
            .username_attributes(UsernameAttributeType::Email)
            .schema(
                SchemaAttributeType::builder()
                    .name("tenant_id")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(true)
                    .build(),
            )
            .send()
            .await
            .expect("CreateUserPool on moto");
        let user_pool_id = pool.user_pool().and_then(|p| p.id()).unwrap().to_owned();
        let client = aws
            .cognito
            .create_user_pool_client()
            .user_pool_id(&user_pool_id)
            .client_name("UserPoolForApiGateway-client")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .read_attributes("email")
            .read_attributes(TENANT_CLAIM)
            .write_attributes("email")
            .send()
            .await
            .expect("CreateUserPoolClient on moto");
        let client_id = client
            .user_pool_client()
            .and_then(|c| c.client_id())
            .unwrap()
            .to_owned();
        aws.s3
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("CreateBucket on moto");
        aws.s3
            .put_object()
            .bucket(BUCKET)
            .key(CONFIG_KEY)
            .body(metering_config().into_bytes().into())
            .send()
            .await
            .expect("PutObject on moto");
        aws.athena
            .create_work_group()
            .name(WORK_GROUP)
            .send()
            .await
            .expect("CreateWorkGroup on moto");
        aws.glue
            .create_database()
            .database_input(
                aws_sdk_glue::types::DatabaseInput::builder()
                    .name(DATABASE)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("CreateDatabase on moto");
        for table in [
            JSON_TABLE,
            PARQUET_TABLE,
            EVENTS_JSON_TABLE,
            EVENTS_PARQUET_TABLE,
        ] {
            let partition =
                |name: &str| Column::builder().name(name).r#type("int").build().unwrap();
            aws.glue
                .create_table()
                .database_name(DATABASE)
                .table_input(
                    TableInput::builder()
                        .name(table)
                        .storage_descriptor(
                            StorageDescriptor::builder()
                                .columns(
                                    Column::builder()
                                        .name("requestid")
                                        .r#type("string")
                                        .build()
                                        .unwrap(),
                                )
                                .build(),
                        )
                        .partition_keys(partition("year"))
                        .partition_keys(partition("month"))
                        .partition_keys(partition("day"))
                        .partition_keys(partition("hour"))
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("CreateTable on moto");
        }

        let shared = Arc::new(Shared {
            moto: server.endpoint(),
            server: server.clone(),
            events_buffer: Mutex::default(),
            events_delivered: Mutex::default(),
            deliver_events: AtomicBool::new(true),
            events_parquet_copies: AtomicUsize::new(1),
            buffer: Mutex::default(),
            delivered: Mutex::default(),
            served: AtomicUsize::new(0),
            deliver: AtomicBool::new(true),
            refuse_tenant_writes: AtomicBool::new(true),
            parquet_copies: AtomicU32::new(1),
            invocations: Mutex::default(),
            compaction_locked: AtomicUsize::new(0),
            preview: Mutex::new(Box::new(|_, _| json!({"preview": true}))),
            stop: AtomicBool::new(false),
            next_id: AtomicUsize::new(1),
        });
        let api = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("a port on 127.0.0.1"));
        let lambda = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("a port on 127.0.0.1"));
        let proxy = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a port on 127.0.0.1");
        let proxy_port = proxy.local_addr().unwrap().port();
        let threads = vec![
            serve(api.clone(), shared.clone(), api_answer),
            serve(lambda.clone(), shared.clone(), lambda_answer),
            std::thread::spawn({
                let shared = shared.clone();
                move || proxy_cognito(proxy, &shared)
            }),
            std::thread::spawn({
                let shared = shared.clone();
                let s3 = aws.s3.clone();
                let server = server.clone();
                move || firehose(&shared, s3, &server)
            }),
        ];
        World {
            server,
            user_pool_id,
            client_id,
            shared,
            api,
            lambda,
            proxy_port,
            threads,
        }
    }

    fn api_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.api.server_addr().to_ip().unwrap().port()
        )
    }

    /// `http://127.0.0.1:<port>` of the Lambda stand-in.
    pub fn lambda_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}",
            self.lambda.server_addr().to_ip().unwrap().port()
        )
    }

    /// `http://127.0.0.1:<port>` of the Cognito proxy.
    pub fn cognito_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.proxy_port)
    }

    /// The outputs as `terraform output -json` prints them for this stack; without billing
    /// when `billing` is false.
    pub fn outputs(&self, billing: bool) -> Value {
        let output = |value: Value| json!({"sensitive": false, "type": "string", "value": value});
        let mut outputs = json!({
            "user_pool_id": output(json!(self.user_pool_id)),
            "user_pool_client_id": output(json!(self.client_id)),
            "rest_api_endpoint": output(json!(format!("{}{STAGE_PATH}", self.api_url()))),
            "dev_rest_api_endpoint": output(Value::Null),
            "access_log_bucket": output(json!(BUCKET)),
            "firehose_arn": output(json!("arn:aws:firehose:us-east-1:123456789012:deliverystream/amazon-apigateway-random-gen")),
            "athena_workgroup": output(json!(WORK_GROUP)),
            "json_table": output(json!(format!("{DATABASE}.{JSON_TABLE}"))),
            "parquet_table": output(json!(format!("{DATABASE}.{PARQUET_TABLE}"))),
            "compaction_function_name": output(json!(COMPACTION)),
            "verify": output(json!({
                "tenant_claim": TENANT_CLAIM,
                "metered_path": METERED_PATH,
                "json_folder": "json-data",
                "error_prefix": "error/",
                "buffer_interval_seconds": 1,
                "metering_config_uri": if billing { json!(format!("s3://{BUCKET}/{CONFIG_KEY}")) } else { Value::Null },
            })),
        });
        if billing {
            outputs["billing_function_name"] = output(json!(BILLING));
        }
        outputs
    }

    /// [`World::outputs`] of a stack with the usage-events stream: its outputs and
    /// `verify.usage_events`.
    pub fn outputs_with_events(&self, billing: bool) -> Value {
        let output = |value: Value| json!({"sensitive": false, "type": "string", "value": value});
        let mut outputs = self.outputs(billing);
        outputs["usage_events_stream_name"] = output(json!(EVENTS_STREAM));
        outputs["usage_events_writer_policy_arn"] = output(json!(
            "arn:aws:iam::123456789012:policy/usage-events-writer"
        ));
        outputs["usage_events_json_table"] =
            output(json!(format!("{DATABASE}.{EVENTS_JSON_TABLE}")));
        outputs["usage_events_parquet_table"] =
            output(json!(format!("{DATABASE}.{EVENTS_PARQUET_TABLE}")));
        outputs["usage_events_compaction_function_name"] = output(json!(EVENTS_COMPACTION));
        outputs["verify"]["value"]["usage_events"] = json!({
            "folder": EVENTS_FOLDER,
            "error_prefix": EVENTS_ERRORS,
            "buffer_interval_seconds": 1,
        });
        outputs
    }

    /// The clients `verify` uses, for this stack: moto's admin, the Cognito proxy, the
    /// Lambda stand-in.
    pub async fn aws(&self) -> Aws {
        let config = sdk_config(&self.server.endpoint(), &self.server).await;
        let mut aws = Aws::from_config(&config, true);
        aws.cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(
            aws_sdk_cognitoidentityprovider::config::Builder::from(&config)
                .endpoint_url(self.cognito_url())
                .build(),
        );
        aws.lambda = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&config)
                .endpoint_url(self.lambda_url())
                .build(),
        );
        aws.firehose = aws_sdk_firehose::Client::from_conf(
            aws_sdk_firehose::config::Builder::from(&config)
                .endpoint_url(self.lambda_url())
                .build(),
        );
        aws
    }

    /// The environment that points `metering-gen verify` at this stack.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let credentials = self.server.admin_credentials();
        vec![
            ("AWS_ENDPOINT_URL", self.server.endpoint()),
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                self.cognito_url(),
            ),
            ("AWS_ENDPOINT_URL_LAMBDA", self.lambda_url()),
            ("AWS_ENDPOINT_URL_FIREHOSE", self.lambda_url()),
            ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY",
                credentials.secret_access_key().to_owned(),
            ),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// Whether the Firehose stand-in delivers (on at the start).
    pub fn deliver(&self, on: bool) {
        self.shared.deliver.store(on, Ordering::SeqCst);
    }

    /// Whether the usage-events stream delivers (on at the start); off, it accepts the
    /// events and drops them.
    pub fn deliver_events(&self, on: bool) {
        self.shared.deliver_events.store(on, Ordering::SeqCst);
    }

    /// Rows per event id the events' Parquet table answers from now on (1 after a good
    /// compaction).
    pub fn events_parquet_copies(&self, copies: usize) {
        self.shared
            .events_parquet_copies
            .store(copies, Ordering::SeqCst);
    }

    /// Every event line delivered to the events folder.
    pub fn events_delivered(&self) -> Vec<String> {
        self.shared.events_delivered.lock().unwrap().clone()
    }

    /// Lets UpdateUserAttributes write the tenant attribute (moto's own behaviour).
    pub fn allow_tenant_writes(&self) {
        self.shared
            .refuse_tenant_writes
            .store(false, Ordering::SeqCst);
    }

    /// Rows per request the Parquet table answers from now on (1 after a good compaction).
    pub fn parquet_copies(&self, copies: u32) {
        self.shared.parquet_copies.store(copies, Ordering::SeqCst);
    }

    /// The next `times` compaction invocations fail with `Compaction.Locked`, as when the
    /// scheduled run holds the hour.
    pub fn lock_compaction(&self, times: usize) {
        self.shared.compaction_locked.store(times, Ordering::SeqCst);
    }

    /// How the billing function answers a preview event.
    pub fn set_preview(&self, preview: impl Fn(&Value, &[String]) -> Value + Send + 'static) {
        *self.shared.preview.lock().unwrap() = Box::new(preview);
    }

    /// Requests the API has answered.
    pub fn served(&self) -> usize {
        self.shared.served.load(Ordering::SeqCst)
    }

    /// Every line delivered to the JSON folder.
    pub fn delivered(&self) -> Vec<String> {
        self.shared.delivered.lock().unwrap().clone()
    }

    /// (function, event) of every Lambda invocation.
    pub fn invocations(&self) -> Vec<(String, Value)> {
        self.shared.invocations.lock().unwrap().clone()
    }

    /// The users of the pool (their `email`s).
    pub async fn users(&self) -> Vec<String> {
        let config = sdk_config(&self.server.endpoint(), &self.server).await;
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
        let listed = cognito
            .list_users()
            .user_pool_id(&self.user_pool_id)
            .send()
            .await
            .expect("ListUsers on moto");
        listed
            .users()
            .iter()
            .map(|u| {
                u.attributes()
                    .iter()
                    .find(|a| a.name() == "email")
                    .and_then(|a| a.value())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.api.unblock();
        self.lambda.unblock();
        // Wakes the proxy's accept().
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.proxy_port));
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

async fn sdk_config(endpoint: &str, server: &MotoServer) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(server.admin_credentials().clone())
        .load()
        .await
}

/// The `metering` section of `examples/metering.json` as the billing module writes it.
pub fn metering_config() -> String {
    let example: Value = serde_json::from_str(include_str!("../../../examples/metering.json"))
        .expect("examples/metering.json is JSON");
    let metering = &example["metering"];
    let config = json!({
        "late_arrival_hours": metering["late_arrival_hours"],
        "meters": metering["meters"],
        "pricing": metering["pricing"],
    });
    let config: metering::Config = serde_json::from_value(config).expect("a metering config");
    serde_json::to_string_pretty(&config).unwrap()
}

/// Serves `server` until it is unblocked, answering each request with `answer`.
fn serve(
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    answer: fn(&Shared, &mut tiny_http::Request) -> Answer,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let (status, headers, body) = answer(&shared, &mut request);
            let mut response = tiny_http::Response::from_data(body).with_status_code(status);
            for (name, value) in headers {
                response.add_header(
                    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap(),
                );
            }
            let _ = request.respond(response);
        }
    })
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn header<'a>(request: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The metered stage: the Cognito authorizer, the request validator and the function.
fn api_answer(shared: &Shared, request: &mut tiny_http::Request) -> Answer {
    let n = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let request_id = format!("{n:08x}-7e57-4000-8000-{:012x}", std::process::id());
    let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
    let claims = header(request, "authorization").and_then(|t| crate::claims::claims(t).ok());
    let (status, body) = if path != format!("{STAGE_PATH}{METERED_PATH}") {
        (
            403,
            r#"{"message":"Missing Authentication Token"}"#.to_owned(),
        )
    } else if claims.is_none() {
        (401, r#"{"message":"Unauthorized"}"#.to_owned())
    } else {
        let num = query
            .split('&')
            .find_map(|p| p.strip_prefix("num="))
            .unwrap_or("1");
        match num.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => {
                let strings: Vec<String> = (0..n).map(|i| format!("string{i:02}")).collect();
                (200, serde_json::to_string(&strings).unwrap())
            }
            _ => (
                400,
                r#"{"message": "query parameter 'num' must be an integer from 1 to 100"}"#
                    .to_owned(),
            ),
        }
    };
    let claim = |name: &str| {
        claims
            .as_ref()
            .and_then(|c| crate::claims::claim(c, name))
            .unwrap_or_else(|| "-".to_owned())
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let line = access_log::access_log_format(TENANT_CLAIM)
        .replace("$context.requestId", &request_id)
        .replace("$context.identity.sourceIp", "127.0.0.1")
        .replace(
            "$context.authorizer.claims['cognito:username']",
            &claim("cognito:username"),
        )
        .replace("$context.requestTimeEpoch", &now_ms.to_string())
        .replace("$context.httpMethod", "GET")
        .replace("$context.resourcePath", METERED_PATH)
        .replace("$context.status", &status.to_string())
        .replace("$context.protocol", "HTTP/1.1")
        .replace("$context.responseLength", &body.len().to_string())
        .replace(
            &format!("$context.authorizer.claims['{TENANT_CLAIM}']"),
            &claim(TENANT_CLAIM),
        )
        .replace("$context.authorizer.claims.sub", &claim("sub"));
    assert!(!line.contains("$context"), "a variable left: {line}");
    shared.buffer.lock().unwrap().push(line);
    shared.served.fetch_add(1, Ordering::SeqCst);
    (
        status,
        vec![
            ("x-amzn-RequestId".into(), request_id),
            ("Content-Type".into(), "application/json".into()),
        ],
        body.into_bytes(),
    )
}

/// GetFunction and Invoke of the two functions.
fn lambda_answer(shared: &Shared, request: &mut tiny_http::Request) -> Answer {
    let url = request.url().to_owned();
    let firehose = header(request, "x-amz-target")
        .is_some_and(|target| target.starts_with("Firehose_20150804."));
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    if firehose {
        return events_stream_answer(shared, &body);
    }
    let rest = url.strip_prefix("/2015-03-31/functions/").unwrap_or("");
    let (name, invocation) = match rest.strip_suffix("/invocations") {
        Some(name) => (name, true),
        None => (rest, false),
    };
    if name != COMPACTION && name != BILLING && name != EVENTS_COMPACTION {
        return (
            404,
            vec![(
                "x-amzn-ErrorType".into(),
                "ResourceNotFoundException".into(),
            )],
            format!(r#"{{"Type": "User", "message": "Function not found: {name}"}}"#).into_bytes(),
        );
    }
    if !invocation {
        let configuration =
            json!({"Configuration": {"FunctionName": name, "Runtime": "provided.al2023"}});
        return (200, vec![], configuration.to_string().into_bytes());
    }
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared
        .invocations
        .lock()
        .unwrap()
        .push((name.to_owned(), event.clone()));
    let locked = name == COMPACTION
        && shared
            .compaction_locked
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    if locked {
        let error = json!({
            "errorType": "Compaction.Locked",
            "errorMessage": format!("hour {}: locked by another run", event["hour"]),
        });
        return (
            200,
            vec![("X-Amz-Function-Error".into(), "Unhandled".into())],
            error.to_string().into_bytes(),
        );
    }
    if name == EVENTS_COMPACTION {
        queue_events_answer(shared);
    }
    let answer = if name == COMPACTION || name == EVENTS_COMPACTION {
        json!({"hours": [{"hour": event["hour"], "outcome": "compacted"}]})
    } else {
        let delivered = shared.delivered.lock().unwrap().clone();
        (shared.preview.lock().unwrap())(&event, &delivered)
    };
    (200, vec![], answer.to_string().into_bytes())
}

/// PutRecordBatch to the usage-events stream: each record's lines as the usage-events function
/// writes them, buffered for the next delivery.
fn events_stream_answer(shared: &Shared, body: &[u8]) -> Answer {
    use base64::Engine as _;
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let stream = request["DeliveryStreamName"].as_str().unwrap_or_default();
    if stream != EVENTS_STREAM {
        let error = json!({
            "__type": "ResourceNotFoundException",
            "message": format!("Firehose {stream} under account 123456789012 not found."),
        });
        return (400, vec![], error.to_string().into_bytes());
    }
    let records = request["Records"].as_array().cloned().unwrap_or_default();
    let mut responses = Vec::new();
    for (n, record) in records.iter().enumerate() {
        let data = base64::engine::general_purpose::STANDARD
            .decode(record["Data"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let mut buffer = shared.events_buffer.lock().unwrap();
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let mut canonical = String::from_utf8(metering::normalise(line)).unwrap();
            canonical.push('\n');
            buffer.push(canonical);
        }
        responses.push(json!({"RecordId": format!("record-{n}")}));
    }
    let answer = json!({"FailedPutCount": 0, "Encrypted": false, "RequestResponses": responses});
    (200, vec![], answer.to_string().into_bytes())
}

/// What the events' Parquet table answers `verify`'s query after a compaction: one row per
/// id delivered ([`World::events_parquet_copies`]), its value as `decimal(24,9)` text, no
/// problem.
fn queue_events_answer(shared: &Shared) {
    let mut rows: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for line in shared.events_delivered.lock().unwrap().iter() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(id) = event["id"].as_str() else {
            continue;
        };
        let value = event["value"].as_str().map(|v| {
            let mut value: metering::pricing::Decimal = v.parse().unwrap();
            value.rescale(9);
            value.to_string()
        });
        rows.entry(id.to_owned())
            .or_insert_with(|| vec![Some(id.to_owned()), value, None]);
    }
    let header = ["id", "_col1", "problem"]
        .map(|c| Some(c.to_owned()))
        .to_vec();
    let copies = shared.events_parquet_copies.load(Ordering::SeqCst);
    let rows: Vec<Vec<Option<String>>> = std::iter::once(header)
        .chain(
            rows.into_values()
                .flat_map(|row| std::iter::repeat_n(row, copies)),
        )
        .collect();
    shared
        .server
        .queue_athena_results(vec![query_result_nullable(&rows)]);
}

/// A moto query result, header row first; `None` is SQL NULL (no VarCharValue).
fn query_result_nullable(rows: &[Vec<Option<String>>]) -> Value {
    let columns: Vec<Value> = rows[0]
        .iter()
        .flatten()
        .map(|name| json!({"Name": name, "Label": name, "Type": "varchar"}))
        .collect();
    let datum = |v: &Option<String>| match v {
        Some(v) => json!({"VarCharValue": v}),
        None => json!({}),
    };
    json!({
        "rows": rows
            .iter()
            .map(|row| json!({"Data": row.iter().map(datum).collect::<Vec<_>>()}))
            .collect::<Vec<_>>(),
        "column_info": columns,
    })
}

/// Cognito in front of moto: UpdateUserAttributes of the tenant attribute is refused.
fn proxy_cognito(listener: TcpListener, shared: &Shared) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut client) = stream else { continue };
        let Some(request) = read_request(&mut client) else {
            continue;
        };
        let text = String::from_utf8_lossy(&request);
        let refused = shared.refuse_tenant_writes.load(Ordering::SeqCst)
            && text
                .to_ascii_lowercase()
                .contains("x-amz-target: awscognitoidentityproviderservice.updateuserattributes")
            && text.contains(TENANT_CLAIM);
        let response = if refused {
            let body = r#"{"__type":"NotAuthorizedException","message":"A client attempted to write unauthorized attribute"}"#;
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        } else {
            forward(&shared.moto, &request)
        };
        let _ = client.write_all(&response);
    }
}

/// One HTTP/1.1 request, headers and body (by Content-Length).
fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if data.len() >= end + 4 + length {
            return Some(data);
        }
    }
}

/// Sends `request` to moto as it came (its Host header too, which the signature covers) and
/// returns moto's answer, the connection closed after it.
fn forward(moto: &str, request: &[u8]) -> Vec<u8> {
    let address = moto.trim_start_matches("http://");
    let Ok(mut upstream) = TcpStream::connect(address) else {
        return b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec();
    };
    let line_end = request.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
    let mut sent = request[..line_end + 2].to_vec();
    sent.extend_from_slice(b"Connection: close\r\n");
    sent.extend_from_slice(&request[line_end + 2..]);
    let _ = upstream.write_all(&sent);
    let mut response = Vec::new();
    let _ = upstream.read_to_end(&mut response);
    response
}

/// Firehose: once the API has been quiet for half a second (its buffer interval), the
/// buffered lines as one object of the current hour's folder.
fn firehose(shared: &Shared, s3: aws_sdk_s3::Client, server: &MotoServer) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut objects = 0;
    let (mut served, mut quiet) = (0, 0);
    while !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        deliver_events(shared, &s3, &runtime, &mut objects);
        let now_served = shared.served.load(Ordering::SeqCst);
        quiet = if now_served == served { quiet + 1 } else { 0 };
        served = now_served;
        if !shared.deliver.load(Ordering::SeqCst) || quiet < 5 {
            continue;
        }
        let lines: Vec<String> = std::mem::take(&mut *shared.buffer.lock().unwrap());
        if lines.is_empty() {
            continue;
        }
        objects += 1;
        let now = chrono::Utc::now();
        let key = format!(
            "json-data/{}/amazon-apigateway-random-gen-1-{}-{objects}",
            now.format("year=%Y/month=%m/day=%d/hour=%H"),
            now.format("%Y-%m-%d-%H-%M-%S")
        );
        let mut all = shared.delivered.lock().unwrap();
        all.extend(lines.iter().cloned());
        queue_table_answers(shared, server, &all);
        drop(all);
        let body = lines.concat();
        runtime.block_on(async {
            s3.put_object()
                .bucket(BUCKET)
                .key(&key)
                .body(body.into_bytes().into())
                .send()
                .await
                .expect("PutObject on moto");
        });
    }
}

/// The usage-events stream: its buffered lines as one object of the current hour's folder.
fn deliver_events(
    shared: &Shared,
    s3: &aws_sdk_s3::Client,
    runtime: &tokio::runtime::Runtime,
    objects: &mut usize,
) {
    if !shared.deliver_events.load(Ordering::SeqCst) {
        // Accepted, then lost (as when the stream cannot write to the bucket).
        shared.events_buffer.lock().unwrap().clear();
        return;
    }
    let lines: Vec<String> = std::mem::take(&mut *shared.events_buffer.lock().unwrap());
    if lines.is_empty() {
        return;
    }
    *objects += 1;
    let now = chrono::Utc::now();
    let key = format!(
        "{EVENTS_FOLDER}/{}/{EVENTS_STREAM}-1-{}-{objects}",
        now.format("year=%Y/month=%m/day=%d/hour=%H"),
        now.format("%Y-%m-%d-%H-%M-%S")
    );
    shared
        .events_delivered
        .lock()
        .unwrap()
        .extend(lines.iter().cloned());
    let body = lines.concat();
    runtime.block_on(async {
        s3.put_object()
            .bucket(BUCKET)
            .key(&key)
            .body(body.into_bytes().into())
            .send()
            .await
            .expect("PutObject on moto");
    });
}

/// What the JSON and Parquet tables answer `verify`'s queries once `lines` are delivered:
/// the JSON table's (requestid, tenant, sub), then the Parquet table's count per request,
/// once per compaction.
fn queue_table_answers(shared: &Shared, server: &MotoServer, lines: &[String]) {
    let records: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let text = |r: &Value, f: &str| r[f].as_str().unwrap_or_default().to_owned();
    let mut json_rows = vec![vec!["requestid".to_owned(), "tenant".into(), "sub".into()]];
    let mut parquet_rows = vec![vec!["requestid".to_owned(), "_col1".into()]];
    let copies = shared.parquet_copies.load(Ordering::SeqCst).to_string();
    for r in &records {
        json_rows.push(vec![
            text(r, "requestId"),
            text(r, "tenant"),
            text(r, "sub"),
        ]);
        parquet_rows.push(vec![text(r, "requestId"), copies.clone()]);
    }
    server.queue_athena_results(vec![
        query_result(&json_rows),
        query_result(&parquet_rows),
        query_result(&parquet_rows),
    ]);
}

/// A moto query result, header row first, every value as VarCharValue.
fn query_result(rows: &[Vec<String>]) -> Value {
    let columns: Vec<Value> = rows[0]
        .iter()
        .map(|name| json!({"Name": name, "Label": name, "Type": "varchar"}))
        .collect();
    json!({
        "rows": rows
            .iter()
            .map(|row| json!({"Data": row.iter().map(|v| json!({"VarCharValue": v})).collect::<Vec<_>>()}))
            .collect::<Vec<_>>(),
        "column_info": columns,
    })
}

/// `examples/metering.json`'s meters over the calls `verify` makes with `calls` authorized
/// calls of two strings (`["string00","string01"]`, 23 bytes) and one 400: requests counted
/// and bytes summed over 2xx only, one active user.
pub fn expected_usage(calls: u64) -> BTreeMap<String, u64> {
    BTreeMap::from([
        ("active_users".to_owned(), 1),
        ("api_requests".to_owned(), calls),
        ("data_transfer".to_owned(), calls * 23),
    ])
}

/// A usage-events stream in moto (DirectPut, delivering to `bucket` under `folder/`, as moto
/// does: one object per call, records joined), created with the admin's credentials; the
/// environment for a process that sends to it with `credentials`.
pub async fn events_stream(
    server: &MotoServer,
    stream: &str,
    bucket: &str,
    folder: &str,
    credentials: &aws_sdk_athena::config::Credentials,
) -> Vec<(&'static str, String)> {
    let s3 = lambda_support::moto::s3_client(server, None::<aws_sdk_s3::config::SharedInterceptor>)
        .await;
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("CreateBucket in moto");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(server.endpoint())
        .credentials_provider(server.admin_credentials().clone())
        .load()
        .await;
    aws_sdk_firehose::Client::new(&config)
        .create_delivery_stream()
        .delivery_stream_name(stream)
        .delivery_stream_type(aws_sdk_firehose::types::DeliveryStreamType::DirectPut)
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .role_arn(MotoServer::role_arn("delivery"))
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .prefix(format!("{folder}/"))
                .build()
                .expect("role and bucket are set"),
        )
        .send()
        .await
        .expect("CreateDeliveryStream in moto");
    vec![
        ("AWS_ENDPOINT_URL", server.endpoint()),
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id().to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key().to_owned(),
        ),
        (
            "AWS_SESSION_TOKEN",
            credentials.session_token().unwrap_or_default().to_owned(),
        ),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// Every object under `folder/` of `bucket` in moto, in key order.
pub async fn objects(server: &MotoServer, bucket: &str, folder: &str) -> Vec<Vec<u8>> {
    let s3 = lambda_support::moto::s3_client(server, None::<aws_sdk_s3::config::SharedInterceptor>)
        .await;
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(format!("{folder}/"))
        .send()
        .await
        .expect("ListObjectsV2 in moto");
    let mut out = Vec::new();
    for object in listed.contents() {
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(object.key().unwrap_or_default())
            .send()
            .await
            .expect("GetObject in moto")
            .body
            .collect()
            .await
            .expect("the object's bytes")
            .into_bytes();
        out.push(body.to_vec());
    }
    out
}
