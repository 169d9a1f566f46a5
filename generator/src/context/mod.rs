//! `cdk.context.json` as the user wrote it: the reference sample's sections, its README's
//! variant, and this project's optional additions. Nothing here checks values; see `model`.

mod sections;

pub use sections::*;

use crate::diagnostic::{did_you_mean, Diagnostic, Diagnostics, Place};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

/// The whole file, parsed.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The file name as given, used in every error message.
    pub file: String,
    pub firehose: Option<Firehose>,
    pub athena: Option<Athena>,
    /// The sample README's shape: a top-level workgroup name instead of `athena.work_group_name`.
    pub athena_work_group_name: Option<String>,
    pub merge_small_files_lambda_env: Option<MergeSmallFilesEnv>,
    pub deployment: Deployment,
    pub api: Api,
    pub cognito: Cognito,
    pub lake_formation: LakeFormation,
    pub compaction: Compaction,
    pub catalog: Catalog,
    pub metering: Metering,
    pub usage_events: Option<UsageEvents>,
}

/// Top-level keys this project reads.
pub const SECTIONS: &[&str] = &[
    "firehose",
    "athena",
    "athena_work_group_name",
    "merge_small_files_lambda_env",
    "deployment",
    "api",
    "cognito",
    "lake_formation",
    "compaction",
    "catalog",
    "metering",
    "usage_events",
];

/// Keys that CDK itself writes into `cdk.context.json`, or that the sample reads for a stack
/// this project does not generate (`vpc_name`): accepted and ignored.
fn owned_by_cdk(key: &str) -> bool {
    key.contains(':')
        || key.starts_with("@aws-cdk/")
        || key.starts_with("aws-cdk:")
        || matches!(key, "acknowledged-issue-numbers" | "vpc_name")
}

pub fn load(path: &Path) -> Result<Context, Diagnostics> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostic {
        file: file.clone(),
        place: Place::File,
        message: format!("cannot read the context file: {e}"),
    })?;
    parse(&file, &text)
}

pub fn parse(file: &str, text: &str) -> Result<Context, Diagnostics> {
    // Editors on Windows may start the file with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json_error = |e: serde_json::Error| {
        let message = strip_position(&e.to_string());
        Diagnostic {
            file: file.to_string(),
            place: Place::Position {
                line: e.line(),
                column: e.column(),
            },
            message: match e.classify() {
                serde_json::error::Category::Data => message,
                _ => format!("invalid JSON: {message}"),
            },
        }
    };
    reject_duplicate_keys(text).map_err(json_error)?;
    let value: Value = serde_json::from_str(text).map_err(json_error)?;
    let Value::Object(top) = value else {
        return Err(Diagnostic::at_path(file, "$", "the context must be a JSON object").into());
    };

    let mut errors = Vec::new();
    let mut context = Context {
        file: file.to_string(),
        ..Context::default()
    };
    for (key, value) in top {
        let mut section = Section {
            file,
            key: &key,
            errors: &mut errors,
        };
        match key.as_str() {
            "firehose" => context.firehose = section.object(value),
            "athena" => context.athena = section.object(value),
            "athena_work_group_name" => context.athena_work_group_name = section.parse(value),
            "merge_small_files_lambda_env" => {
                context.merge_small_files_lambda_env = section.object(value)
            }
            "deployment" => context.deployment = section.object(value).unwrap_or_default(),
            "api" => context.api = section.object(value).unwrap_or_default(),
            "cognito" => context.cognito = section.object(value).unwrap_or_default(),
            "lake_formation" => context.lake_formation = section.object(value).unwrap_or_default(),
            "compaction" => context.compaction = section.object(value).unwrap_or_default(),
            "catalog" => context.catalog = section.object(value).unwrap_or_default(),
            "metering" => context.metering = section.object(value).unwrap_or_default(),
            "usage_events" => context.usage_events = section.object(value),
            other if owned_by_cdk(other) => {}
            other => {
                let mut message = "unknown key".to_string();
                if let Some(hint) = did_you_mean(other, SECTIONS.iter().copied()) {
                    message = format!("{message}; {hint}");
                }
                errors.push(Diagnostic::at_path(file, other, message));
            }
        }
    }
    if errors.is_empty() {
        Ok(context)
    } else {
        Err(Diagnostics(errors))
    }
}

struct Section<'a> {
    file: &'a str,
    key: &'a str,
    errors: &'a mut Vec<Diagnostic>,
}

impl Section<'_> {
    /// A section of keys: only a JSON object (serde would also read a struct from an array,
    /// by position).
    fn object<T: DeserializeOwned>(&mut self, value: Value) -> Option<T> {
        if value.is_object() {
            return self.parse(value);
        }
        let found = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => unreachable!(),
        };
        self.errors.push(Diagnostic::at_path(
            self.file,
            self.key,
            format!("wrong type: expected an object of settings, found {found}"),
        ));
        None
    }

    fn parse<T: DeserializeOwned>(&mut self, value: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let base = if inner == "." {
                    self.key.to_string()
                } else {
                    format!("{}.{}", self.key, inner)
                };
                let (path, message) = explain(&base, &e.into_inner().to_string());
                self.errors
                    .push(Diagnostic::at_path(self.file, path, message));
                None
            }
        }
    }
}

/// Turns serde's wording into this tool's: the offending key joins the path, and an unknown
/// key gets a "did you mean" hint.
fn explain(path: &str, serde_message: &str) -> (String, String) {
    if let Some(rest) = serde_message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return (
            format!("{path}.{field}"),
            "required key is missing".to_string(),
        );
    }
    if let Some(rest) = serde_message.strip_prefix("unknown field `") {
        // The key itself may hold backticks; the known keys (the list at the end) never do.
        let (field, expected) = match rest.rfind("`, expected ") {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (
                rest.split("`, there are no fields").next().unwrap_or(rest),
                "",
            ),
        };
        let expected: Vec<&str> = expected.split('`').skip(2).step_by(2).collect();
        let mut message = "unknown key".to_string();
        if let Some(hint) = did_you_mean(field, expected.iter().copied()) {
            message = format!("{message}; {hint}");
        } else if !expected.is_empty() {
            message = format!("{message}; expected one of {}", quote_list(&expected));
        }
        // serde_path_to_error's path already ends with the unknown key.
        return (path.to_string(), message);
    }
    if let Some(rest) = serde_message.strip_prefix("invalid value: integer `") {
        if let Some((number, _)) = rest.split_once('`') {
            return (path.to_string(), format!("{number} is out of range"));
        }
    }
    let message = serde_message
        .replace("invalid type", "wrong type")
        .replace("expected i64", "expected an integer")
        .replace("expected u32", "expected an integer")
        .replace("expected a map", "expected an object")
        .replace("expected a sequence", "expected an array");
    (path.to_string(), message)
}

fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Fails at the second occurrence of a key in one object: serde_json would silently keep the
/// last one, so a bad value followed by a good one would go unnoticed.
fn reject_duplicate_keys(text: &str) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    NoDuplicates("").deserialize(&mut de)?;
    de.end()
}

struct NoDuplicates<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for NoDuplicates<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicates<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(NoDuplicates(&format!("{}[{i}]", self.0)))?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.0.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.0)
            };
            if !seen.insert(key) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{path}`: keep one of the two"
                )));
            }
            map.next_value_seed(NoDuplicates(&path))?;
        }
        Ok(())
    }
}
