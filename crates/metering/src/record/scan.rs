//! The usual shape of an access-log line, read without serde: one flat JSON object of UTF-8
//! without control characters or backslashes, whose numbers are plain integers. Anything else
//! (an escape, a tab, a float, a nested value, a repeated or mistyped field, broken JSON) is
//! not decided here: [`record`] returns `None` and the line goes to serde_json, which accepts
//! or rejects it with its own message. A line this reader accepts is one serde_json accepts
//! with the same values, so both read every line alike.

use super::Record;
use std::borrow::Cow;

/// The keys [`Record`] reads, in the order of its fields.
#[cfg(test)]
pub(super) const KEYS: [&str; 8] = [
    "requestId",
    "requestTime",
    "httpMethod",
    "resourcePath",
    "status",
    "responseLength",
    "tenant",
    "sub",
];

/// The index in [`KEYS`] of `key` (a test binds the two lists).
fn field(key: &[u8]) -> Option<usize> {
    match key {
        b"requestId" => Some(0),
        b"requestTime" => Some(1),
        b"httpMethod" => Some(2),
        b"resourcePath" => Some(3),
        b"status" => Some(4),
        b"responseLength" => Some(5),
        b"tenant" => Some(6),
        b"sub" => Some(7),
        _ => None,
    }
}

/// Integers of up to 18 digits fit an `i64` whatever they are.
const MAX_DIGITS: usize = 18;

enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Null,
    /// `true` or `false`: valid, but not a type `Record` reads.
    Bool,
}

impl<'a> Value<'a> {
    fn string(self) -> Option<Option<Cow<'a, str>>> {
        match self {
            Value::Str(s) => Some(Some(Cow::Borrowed(s))),
            Value::Null => Some(None),
            Value::Int(_) | Value::Bool => None,
        }
    }

    fn integer(self) -> Option<Option<i64>> {
        match self {
            Value::Int(n) => Some(Some(n)),
            Value::Null => Some(None),
            Value::Str(_) | Value::Bool => None,
        }
    }
}

/// The record on `line`, or `None` when serde_json has to decide.
pub(super) fn record(line: &[u8]) -> Option<Record<'_>> {
    if !without_escapes(line) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let mut s = Scanner {
        text,
        bytes: line,
        at: 0,
    };
    let mut r = Record {
        request_id: None,
        request_time: None,
        http_method: None,
        resource_path: None,
        status: None,
        response_length: None,
        tenant: None,
        sub: None,
    };
    let mut seen = 0u8;
    s.skip_whitespace();
    s.expect(b'{')?;
    s.skip_whitespace();
    if s.peek() == Some(b'}') {
        s.at += 1;
    } else {
        loop {
            s.expect(b'"')?;
            let key = s.string()?;
            s.skip_whitespace();
            s.expect(b':')?;
            s.skip_whitespace();
            let value = s.value()?;
            if let Some(field) = field(key.as_bytes()) {
                // serde rejects a field given twice.
                if seen & (1 << field) != 0 {
                    return None;
                }
                seen |= 1 << field;
                match field {
                    0 => r.request_id = value.string()?,
                    1 => r.request_time = value.integer()?,
                    2 => r.http_method = value.string()?,
                    3 => r.resource_path = value.string()?,
                    4 => r.status = value.integer()?,
                    5 => r.response_length = value.integer()?,
                    6 => r.tenant = value.string()?,
                    _ => r.sub = value.string()?,
                }
            }
            s.skip_whitespace();
            match s.next()? {
                b',' => s.skip_whitespace(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.skip_whitespace();
    (s.at == line.len()).then_some(r)
}

/// No control character (not even a tab) and no backslash: then every string of the line ends
/// at its next quote and is what serde_json would read. One pass without branches, which the
/// compiler vectorises.
fn without_escapes(line: &[u8]) -> bool {
    let bad = line.iter().fold(0u8, |bad, &b| {
        bad | u8::from(b < 0x20) | u8::from(b == b'\\')
    });
    bad == 0
}

/// The first `"`, eight bytes at a time: strings are short, and a call to a vectorised
/// search costs more than it saves on them.
fn find_quote(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut words = bytes.chunks_exact(8);
    for (i, word) in words.by_ref().enumerate() {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ QUOTES;
        // The lowest high bit set marks the first zero byte of `x` exactly.
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(i * 8 + zeros.trailing_zeros() as usize / 8);
        }
    }
    let tail = bytes.len() - words.remainder().len();
    words
        .remainder()
        .iter()
        .position(|&b| b == b'"')
        .map(|i| tail + i)
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// The only JSON whitespace a printable line holds.
    fn skip_whitespace(&mut self) {
        while let Some(b' ') = self.peek() {
            self.at += 1;
        }
    }

    /// The rest of a string whose opening quote was read (the line has no escapes).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at;
        let len = find_quote(&self.bytes[start..])?;
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string().map(Value::Str)
            }
            b'-' | b'0'..=b'9' => self.integer().map(Value::Int),
            b'n' => self.literal(b"null").map(|()| Value::Null),
            b't' => self.literal(b"true").map(|()| Value::Bool),
            b'f' => self.literal(b"false").map(|()| Value::Bool),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// An integer without fraction or exponent (the caller then requires a delimiter, so
    /// `1.5` and `1e3` are left to serde_json). `-0` is a float to serde_json: left too.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        let digits = &self.bytes[start..self.at];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        if digits.is_empty() || digits.len() > MAX_DIGITS || leading_zero {
            return None;
        }
        if negative && digits == b"0" {
            return None;
        }
        let n = digits
            .iter()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        Some(if negative { -n } else { n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whatever this reader accepts, serde_json accepts with the same values.
    fn agrees(line: &[u8]) {
        if let Some(fast) = record(line) {
            let slow: Record = serde_json::from_slice(line).unwrap_or_else(|e| {
                panic!(
                    "{:?}: serde_json rejects it: {e}",
                    String::from_utf8_lossy(line)
                )
            });
            assert_eq!(
                format!("{fast:?}"),
                format!("{slow:?}"),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    const LINE: &str = r#"{"requestId": "r-1", "ip": "10.0.0.1", "user": "alice", "requestTime": 1764291600123, "httpMethod": "GET", "resourcePath": "/random/strings", "status": 200, "protocol": "HTTP/1.1", "responseLength": 17, "tenant": "acme", "sub": "s-1"}"#;

    proptest! {
        #[test]
        fn finds_the_first_quote(text in "[a\"\x7f\u{80}\u{100}]{0,40}") {
            prop_assert_eq!(find_quote(text.as_bytes()), text.bytes().position(|b| b == b'"'));
        }
    }

    #[test]
    fn finds_each_key_and_only_those() {
        for (i, key) in KEYS.iter().enumerate() {
            assert_eq!(field(key.as_bytes()), Some(i), "{key}");
            assert_eq!(field(&key.as_bytes()[1..]), None, "{key}");
            let mut other = key.as_bytes().to_vec();
            *other.last_mut().unwrap() ^= 0x20;
            assert_eq!(field(&other), None, "{key}");
        }
        for key in ["", "ip", "user", "protocol", "requestid", "statuS"] {
            assert_eq!(field(key.as_bytes()), None, "{key}");
        }
    }

    #[test]
    fn reads_the_usual_line() {
        let r = record(LINE.as_bytes()).expect("the usual shape");
        assert_eq!(r.request_id.as_deref(), Some("r-1"));
        assert_eq!(r.request_time, Some(1_764_291_600_123));
        assert_eq!(r.http_method.as_deref(), Some("GET"));
        assert_eq!(r.resource_path.as_deref(), Some("/random/strings"));
        assert_eq!((r.status, r.response_length), (Some(200), Some(17)));
        assert_eq!(r.tenant.as_deref(), Some("acme"));
        assert_eq!(r.sub.as_deref(), Some("s-1"));
        agrees(LINE.as_bytes());
    }

    #[test]
    fn leaves_everything_unusual_to_serde() {
        for line in [
            r#"{"requestId": "r\u0031", "requestTime": 1}"#,
            r#"{"requestId": "r", "requestTime": 1.0}"#,
            r#"{"requestId": "r", "requestTime": 1e3}"#,
            r#"{"requestId": "r", "requestTime": -0}"#,
            r#"{"requestId": "r", "requestTime": 01}"#,
            r#"{"requestId": "r", "requestTime": 1234567890123456789}"#,
            r#"{"requestId": "r", "requestTime": "1"}"#,
            r#"{"requestId": 1, "requestTime": 1}"#,
            r#"{"requestId": "r", "requestId": "s", "requestTime": 1}"#,
            r#"{"requestId": "r", "requestTime": 1, "x": {}}"#,
            r#"{"requestId": "r", "requestTime": 1, "x": [1]}"#,
            r#"{"requestId": "r", "requestTime": 1,}"#,
            r#"{"requestId": "r", "requestTime": 1} x"#,
            r#"{"requestId": "r", "requestTime": 1"#,
            r#"{"requestId": "r", "requestTime": nul}"#,
            r#"{"requestId": "r" "requestTime": 1}"#,
            "{\"requestId\": \"r\tr\", \"requestTime\": 1}",
            "{\"requestId\":\t\"r\", \"requestTime\": 1}",
            "{\"requestId\": \"r\u{7}\", \"requestTime\": 1}",
            "[1]",
            "\u{feff}{}",
        ] {
            assert!(record(line.as_bytes()).is_none(), "{line}");
        }
        assert!(record(b"{\"requestId\": \"\xff\", \"requestTime\": 1}").is_none());
    }

    #[test]
    fn reads_nulls_literals_and_whitespace_as_serde_does() {
        for line in [
            "{}",
            "  { }  ",
            r#"{"requestId": null, "requestTime": null, "tenant": null}"#,
            r#"{"x": true, "y": false, "z": null, "w": -12, "v": 0, "requestTime": -5}"#,
            r#"{"requestTime":123456789012345678,"requestId":"-","":""}"#,
            r#"{"requestId": "é", "requestTime": 1, "ü": "ß"}"#,
        ] {
            assert!(record(line.as_bytes()).is_some(), "{line}");
            agrees(line.as_bytes());
        }
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(KEYS.to_vec()).prop_map(|k| format!("\"{k}\"")),
            prop::sample::select(vec![
                "{", "}", ",", ":", " ", "\t", "\r", "\n", "\"", "\\", "null", "true", "false",
                "-", "0", "7", "1.5", "e3", "\"ip\"", "\"é\"", "\u{1}", "[", "]",
            ])
            .prop_map(String::from),
            "-?[0-9]{1,20}",
            "\"[ -~]{0,6}\"",
        ]
    }

    proptest! {
        /// Lines made of JSON's tokens and the record's keys, most of them broken.
        #[test]
        fn never_accepts_what_serde_reads_otherwise(tokens in prop::collection::vec(token(), 0..24)) {
            agrees(tokens.concat().as_bytes());
        }

        /// Well-formed records whose fields are of any type, some repeated.
        #[test]
        fn well_formed_records_read_alike(
            fields in prop::collection::vec(
                (
                    prop_oneof![prop::sample::select(KEYS.to_vec()), Just("ip")],
                    prop_oneof![
                        "\"[ -~]{0,8}\"",
                        "-?[0-9]{1,19}",
                        Just("null".to_string()),
                        Just("true".to_string()),
                        Just("1.25".to_string()),
                    ],
                ),
                0..10,
            ),
            space in prop::sample::select(vec!["", " ", "\t ", "\r\n"]),
        ) {
            let members: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("\"{k}\"{space}:{space}{v}"))
                .collect();
            let line = format!("{space}{{{space}{}{space}}}{space}", members.join(&format!(",{space}")));
            agrees(line.as_bytes());
        }
    }
}
