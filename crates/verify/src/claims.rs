//! The claims of a Cognito token, read without checking its signature: `verify` only shows
//! what Cognito put in the token it issued; API Gateway checks the signature.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// The payload of a JWT (`header.payload.signature`).
pub fn claims(token: &str) -> Result<Map<String, Value>, String> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the token is not a JWT (three dot-separated parts)".into());
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("the token's payload is not base64url: {e}"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        Ok(_) => Err("the token's payload is not a JSON object".into()),
        Err(e) => Err(format!("the token's payload is not JSON: {e}")),
    }
}

/// A claim's value as text (a string claim, or any other JSON value as JSON).
pub fn claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn reads_the_payload() {
        let claims = claims(&token(
            r#"{"sub": "u-1", "custom:tenant_id": "acme", "n": 3}"#,
        ))
        .unwrap();
        assert_eq!(claim(&claims, "custom:tenant_id").as_deref(), Some("acme"));
        assert_eq!(claim(&claims, "n").as_deref(), Some("3"));
        assert_eq!(claim(&claims, "email"), None);
    }

    #[test]
    fn refuses_what_is_not_a_jwt() {
        assert_eq!(
            claims("abc").unwrap_err(),
            "the token is not a JWT (three dot-separated parts)"
        );
        assert!(claims("a.!!.c")
            .unwrap_err()
            .starts_with("the token's payload is not base64url"));
        assert_eq!(
            claims(&token("[1]")).unwrap_err(),
            "the token's payload is not a JSON object"
        );
    }
}
