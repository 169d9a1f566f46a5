//! One access-log record, as API Gateway writes it (the fields of `access_log::FIELDS`).

use serde::Deserialize;
use std::borrow::Cow;

/// The tenant of requests that carry none (no claim, an empty claim, or API Gateway's `-`).
/// Such requests are metered and invoiced under this name, never dropped.
pub const UNASSIGNED: &str = "unassigned";

/// The fields metering reads; the others (`ip`, `user`, `protocol`) are skipped.
#[derive(Debug, Deserialize)]
pub struct Record<'a> {
    #[serde(rename = "requestId", borrow)]
    pub request_id: Option<Cow<'a, str>>,
    #[serde(rename = "requestTime")]
    pub request_time: Option<i64>,
    #[serde(rename = "httpMethod", borrow, default)]
    pub http_method: Option<Cow<'a, str>>,
    #[serde(rename = "resourcePath", borrow, default)]
    pub resource_path: Option<Cow<'a, str>>,
    #[serde(default)]
    pub status: Option<i64>,
    #[serde(rename = "responseLength", default)]
    pub response_length: Option<i64>,
    #[serde(borrow, default)]
    pub tenant: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub sub: Option<Cow<'a, str>>,
}

/// Why a line is not a usable record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("not a JSON access-log record: {0}")]
    Json(String),
    #[error("no `requestId`")]
    NoRequestId,
    #[error("no `requestTime`")]
    NoRequestTime,
    #[error("negative `responseLength` {0}")]
    NegativeLength(i64),
}

/// A record that can be metered.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub request_id: Cow<'a, str>,
    pub request_time: i64,
    pub http_method: Option<Cow<'a, str>>,
    pub resource_path: Option<Cow<'a, str>>,
    pub status: Option<i64>,
    pub response_length: Option<i64>,
    /// The tenant, or [`UNASSIGNED`].
    pub tenant: Cow<'a, str>,
    /// The caller's Cognito `sub`, if any.
    pub sub: Option<Cow<'a, str>>,
}

/// `None` for what API Gateway writes when a value is missing: nothing, `""` or `-`.
fn present(value: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    value.filter(|v| !v.is_empty() && v != "-")
}

impl<'a> Request<'a> {
    /// Parses one line (without its newline).
    pub fn parse(line: &'a [u8]) -> Result<Request<'a>, LineError> {
        let r: Record<'a> = match scan::record(line) {
            Some(r) => r,
            None => serde_json::from_slice(line).map_err(|e| LineError::Json(e.to_string()))?,
        };
        let request_id = present(r.request_id).ok_or(LineError::NoRequestId)?;
        let request_time = r.request_time.ok_or(LineError::NoRequestTime)?;
        if let Some(n) = r.response_length.filter(|n| *n < 0) {
            return Err(LineError::NegativeLength(n));
        }
        Ok(Request {
            request_id,
            request_time,
            http_method: r.http_method,
            resource_path: r.resource_path,
            status: r.status,
            response_length: r.response_length,
            tenant: present(r.tenant).unwrap_or(Cow::Borrowed(UNASSIGNED)),
            sub: present(r.sub),
        })
    }
}

#[cfg(test)]
mod catalogue;
mod scan;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_record() {
        let line = br#"{"requestId": "r-1", "ip": "10.0.0.1", "user": "alice", "requestTime": 1764291600123, "httpMethod": "GET", "resourcePath": "/random/strings", "status": 200, "protocol": "HTTP/1.1", "responseLength": 17, "tenant": "acme", "sub": "s-1"}"#;
        let r = Request::parse(line).unwrap();
        assert_eq!(r.request_id, "r-1");
        assert_eq!(r.request_time, 1_764_291_600_123);
        assert_eq!(r.tenant, "acme");
        assert_eq!(r.sub.as_deref(), Some("s-1"));
        assert_eq!((r.status, r.response_length), (Some(200), Some(17)));
    }

    #[test]
    fn missing_tenants_are_unassigned() {
        for tenant in [r#""tenant": "-","#, r#""tenant": "","#, ""] {
            let line = format!(r#"{{{tenant} "requestId": "r", "requestTime": 1, "sub": "-"}}"#);
            let r = Request::parse(line.as_bytes()).unwrap();
            assert_eq!(r.tenant, UNASSIGNED, "{line}");
            assert_eq!(r.sub, None);
        }
    }

    #[test]
    fn rejects_what_cannot_be_metered() {
        assert!(matches!(
            Request::parse(b"{not json"),
            Err(LineError::Json(_))
        ));
        assert!(matches!(Request::parse(b"[1]"), Err(LineError::Json(_))));
        assert!(matches!(
            Request::parse(br#"{"requestId": "r", "requestTime": "x"}"#),
            Err(LineError::Json(_))
        ));
        assert_eq!(
            Request::parse(br#"{"requestTime": 1}"#),
            Err(LineError::NoRequestId)
        );
        assert_eq!(
            Request::parse(br#"{"requestId": "-", "requestTime": 1}"#),
            Err(LineError::NoRequestId)
        );
        assert_eq!(
            Request::parse(br#"{"requestId": "r"}"#),
            Err(LineError::NoRequestTime)
        );
        assert_eq!(
            Request::parse(br#"{"requestId": "r", "requestTime": 1, "responseLength": -5}"#),
            Err(LineError::NegativeLength(-5))
        );
    }
}
