//! The answers the README quotes under its `curl` calls are the ones the function gives, so
//! they cannot drift: each `curl … "${API}/random/strings?<query>" …` line followed by a
//! `# <body>` line is replayed through the handler. An error body must be the same bytes; a
//! list of random strings must have the shape the query asks for.

mod common;

use common::{body_text, event_with};
use random_strings::handle;

/// (query string, quoted body, the text after the body: `(HTTP 400)` or empty)
fn quoted_calls(readme: &str) -> Vec<(String, String, String)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut calls = Vec::new();
    for pair in lines.windows(2) {
        let (call, answer) = (pair[0].trim(), pair[1].trim());
        let Some(rest) = call.strip_prefix("curl ") else {
            continue;
        };
        let Some(answer) = answer.strip_prefix("# ") else {
            continue;
        };
        let query = rest
            .split("/random/strings?")
            .nth(1)
            .and_then(|q| q.split('"').next())
            .expect("a quoted call to /random/strings");
        let (body, note) = match answer.find("   (") {
            Some(at) => (&answer[..at], answer[at..].trim()),
            None => (answer, ""),
        };
        calls.push((query.to_owned(), body.to_owned(), note.to_owned()));
    }
    calls
}

#[test]
fn the_readmes_quoted_answers_are_the_functions() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let calls = quoted_calls(&readme);
    assert!(calls.len() >= 2, "the README quotes calls: {calls:?}");
    for (query, body, note) in calls {
        let pairs: Vec<(&str, &str)> = query
            .split('&')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        let response = handle(&event_with(&pairs));
        let status = response.status_code;
        if let Some(code) = note
            .strip_prefix("(HTTP ")
            .and_then(|n| n.strip_suffix(')'))
        {
            assert_eq!(status.to_string(), code, "{query}");
            assert_eq!(
                body_text(&response),
                body,
                "{query}: the README quotes another body"
            );
            continue;
        }
        assert_eq!(status, 200, "{query}");
        let quoted: Vec<String> = serde_json::from_str(&body).unwrap();
        let answered: Vec<String> = serde_json::from_str(body_text(&response)).unwrap();
        assert_eq!(quoted.len(), answered.len(), "{query}: number of strings");
        for (q, a) in quoted.iter().zip(&answered) {
            assert_eq!(q.chars().count(), a.chars().count(), "{query}: length");
        }
        let lower = |s: &Vec<String>| s.iter().all(|s| s.chars().all(|c| c.is_ascii_lowercase()));
        if query.contains("chars=lowercase") {
            assert!(lower(&quoted) && lower(&answered), "{query}");
        }
    }
}
