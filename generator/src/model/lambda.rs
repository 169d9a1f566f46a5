//! Lambda functions as their crates describe them in `[package.metadata.lambda]`.

use crate::diagnostic::Diagnostic;
use serde::{Deserialize, Serialize};

pub const RANDOM_STRINGS: &str = "random-strings";
pub const COMPACTION: &str = "compaction";
pub const BILLING: &str = "billing";
pub const USAGE_EVENTS: &str = "usage-events";
/// The compaction function is deployed a second time for the usage events, named
/// `<compaction function><suffix>`.
pub const EVENTS_COMPACTION_SUFFIX: &str = "-usage-events";
/// Lambda takes 64 characters, but the scheduled functions' EventBridge rule is
/// `<function>-schedule`, and a rule name has at most 64 (EventBridge API Reference, PutRule).
const MAX_FUNCTION_NAME: usize = 64 - "-schedule".len();

/// A crate under `lambdas/`, as discovered by `artifacts::discover`.
#[derive(Debug, Clone)]
pub struct LambdaCrate {
    pub name: String,
    /// Relative to the workspace root, for messages.
    pub manifest: String,
    /// `package.metadata`, or `null`.
    pub metadata: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    function_name: String,
    description: String,
    handler: String,
    memory_size: i64,
    timeout: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LambdaSpec {
    pub crate_name: String,
    pub function_name: String,
    pub description: String,
    pub handler: String,
    pub memory_size: i64,
    pub timeout: i64,
    /// The zip, relative to the generated tree's root.
    pub zip: String,
}

/// The functions the stack deploys.
#[derive(Debug, Clone, Serialize)]
pub struct Lambdas {
    pub random_strings: LambdaSpec,
    pub compaction: LambdaSpec,
    /// Deployed when `metering` has meters and plans.
    pub billing: LambdaSpec,
    /// Deployed with the `usage_events` stream, which it transforms.
    pub usage_events: LambdaSpec,
    /// The compaction function's second deployment, for the usage events' folder.
    pub events_compaction: LambdaSpec,
}

pub fn artifact_path(crate_name: &str) -> String {
    format!("artifacts/{crate_name}.zip")
}

fn spec(krate: &LambdaCrate, errors: &mut Vec<Diagnostic>) -> Option<LambdaSpec> {
    let base = "package.metadata.lambda";
    let Some(section) = krate.metadata.get("lambda") else {
        errors.push(Diagnostic::at_path(
            &krate.manifest,
            base,
            "required table is missing",
        ));
        return None;
    };
    let m: Metadata = match serde_path_to_error::deserialize(section.clone()) {
        Ok(m) => m,
        Err(e) => {
            let path = match e.path().to_string().as_str() {
                "." => base.to_string(),
                p => format!("{base}.{p}"),
            };
            errors.push(Diagnostic::at_path(
                &krate.manifest,
                path,
                e.into_inner().to_string(),
            ));
            return None;
        }
    };
    let before = errors.len();
    let mut fail = |key: &str, msg: String| {
        errors.push(Diagnostic::at_path(
            &krate.manifest,
            format!("{base}.{key}"),
            msg,
        ))
    };
    if m.function_name.is_empty()
        || m.function_name.len() > MAX_FUNCTION_NAME
        || !m
            .function_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        fail(
            "function_name",
            "must have 1 to 55 letters, digits, `-` or `_` (the schedule rule is `<function>-schedule`, and EventBridge takes rule names of at most 64 characters)".into(),
        );
    }
    if m.description.len() > 256 {
        fail("description", "may have at most 256 characters".into());
    }
    if m.handler.is_empty() {
        fail("handler", "may not be empty".into());
    }
    if !(128..=10240).contains(&m.memory_size) {
        fail(
            "memory_size",
            format!("must be between 128 and 10240 MB, not {}", m.memory_size),
        );
    }
    if !(1..=900).contains(&m.timeout) {
        fail(
            "timeout",
            format!("must be between 1 and 900 seconds, not {}", m.timeout),
        );
    }
    (errors.len() == before).then(|| LambdaSpec {
        crate_name: krate.name.clone(),
        function_name: m.function_name,
        description: m.description,
        handler: m.handler,
        memory_size: m.memory_size,
        timeout: m.timeout,
        zip: artifact_path(&krate.name),
    })
}

pub(super) fn resolve(crates: &[LambdaCrate], errors: &mut Vec<Diagnostic>) -> Option<Lambdas> {
    let mut find = |name: &str| match crates.iter().find(|c| c.name == name) {
        Some(krate) => spec(krate, errors),
        None => {
            errors.push(Diagnostic {
                file: format!("lambdas/{name}/Cargo.toml"),
                place: crate::diagnostic::Place::File,
                message: format!("the Lambda crate `{name}` is missing from the workspace"),
            });
            None
        }
    };
    let random_strings = find(RANDOM_STRINGS);
    let compaction = find(COMPACTION);
    let billing = find(BILLING);
    let usage_events = find(USAGE_EVENTS);
    let events_compaction = compaction
        .as_ref()
        .and_then(|spec| events_compaction(spec, errors));
    Some(Lambdas {
        random_strings: random_strings?,
        compaction: compaction?,
        billing: billing?,
        usage_events: usage_events?,
        events_compaction: events_compaction?,
    })
}

/// The compaction function as deployed for the usage events: same code and settings, its own
/// name (so its own role, schedule rule, dead letters and logs).
fn events_compaction(compaction: &LambdaSpec, errors: &mut Vec<Diagnostic>) -> Option<LambdaSpec> {
    let function_name = format!("{}{EVENTS_COMPACTION_SUFFIX}", compaction.function_name);
    if function_name.len() > MAX_FUNCTION_NAME {
        errors.push(Diagnostic::at_path(
            &format!("lambdas/{COMPACTION}/Cargo.toml"),
            "package.metadata.lambda.function_name",
            format!(
                "may have at most {} characters: the usage events' compaction is `<function>{EVENTS_COMPACTION_SUFFIX}`, which may have at most {MAX_FUNCTION_NAME}",
                MAX_FUNCTION_NAME - EVENTS_COMPACTION_SUFFIX.len()
            ),
        ));
        return None;
    }
    Some(LambdaSpec {
        function_name,
        description: "Compacts an hour of usage events into Parquet with an Athena CTAS query"
            .into(),
        ..compaction.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(function_name: &str) -> LambdaCrate {
        LambdaCrate {
            name: BILLING.into(),
            manifest: "lambdas/billing/Cargo.toml".into(),
            metadata: serde_json::json!({"lambda": {
                "function_name": function_name, "description": "d", "handler": "bootstrap",
                "memory_size": 256, "timeout": 60,
            }}),
        }
    }

    #[test]
    fn function_names_leave_room_for_the_schedule_rule() {
        let mut errors = Vec::new();
        assert!(spec(&krate(&"f".repeat(55)), &mut errors).is_some());
        assert!(errors.is_empty());
        assert!(spec(&krate(&"f".repeat(56)), &mut errors).is_none());
        let message = errors[0].to_string();
        assert!(
            message.contains("package.metadata.lambda.function_name")
                && message.contains("1 to 55")
                && message.contains("-schedule"),
            "{message}"
        );
    }
}
