//! What the AWS SDK clients share: how they are built, how they retry and time out, and how
//! their errors are reported.

use std::fmt;
use std::time::Duration;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_athena::error::{DisplayErrorContext, ErrorMetadata, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime::client::retries::classifiers::HttpStatusCodeClassifier;

use crate::athena::SdkAthena;
use crate::env::EnvError;
use crate::lease::{LeaseLock, LockPrefix};
use crate::s3::SdkS3;

/// Tries per API call, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// One try of an API call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One API call with all its retries and backoff.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Error codes AWS uses for throttling (the ones the SDK's standard retry mode treats as such
/// for Athena and S3).
const THROTTLING_CODES: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// The SDK's standard retry mode: exponential backoff with jitter from 1 s up to 20 s, for
/// throttling error codes (`ThrottlingException`, `TooManyRequestsException`, S3's `SlowDown`,
/// …), `RequestTimeout`, timeouts and I/O errors.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

/// [`ATTEMPT_TIMEOUT`] per try, [`OPERATION_TIMEOUT`] per call.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The standard classifiers go by error code only, so a bare 429 or a 5xx whose code the SDK
/// does not know would fail at once; this retries them too. Every call the functions make is
/// safe to repeat: StartQueryExecution carries the same ClientRequestToken on every try, PUTs
/// and DeleteObjects are idempotent.
pub fn status_code_classifier() -> HttpStatusCodeClassifier {
    HttpStatusCodeClassifier::new_from_codes(vec![429, 500, 502, 503, 504])
}

/// The clients a function uses in `region`, with the credentials Lambda puts in the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
///
/// Not `aws_config::load_defaults`: its provider chain (profiles, SSO, STS, IMDS, …) finds
/// the same credentials in Lambda and adds about a megabyte to the binary.
///
/// `endpoint` is the SDKs' standard `AWS_ENDPOINT_URL` override (an emulator such as the
/// benchmark's, or a private endpoint); S3 then uses path-style addressing, since such
/// endpoints rarely resolve bucket subdomains.
pub fn clients(
    region: &str,
    endpoint: Option<&str>,
) -> (aws_sdk_athena::Client, aws_sdk_s3::Client) {
    let region = Region::new(region.to_owned());
    let credentials = EnvironmentVariableCredentialsProvider::new();
    let mut athena = athena_config(
        aws_sdk_athena::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region.clone())
            .credentials_provider(credentials.clone()),
    );
    let mut s3 = s3_config(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(credentials),
    );
    if let Some(url) = endpoint {
        athena = athena.endpoint_url(url);
        s3 = s3.endpoint_url(url).force_path_style(true);
    }
    (
        aws_sdk_athena::Client::from_conf(athena.build()),
        aws_sdk_s3::Client::from_conf(s3.build()),
    )
}

/// What a function's `main` runs on: the Athena and S3 calls over the SDK and the lease lock.
pub struct Production {
    pub athena: SdkAthena,
    pub s3: SdkS3,
    pub lock: LeaseLock<SdkS3>,
}

impl Production {
    /// The [`clients`] for `region`, at `AWS_ENDPOINT_URL` when it is set, and the lease lock
    /// at `lock_prefix` (the `LOCK_PREFIX` variable). A function refuses to start without a
    /// lock: two runs of one hour or month could overlap.
    pub fn from_env(region: &str, lock_prefix: Option<&LockPrefix>) -> Result<Self, EnvError> {
        let lock_prefix = lock_prefix.ok_or(EnvError::Missing("LOCK_PREFIX"))?;
        let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
        let (athena, s3) = clients(region, endpoint.as_deref());
        let s3 = SdkS3::new(s3);
        Ok(Self {
            athena: SdkAthena::new(athena),
            lock: LeaseLock::new(s3.clone(), lock_prefix.clone()),
            s3,
        })
    }
}

/// The Athena client's retries, timeouts and retry classifiers.
pub fn athena_config(builder: aws_sdk_athena::config::Builder) -> aws_sdk_athena::config::Builder {
    builder
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .retry_classifier(status_code_classifier())
}

/// The S3 client's retries, timeouts and retry classifiers.
pub fn s3_config(builder: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    builder
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .retry_classifier(status_code_classifier())
}

/// What kind of failure an [`ApiError`] is, for the functions' error kinds: throttling and
/// timeouts are named for themselves, whichever call it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// Still throttled after the SDK's retries.
    Throttled,
    /// A try or the whole call ran out of time.
    TimedOut,
    /// S3's NoSuchKey / NoSuchBucket.
    NotFound,
    /// Anything else.
    Other,
}

/// A failed call to an AWS API itself (not a failed query).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// What failed, e.g. `GetObject failed: NoSuchKey: … (HTTP 404)`.
    pub message: String,
    /// What kind of failure it is.
    pub kind: ApiErrorKind,
}

impl ApiError {
    /// An error of kind [`ApiErrorKind::Other`].
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: ApiErrorKind::Other,
        }
    }

    /// The error kind a function reports for this failure (the `<Kind>` of
    /// `Compaction.<Kind>` and `Billing.<Kind>`): `Throttled` or `ApiTimedOut`,
    /// whichever call it was, else `otherwise`, the kind of the call that failed.
    pub fn kind_name(&self, otherwise: &'static str) -> &'static str {
        match self.kind {
            ApiErrorKind::Throttled => "Throttled",
            ApiErrorKind::TimedOut => "ApiTimedOut",
            ApiErrorKind::NotFound | ApiErrorKind::Other => otherwise,
        }
    }

    /// An error of an SDK call named `operation`, with the service's code and message.
    pub fn from_sdk<E>(operation: &str, error: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let timed_out = match &error {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(failure) => failure.is_timeout(),
            _ => false,
        };
        // Not generic, and one argument: a single copy in the binary for all the operations'
        // error types, called without stack arguments.
        Self::classify(&SdkFailure {
            operation,
            timed_out,
            status: error
                .raw_response()
                .map(|response| response.status().as_u16()),
            meta: error.meta(),
            causes: &DisplayErrorContext(&error),
        })
    }

    fn classify(failure: &SdkFailure<'_>) -> Self {
        let SdkFailure {
            operation,
            timed_out,
            status,
            meta,
            causes,
        } = *failure;
        let kind = match meta.code() {
            _ if timed_out => ApiErrorKind::TimedOut,
            Some(code) if THROTTLING_CODES.contains(&code) => ApiErrorKind::Throttled,
            _ if status == Some(429) => ApiErrorKind::Throttled,
            Some("NoSuchKey" | "NoSuchBucket") => ApiErrorKind::NotFound,
            _ => ApiErrorKind::Other,
        };
        // The service's code and message say it all; anything else (timeouts, connection
        // errors) needs the whole chain of causes.
        let detail = match (meta.code(), meta.message(), status) {
            (Some(code), Some(message), Some(status)) => {
                format!("{code}: {message} (HTTP {status})")
            }
            (Some(code), None, Some(status)) => format!("{code} (HTTP {status})"),
            _ => causes.to_string(),
        };
        Self {
            message: format!("{operation} failed: {detail}"),
            kind,
        }
    }
}

/// What [`ApiError::classify`] needs of a failed SDK call.
#[derive(Clone, Copy)]
struct SdkFailure<'a> {
    operation: &'a str,
    /// A try or the whole call ran out of time.
    timed_out: bool,
    /// The HTTP status, if a response came.
    status: Option<u16>,
    /// The service's error code and message.
    meta: &'a ErrorMetadata,
    /// The error with the whole chain of its causes.
    causes: &'a dyn fmt::Display,
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionError;

    #[test]
    fn clients_retry_and_time_out_as_configured() {
        let (athena, s3) = clients("eu-west-1", None);
        for (retry, timeout, region) in [
            (
                athena.config().retry_config(),
                athena.config().timeout_config(),
                athena.config().region(),
            ),
            (
                s3.config().retry_config(),
                s3.config().timeout_config(),
                s3.config().region(),
            ),
        ] {
            let retry = retry.unwrap();
            assert_eq!(retry.mode(), aws_config::retry::RetryMode::Standard);
            assert_eq!(retry.max_attempts(), 5);
            assert_eq!(retry.max_attempts(), MAX_ATTEMPTS);
            let timeout = timeout.unwrap();
            assert_eq!(timeout.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
            assert_eq!(timeout.operation_timeout(), Some(OPERATION_TIMEOUT));
            assert_eq!(region.map(|r| r.as_ref()), Some("eu-west-1"));
        }
    }

    /// Accepts one request on 127.0.0.1, answers 403 and returns its request line.
    fn one_request() -> (String, std::thread::JoinHandle<String>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            line
        });
        (url, handle)
    }

    #[tokio::test]
    async fn an_endpoint_override_reaches_both_clients_and_s3_goes_path_style() {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        let (url, s3_request) = one_request();
        let (_, s3) = clients("eu-west-1", Some(&url));
        let _ = s3.list_objects_v2().bucket("bench-data").send().await;
        let line = s3_request.join().unwrap();
        assert!(line.starts_with("GET /bench-data/?list-type=2 "), "{line}");

        let (url, athena_request) = one_request();
        let (athena, _) = clients("eu-west-1", Some(&url));
        let _ = athena.list_work_groups().send().await;
        let line = athena_request.join().unwrap();
        assert!(line.starts_with("POST / "), "{line}");
    }

    #[test]
    fn throttling_and_timeouts_name_themselves_whichever_call_it_was() {
        let error = |kind| ApiError {
            message: "PutObject failed".to_owned(),
            kind,
        };
        assert_eq!(
            error(ApiErrorKind::Throttled).kind_name("S3PutFailed"),
            "Throttled"
        );
        assert_eq!(
            error(ApiErrorKind::TimedOut).kind_name("S3PutFailed"),
            "ApiTimedOut"
        );
        assert_eq!(
            error(ApiErrorKind::NotFound).kind_name("S3PutFailed"),
            "S3PutFailed"
        );
        assert_eq!(
            error(ApiErrorKind::Other).kind_name("S3PutFailed"),
            "S3PutFailed"
        );
    }

    #[test]
    fn timeouts_are_named_as_such() {
        let error: SdkError<StartQueryExecutionError> =
            SdkError::timeout_error("operation timed out after 30s");
        let api = ApiError::from_sdk("StartQueryExecution", error);
        assert_eq!(api.kind, ApiErrorKind::TimedOut);
        assert!(
            api.message.starts_with("StartQueryExecution failed: "),
            "{}",
            api.message
        );
        assert!(
            api.message.contains("operation timed out"),
            "{}",
            api.message
        );
    }
}
