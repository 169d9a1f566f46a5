//! The AWS clients `verify` calls with, and the HTTPS client of the API calls.

use aws_config::{BehaviorVersion, SdkConfig};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// One client per service, from the caller's credentials and region.
#[derive(Debug, Clone)]
pub struct Aws {
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub s3: aws_sdk_s3::Client,
    pub athena: aws_sdk_athena::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub glue: aws_sdk_glue::Client,
    /// The usage-events stream's, for the events stage.
    pub firehose: aws_sdk_firehose::Client,
}

impl Aws {
    /// The clients of the default credential chain and region (environment, profile, SSO, …).
    /// With `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3` set (an emulator, a private endpoint)
    /// S3 goes path-style, as the functions do.
    pub async fn from_environment() -> Aws {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let endpoint = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        Aws::from_config(&config, endpoint)
    }

    /// The clients of `config`; `path_style` for an S3 endpoint that is an address (an
    /// emulator).
    pub fn from_config(config: &SdkConfig, path_style: bool) -> Aws {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        Aws {
            cognito: aws_sdk_cognitoidentityprovider::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            athena: aws_sdk_athena::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            glue: aws_sdk_glue::Client::new(config),
            firehose: aws_sdk_firehose::Client::new(config),
        }
    }
}

type Body = http_body_util::Empty<hyper::body::Bytes>;

/// How long one API call may take, connection included.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An answer of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `x-amzn-RequestId`: the `requestId` of the access-log record.
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

/// GET over HTTPS (or HTTP, for a stand-in on loopback), trusting the system's roots.
#[derive(Clone)]
pub struct Http {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>,
}

impl Http {
    pub fn new() -> Result<Http, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| format!("cannot read the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// GET `url`, with `Authorization: <authorization>` when given.
    pub async fn get(&self, url: &str, authorization: Option<&str>) -> Result<Answer, String> {
        let mut request = http::Request::get(url);
        if let Some(value) = authorization {
            request = request.header(http::header::AUTHORIZATION, value);
        }
        let request = request
            .body(Body::new())
            .map_err(|e| format!("GET {url}: {e}"))?;
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
            let status = response.status().as_u16();
            let request_id = response
                .headers()
                .get("x-amzn-requestid")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .map_err(|e| format!("GET {url}: reading the body: {e}"))?
                .to_bytes()
                .to_vec();
            Ok(Answer {
                status,
                request_id,
                body,
            })
        };
        tokio::time::timeout(HTTP_TIMEOUT, call)
            .await
            .map_err(|_| format!("GET {url}: no answer within {} s", HTTP_TIMEOUT.as_secs()))?
    }
}

/// An error and its sources, `: `-separated (hyper's own message is only the outermost).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
