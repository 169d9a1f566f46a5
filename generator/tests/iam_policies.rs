//! Least privilege, checked on every generated tree: no IAM statement that allows a `*` or
//! wildcard action, and `Resource = "*"` only for actions AWS documents as having no
//! resource-level permissions. Every policy the tree attaches must be an
//! `aws_iam_policy_document`, so that no policy escapes this walk.

mod common;

use common::whole_trees;

use hcl::{Block, Body, Expression, ObjectKey};
use std::path::{Path, PathBuf};

/// Actions that accept no resource ARN, so `"*"` is the only possible resource.
const ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS: &[&str] = &[
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslakeformation.html
    // (GetDataAccess: no resource types)
    "lakeformation:GetDataAccess",
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
    // (PutTraceSegments, PutTelemetryRecords: no resource types)
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
];

fn tf_files(tree: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(tree)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == ".terraform"))
        .collect();
    files.sort();
    files
}

fn strings(expr: Option<&Expression>) -> Vec<String> {
    match expr {
        Some(Expression::Array(items)) => items.iter().map(|i| i.to_string()).collect(),
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

fn attr<'a>(body: &'a Body, name: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key() == name)
        .map(|a| a.expr())
}

fn unquote(s: &str) -> &str {
    s.trim_matches('"')
}

/// The statements of a policy document, those written inside `dynamic "statement"` included.
fn statements(doc: &Body) -> Vec<&Body> {
    let mut out = Vec::new();
    for block in doc.blocks() {
        match block.identifier() {
            "statement" => out.push(block.body()),
            "dynamic" if block.labels().first().map(|l| l.as_str()) == Some("statement") => {
                out.extend(
                    block
                        .body()
                        .blocks()
                        .filter(|b| b.identifier() == "content")
                        .map(Block::body),
                );
            }
            _ => {}
        }
    }
    out
}

/// Violations of least privilege in one policy document.
fn check_document(where_: &str, doc: &Body) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, st) in statements(doc).into_iter().enumerate() {
        let at = format!("{where_} statement {}", i + 1);
        let effect = attr(st, "effect").map(|e| unquote(&e.to_string()).to_string());
        // Deny statements may be as broad as they like (the buckets deny `s3:*` without TLS).
        if effect.as_deref() == Some("Deny") {
            continue;
        }
        if attr(st, "not_actions").is_some() || attr(st, "not_resources").is_some() {
            problems.push(format!(
                "{at}: an Allow with NotAction/NotResource grants everything else"
            ));
        }
        let actions = strings(attr(st, "actions"));
        let resources = strings(attr(st, "resources"));
        for action in &actions {
            let action = unquote(action);
            if action.contains('*') || action.contains('?') {
                problems.push(format!("{at}: wildcard action `{action}`"));
            }
        }
        if resources.iter().any(|r| unquote(r) == "*") {
            for action in &actions {
                if !ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS.contains(&unquote(action)) {
                    problems.push(format!(
                        "{at}: `{}` on Resource \"*\", but it supports resource-level permissions",
                        unquote(action)
                    ));
                }
            }
        }
        let is_trust = actions
            .iter()
            .any(|a| unquote(a).starts_with("sts:AssumeRole"));
        if resources.is_empty() && !is_trust {
            problems.push(format!(
                "{at}: an Allow without resources means Resource \"*\""
            ));
        }
    }
    problems
}

/// A `policy`-like argument must come from a policy document of the same module, or be the
/// `each.value` of a `for_each` over `var.policies`, whose values are checked at the caller.
fn check_policy_argument(where_: &str, block: &Body, value: &Expression) -> Option<String> {
    let text = value.to_string();
    let from_document =
        text.starts_with("data.aws_iam_policy_document.") && text.ends_with(".json");
    let passed_through = text == "each.value"
        && attr(block, "for_each").map(|e| e.to_string()).as_deref() == Some("var.policies");
    (!from_document && !passed_through)
        .then(|| format!("{where_}: policy `{text}` is not an aws_iam_policy_document"))
}

fn check_file(path: &Path, text: &str) -> (usize, Vec<String>) {
    let body = hcl::parse(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut documents = 0;
    let mut problems = Vec::new();
    for block in body.blocks() {
        let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
        let where_ = format!(
            "{}: {} {}",
            path.display(),
            block.identifier(),
            labels.join(".")
        );
        match (block.identifier(), labels.as_slice()) {
            ("data", ["aws_iam_policy_document", _]) => {
                documents += 1;
                problems.extend(check_document(&where_, block.body()));
            }
            ("resource", _) => {
                for key in ["policy", "assume_role_policy"] {
                    if let Some(value) = attr(block.body(), key) {
                        problems.extend(check_policy_argument(&where_, block.body(), value));
                    }
                }
            }
            ("module", _) => {
                if let Some(Expression::Object(policies)) = attr(block.body(), "policies") {
                    for (key, value) in policies {
                        let name = match key {
                            ObjectKey::Identifier(i) => i.to_string(),
                            ObjectKey::Expression(e) => e.to_string(),
                            _ => "?".into(),
                        };
                        let text = value.to_string();
                        if !(text.starts_with("data.aws_iam_policy_document.")
                            && text.ends_with(".json"))
                        {
                            problems.push(format!(
                                "{where_}: policies.{name} `{text}` is not an aws_iam_policy_document"
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (documents, problems)
}

#[test]
fn generated_policies_grant_least_privilege() {
    let (_scratch, trees) = whole_trees();
    for tree in trees {
        let mut documents = 0;
        let mut problems = Vec::new();
        for file in tf_files(&tree) {
            let text = std::fs::read_to_string(&file).unwrap();
            let (n, p) = check_file(file.strip_prefix(&tree).unwrap(), &text);
            documents += n;
            problems.extend(p);
        }
        assert!(
            problems.is_empty(),
            "{}:\n{}",
            tree.display(),
            problems.join("\n")
        );
        // Trust policies of three roles, their permissions and the bucket policy at least.
        assert!(
            documents >= 7,
            "{}: only {documents} policy documents found",
            tree.display()
        );
    }
}

#[test]
fn the_walk_rejects_broad_statements() {
    let bad = r#"
data "aws_iam_policy_document" "broad" {
  statement {
    actions   = ["athena:*", "s3:Get*", "glue:GetTable"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = [1]
    content {
      actions   = ["*"]
      resources = ["arn:aws:s3:::b"]
    }
  }

  statement {
    actions = ["s3:GetObject"]
  }

  statement {
    not_actions = ["iam:CreateUser"]
    resources   = ["arn:aws:s3:::b"]
  }

  statement {
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["*"]
  }

  statement {
    actions   = ["xray:PutTraceSegments", "lakeformation:GetDataAccess"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "inline" {
  policy = jsonencode({ Statement = [] })
}

module "function" {
  source   = "./f"
  policies = { raw = "{}" }
}
"#;
    let (documents, problems) = check_file(Path::new("bad.tf"), bad);
    assert_eq!(documents, 1);
    let expect = [
        "statement 1: wildcard action `athena:*`",
        "statement 1: wildcard action `s3:Get*`",
        "statement 1: `athena:*` on Resource \"*\"",
        "statement 1: `s3:Get*` on Resource \"*\"",
        "statement 1: `glue:GetTable` on Resource \"*\"",
        "statement 2: wildcard action `*`",
        "statement 3: an Allow without resources",
        "statement 4: an Allow with NotAction/NotResource",
        "resource aws_iam_role_policy.inline: policy `jsonencode(",
        "module function: policies.raw",
    ];
    for e in expect {
        assert!(
            problems.iter().any(|p| p.contains(e)),
            "missing `{e}` in:\n{}",
            problems.join("\n")
        );
    }
    // The Deny and the documented Resource "*" actions pass; nothing else is reported.
    assert_eq!(problems.len(), expect.len(), "{}", problems.join("\n"));
}
