//! Evaluating a block (its `dynamic` blocks expanded) and turning an evaluated
//! `aws_iam_policy_document` into the JSON the AWS provider writes.

use std::collections::BTreeMap;

use hcl::eval::{Context, Evaluate};
use hcl::{Body, Map, Structure, Value};
use serde_json::json;

use crate::refs::dynamic_iterator;

/// A block with its attributes evaluated and its `dynamic` blocks expanded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evaluated {
    pub attributes: Vec<(String, Value)>,
    pub blocks: Vec<(String, Evaluated)>,
}

impl Evaluated {
    fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }
}

/// Evaluates `body` in `ctx`; `at` names it in errors (`statement 3`, …).
pub(crate) fn expand(body: &Body, ctx: &Context<'_>, at: &str) -> Result<Evaluated, String> {
    let mut out = Evaluated::default();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attribute) => {
                let value = attribute
                    .expr()
                    .evaluate(ctx)
                    .map_err(|e| format!("{at}: `{}`: {e}", attribute.key()))?;
                out.attributes.push((attribute.key().to_owned(), value));
            }
            Structure::Block(block) if block.identifier() == "dynamic" => {
                let kind = block
                    .labels()
                    .first()
                    .map(|l| l.as_str().to_owned())
                    .ok_or_else(|| format!("{at}: a dynamic block without a label"))?;
                let at = format!("{at}: dynamic \"{kind}\"");
                let for_each = block
                    .body()
                    .attributes()
                    .find(|a| a.key() == "for_each")
                    .ok_or_else(|| format!("{at}: no for_each"))?
                    .expr()
                    .evaluate(ctx)
                    .map_err(|e| format!("{at}: `for_each`: {e}"))?;
                let content = block
                    .body()
                    .blocks()
                    .find(|b| b.identifier() == "content")
                    .ok_or_else(|| format!("{at}: no content block"))?;
                // `key` is the index of a list's element, a map's key. (A set from `toset` is a
                // list here, so its `key` is the index, where Terraform gives the element.)
                let elements: Vec<(Value, Value)> = match for_each {
                    Value::Array(items) => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, item)| (Value::from(i), item))
                        .collect(),
                    Value::Object(map) => map
                        .into_iter()
                        .map(|(key, value)| (Value::String(key), value))
                        .collect(),
                    other => {
                        return Err(format!("{at}: for_each is {other}, not a list, set or map"))
                    }
                };
                let iterator = dynamic_iterator(block);
                for (i, (key, value)) in elements.into_iter().enumerate() {
                    let mut child = ctx.clone();
                    child.declare_var(
                        iterator.as_str(),
                        Value::Object(Map::from_iter([
                            ("key".to_owned(), key),
                            ("value".to_owned(), value),
                        ])),
                    );
                    let evaluated = expand(content.body(), &child, &format!("{at} #{}", i + 1))?;
                    out.blocks.push((kind.clone(), evaluated));
                }
            }
            Structure::Block(block) => {
                let at = format!("{at}: {}", block.identifier());
                out.blocks.push((
                    block.identifier().to_owned(),
                    expand(block.body(), ctx, &at)?,
                ));
            }
        }
    }
    Ok(out)
}

/// A list of strings as the provider writes it: one value as a string, else distinct values
/// in reverse lexical order (its `policyDecodeConfigStringList`).
fn string_list(mut values: Vec<String>) -> serde_json::Value {
    values.sort();
    values.dedup();
    if values.len() == 1 {
        return json!(values[0]);
    }
    values.reverse();
    json!(values)
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(format!("{at} is {other}, not a list of strings")),
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!("{at} holds {other}, not a string")),
        })
        .collect()
}

fn string(value: &Value, at: &str) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!("{at} is {other}, not a string")),
    }
}

/// The JSON policy of an evaluated `aws_iam_policy_document`, as the AWS provider writes it
/// (`Version`, `Id`, `Statement` with `Sid`, `Effect`, `Action`, `NotAction`, `Resource`,
/// `NotResource`, `Principal`, `NotPrincipal`, `Condition`; empty ones left out).
pub(crate) fn policy(document: &Evaluated, at: &str) -> Result<serde_json::Value, String> {
    let mut version = "2012-10-17".to_owned();
    let mut id = None;
    for (key, value) in &document.attributes {
        match key.as_str() {
            "version" => {
                if let Some(v) = string(value, &format!("{at}: version"))? {
                    version = v;
                }
            }
            "policy_id" => id = string(value, &format!("{at}: policy_id"))?,
            other => {
                return Err(format!(
                    "{at}: the argument `{other}` is not supported by iam-policy (it renders \
                     statement, dynamic \"statement\", version and policy_id)"
                ))
            }
        }
    }
    let mut statements = Vec::new();
    for (index, (kind, block)) in document.blocks.iter().enumerate() {
        if kind != "statement" {
            return Err(format!(
                "{at}: the block `{kind}` is not supported by iam-policy"
            ));
        }
        statements.push(statement(block, &format!("{at}: statement {}", index + 1))?);
    }
    let mut out = serde_json::Map::new();
    out.insert("Version".to_owned(), json!(version));
    if let Some(id) = id {
        out.insert("Id".to_owned(), json!(id));
    }
    out.insert("Statement".to_owned(), json!(statements));
    Ok(serde_json::Value::Object(out))
}

fn statement(block: &Evaluated, at: &str) -> Result<serde_json::Value, String> {
    let at = match block.attribute("sid") {
        Some(Value::String(sid)) => format!("{at} ({sid})"),
        _ => at.to_owned(),
    };
    let mut out = serde_json::Map::new();
    let mut lists: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut effect = "Allow".to_owned();
    for (key, value) in &block.attributes {
        let at = format!("{at}: {key}");
        match key.as_str() {
            "sid" => {
                if let Some(sid) = string(value, &at)?.filter(|s| !s.is_empty()) {
                    out.insert("Sid".to_owned(), json!(sid));
                }
            }
            "effect" => {
                if let Some(e) = string(value, &at)? {
                    if e != "Allow" && e != "Deny" {
                        return Err(format!("{at} is {e:?}, not Allow or Deny"));
                    }
                    effect = e;
                }
            }
            "actions" | "not_actions" | "resources" | "not_resources" => {
                lists.insert(key, strings(value, &at)?);
            }
            other => {
                return Err(format!(
                    "{at}: the statement argument `{other}` is not supported by iam-policy"
                ))
            }
        }
    }
    out.insert("Effect".to_owned(), json!(effect));
    for (key, name) in [
        ("actions", "Action"),
        ("not_actions", "NotAction"),
        ("resources", "Resource"),
        ("not_resources", "NotResource"),
    ] {
        if let Some(values) = lists.remove(key).filter(|v| !v.is_empty()) {
            out.insert(name.to_owned(), string_list(values));
        }
    }

    let mut principals: BTreeMap<&str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut conditions: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (kind, nested) in &block.blocks {
        let at = format!("{at}: {kind}");
        let required = |name: &str| -> Result<&Value, String> {
            nested
                .attribute(name)
                .ok_or_else(|| format!("{at}: no `{name}`"))
        };
        let only = |names: &[&str]| -> Result<(), String> {
            match nested
                .attributes
                .iter()
                .find(|(key, _)| !names.contains(&key.as_str()))
            {
                Some((key, _)) => Err(format!("{at}: unexpected `{key}`")),
                None => Ok(()),
            }
        };
        match kind.as_str() {
            "principals" | "not_principals" => {
                only(&["type", "identifiers"])?;
                let kind_name = if kind == "principals" {
                    "Principal"
                } else {
                    "NotPrincipal"
                };
                let type_ = string(required("type")?, &at)?.unwrap_or_default();
                let identifiers = strings(required("identifiers")?, &at)?;
                principals
                    .entry(kind_name)
                    .or_default()
                    .entry(type_)
                    .or_default()
                    .extend(identifiers);
            }
            "condition" => {
                only(&["test", "variable", "values"])?;
                let test = string(required("test")?, &at)?.unwrap_or_default();
                let variable = string(required("variable")?, &at)?.unwrap_or_default();
                let values = strings(required("values")?, &at)?;
                conditions
                    .entry(test)
                    .or_default()
                    .entry(variable)
                    .or_default()
                    .extend(values);
            }
            other => {
                return Err(format!(
                    "{at}: the statement block `{other}` is not supported by iam-policy"
                ))
            }
        }
    }
    for name in ["Principal", "NotPrincipal"] {
        if let Some(by_type) = principals.remove(name) {
            let everyone = by_type.len() == 1
                && by_type
                    .get("*")
                    .is_some_and(|ids| ids.iter().all(|id| id == "*"));
            let value = if everyone {
                json!("*")
            } else {
                serde_json::Value::Object(
                    by_type
                        .into_iter()
                        .map(|(type_, ids)| (type_, string_list(ids)))
                        .collect(),
                )
            };
            out.insert(name.to_owned(), value);
        }
    }
    if !conditions.is_empty() {
        let value: serde_json::Map<String, serde_json::Value> = conditions
            .into_iter()
            .map(|(test, by_variable)| {
                let inner: serde_json::Map<String, serde_json::Value> = by_variable
                    .into_iter()
                    .map(|(variable, values)| (variable, string_list(values)))
                    .collect();
                (test, serde_json::Value::Object(inner))
            })
            .collect();
        out.insert("Condition".to_owned(), serde_json::Value::Object(value));
    }
    Ok(serde_json::Value::Object(out))
}
