mod common;

use std::collections::HashMap;

use common::{body_text, content_type, event};
use proptest::prelude::*;
use random_strings::handle;
use serde_json::Value;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("chars".to_owned()),
        Just("num".to_owned()),
        Just("len".to_owned()),
        ".{0,6}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("letters".to_owned()),
        Just("lowercase".to_owned()),
        Just("uppercase".to_owned()),
        Just("digits".to_owned()),
        "[+-]?[0-9]{0,30}",
        ".{0,12}",
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn check(event: &aws_lambda_events::apigw::ApiGatewayProxyRequest) -> Result<(), TestCaseError> {
    let response = handle(event);
    prop_assert_eq!(content_type(&response), Some("application/json"));
    let body: Value = serde_json::from_str(body_text(&response))
        .map_err(|e| TestCaseError::fail(format!("body is not JSON: {e}")))?;
    match response.status_code {
        200 => {
            let strings = body.as_array().expect("200 body is an array");
            prop_assert!((1..=100).contains(&strings.len()));
            let first_len = strings[0].as_str().map(str::len);
            for s in strings {
                let s = s.as_str().expect("array of strings");
                prop_assert!((1..=20).contains(&s.len()));
                prop_assert_eq!(Some(s.len()), first_len);
                prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
            }
        }
        400 => {
            let message = body["message"].as_str().expect("400 body has a message");
            prop_assert!(
                ["'chars'", "'num'", "'len'"]
                    .iter()
                    .any(|p| message.contains(p)),
                "message names a parameter: {}",
                message
            );
        }
        other => prop_assert!(false, "unexpected status {}", other),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn single_value_maps_never_panic(query in prop::collection::hash_map(key(), value(), 0..6)) {
        let multi: HashMap<String, Vec<String>> = query
            .iter()
            .map(|(k, v)| (k.clone(), vec![v.clone()]))
            .collect();
        check(&event(
            serde_json::to_value(&query).unwrap(),
            serde_json::to_value(&multi).unwrap(),
        ))?;
    }

    #[test]
    fn arbitrary_multi_value_maps_never_panic(
        query in prop::collection::hash_map(key(), value(), 0..6),
        multi in prop::collection::hash_map(key(), prop::collection::vec(value(), 0..4), 0..6),
    ) {
        check(&event(
            serde_json::to_value(&query).unwrap(),
            serde_json::to_value(&multi).unwrap(),
        ))?;
    }
}

/// The oracle: `+`-optional ASCII digits whose value lies in `min..=max`.
fn accepted(raw: &str, min: u128, max: u128) -> bool {
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits
            .parse::<u128>()
            .is_ok_and(|v| (min..=max).contains(&v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn num_and_len_answer_200_exactly_when_in_range(param in prop_oneof![Just("num"), Just("len")], raw in value()) {
        let query = HashMap::from([(param.to_owned(), raw.clone())]);
        let multi = HashMap::from([(param.to_owned(), vec![raw.clone()])]);
        let response = handle(&event(
            serde_json::to_value(&query).unwrap(),
            serde_json::to_value(&multi).unwrap(),
        ));
        let max = if param == "num" { 100 } else { 20 };
        let expected = if accepted(&raw, 1, max) { 200 } else { 400 };
        prop_assert_eq!(response.status_code, expected, "{}={:?}", param, raw);
    }
}
