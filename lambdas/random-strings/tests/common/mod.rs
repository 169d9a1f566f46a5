#![allow(dead_code)]

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use serde_json::{json, Value};

/// A REST API `AWS_PROXY` event as API Gateway sends it behind a Cognito
/// authorizer, with the given query maps (`Value::Null` for "no query string").
pub fn event(query: Value, multi: Value) -> ApiGatewayProxyRequest {
    let raw = json!({
        "resource": "/random",
        "path": "/random",
        "httpMethod": "GET",
        "headers": {
            "Accept": "*/*",
            "Authorization": "eyJraWQiOi.example.token",
            "Host": "abc123.execute-api.us-east-1.amazonaws.com"
        },
        "multiValueHeaders": {
            "Accept": ["*/*"],
            "Authorization": ["eyJraWQiOi.example.token"],
            "Host": ["abc123.execute-api.us-east-1.amazonaws.com"]
        },
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "resourceId": "a1b2c3",
            "authorizer": {
                "claims": {
                    "sub": "11111111-2222-3333-4444-555555555555",
                    "cognito:username": "alice",
                    "token_use": "id"
                }
            },
            "resourcePath": "/random",
            "httpMethod": "GET",
            "extendedRequestId": "Xyz=",
            "requestTime": "01/Jan/2025:00:00:00 +0000",
            "path": "/prod/random",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1735689600000_i64,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0"
            },
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc123"
        },
        "body": null,
        "isBase64Encoded": false
    });
    serde_json::from_value(raw).expect("fixture is a valid REST proxy event")
}

/// An event whose query string has each `(key, value)` once, as API Gateway
/// fills both the single- and multi-value maps.
pub fn event_with(pairs: &[(&str, &str)]) -> ApiGatewayProxyRequest {
    let mut query = serde_json::Map::new();
    let mut multi = serde_json::Map::new();
    for (k, v) in pairs {
        query.insert((*k).to_owned(), json!(v));
        multi.insert((*k).to_owned(), json!([v]));
    }
    event(Value::Object(query), Value::Object(multi))
}

pub fn body_text(response: &ApiGatewayProxyResponse) -> &str {
    match &response.body {
        Some(Body::Text(text)) => text,
        other => panic!("expected a text body, got {other:?}"),
    }
}

pub fn content_type(response: &ApiGatewayProxyResponse) -> Option<&str> {
    response
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
}

/// Asserts a 200 JSON response and returns its array of strings.
pub fn ok_strings(response: &ApiGatewayProxyResponse) -> Vec<String> {
    assert_eq!(response.status_code, 200, "body: {}", body_text(response));
    assert_eq!(content_type(response), Some("application/json"));
    assert!(!response.is_base64_encoded);
    serde_json::from_str(body_text(response)).expect("200 body is a JSON array of strings")
}

/// Asserts a 400 JSON response and returns its `message`.
pub fn bad_request_message(response: &ApiGatewayProxyResponse) -> String {
    assert_eq!(response.status_code, 400, "body: {}", body_text(response));
    assert_eq!(content_type(response), Some("application/json"));
    let body: Value = serde_json::from_str(body_text(response)).expect("400 body is JSON");
    let object = body.as_object().expect("400 body is a JSON object");
    assert_eq!(object.len(), 1, "only a message: {body}");
    object["message"]
        .as_str()
        .expect("message is a string")
        .to_owned()
}
