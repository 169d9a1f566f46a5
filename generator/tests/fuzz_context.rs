//! Fuzzing of the context parser and validator: whatever the input, `metering-gen` must never
//! panic, and every rejection must be diagnostics that name the context file and say something.
//! When validation passes, rendering must succeed and every `.tf` file must parse as HCL.
//!
//! Properties, each run in-process through the library (`context::parse`/`context::load`,
//! `Model::build`, `render::render`):
//! - `arbitrary_json_documents`: nested JSON of every type, keys drawn from random strings, the
//!   real section and key names and typos of them; duplicate keys, out-of-range number tokens
//!   and broken escapes included.
//! - `arbitrary_bytes`: random bytes, random strings, JSON-looking token soup, truncated JSON,
//!   examples with bytes spliced in, a BOM or UTF-16: read from a file like the CLI does.
//! - `mutated_examples`: every `examples/*.json` with 1 to 3 mutations (delete a key, change a
//!   value's type, edit a string, set an extreme number, duplicate a key, insert an unknown or a
//!   known key), pretty or compact, sometimes truncated at a random byte.
//!
//! Cases per property: `PROPTEST_CASES` (proptest's default, 256, when unset). Each property
//! prints its seed (shown by `--nocapture` or on failure); rerun the same cases with
//! `PROPTEST_RNG_SEED=<seed>`. Failing seeds are saved under the target directory, never in the
//! source tree. `make fuzz` runs `PROPTEST_CASES=20000` in release mode.
//!
//! Bugs the fuzzer found have a regression test each at the end of this file.

mod common;

use common::workspace;

use metering_gen::artifacts;
use metering_gen::context;
use metering_gen::diagnostic::{Diagnostics, Place};
use metering_gen::model::{LambdaCrate, Model};
use metering_gen::render;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestCaseError, TestRunner};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The context's vocabulary

/// A section of the context and the keys of its object; no keys for a section holding a
/// scalar (`athena_work_group_name`).
struct Section {
    name: &'static str,
    keys: Vec<String>,
}

/// Every section and key the parser reads, asked from the parser itself so that the fuzzer
/// follows it as keys are added: `context::SECTIONS` names the sections, and an unknown key in
/// one is answered with "unknown key; expected one of `a`, `b`, …".
/// `the_fuzzer_knows_every_section_and_key` checks the answer.
fn schema() -> &'static [Section] {
    static SCHEMA: OnceLock<Vec<Section>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        context::SECTIONS
            .iter()
            .map(|&name| {
                let text = serde_json::json!({ name: { "\u{1}": 0 } }).to_string();
                let keys = match context::parse("schema.json", &text) {
                    Err(d) => d.0[0]
                        .message
                        .split_once("expected one of ")
                        .map(|(_, list)| {
                            list.split('`')
                                .skip(1)
                                .step_by(2)
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                    Ok(_) => Vec::new(),
                };
                Section { name, keys }
            })
            .collect()
    })
}

/// Top-level keys that CDK owns: accepted and ignored.
const CDK_KEYS: &[&str] = &[
    "acknowledged-issue-numbers",
    "vpc_name",
    "@aws-cdk/core:newStyleStackSynthesis",
    "aws-cdk:enableDiffNoFail",
    "availability-zones:account=123456789012:region=us-east-1",
];

fn known_keys() -> Vec<&'static str> {
    let mut keys: Vec<&str> = CDK_KEYS.to_vec();
    for section in schema() {
        keys.push(section.name);
        keys.extend(section.keys.iter().map(String::as_str));
    }
    keys
}

/// Strings that sit on the validator's rules: placeholders, expressions, separators,
/// interpolation, case folding, invisible and control characters.
const SPECIAL_STRINGS: &[&str] = &[
    " ",
    "\t",
    "\n",
    "\r\n",
    "\u{0}",
    "\u{1b}[31mred",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{feff}",
    "\u{202e}abc",
    "\u{200b}",
    "🦀",
    "e\u{301}",
    "ǅ",
    "İ",
    "ß",
    "ﬃ",
    "日本語",
    "${var.x}",
    "%{ if true }",
    "$${x}",
    "\"",
    "\\",
    "'",
    "`",
    "{",
    "}",
    "{region}",
    "{account-id}",
    "{region",
    "{stage}",
    "logs-{region}-{account-id}",
    "!{",
    "!{}",
    "!{timestamp:yyyy}",
    "!{timestamp:}",
    "!{firehose:random-string}",
    "!{firehose:error-output-type}",
    "!{partitionKeyFromQuery:x}",
    "json-data/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
    "/",
    "//",
    ".",
    "..",
    "a/../b",
    "a//b",
    "-",
    "xn--a",
    "192.168.0.1",
    "a..b",
    "aws:tag",
    "AWS:Tag",
    "cron(",
    "cron()",
    "cron(10 * * * ? *)",
    "cron(* * * * * * *)",
    "rate(1 hour)",
    "rate(0 hours)",
    "rate(1 hours)",
    "rate(4294967296 hours)",
    "rate(-1 hours)",
    "arn:aws:iam::123456789012:role/",
    "arn:aws:iam::123456789012:role/x",
    "arn:aws:iam::123456789012:user/\u{0}",
    "arn:aws:iam::12345678901٣:role/x",
    "requestId",
    "requestId,requestId",
    ",",
    ",,",
    " , ",
    "requestid",
    "REQUESTID",
    "requestId, ip ,user",
    "dev",
    "prod",
    "true",
    "null",
    "0",
    "-1",
    "1e400",
    "NaN",
    "json-data",
    "parquet-data",
    "json-data/x",
    "mydatabase",
    "random-gen",
    "SaaSMeteringDemo",
];

/// Number tokens at the edges: signs, zero, floats, the ends of i64 and u64, beyond them, and
/// the validator's limits.
const SPECIAL_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "0.0",
    "-0.0",
    "1.5",
    "128.0",
    "1e3",
    "1E+2",
    "1e-7",
    "1e300",
    "-1e300",
    "1e400",
    "-1e400",
    "0.1e-400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "1970",
    "1969",
    "2099",
    "9999",
    "10000",
    "365",
    "364",
    "128",
    "129",
    "900",
    "901",
    "5000",
    "5001",
];

/// Tokens that are not valid JSON values, or only barely: broken escapes, lone surrogates,
/// raw control characters in strings, comments, trailing commas.
const RAW_TOKENS: &[&str] = &[
    "\"\\ud800\"",
    "\"\\udfff\"",
    "\"\\ud800\\u0041\"",
    "\"\\x41\"",
    "\"\\u12\"",
    "\"\t\"",
    "\"\u{0}\"",
    "\"\\u0000\"",
    "\"unterminated",
    "NaN",
    "Infinity",
    "-",
    "01",
    "1.",
    ".5",
    "+1",
    "1e",
    "tru",
    "nul",
    "'single'",
    "undefined",
    "/* c */ 1",
    "// c\n1",
    "[1,]",
    "{\"a\":1,}",
    "",
];

/// Pieces for JSON-looking token soup.
const SOUP: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "\"",
    "\\",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e400",
    "\"firehose\"",
    "\"athena\"",
    "\"api\"",
    "\"x\"",
    "\"\"",
    "\"\\ud800\"",
    "\u{0}",
    "\u{feff}",
    "é",
    "🦀",
];

// ---------------------------------------------------------------------------------------------
// JSON documents, written by hand so that keys may repeat and numbers may be any token

#[derive(Clone, Debug)]
enum Doc {
    Null,
    Bool(bool),
    /// A number token as written, possibly out of every range (`1e400`).
    Num(String),
    Str(String),
    /// Text written verbatim: broken escapes and other invalid tokens.
    Raw(String),
    Arr(Vec<Doc>),
    /// Members in order; a key may repeat.
    Obj(Vec<(String, Doc)>),
}

impl Doc {
    fn from_value(value: &Value) -> Doc {
        match value {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(*b),
            Value::Number(n) => Doc::Num(n.to_string()),
            Value::String(s) => Doc::Str(s.clone()),
            Value::Array(items) => Doc::Arr(items.iter().map(Doc::from_value).collect()),
            Value::Object(members) => Doc::Obj(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), Doc::from_value(v)))
                    .collect(),
            ),
        }
    }

    fn text(&self, pretty: bool) -> String {
        let mut out = String::new();
        self.write(&mut out, pretty, 0);
        out
    }

    fn write(&self, out: &mut String, pretty: bool, depth: usize) {
        match self {
            Doc::Null => out.push_str("null"),
            Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Doc::Num(token) | Doc::Raw(token) => out.push_str(token),
            Doc::Str(s) => out.push_str(&quote(s)),
            Doc::Arr(items) => write_members(
                out,
                pretty,
                depth,
                '[',
                ']',
                items.iter().map(|i| (None, i)),
            ),
            Doc::Obj(members) => write_members(
                out,
                pretty,
                depth,
                '{',
                '}',
                members.iter().map(|(k, v)| (Some(k.as_str()), v)),
            ),
        }
    }

    /// Every node, as the child indexes that lead to it from the root, in pre-order.
    fn paths_where(&self, keep: &dyn Fn(&Doc) -> bool) -> Vec<Vec<usize>> {
        fn walk(
            doc: &Doc,
            at: &mut Vec<usize>,
            keep: &dyn Fn(&Doc) -> bool,
            out: &mut Vec<Vec<usize>>,
        ) {
            if keep(doc) {
                out.push(at.clone());
            }
            let children: Vec<&Doc> = match doc {
                Doc::Arr(items) => items.iter().collect(),
                Doc::Obj(members) => members.iter().map(|(_, v)| v).collect(),
                _ => Vec::new(),
            };
            for (i, child) in children.into_iter().enumerate() {
                at.push(i);
                walk(child, at, keep, out);
                at.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), keep, &mut out);
        out
    }

    fn at_mut(&mut self, path: &[usize]) -> &mut Doc {
        match path.split_first() {
            None => self,
            Some((&i, rest)) => match self {
                Doc::Arr(items) => items[i].at_mut(rest),
                Doc::Obj(members) => members[i].1.at_mut(rest),
                _ => unreachable!("paths lead through containers"),
            },
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn write_members<'a>(
    out: &mut String,
    pretty: bool,
    depth: usize,
    open: char,
    close: char,
    members: impl ExactSizeIterator<Item = (Option<&'a str>, &'a Doc)>,
) {
    out.push(open);
    let count = members.len();
    for (i, (key, value)) in members.enumerate() {
        if pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(depth + 1));
        }
        if let Some(key) = key {
            out.push_str(&quote(key));
            out.push_str(if pretty { ": " } else { ":" });
        }
        value.write(out, pretty, depth + 1);
        if i + 1 < count {
            out.push(',');
        }
    }
    if pretty && count > 0 {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push(close);
}

// ---------------------------------------------------------------------------------------------
// Strategies

fn weird_string() -> BoxedStrategy<String> {
    prop_oneof![
        2 => Just(String::new()),
        6 => select(SPECIAL_STRINGS).prop_map(String::from),
        4 => any::<String>(),
        2 => "\\PC{1,40}",
        2 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]{1,8}",
        3 => "[a-z0-9_.-]{1,70}",
        1 => (any::<char>(), 1usize..20_000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Doc> {
    prop_oneof![
        3 => select(SPECIAL_NUMBERS).prop_map(|n| Doc::Num(n.to_string())),
        2 => any::<i64>().prop_map(|n| Doc::Num(n.to_string())),
        1 => any::<u64>().prop_map(|n| Doc::Num(n.to_string())),
        2 => (-20i64..10_050).prop_map(|n| Doc::Num(n.to_string())),
        1 => any::<f64>().prop_map(|f| Doc::Num(
            serde_json::Number::from_f64(f).map_or_else(|| "1e400".to_string(), |n| n.to_string())
        )),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Doc> {
    prop_oneof![
        1 => Just(Doc::Null),
        1 => any::<bool>().prop_map(Doc::Bool),
        3 => number(),
        4 => weird_string().prop_map(Doc::Str),
    ]
    .boxed()
}

/// Sometimes (one time in five) replaces one node with a token that is not valid JSON.
fn with_raw_token(doc: BoxedStrategy<Doc>) -> BoxedStrategy<Doc> {
    (
        doc,
        proptest::option::weighted(0.2, (any::<Index>(), select(RAW_TOKENS))),
    )
        .prop_map(|(mut doc, raw)| {
            if let Some((at, token)) = raw {
                let nodes = doc.paths_where(&|_| true);
                *doc.at_mut(at.get::<Vec<usize>>(&nodes)) = Doc::Raw(token.to_string());
            }
            doc
        })
        .boxed()
}

/// A known key, a typo of one (a character removed or replaced), or any string.
fn key() -> BoxedStrategy<String> {
    let typo = (
        select(known_keys()),
        any::<Index>(),
        proptest::option::of(any::<char>()),
    )
        .prop_map(|(key, at, replacement)| {
            let mut chars: Vec<char> = key.chars().collect();
            let i = at.index(chars.len());
            match replacement {
                Some(c) => chars[i] = c,
                None => {
                    chars.remove(i);
                }
            }
            chars.into_iter().collect()
        });
    prop_oneof![
        4 => select(known_keys()).prop_map(String::from),
        2 => typo,
        2 => weird_string(),
    ]
    .boxed()
}

fn doc() -> BoxedStrategy<Doc> {
    leaf()
        .prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Doc::Arr),
                vec((key(), inner), 0..6).prop_map(Doc::Obj),
            ]
        })
        .boxed()
}

/// An object whose sections and keys are mostly the real ones, with values of any kind.
fn schema_doc() -> BoxedStrategy<Doc> {
    let value = prop_oneof![
        4 => leaf(),
        1 => doc(),
        1 => vec(weird_string().prop_map(Doc::Str), 0..4).prop_map(Doc::Arr),
        1 => vec((key(), weird_string().prop_map(Doc::Str)), 0..4).prop_map(Doc::Obj),
    ];
    let section = (any::<Index>(), vec((any::<Index>(), value), 0..8));
    vec(section, 0..12)
        .prop_map(|sections| {
            Doc::Obj(
                sections
                    .into_iter()
                    .map(|(s, fields)| {
                        let Section { name, keys } = s.get(schema());
                        let value = if keys.is_empty() {
                            fields.into_iter().next().map_or(Doc::Null, |(_, v)| v)
                        } else {
                            Doc::Obj(
                                fields
                                    .into_iter()
                                    .map(|(k, v)| (k.get(keys).clone(), v))
                                    .collect(),
                            )
                        };
                        (name.to_string(), value)
                    })
                    .collect(),
            )
        })
        .boxed()
}

fn top_doc() -> BoxedStrategy<Doc> {
    with_raw_token(
        prop_oneof![
            1 => doc(),
            3 => vec((key(), doc()), 0..10).prop_map(Doc::Obj),
            3 => schema_doc(),
        ]
        .boxed(),
    )
}

#[derive(Clone, Debug)]
enum StrEdit {
    Replace(String),
    Insert(Index, String),
    Remove(Index),
    Prepend(String),
    Append(String),
    Repeat(usize),
    Truncate(Index),
    UpperCase,
}

impl StrEdit {
    fn apply(&self, s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let joined = |parts: &[&[char]]| parts.concat().into_iter().collect::<String>();
        match self {
            StrEdit::Replace(new) => new.clone(),
            StrEdit::Insert(at, new) => {
                let i = at.index(chars.len() + 1);
                let new: Vec<char> = new.chars().collect();
                joined(&[&chars[..i], &new, &chars[i..]])
            }
            StrEdit::Remove(at) if !chars.is_empty() => {
                let i = at.index(chars.len());
                joined(&[&chars[..i], &chars[i + 1..]])
            }
            StrEdit::Remove(_) => String::new(),
            StrEdit::Prepend(new) => format!("{new}{s}"),
            StrEdit::Append(new) => format!("{s}{new}"),
            StrEdit::Repeat(n) => s.repeat(*n),
            StrEdit::Truncate(at) => chars[..at.index(chars.len() + 1)].iter().collect(),
            StrEdit::UpperCase => s.to_uppercase(),
        }
    }
}

fn str_edit() -> BoxedStrategy<StrEdit> {
    prop_oneof![
        4 => weird_string().prop_map(StrEdit::Replace),
        2 => (any::<Index>(), weird_string()).prop_map(|(i, s)| StrEdit::Insert(i, s)),
        2 => any::<Index>().prop_map(StrEdit::Remove),
        1 => weird_string().prop_map(StrEdit::Prepend),
        1 => weird_string().prop_map(StrEdit::Append),
        1 => (2usize..300).prop_map(StrEdit::Repeat),
        1 => any::<Index>().prop_map(StrEdit::Truncate),
        1 => Just(StrEdit::UpperCase),
    ]
    .boxed()
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Removes an object member or array element.
    Delete(Index),
    /// Replaces any node, the root included, with a value of any type.
    Replace(Index, Doc),
    EditString(Index, StrEdit),
    SetNumber(Index, Doc),
    /// Repeats an object member right after itself, with the same or another value.
    Duplicate(Index, Option<Doc>),
    /// Adds a member to an object.
    InsertKey(Index, String, Doc),
    /// Sets a real key of a real section, adding the section when it is missing.
    SetKnown(Index, Index, Doc),
}

impl Mutation {
    fn apply(&self, doc: &mut Doc) {
        match self {
            Mutation::Delete(at) => {
                let nodes = doc.paths_where(&|_| true);
                let Some((last, parent)) = at.get::<Vec<usize>>(&nodes).split_last() else {
                    return; // the root
                };
                match doc.at_mut(parent) {
                    Doc::Arr(items) => {
                        items.remove(*last);
                    }
                    Doc::Obj(members) => {
                        members.remove(*last);
                    }
                    _ => unreachable!(),
                }
            }
            Mutation::Replace(at, new) => {
                let nodes = doc.paths_where(&|_| true);
                *doc.at_mut(at.get::<Vec<usize>>(&nodes)) = new.clone();
            }
            Mutation::EditString(at, edit) => {
                let nodes = doc.paths_where(&|d| matches!(d, Doc::Str(_)));
                if nodes.is_empty() {
                    return;
                }
                if let Doc::Str(s) = doc.at_mut(at.get::<Vec<usize>>(&nodes)) {
                    *s = edit.apply(s);
                }
            }
            Mutation::SetNumber(at, new) => {
                let nodes = doc.paths_where(&|d| matches!(d, Doc::Num(_)));
                if !nodes.is_empty() {
                    *doc.at_mut(at.get::<Vec<usize>>(&nodes)) = new.clone();
                }
            }
            Mutation::Duplicate(at, other) => {
                let objects = doc.paths_where(&|d| matches!(d, Doc::Obj(m) if !m.is_empty()));
                if objects.is_empty() {
                    return;
                }
                if let Doc::Obj(members) = doc.at_mut(at.get::<Vec<usize>>(&objects)) {
                    let i = at.index(members.len());
                    let (key, value) = members[i].clone();
                    members.insert(i + 1, (key, other.clone().unwrap_or(value)));
                }
            }
            Mutation::InsertKey(at, key, value) => {
                let objects = doc.paths_where(&|d| matches!(d, Doc::Obj(_)));
                if objects.is_empty() {
                    return;
                }
                if let Doc::Obj(members) = doc.at_mut(at.get::<Vec<usize>>(&objects)) {
                    let i = at.index(members.len() + 1);
                    members.insert(i, (key.clone(), value.clone()));
                }
            }
            Mutation::SetKnown(section, field, value) => {
                let Doc::Obj(top) = doc else { return };
                let Section { name, keys } = section.get(schema());
                let slot = match top.iter().position(|(k, _)| k == name) {
                    Some(i) => &mut top[i].1,
                    None => {
                        top.push((name.to_string(), Doc::Obj(Vec::new())));
                        &mut top.last_mut().expect("just pushed").1
                    }
                };
                if keys.is_empty() {
                    *slot = value.clone();
                    return;
                }
                if !matches!(slot, Doc::Obj(_)) {
                    *slot = Doc::Obj(Vec::new());
                }
                let Doc::Obj(members) = slot else { return };
                let key = field.get(keys);
                match members.iter_mut().find(|(k, _)| k == key) {
                    Some(member) => member.1 = value.clone(),
                    None => members.push((key.clone(), value.clone())),
                }
            }
        }
    }
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Delete),
        2 => (any::<Index>(), doc()).prop_map(|(i, d)| Mutation::Replace(i, d)),
        1 => (any::<Index>(), select(RAW_TOKENS))
            .prop_map(|(i, t)| Mutation::Replace(i, Doc::Raw(t.to_string()))),
        6 => (any::<Index>(), str_edit()).prop_map(|(i, e)| Mutation::EditString(i, e)),
        4 => (any::<Index>(), number()).prop_map(|(i, n)| Mutation::SetNumber(i, n)),
        2 => (any::<Index>(), proptest::option::of(leaf()))
            .prop_map(|(i, d)| Mutation::Duplicate(i, d)),
        2 => (any::<Index>(), key(), leaf()).prop_map(|(i, k, d)| Mutation::InsertKey(i, k, d)),
        4 => (any::<Index>(), any::<Index>(), prop_oneof![4 => leaf(), 1 => doc()])
            .prop_map(|(s, k, d)| Mutation::SetKnown(s, k, d)),
    ]
    .boxed()
}

/// One input file: a name for messages and its bytes.
#[derive(Clone)]
struct Input {
    /// The file name given to the parser (a bare name; the CLI would show the path).
    name: String,
    bytes: Vec<u8>,
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => write!(f, "{} ({} bytes of UTF-8): {text:?}", self.name, text.len()),
            Err(_) => write!(
                f,
                "{} ({} bytes, not UTF-8): b\"{}\"",
                self.name,
                self.bytes.len(),
                self.bytes.escape_ascii()
            ),
        }
    }
}

struct Example {
    name: String,
    doc: Doc,
    text: String,
}

fn examples() -> &'static [Example] {
    static EXAMPLES: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples"))
            .expect("examples/ exists")
            .map(|e| e.expect("examples/ is readable").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        assert!(!paths.is_empty(), "no examples/*.json");
        paths
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("an example is readable");
                let value: Value = serde_json::from_str(&text).expect("an example is JSON");
                Example {
                    name: metering_gen::context_name(&path),
                    doc: Doc::from_value(&value),
                    text,
                }
            })
            .collect()
    })
}

fn mutated_example() -> BoxedStrategy<Input> {
    (
        any::<Index>(),
        vec(mutation(), 1..=3),
        any::<bool>(),
        proptest::option::weighted(0.15, any::<Index>()),
    )
        .prop_map(|(example, mutations, pretty, truncate)| {
            let example = example.get(examples());
            let mut doc = example.doc.clone();
            for m in &mutations {
                m.apply(&mut doc);
            }
            let mut bytes = doc.text(pretty).into_bytes();
            if let Some(at) = truncate {
                bytes.truncate(at.index(bytes.len() + 1));
            }
            Input {
                name: example.name.clone(),
                bytes,
            }
        })
        .boxed()
}

fn arbitrary_document() -> BoxedStrategy<Input> {
    (top_doc(), any::<bool>())
        .prop_map(|(doc, pretty)| Input {
            name: "cdk.context.json".into(),
            bytes: doc.text(pretty).into_bytes(),
        })
        .boxed()
}

fn arbitrary_file() -> BoxedStrategy<Input> {
    let example_text = any::<Index>().prop_map(|i| i.get(examples()).text.clone().into_bytes());
    let bytes = prop_oneof![
        vec(any::<u8>(), 0..512),
        any::<String>().prop_map(String::into_bytes),
        vec(select(SOUP), 0..48).prop_map(|t| t.concat().into_bytes()),
        (top_doc(), any::<bool>(), any::<Index>()).prop_map(|(doc, pretty, at)| {
            let mut bytes = doc.text(pretty).into_bytes();
            bytes.truncate(at.index(bytes.len() + 1));
            bytes
        }),
        (example_text.clone(), any::<Index>(), vec(any::<u8>(), 1..8)).prop_map(
            |(mut text, at, junk)| {
                let i = at.index(text.len() + 1);
                text.splice(i..i, junk);
                text
            }
        ),
        (example_text, 0..3u8).prop_map(|(text, encoding)| match encoding {
            0 => [b"\xEF\xBB\xBF".as_slice(), &text].concat(),
            1 => String::from_utf8(text)
                .expect("examples are UTF-8")
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
            _ => text.repeat(2),
        }),
    ];
    bytes
        .prop_map(|bytes| Input {
            name: "cdk.context.json".into(),
            bytes,
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// The checks

/// The workspace's Lambda crates: `cargo metadata` is slow, so it runs once per test binary.
fn crates() -> &'static [LambdaCrate] {
    static CRATES: OnceLock<Vec<LambdaCrate>> = OnceLock::new();
    CRATES.get_or_init(|| artifacts::discover(&workspace()).expect("the workspace manifests read"))
}

/// Scratch files for inputs read from disk, under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz_context");
    std::fs::create_dir_all(&dir).expect("the scratch folder can be created");
    dir.join(name)
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    unreadable: usize,
    invalid_json: usize,
    parse_rejected: usize,
    model_rejected: usize,
    rendered: usize,
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Unreadable,
    InvalidJson,
    ParseRejected,
    ModelRejected,
    Rendered,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        *match outcome {
            Outcome::Unreadable => &mut self.unreadable,
            Outcome::InvalidJson => &mut self.invalid_json,
            Outcome::ParseRejected => &mut self.parse_rejected,
            Outcome::ModelRejected => &mut self.model_rejected,
            Outcome::Rendered => &mut self.rendered,
        } += 1;
    }
}

/// Checks one rejection: at least one diagnostic, each about `file` and saying something, and
/// the rendered text (what the CLI prints) naming the file.
fn check_rejection(file: &str, diagnostics: &Diagnostics) -> Result<(), TestCaseError> {
    let rendered = diagnostics.to_string();
    prop_assert!(
        !diagnostics.0.is_empty(),
        "rejected without a diagnostic: {diagnostics:?}"
    );
    prop_assert!(!rendered.trim().is_empty(), "empty error text");
    prop_assert!(
        rendered.contains(file),
        "the error text does not name {file}:\n{rendered}"
    );
    for d in &diagnostics.0 {
        prop_assert_eq!(&d.file, file, "a diagnostic about another file: {:?}", d);
        prop_assert!(
            !d.message.trim().is_empty(),
            "a diagnostic without a message: {d:?}"
        );
        if let Place::Position { line, .. } = d.place {
            prop_assert!(line >= 1, "line 0 in {d:?}");
        }
        prop_assert!(
            d.to_string().starts_with(file),
            "a diagnostic that does not start with the file name: {d}"
        );
    }
    Ok(())
}

/// Validation passed: rendering must succeed and produce valid HCL.
fn check_model(file: &str, model: &Model) -> Result<Outcome, TestCaseError> {
    let name = metering_gen::context_name(Path::new(file));
    let tree = render::render(model, &name)
        .map_err(|e| TestCaseError::fail(format!("valid, but rendering failed: {e:#}")))?;
    prop_assert!(!tree.is_empty(), "valid, but nothing rendered");
    // Parsing HCL is the slow part, and most files come out the same from case to case: each
    // text that parsed once is not parsed again.
    static PARSED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    for (path, text) in tree.iter().filter(|(path, _)| path.ends_with(".tf")) {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(text);
        if parsed.contains(&hash) {
            continue;
        }
        if let Err(e) = hcl::parse(text) {
            return Err(TestCaseError::fail(format!(
                "valid, but the rendered {path} is not HCL: {e}"
            )));
        }
        parsed.insert(hash);
    }
    Ok(Outcome::Rendered)
}

fn check_parsed(
    file: &str,
    parsed: Result<context::Context, Diagnostics>,
) -> Result<Outcome, TestCaseError> {
    let ctx = match parsed {
        Ok(ctx) => ctx,
        Err(d) => {
            check_rejection(file, &d)?;
            return Ok(match d.0.first().map(|d| &d.place) {
                Some(Place::File) => Outcome::Unreadable,
                Some(Place::Position { .. }) => Outcome::InvalidJson,
                _ => Outcome::ParseRejected,
            });
        }
    };
    prop_assert_eq!(&ctx.file, file);
    match Model::build(&ctx, crates()) {
        Ok(model) => check_model(file, &model),
        Err(d) => {
            check_rejection(file, &d)?;
            Ok(Outcome::ModelRejected)
        }
    }
}

/// Parses text in memory; anything that is not UTF-8 goes through a file, as the CLI reads it.
fn check_input(input: &Input, scratch_name: &str) -> Result<Outcome, TestCaseError> {
    match std::str::from_utf8(&input.bytes) {
        Ok(text) => check_parsed(&input.name, context::parse(&input.name, text)),
        Err(_) => check_file(&input.bytes, scratch_name),
    }
}

/// Writes the bytes to a scratch file and loads it with `context::load`.
fn check_file(bytes: &[u8], scratch_name: &str) -> Result<Outcome, TestCaseError> {
    let path = scratch(scratch_name);
    std::fs::write(&path, bytes).expect("the scratch file can be written");
    check_parsed(&path.display().to_string(), context::load(&path))
}

// ---------------------------------------------------------------------------------------------
// The runner

/// Runs `check` on `PROPTEST_CASES` inputs from `strategy` in this thread (proptest catches a
/// panic and shrinks the input), with a printed seed and failures saved under the target
/// directory.
fn fuzz(
    name: &str,
    strategy: BoxedStrategy<Input>,
    check: impl Fn(&Input) -> Result<Outcome, TestCaseError>,
) -> Tally {
    let mut config = Config::default(); // reads PROPTEST_CASES, PROPTEST_RNG_SEED, …
    let regressions = format!(
        "{}/proptest-regressions/fuzz_context/{name}.txt",
        env!("CARGO_TARGET_TMPDIR")
    );
    config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(Box::leak(
        regressions.into_boxed_str(),
    ))));
    let seed = match config.rng_seed {
        RngSeed::Fixed(seed) => seed,
        RngSeed::Random => RandomState::new().hash_one(name),
    };
    config.rng_seed = RngSeed::Fixed(seed);
    let cases = config.cases;
    eprintln!("{name}: {cases} cases, PROPTEST_RNG_SEED={seed}");

    let tally = RefCell::new(Tally::default());
    let started = Instant::now();
    let result = TestRunner::new(config).run(&strategy, |input| {
        let outcome = check(&input)?;
        tally.borrow_mut().add(outcome);
        Ok(())
    });
    let tally = tally.into_inner();
    eprintln!(
        "{name}: {:.2?}, outcomes (shrinking included): {tally:?}",
        started.elapsed()
    );
    if let Err(e) = result {
        panic!(
            "{name} failed; rerun these cases with `PROPTEST_RNG_SEED={seed} PROPTEST_CASES={cases} \
             cargo test -p metering-gen --test fuzz_context {name}`:\n{e}"
        );
    }
    tally
}

#[test]
fn arbitrary_json_documents() {
    fuzz("arbitrary_json_documents", arbitrary_document(), |input| {
        check_input(input, "arbitrary_json_documents.json")
    });
}

#[test]
fn arbitrary_bytes() {
    fuzz("arbitrary_bytes", arbitrary_file(), |input| {
        check_file(&input.bytes, "arbitrary_bytes.json")
    });
}

#[test]
fn mutated_examples() {
    fuzz("mutated_examples", mutated_example(), |input| {
        check_input(input, "mutated_examples.json")
    });
}

// ---------------------------------------------------------------------------------------------
// Plain tests

/// The schema asked from the parser is complete: each object section has keys, each key is
/// one the parser knows, and every key of the examples is in it.
#[test]
fn the_fuzzer_knows_every_section_and_key() {
    let names: Vec<&str> = schema().iter().map(|s| s.name).collect();
    assert_eq!(names, context::SECTIONS);
    for Section { name, keys } in schema() {
        // A section holding an object rejects a string; one holding a string accepts it.
        let text = serde_json::json!({ *name: "x" }).to_string();
        let holds_object = context::parse("x.json", &text).is_err();
        assert_eq!(
            holds_object,
            !keys.is_empty(),
            "`{name}`: no keys found for an object section, or keys for a scalar"
        );
        for key in keys {
            let text = serde_json::json!({ *name: { key: [[]] } }).to_string();
            let d = context::parse("x.json", &text).expect_err("an array is never right");
            assert!(
                d.0.iter().all(|d| !d.message.starts_with("unknown key")),
                "{name}.{key} is not a key the parser knows: {d}"
            );
        }
    }
    for example in examples() {
        let Doc::Obj(top) = &example.doc else {
            panic!("{} is not an object", example.name)
        };
        for (section, value) in top {
            let Some(known) = schema().iter().find(|s| s.name == section) else {
                assert!(CDK_KEYS.contains(&section.as_str()) || section.contains(':'));
                continue;
            };
            if let Doc::Obj(members) = value {
                for (key, _) in members {
                    assert!(
                        known.keys.contains(key),
                        "{}: `{section}.{key}` is missing from the schema",
                        example.name
                    );
                }
            }
        }
    }
    assert!(schema()[0].keys.iter().any(|k| k == "stream_name"));
}

/// A few generated bad inputs given to the built binary: exit code 2, the diagnostics the
/// library gives on stderr (naming the file), and nothing written to `--out`.
#[test]
fn the_binary_rejects_generated_bad_inputs() {
    let mut runner = TestRunner::deterministic();
    let mut draw = |strategy: &BoxedStrategy<Input>, keep: &dyn Fn(&Input) -> bool| -> Input {
        for _ in 0..10_000 {
            let input = strategy
                .new_tree(&mut runner)
                .expect("a value can be drawn")
                .current();
            if keep(&input) {
                return input;
            }
        }
        panic!("no suitable input drawn");
    };
    // Rejected by the library, in memory.
    let rejected = |i: &Input| match std::str::from_utf8(&i.bytes) {
        Err(_) => true,
        Ok(text) => match context::parse(&i.name, text) {
            Err(_) => true,
            Ok(ctx) => Model::build(&ctx, crates()).is_err(),
        },
    };
    let json = |i: &Input| serde_json::from_slice::<Value>(&i.bytes).is_ok();
    let inputs = [
        draw(&arbitrary_file(), &|i| {
            std::str::from_utf8(&i.bytes).is_err()
        }),
        draw(&arbitrary_file(), &|i| {
            std::str::from_utf8(&i.bytes).is_ok() && !json(i)
        }),
        draw(&arbitrary_document(), &|i| json(i) && rejected(i)),
        draw(&mutated_example(), &|i| json(i) && rejected(i)),
        draw(&mutated_example(), &|i| json(i) && rejected(i)),
    ];

    let dir = tempfile::tempdir().expect("a temporary folder");
    for (i, input) in inputs.iter().enumerate() {
        let case = dir.path().join(format!("case-{i}"));
        std::fs::create_dir(&case).unwrap();
        let context_path = case.join("cdk.context.json");
        std::fs::write(&context_path, &input.bytes).unwrap();
        let file = context_path.display().to_string();
        let expected = context::load(&context_path)
            .and_then(|ctx| Model::build(&ctx, crates()))
            .expect_err("a bad input");

        let out = case.join("tf");
        for args in [
            vec!["validate"],
            vec!["gen", "--no-build", "--out", out.to_str().unwrap()],
        ] {
            let assert = assert_cmd::Command::cargo_bin("metering-gen")
                .unwrap()
                .args(&args)
                .arg("--context")
                .arg(&context_path)
                .arg("--workspace")
                .arg(workspace())
                .assert()
                .code(2);
            let output = assert.get_output();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains(&file),
                "{args:?} on {input:?}: stderr does not name {file}:\n{stderr}"
            );
            assert_eq!(
                stderr.trim_end(),
                expected.to_string(),
                "{args:?} on {input:?}: stderr is not the library's diagnostics"
            );
            assert!(
                output.stdout.is_empty(),
                "{args:?} printed to stdout on bad input"
            );
            assert!(
                !out.exists(),
                "{args:?} on {input:?} wrote {}",
                out.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bugs the fuzzer found, fixed: each test keeps the input that showed it.

/// The default example with `edit` applied, as the CLI would read it.
fn example_with(edit: impl FnOnce(&mut Value)) -> String {
    let text = std::fs::read_to_string(workspace().join("examples/cdk.context.json")).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    edit(&mut value);
    value.to_string()
}

/// Parses and validates in memory, returning the diagnostics (empty when valid).
fn diagnostics_of(text: &str) -> Diagnostics {
    match context::parse("cdk.context.json", text) {
        Err(d) => d,
        Ok(ctx) => Model::build(&ctx, crates())
            .err()
            .unwrap_or(Diagnostics(Vec::new())),
    }
}

#[test]
fn found_extreme_projection_years_are_reported_not_panicked_on() {
    for (first, last) in [
        (2020, 1_033_083_785_492_026),
        (i64::MIN, 2000),
        (1970, i64::MAX),
    ] {
        let text = example_with(|c| {
            c["catalog"] =
                serde_json::json!({ "projection_first_year": first, "projection_last_year": last })
        });
        let d = diagnostics_of(&text);
        assert!(!d.0.is_empty(), "{first}..{last} accepted");
        assert!(
            !d.0.iter().any(|d| d.message.contains("must not be before")),
            "{first}..{last}: {last} is not before {first}:\n{d}"
        );
    }
}

#[test]
fn found_sections_given_as_arrays_are_rejected() {
    // The fields of `Firehose` in declaration order, `s3_bucket` (optional) fourth.
    let text = example_with(|c| {
        let f = c["firehose"].clone();
        c["firehose"] = serde_json::json!([
            f["stream_name"],
            f["buffer_size_in_mbs"],
            f["buffer_interval_in_seconds"],
            null,
            f["s3_output_folder"],
            f["prefix"],
            f["error_output_prefix"],
        ]);
    });
    let d = diagnostics_of(&text);
    assert!(
        d.0.iter().any(|d| d.path() == Some("firehose")),
        "`firehose` as an array is accepted: {d:?}"
    );
}

#[test]
fn found_wrong_section_type_does_not_name_rust_types() {
    let d = diagnostics_of(&example_with(|c| c["firehose"] = Value::from("x")));
    assert!(
        !d.to_string().contains("struct "),
        "a Rust type name in the message:\n{d}"
    );
}

#[test]
fn found_unknown_key_with_a_backtick_lists_the_real_keys() {
    let d = diagnostics_of(&example_with(|c| c["athena"]["a`b"] = Value::from(1)));
    let message = d.to_string();
    assert!(
        message.contains("`work_group_name`") && message.contains("`query_results_s3_bucket`"),
        "the expected keys are garbled:\n{message}"
    );
}

#[test]
fn found_integer_out_of_range_says_so() {
    let d = diagnostics_of(&example_with(|c| {
        c["firehose"]["buffer_size_in_mbs"] = Value::from(u64::MAX)
    }));
    let message = d.to_string();
    assert!(
        !(message.contains("integer `") && message.contains("expected an integer")),
        "a self-contradicting message:\n{message}"
    );
}

#[test]
fn found_extreme_buffer_interval_is_reported_not_panicked_on() {
    for interval in [i64::MAX, i64::MIN, 901] {
        let text = example_with(|c| c["firehose"]["buffer_interval_in_seconds"] = interval.into());
        let d = diagnostics_of(&text);
        assert!(
            d.0.iter()
                .any(|d| d.message.contains("must be between 0 and 900")),
            "{interval}:\n{d}"
        );
    }
}

#[test]
fn extreme_billing_schedule_hours_are_reported_not_panicked_on() {
    let text = std::fs::read_to_string(workspace().join("examples/metering.json")).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    for schedule in [
        "cron(0 18446744073709551615 1 * ? *)",
        "cron(99999999999 4 1 * ? *)",
        "cron(0 4294967295 1 * ? *)",
    ] {
        value["metering"]["schedule_expression"] = schedule.into();
        // A verdict, not an overflow; and such an hour is not before the month is billable.
        let d = diagnostics_of(&value.to_string());
        assert!(
            !d.0.iter()
                .any(|d| d.message.contains("before the month can be billed")),
            "{schedule}:\n{d}"
        );
    }
}
