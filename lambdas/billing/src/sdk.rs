//! What the AWS SDK clients share: how they retry and time out, and how their errors are
//! reported. The same settings as merge-small-files' clients.

use std::time::Duration;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_athena::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime::client::retries::classifiers::HttpStatusCodeClassifier;

/// Tries per API call, the first included.
pub const MAX_ATTEMPTS: u32 = 5;
/// One try of an API call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// One API call with all its retries and backoff.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Error codes AWS uses for throttling.
const THROTTLING_CODES: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// The SDK's standard retry mode: exponential backoff with jitter, for throttling error
/// codes, `RequestTimeout`, timeouts and I/O errors.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// Also retries a bare 429 or a 5xx whose error code the SDK does not know. Every call the
/// function makes is safe to repeat: StartQueryExecution carries the same ClientRequestToken
/// on every try, PUTs and DeleteObjects are idempotent.
pub fn status_code_classifier() -> HttpStatusCodeClassifier {
    HttpStatusCodeClassifier::new_from_codes(vec![429, 500, 502, 503, 504])
}

/// The clients in `region`, with the credentials Lambda puts in the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and nothing else:
/// `aws_config::load_defaults`' provider chain would add about a megabyte to the binary.
///
/// `endpoint` is the SDKs' standard `AWS_ENDPOINT_URL` override; S3 then uses path-style
/// addressing, since such endpoints rarely resolve bucket subdomains.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// Still throttled after the SDK's retries.
    Throttled,
    /// A try or the whole call ran out of time.
    TimedOut,
    /// S3's NoSuchKey / NoSuchBucket.
    NotFound,
    Other,
}

/// A failed call to an AWS API itself (not a failed query).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub message: String,
    pub kind: ApiErrorKind,
}

impl ApiError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: ApiErrorKind::Other,
        }
    }

    /// An error of an SDK call named `operation`, with the service's code and message.
    pub fn from_sdk<E>(operation: &str, error: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = error
            .raw_response()
            .map(|response| response.status().as_u16());
        let kind = match &error {
            SdkError::TimeoutError(_) => ApiErrorKind::TimedOut,
            SdkError::DispatchFailure(failure) if failure.is_timeout() => ApiErrorKind::TimedOut,
            _ if error
                .code()
                .is_some_and(|code| THROTTLING_CODES.contains(&code)) =>
            {
                ApiErrorKind::Throttled
            }
            _ if status == Some(429) => ApiErrorKind::Throttled,
            _ if matches!(error.code(), Some("NoSuchKey" | "NoSuchBucket")) => {
                ApiErrorKind::NotFound
            }
            _ => ApiErrorKind::Other,
        };
        let detail = match (error.code(), error.message(), status) {
            (Some(code), Some(message), Some(status)) => {
                format!("{code}: {message} (HTTP {status})")
            }
            (Some(code), None, Some(status)) => format!("{code} (HTTP {status})"),
            _ => DisplayErrorContext(&error).to_string(),
        };
        Self {
            message: format!("{operation} failed: {detail}"),
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_athena::operation::start_query_execution::StartQueryExecutionError;

    #[test]
    fn clients_retry_and_time_out_as_configured() {
        let (athena, s3) = clients("eu-west-1", None);
        for (retry, timeout) in [
            (
                athena.config().retry_config(),
                athena.config().timeout_config(),
            ),
            (s3.config().retry_config(), s3.config().timeout_config()),
        ] {
            assert_eq!(retry.unwrap().max_attempts(), MAX_ATTEMPTS);
            let timeout = timeout.unwrap();
            assert_eq!(timeout.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
            assert_eq!(timeout.operation_timeout(), Some(OPERATION_TIMEOUT));
        }
    }

    #[test]
    fn timeouts_are_named_as_such() {
        let error: SdkError<StartQueryExecutionError> =
            SdkError::timeout_error("operation timed out after 30s");
        let api = ApiError::from_sdk("StartQueryExecution", error);
        assert_eq!(api.kind, ApiErrorKind::TimedOut);
        assert!(api.message.starts_with("StartQueryExecution failed: "));
    }
}
