//! Handler logic of the `RandomStrings` API Lambda.
//!
//! The function sits behind an API Gateway REST API (`AWS_PROXY` integration)
//! and answers with a JSON array of randomly generated strings. Its behaviour
//! is driven by three optional query string parameters:
//!
//! | parameter | values                                                | default   |
//! |-----------|-------------------------------------------------------|-----------|
//! | `chars`   | `letters`, `lowercase`, `uppercase`, `digits`         | `letters` |
//! | `num`     | integer in `1..=100` (how many strings)               | `1`       |
//! | `len`     | integer in `1..=20` (length of each string)           | `1`       |
//!
//! Everything here is plain synchronous code so that it can be tested without
//! the Lambda runtime; `src/main.rs` only wires [`handle`] into `lambda_runtime`.

use std::fmt;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::header::{HeaderValue, CONTENT_TYPE};
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::query_map::QueryMap;
use rand::{Rng, RngExt};
use serde::Serialize;

/// Smallest number of strings returned; lower `num` values are raised to it.
pub const NUM_MIN: usize = 1;
/// Largest number of strings returned; higher `num` values are lowered to it.
pub const NUM_MAX: usize = 100;
/// Shortest string length.
pub const LEN_MIN: usize = 1;
/// Longest string length.
pub const LEN_MAX: usize = 20;

/// Name of the query parameter selecting the alphabet.
pub const PARAM_CHARS: &str = "chars";
/// Name of the query parameter giving the number of strings.
pub const PARAM_NUM: &str = "num";
/// Name of the query parameter giving the length of each string.
pub const PARAM_LEN: &str = "len";

const LOWERCASE: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";

/// The alphabet the generated strings are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Charset {
    /// `a-z` and `A-Z`.
    #[default]
    Letters,
    /// `a-z`.
    Lowercase,
    /// `A-Z`.
    Uppercase,
    /// `0-9`.
    Digits,
}

impl Charset {
    /// Every charset, in the order their names are listed in error messages.
    pub const ALL: [Charset; 4] = [
        Charset::Letters,
        Charset::Lowercase,
        Charset::Uppercase,
        Charset::Digits,
    ];

    /// Parses the value of the `chars` query parameter (exact, case-sensitive match).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The value of the `chars` query parameter that selects this charset.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Letters => "letters",
            Charset::Lowercase => "lowercase",
            Charset::Uppercase => "uppercase",
            Charset::Digits => "digits",
        }
    }

    /// The characters of this charset, all ASCII.
    pub fn alphabet(self) -> &'static [u8] {
        match self {
            Charset::Letters => LETTERS,
            Charset::Lowercase => LOWERCASE,
            Charset::Uppercase => UPPERCASE,
            Charset::Digits => DIGITS,
        }
    }
}

/// A validated request: what to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Alphabet to draw characters from.
    pub chars: Charset,
    /// Number of strings, within `NUM_MIN..=NUM_MAX`.
    pub num: usize,
    /// Length of each string, within `LEN_MIN..=LEN_MAX`.
    pub len: usize,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            chars: Charset::Letters,
            num: 1,
            len: 1,
        }
    }
}

/// Why the query string was rejected; each variant becomes a 400 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// `chars` is not one of the names in [`Charset::ALL`].
    UnknownCharset,
    /// `num` or `len` is not an integer in its range (see [`parse_in_range`]).
    NotAnIntegerInRange {
        /// The offending parameter name.
        param: &'static str,
        /// Smallest accepted value.
        min: usize,
        /// Largest accepted value.
        max: usize,
    },
    /// The parameter was given more than once.
    Repeated {
        /// The offending parameter name.
        param: &'static str,
    },
}

impl QueryError {
    /// The query parameter this error is about.
    pub fn param(&self) -> &'static str {
        match self {
            QueryError::UnknownCharset => PARAM_CHARS,
            QueryError::NotAnIntegerInRange { param, .. } | QueryError::Repeated { param } => param,
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::UnknownCharset => {
                write!(f, "query parameter '{PARAM_CHARS}' must be one of: ")?;
                for (i, charset) in Charset::ALL.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(charset.name())?;
                }
                Ok(())
            }
            QueryError::NotAnIntegerInRange { param, min, max } => {
                write!(
                    f,
                    "query parameter '{param}' must be an integer from {min} to {max}"
                )
            }
            QueryError::Repeated { param } => {
                write!(
                    f,
                    "query parameter '{param}' must not be given more than once"
                )
            }
        }
    }
}

impl std::error::Error for QueryError {}

/// Parses an integer query value that must lie in `min..=max`.
///
/// Accepted syntax: an optional `+` sign followed by one or more ASCII digits,
/// nothing else (no surrounding whitespace, no decimal point, no exponent, not
/// empty). Anything else, and any value outside the range (negative, zero when
/// `min > 0`, too large, even beyond `u64`), returns `None`, which the handler
/// turns into a 400.
pub fn parse_in_range(raw: &str, min: usize, max: usize) -> Option<usize> {
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Only overflow can fail here, and an overflowing value is out of range anyway.
    let value = usize::try_from(digits.parse::<u64>().ok()?).ok()?;
    (min..=max).contains(&value).then_some(value)
}

/// Returns the single value of `param`, `None` if it is absent, or
/// [`QueryError::Repeated`] if it was given more than once.
///
/// API Gateway REST events carry repeated keys only in
/// `multiValueQueryStringParameters` (`queryStringParameters` keeps the last
/// one), so both maps are consulted.
fn single_value<'a>(
    query: &'a QueryMap,
    multi: &'a QueryMap,
    param: &'static str,
) -> Result<Option<&'a str>, QueryError> {
    let single_values = query.all(param).unwrap_or_default();
    let multi_values = multi.all(param).unwrap_or_default();
    if single_values.len() > 1 || multi_values.len() > 1 {
        return Err(QueryError::Repeated { param });
    }
    Ok(multi_values
        .first()
        .or_else(|| single_values.first())
        .copied())
}

/// Validates the query string of a REST API proxy event.
///
/// `query` is `queryStringParameters` and `multi` is
/// `multiValueQueryStringParameters`; either may be empty (a `null` map in the
/// event deserializes to an empty one). Missing parameters take their
/// defaults, unknown parameters are ignored.
pub fn parse_query(query: &QueryMap, multi: &QueryMap) -> Result<Request, QueryError> {
    let chars = match single_value(query, multi, PARAM_CHARS)? {
        None => Charset::default(),
        Some(raw) => Charset::from_name(raw).ok_or(QueryError::UnknownCharset)?,
    };
    let int_param =
        |param: &'static str, min, max, default| match single_value(query, multi, param)? {
            None => Ok(default),
            Some(raw) => parse_in_range(raw, min, max).ok_or(QueryError::NotAnIntegerInRange {
                param,
                min,
                max,
            }),
        };
    let defaults = Request::default();
    let num = int_param(PARAM_NUM, NUM_MIN, NUM_MAX, defaults.num)?;
    let len = int_param(PARAM_LEN, LEN_MIN, LEN_MAX, defaults.len)?;
    Ok(Request { chars, num, len })
}

/// Generates `req.num` strings of `req.len` characters drawn uniformly from
/// the alphabet of `req.chars`.
pub fn generate<R: Rng + ?Sized>(req: &Request, rng: &mut R) -> Vec<String> {
    let alphabet = req.chars.alphabet();
    (0..req.num)
        .map(|_| {
            (0..req.len)
                .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
                .collect()
        })
        .collect()
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
}

fn json_response(status_code: i64, body: String) -> ApiGatewayProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status_code;
    response.headers = headers;
    response.body = Some(Body::Text(body));
    response.is_base64_encoded = false;
    response
}

fn serialize_response<T: Serialize + ?Sized>(
    status_code: i64,
    value: &T,
) -> ApiGatewayProxyResponse {
    match serde_json::to_string(value) {
        Ok(body) => json_response(status_code, body),
        Err(_) => json_response(500, r#"{"message":"internal error"}"#.to_owned()),
    }
}

/// Builds the 400 response for a rejected query: `{"message": "..."}`.
pub fn error_response(error: &QueryError) -> ApiGatewayProxyResponse {
    let message = error.to_string();
    serialize_response(400, &ErrorBody { message: &message })
}

/// Handles one API Gateway REST proxy event; this is what the runtime calls.
///
/// Answers 200 with a JSON array of strings, or 400 with
/// `{"message": "..."}` when the query string is invalid. Randomness comes from
/// the OS-seeded, cryptographically secure thread-local generator.
pub fn handle(event: &ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    handle_with_rng(event, &mut rand::rng())
}

/// [`handle`] with a caller-supplied random number generator.
pub fn handle_with_rng<R: Rng + ?Sized>(
    event: &ApiGatewayProxyRequest,
    rng: &mut R,
) -> ApiGatewayProxyResponse {
    match parse_query(
        &event.query_string_parameters,
        &event.multi_value_query_string_parameters,
    ) {
        Ok(req) => serialize_response(200, &generate(&req, rng)),
        Err(error) => error_response(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::HashMap;

    fn map(pairs: &[(&str, &str)]) -> QueryMap {
        let mut inner: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            inner
                .entry((*k).to_owned())
                .or_default()
                .push((*v).to_owned());
        }
        QueryMap::from(inner)
    }

    #[test]
    fn parse_in_range_accepts_plus_sign_and_digits() {
        assert_eq!(parse_in_range("7", 1, 20), Some(7));
        assert_eq!(parse_in_range("+7", 1, 20), Some(7));
        assert_eq!(parse_in_range("007", 1, 20), Some(7));
        assert_eq!(parse_in_range("20", 1, 20), Some(20));
        assert_eq!(parse_in_range("1", 1, 20), Some(1));
    }

    #[test]
    fn parse_in_range_rejects_values_outside_the_range() {
        for raw in [
            "0",
            "-0",
            "-5",
            "21",
            "18446744073709551615",
            "99999999999999999999999",
            "-99999999999999999999999",
        ] {
            assert_eq!(parse_in_range(raw, 1, 20), None, "{raw:?}");
        }
    }

    #[test]
    fn parse_in_range_rejects_non_integers() {
        for raw in [
            "", "+", "-", "abc", "1.5", "1e3", " 1", "1 ", "--1", "+-1", "0x10", "١", "5a", "½",
        ] {
            assert_eq!(
                parse_in_range(raw, 1, 20),
                None,
                "{raw:?} should be rejected"
            );
        }
    }

    #[test]
    fn parse_query_prefers_multi_value_map_and_detects_repeats() {
        let single = map(&[("num", "3")]);
        let multi = map(&[("num", "3")]);
        assert_eq!(parse_query(&single, &multi).map(|r| r.num), Ok(3));

        let multi_only = map(&[("len", "4")]);
        assert_eq!(
            parse_query(&QueryMap::default(), &multi_only).map(|r| r.len),
            Ok(4)
        );

        let repeated = map(&[("len", "4"), ("len", "5")]);
        assert_eq!(
            parse_query(&map(&[("len", "5")]), &repeated),
            Err(QueryError::Repeated { param: "len" })
        );
        assert_eq!(
            parse_query(&repeated, &QueryMap::default()),
            Err(QueryError::Repeated { param: "len" })
        );
    }

    #[test]
    fn parse_query_treats_empty_value_list_as_absent() {
        let mut inner: HashMap<String, Vec<String>> = HashMap::new();
        inner.insert("num".to_owned(), Vec::new());
        let empty_list = QueryMap::from(inner);
        assert_eq!(
            parse_query(&empty_list, &empty_list),
            Ok(Request::default())
        );
    }

    #[test]
    fn error_messages_name_parameter_and_problem() {
        assert_eq!(
            QueryError::UnknownCharset.to_string(),
            "query parameter 'chars' must be one of: letters, lowercase, uppercase, digits"
        );
        assert_eq!(
            QueryError::NotAnIntegerInRange {
                param: "num",
                min: 1,
                max: 100
            }
            .to_string(),
            "query parameter 'num' must be an integer from 1 to 100"
        );
        assert_eq!(
            QueryError::Repeated { param: "len" }.to_string(),
            "query parameter 'len' must not be given more than once"
        );
        assert_eq!(QueryError::UnknownCharset.param(), "chars");
    }

    #[test]
    fn charset_names_round_trip() {
        for charset in Charset::ALL {
            assert_eq!(Charset::from_name(charset.name()), Some(charset));
        }
        assert_eq!(Charset::from_name("Letters"), None);
        assert_eq!(Charset::from_name(""), None);
    }

    #[test]
    fn alphabets_have_expected_members() {
        assert_eq!(Charset::Letters.alphabet().len(), 52);
        assert_eq!(Charset::Lowercase.alphabet().len(), 26);
        assert_eq!(Charset::Uppercase.alphabet().len(), 26);
        assert_eq!(Charset::Digits.alphabet().len(), 10);
        assert!(Charset::Lowercase
            .alphabet()
            .iter()
            .all(u8::is_ascii_lowercase));
        assert!(Charset::Uppercase
            .alphabet()
            .iter()
            .all(u8::is_ascii_uppercase));
        assert!(Charset::Digits.alphabet().iter().all(u8::is_ascii_digit));
        assert!(Charset::Letters
            .alphabet()
            .iter()
            .all(u8::is_ascii_alphabetic));
    }

    #[test]
    fn generate_covers_the_whole_alphabet() {
        let mut rng = StdRng::seed_from_u64(7);
        for charset in Charset::ALL {
            let req = Request {
                chars: charset,
                num: NUM_MAX,
                len: LEN_MAX,
            };
            let strings = generate(&req, &mut rng);
            assert_eq!(strings.len(), NUM_MAX);
            assert!(strings.iter().all(|s| s.len() == LEN_MAX));
            let mut seen: Vec<u8> = strings.concat().into_bytes();
            seen.sort_unstable();
            seen.dedup();
            let mut expected = charset.alphabet().to_vec();
            expected.sort_unstable();
            // 2000 draws from at most 52 symbols: missing one has probability < 1e-15.
            assert_eq!(seen, expected, "charset {}", charset.name());
        }
    }

    #[test]
    fn handle_with_rng_is_deterministic_for_a_given_rng() {
        let mut event = ApiGatewayProxyRequest::default();
        event.query_string_parameters = map(&[("num", "3"), ("len", "5")]);
        let a = handle_with_rng(&event, &mut StdRng::seed_from_u64(1));
        let b = handle_with_rng(&event, &mut StdRng::seed_from_u64(1));
        assert_eq!(a.status_code, 200);
        assert_eq!(a.body, b.body);
    }
}
