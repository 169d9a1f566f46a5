//! The IAM policy a generated Terraform module declares, rendered from its HCL at test time.
//!
//! [`Module::policy_document`] reads a `data "aws_iam_policy_document" "<name>"` block of a
//! module's `main.tf` and produces the JSON policy Terraform's AWS provider would: its
//! `statement` blocks and `dynamic "statement"` blocks (`for_each`, `iterator`, `content`),
//! with `sid`, `effect` (default `Allow`), `actions`, `not_actions`, `resources`,
//! `not_resources`, `condition` and `principals`/`not_principals`; lists as the provider
//! writes them (one value as a string, else distinct values in reverse lexical order).
//!
//! Values come from the [`Inputs`] a test gives: `var.*` (the module's inputs, as the root
//! module would pass them) and `data.*` (e.g. [`Inputs::aws`] for the partition, region and
//! account id); `local.*` are evaluated from the module's own `locals` blocks, only those the
//! document needs. Before anything is evaluated, every `var`, `data` attribute, `local` and
//! function the document needs is checked, and the error names all that are missing, so a
//! renamed module variable or a new data source is a one-line change in the test's inputs.
//! The functions provided are Terraform's `coalesce`, `compact`, `concat`, `contains`,
//! `distinct`, `flatten`, `format`, `join`, `jsonencode`, `keys`, `length`, `lookup`,
//! `lower`, `merge`, `replace` (plain strings), `tolist`, `tomap`, `toset`, `tostring`, `trimprefix`,
//! `trimsuffix`, `upper` and `values`.
//!
//! [`Module::module_argument`] evaluates any argument of a `module` block the same way, e.g.
//! the `environment` a module gives its Lambda function.
//!
//! ```
//! use iam_policy::{Inputs, Module};
//! use serde_json::json;
//!
//! let module = Module::parse("main.tf", r#"
//!     locals { prefix = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket}" }
//!     data "aws_iam_policy_document" "reader" {
//!       statement {
//!         sid       = "Read"
//!         actions   = ["s3:GetObject"]
//!         resources = ["${local.prefix}/*"]
//!       }
//!     }
//! "#).unwrap();
//! let inputs = Inputs::aws("aws", "us-east-1", "123456789012").var("bucket", "data");
//! let policy = module.policy_document("reader", &inputs).unwrap();
//! assert_eq!(policy.json(), &json!({
//!     "Version": "2012-10-17",
//!     "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
//!                    "Resource": "arn:aws:s3:::data/*"}],
//! }));
//!
//! let err = module.policy_document("reader", &Inputs::new()).unwrap_err();
//! assert!(err.to_string().contains("var.bucket (through local.prefix)"), "{err}");
//! ```

mod document;
mod functions;
mod refs;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use hcl::eval::{Context, Evaluate};
use hcl::{Body, Expression, Map, Value};

use crate::refs::{Refs, Walker};

/// Why a document could not be rendered; the message names the module file and what is
/// missing or unsupported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The values of `var.*` and `data.*` a module is rendered with.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    vars: Map<String, Value>,
    data: Map<String, Value>,
}

impl Inputs {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// The data sources every generated module reads: `data.aws_partition.current.partition`,
    /// `data.aws_region.current.region` (and its older `name`) and
    /// `data.aws_caller_identity.current.account_id`.
    pub fn aws(partition: &str, region: &str, account_id: &str) -> Self {
        Self::new()
            .data("aws_partition.current.partition", partition)
            .data("aws_region.current.region", region)
            .data("aws_region.current.name", region)
            .data("aws_caller_identity.current.account_id", account_id)
    }

    /// `var.<name>`: a module input, as the root module passes it (`null` for an unset
    /// optional one).
    pub fn var(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.vars.insert(name.to_owned(), hcl_value(value.into()));
        self
    }

    /// `data.<path>`, e.g. `aws_region.current.region`.
    pub fn data(mut self, path: &str, value: impl Into<serde_json::Value>) -> Self {
        let mut names: Vec<&str> = path.split('.').collect();
        let last = names.pop().unwrap_or_default();
        let mut map = &mut self.data;
        for name in names {
            let entry = map
                .entry(name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            map = entry.as_object_mut().expect("just made an object");
        }
        map.insert(last.to_owned(), hcl_value(value.into()));
        self
    }

    /// Whether `data.<path>` has a value.
    fn has_data(&self, path: &[String]) -> bool {
        let mut map = &self.data;
        for (i, name) in path.iter().enumerate() {
            match map.get(name) {
                Some(Value::Object(inner)) if i + 1 < path.len() => map = inner,
                Some(_) => return true,
                None => return false,
            }
        }
        true
    }
}

fn hcl_value(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                hcl::Number::from_f64(n.as_f64().unwrap_or_default())
                    .map_or(Value::Null, Value::Number)
            }
        }
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::Array(items.into_iter().map(hcl_value).collect()),
        serde_json::Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, hcl_value(value)))
                .collect(),
        ),
    }
}

fn json_value(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                n.as_f64().map_or(serde_json::Value::Null, Into::into)
            }
        }
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(json_value).collect()),
        Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), json_value(value)))
                .collect(),
        ),
    }
}

/// A rendered policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    json: serde_json::Value,
}

impl Policy {
    /// The policy as JSON: `{"Version": …, "Statement": [...]}`.
    pub fn json(&self) -> &serde_json::Value {
        &self.json
    }

    /// The statements, in the order the document declares them.
    pub fn statements(&self) -> &[serde_json::Value] {
        self.json["Statement"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The statements' `Sid`s (statements without one left out).
    pub fn sids(&self) -> Vec<&str> {
        self.statements()
            .iter()
            .filter_map(|s| s["Sid"].as_str())
            .collect()
    }

    /// The statement whose `Sid` is `sid`.
    pub fn statement(&self, sid: &str) -> Option<&serde_json::Value> {
        self.statements()
            .iter()
            .find(|s| s["Sid"].as_str() == Some(sid))
    }

    /// The policy without the statement whose `Sid` is `sid`: for a test proving that a call
    /// needs that statement. Fails, naming the Sids there are, if there is none.
    pub fn without_statement(&self, sid: &str) -> Result<Policy, Error> {
        if self.statement(sid).is_none() {
            return Err(Error::new(format!(
                "the policy has no statement with Sid {sid:?}; its Sids: {}",
                self.sids().join(", ")
            )));
        }
        let mut json = self.json.clone();
        if let Some(statements) = json["Statement"].as_array_mut() {
            statements.retain(|s| s["Sid"].as_str() != Some(sid));
        }
        Ok(Policy { json })
    }
}

impl fmt::Display for Policy {
    /// Compact JSON, as IAM takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.json)
    }
}

/// A module's `main.tf`, parsed.
#[derive(Debug, Clone)]
pub struct Module {
    origin: String,
    body: Body,
    locals: BTreeMap<String, Expression>,
}

impl Module {
    /// Reads and parses the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(path.display().to_string(), &text)
    }

    /// Parses `text`; `origin` names it in errors (the file's path).
    pub fn parse(origin: impl Into<String>, text: &str) -> Result<Self, Error> {
        let origin = origin.into();
        let body: Body =
            hcl::parse(text).map_err(|e| Error::new(format!("{origin}: not valid HCL: {e}")))?;
        let mut locals = BTreeMap::new();
        for block in body.blocks().filter(|b| b.identifier() == "locals") {
            for attribute in block.body().attributes() {
                locals.insert(attribute.key().to_owned(), attribute.expr().clone());
            }
        }
        Ok(Self {
            origin,
            body,
            locals,
        })
    }

    /// The names of the module's `aws_iam_policy_document` data sources.
    pub fn policy_documents(&self) -> Vec<&str> {
        self.body
            .blocks()
            .filter(|b| b.identifier() == "data")
            .filter_map(|b| match b.labels() {
                [kind, name] if kind.as_str() == "aws_iam_policy_document" => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The JSON policy `data "aws_iam_policy_document" "<name>"` produces with `inputs`.
    pub fn policy_document(&self, name: &str, inputs: &Inputs) -> Result<Policy, Error> {
        let what = format!("data.aws_iam_policy_document.{name}");
        let block = self
            .body
            .blocks()
            .find(|b| {
                b.identifier() == "data"
                    && matches!(b.labels(), [kind, n]
                        if kind.as_str() == "aws_iam_policy_document" && n.as_str() == name)
            })
            .ok_or_else(|| {
                Error::new(format!(
                    "{}: no data \"aws_iam_policy_document\" \"{name}\" block; the documents \
                     there: {}",
                    self.origin,
                    self.policy_documents().join(", ")
                ))
            })?;
        let mut refs = Refs::default();
        Walker::new(&mut refs).body(block.body());
        let ctx = self.context(&what, &refs, inputs)?;
        let evaluated = document::expand(block.body(), &ctx, &what)
            .map_err(|e| Error::new(format!("{}: {e}", self.origin)))?;
        let json = document::policy(&evaluated, &what)
            .map_err(|e| Error::new(format!("{}: {e}", self.origin)))?;
        Ok(Policy { json })
    }

    /// The value of `argument` of `module "<module>"` with `inputs`, e.g. `("function",
    /// "environment")` for the environment a module gives its Lambda function.
    pub fn module_argument(
        &self,
        module: &str,
        argument: &str,
        inputs: &Inputs,
    ) -> Result<serde_json::Value, Error> {
        let what = format!("module.{module}.{argument}");
        let block = self
            .body
            .blocks()
            .find(|b| {
                b.identifier() == "module" && matches!(b.labels(), [n] if n.as_str() == module)
            })
            .ok_or_else(|| Error::new(format!("{}: no module \"{module}\" block", self.origin)))?;
        let expr = block
            .body()
            .attributes()
            .find(|a| a.key() == argument)
            .ok_or_else(|| {
                Error::new(format!(
                    "{}: module \"{module}\" has no argument `{argument}`",
                    self.origin
                ))
            })?
            .expr();
        let mut refs = Refs::default();
        Walker::new(&mut refs).expr(expr);
        let ctx = self.context(&what, &refs, inputs)?;
        let value = expr
            .evaluate(&ctx)
            .map_err(|e| Error::new(format!("{}: {what}: {e}", self.origin)))?;
        Ok(json_value(&value))
    }

    /// The references of `local.<name>`, or `None` if the module has no such local.
    fn local_refs(&self, name: &str) -> Option<Refs> {
        let expr = self.locals.get(name)?;
        let mut refs = Refs::default();
        Walker::new(&mut refs).expr(expr);
        Some(refs)
    }

    /// Checks that `inputs` and the module give everything `refs` (and the locals they
    /// name, transitively) need, then evaluates those locals and returns the context to
    /// evaluate `what` in.
    fn context(&self, what: &str, refs: &Refs, inputs: &Inputs) -> Result<Context<'static>, Error> {
        // What is missing → the locals it is needed through (empty: needed directly).
        let mut missing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut problems: Vec<String> = Vec::new();
        let mut needed_locals: Vec<String> = Vec::new();
        let mut queue: Vec<(Refs, Option<String>)> = vec![(refs.clone(), None)];
        let mut seen: BTreeSet<String> = BTreeSet::new();
        while let Some((refs, through)) = queue.pop() {
            let mut note = |name: String| {
                let entry = missing.entry(name).or_default();
                if let Some(local) = &through {
                    entry.insert(format!("local.{local}"));
                }
            };
            for var in &refs.vars {
                if !inputs.vars.contains_key(var) {
                    note(format!("var.{var}"));
                }
            }
            for path in &refs.data {
                if !inputs.has_data(path) {
                    note(format!("data.{}", path.join(".")));
                }
            }
            for func in &refs.funcs {
                if !functions::is_provided(func) {
                    note(format!("function {func}()"));
                }
            }
            for other in &refs.unresolvable {
                note(other.clone());
            }
            problems.extend(refs.bad_templates.iter().cloned());
            for local in &refs.locals {
                match self.local_refs(local) {
                    None => note(format!("local.{local} (not in the module's locals)")),
                    Some(local_refs) => {
                        if seen.insert(local.clone()) {
                            needed_locals.push(local.clone());
                            queue.push((local_refs, Some(local.clone())));
                        }
                    }
                }
            }
        }
        if !missing.is_empty() || !problems.is_empty() {
            let mut message = format!(
                "{}: {what} needs values the test does not give:",
                self.origin
            );
            for (name, through) in &missing {
                message.push_str("\n  - ");
                message.push_str(name);
                if !through.is_empty() {
                    let through: Vec<&str> = through.iter().map(String::as_str).collect();
                    message.push_str(&format!(" (through {})", through.join(", ")));
                }
            }
            for problem in &problems {
                message.push_str(&format!("\n  - a template that does not parse: {problem}"));
            }
            message.push_str(&format!(
                "\nGive each var.* and data.* in the iam_policy::Inputs, as the root module \
                 passes it (null for an unset optional variable); the functions provided are {}.",
                functions::names().join(", ")
            ));
            return Err(Error::new(message));
        }

        let base = |locals: &Map<String, Value>| {
            let mut ctx = Context::new();
            functions::declare(&mut ctx);
            ctx.declare_var("var", Value::Object(inputs.vars.clone()));
            ctx.declare_var("data", Value::Object(inputs.data.clone()));
            ctx.declare_var("local", Value::Object(locals.clone()));
            ctx
        };
        let mut locals: Map<String, Value> = Map::new();
        let mut in_progress: Vec<String> = Vec::new();
        for name in &needed_locals {
            self.evaluate_local(name, &mut locals, &mut in_progress, &base)?;
        }
        Ok(base(&locals))
    }

    /// Evaluates `local.<name>` after the locals it refers to.
    fn evaluate_local(
        &self,
        name: &str,
        locals: &mut Map<String, Value>,
        in_progress: &mut Vec<String>,
        base: &dyn Fn(&Map<String, Value>) -> Context<'static>,
    ) -> Result<(), Error> {
        if locals.contains_key(name) {
            return Ok(());
        }
        if in_progress.iter().any(|n| n == name) {
            return Err(Error::new(format!(
                "{}: the locals refer to each other in a cycle: {} → {name}",
                self.origin,
                in_progress.join(" → ")
            )));
        }
        in_progress.push(name.to_owned());
        let refs = self.local_refs(name).unwrap_or_default();
        for dependency in &refs.locals {
            self.evaluate_local(dependency, locals, in_progress, base)?;
        }
        in_progress.pop();
        let value = self.locals[name]
            .evaluate(&base(locals))
            .map_err(|e| Error::new(format!("{}: local.{name}: {e}", self.origin)))?;
        locals.insert(name.to_owned(), value);
        Ok(())
    }
}
