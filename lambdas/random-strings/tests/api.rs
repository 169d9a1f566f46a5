mod common;

use common::{bad_request_message, body_text, event, event_with, ok_strings};
use random_strings::handle;
use serde_json::{json, Value};

fn strings_for(pairs: &[(&str, &str)]) -> Vec<String> {
    ok_strings(&handle(&event_with(pairs)))
}

fn assert_shape(strings: &[String], num: usize, len: usize, allowed: fn(&char) -> bool) {
    assert_eq!(strings.len(), num, "{strings:?}");
    for s in strings {
        assert_eq!(s.chars().count(), len, "{s:?}");
        assert!(s.chars().all(|c| allowed(&c)), "{s:?}");
    }
}

fn is_ascii_letter(c: &char) -> bool {
    c.is_ascii_alphabetic()
}
fn is_ascii_lower(c: &char) -> bool {
    c.is_ascii_lowercase()
}
fn is_ascii_upper(c: &char) -> bool {
    c.is_ascii_uppercase()
}
fn is_ascii_digit(c: &char) -> bool {
    c.is_ascii_digit()
}

#[test]
fn no_query_string_gives_one_letter() {
    let strings = ok_strings(&handle(&event(Value::Null, Value::Null)));
    assert_shape(&strings, 1, 1, is_ascii_letter);
}

#[test]
fn missing_query_maps_give_defaults() {
    let mut raw = serde_json::to_value(event(Value::Null, Value::Null)).unwrap();
    let object = raw.as_object_mut().unwrap();
    object.remove("queryStringParameters");
    object.remove("multiValueQueryStringParameters");
    let event = serde_json::from_value(raw).unwrap();
    assert_shape(&ok_strings(&handle(&event)), 1, 1, is_ascii_letter);
}

#[test]
fn empty_query_maps_give_defaults() {
    let strings = ok_strings(&handle(&event(json!({}), json!({}))));
    assert_shape(&strings, 1, 1, is_ascii_letter);
}

#[test]
fn letters_alphabet() {
    let strings = strings_for(&[("chars", "letters"), ("num", "100"), ("len", "20")]);
    assert_shape(&strings, 100, 20, is_ascii_letter);
    let all: String = strings.concat();
    // 2000 uniform draws from 52 letters: both cases show up with overwhelming probability.
    assert!(all.chars().any(|c| c.is_ascii_lowercase()));
    assert!(all.chars().any(|c| c.is_ascii_uppercase()));
}

#[test]
fn lowercase_alphabet() {
    let strings = strings_for(&[("chars", "lowercase"), ("num", "7"), ("len", "13")]);
    assert_shape(&strings, 7, 13, is_ascii_lower);
}

#[test]
fn uppercase_alphabet() {
    let strings = strings_for(&[("chars", "uppercase"), ("num", "3"), ("len", "20")]);
    assert_shape(&strings, 3, 20, is_ascii_upper);
}

#[test]
fn digits_alphabet() {
    let strings = strings_for(&[("chars", "digits"), ("num", "50"), ("len", "9")]);
    assert_shape(&strings, 50, 9, is_ascii_digit);
}

#[test]
fn chars_defaults_to_letters_when_only_sizes_are_given() {
    let strings = strings_for(&[("num", "4"), ("len", "6")]);
    assert_shape(&strings, 4, 6, is_ascii_letter);
}

#[test]
fn num_and_len_within_their_ranges_are_used() {
    for (num, len) in [("1", "1"), ("+42", "020"), ("100", "20"), ("007", "7")] {
        let strings = strings_for(&[("num", num), ("len", len), ("chars", "digits")]);
        let (n, l) = (num.parse().unwrap(), len.parse().unwrap());
        assert_shape(&strings, n, l, is_ascii_digit);
    }
}

#[test]
fn num_and_len_outside_their_ranges_are_rejected() {
    for (param, raw, range) in [
        ("num", "0", "1 to 100"),
        ("num", "-5", "1 to 100"),
        ("num", "-0", "1 to 100"),
        ("num", "101", "1 to 100"),
        ("num", "9223372036854775808", "1 to 100"),
        ("num", "99999999999999999999999", "1 to 100"),
        ("num", "-99999999999999999999999", "1 to 100"),
        ("len", "0", "1 to 20"),
        ("len", "-1", "1 to 20"),
        ("len", "21", "1 to 20"),
        ("len", "1000", "1 to 20"),
    ] {
        let message = bad_request_message(&handle(&event_with(&[(param, raw)])));
        assert_eq!(
            message,
            format!("query parameter '{param}' must be an integer from {range}"),
            "{param}={raw}"
        );
    }
}

#[test]
fn unknown_chars_is_rejected() {
    for raw in ["", "alpha", "Letters", "DIGITS", "letters ", "hex"] {
        let message = bad_request_message(&handle(&event_with(&[("chars", raw)])));
        assert_eq!(
            message,
            "query parameter 'chars' must be one of: letters, lowercase, uppercase, digits",
            "chars={raw:?}"
        );
    }
}

#[test]
fn non_integer_num_is_rejected() {
    for raw in ["abc", "1.5", "", " ", "1e2", "0x10", "5 ", "--1", "-", "+"] {
        let message = bad_request_message(&handle(&event_with(&[("num", raw)])));
        assert_eq!(
            message, "query parameter 'num' must be an integer from 1 to 100",
            "num={raw:?}"
        );
    }
}

#[test]
fn non_integer_len_is_rejected() {
    for raw in ["abc", "1.5", "", "２", "3,5", "NaN"] {
        let message = bad_request_message(&handle(&event_with(&[("len", raw)])));
        assert_eq!(
            message, "query parameter 'len' must be an integer from 1 to 20",
            "len={raw:?}"
        );
    }
}

#[test]
fn repeated_keys_are_rejected() {
    for key in ["chars", "num", "len"] {
        let value = if key == "chars" { "digits" } else { "3" };
        // API Gateway keeps the last value in the single-value map.
        let response = handle(&event(
            json!({ key: value }),
            json!({ key: [value, value] }),
        ));
        let message = bad_request_message(&response);
        assert_eq!(
            message,
            format!("query parameter '{key}' must not be given more than once")
        );
    }
}

#[test]
fn repeated_unknown_keys_are_ignored() {
    let response = handle(&event(
        json!({ "num": "2", "foo": "b" }),
        json!({ "num": ["2"], "foo": ["a", "b"] }),
    ));
    assert_shape(&ok_strings(&response), 2, 1, is_ascii_letter);
}

#[test]
fn unknown_keys_are_ignored() {
    let strings = strings_for(&[("num", "2"), ("len", "3"), ("foo", "bar"), ("Num", "x")]);
    assert_shape(&strings, 2, 3, is_ascii_letter);
}

#[test]
fn first_error_is_reported_in_parameter_order() {
    let message = bad_request_message(&handle(&event_with(&[
        ("chars", "nope"),
        ("num", "x"),
        ("len", "y"),
    ])));
    assert!(message.contains("'chars'"), "{message}");
    let message = bad_request_message(&handle(&event_with(&[("num", "x"), ("len", "y")])));
    assert!(message.contains("'num'"), "{message}");
}

#[test]
fn response_serializes_as_api_gateway_expects() {
    let response = handle(&event_with(&[("num", "2"), ("len", "4")]));
    let wire = serde_json::to_value(&response).unwrap();
    assert_eq!(wire["statusCode"], 200);
    assert_eq!(wire["headers"]["content-type"], "application/json");
    assert_eq!(wire["isBase64Encoded"], false);
    let body: Vec<String> = serde_json::from_str(wire["body"].as_str().unwrap()).unwrap();
    assert_eq!(body.len(), 2);
    assert_eq!(body_text(&response), wire["body"].as_str().unwrap());
}

#[test]
fn successive_calls_differ() {
    let query = [("num", "100"), ("len", "20")];
    let first = strings_for(&query);
    let second = strings_for(&query);
    assert_ne!(
        first, second,
        "an OS-seeded generator should not repeat 2000 letters"
    );
}
