//! Deploy rules: what AWS and Terraform enforce at plan, apply or run time, and the generated
//! stack relies on, checked over `terraform/`, every golden tree and contexts that switch the
//! options on. None of these is visible to the provider-schema check, checkov or moto; each test
//! names the document its rule comes from. docs/deploy-rules.md lists them.

mod common;

use common::workspace;

use hcl::{Block, Body, Expression};
use metering_gen::artifacts::{LAMBDA_ARCHITECTURE, LAMBDA_TARGET};
use std::collections::BTreeMap;
use std::path::Path;

/// A generated tree: relative path → text.
struct Tree {
    name: String,
    files: BTreeMap<String, String>,
}

/// A top-level block of a tree, with the file it is in.
struct Found {
    file: String,
    block: Block,
}

impl Found {
    fn at(&self, tree: &Tree) -> String {
        let labels: Vec<&str> = self.block.labels().iter().map(|l| l.as_str()).collect();
        format!("{}/{}: {}", tree.name, self.file, labels.join("."))
    }
}

impl Tree {
    fn on_disk(name: &str, root: &Path) -> Tree {
        let mut files = BTreeMap::new();
        for entry in walkdir::WalkDir::new(root) {
            let path = entry.unwrap().into_path();
            if path.is_file() && !path.components().any(|c| c.as_os_str() == "artifacts") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
        Tree {
            name: name.to_owned(),
            files,
        }
    }

    /// The context `base` with `patch` merged into its sections, rendered in memory.
    fn rendered(name: &str, base: &str, patch: serde_json::Value) -> Tree {
        let mut context: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(workspace().join("examples").join(base)).unwrap(),
        )
        .unwrap();
        for (section, values) in patch.as_object().unwrap() {
            let target = context
                .as_object_mut()
                .unwrap()
                .entry(section.clone())
                .or_insert_with(|| serde_json::json!({}));
            for (key, value) in values.as_object().unwrap() {
                target[key] = value.clone();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, context.to_string()).unwrap();
        let files = metering_gen::generate(&path, &workspace())
            .unwrap_or_else(|e| panic!("rendering the `{name}` context: {e}"));
        Tree {
            name: format!("<{name}>"),
            files,
        }
    }

    fn body(&self, path: &str) -> Option<Body> {
        self.files
            .get(path)
            .map(|text| hcl::parse(text).unwrap_or_else(|e| panic!("{}/{path}: {e}", self.name)))
    }

    /// Top-level blocks `ident "label0" …` in every `.tf` file under `dir` ("" for all).
    fn blocks(&self, dir: &str, ident: &str, label0: Option<&str>) -> Vec<Found> {
        let mut found = Vec::new();
        for path in self.files.keys().filter(|p| p.ends_with(".tf")) {
            if !path.starts_with(dir) {
                continue;
            }
            for block in self.body(path).unwrap().into_blocks() {
                let first = block.labels().first().map(|l| l.as_str().to_owned());
                if block.identifier() == ident && (label0.is_none() || first.as_deref() == label0) {
                    found.push(Found {
                        file: path.clone(),
                        block,
                    });
                }
            }
        }
        found
    }

    fn resources(&self, ty: &str) -> Vec<Found> {
        self.blocks("", "resource", Some(ty))
    }
}

/// `terraform/`, every golden tree, and contexts that switch on what no golden does.
fn trees() -> Vec<Tree> {
    let root = workspace();
    let mut trees = vec![Tree::on_disk("terraform", &root.join("terraform"))];
    let mut goldens: Vec<_> = std::fs::read_dir(root.join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    goldens.sort();
    for golden in goldens {
        let name = format!(
            "tests/golden/{}",
            golden.file_name().unwrap().to_string_lossy()
        );
        // A golden tree holds only what its context changes: the rest is `terraform/`'s.
        let mut tree = Tree::on_disk(&name, &root.join("terraform"));
        tree.files.extend(Tree::on_disk(&name, &golden).files);
        trees.push(tree);
    }
    let kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    trees.push(Tree::rendered(
        "everything-on",
        "metering.json",
        serde_json::json!({
            "deployment": {"kms_key_arn": kms, "force_destroy": true, "s3_access_log_bucket": "my-access-logs"},
            "api": {"dev_stage": true, "cloudwatch_account_role": true},
        }),
    ));
    trees.push(Tree::rendered(
        "billing-without-grants",
        "metering.json",
        serde_json::json!({"lake_formation": {"grant_permissions": false}}),
    ));
    trees
}

fn attr<'a>(body: &'a Body, name: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key() == name)
        .map(|a| a.expr())
}

/// A string's value (a template's text without its quotes); any other expression as HCL.
fn text(expr: &Expression) -> String {
    match expr {
        Expression::String(s) => s.clone(),
        Expression::TemplateExpr(t) => {
            let quoted = t.to_string();
            quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .map_or(quoted.clone(), str::to_owned)
        }
        other => other.to_string(),
    }
}

fn attr_text(body: &Body, name: &str) -> Option<String> {
    attr(body, name).map(text)
}

fn nested<'a>(body: &'a Body, ident: &str) -> Vec<&'a Body> {
    body.blocks()
        .filter(|b| b.identifier() == ident)
        .map(Block::body)
        .collect()
}

fn list_texts(expr: Option<&Expression>) -> Vec<String> {
    match expr {
        Some(Expression::Array(items)) => items.iter().map(text).collect(),
        Some(other) => vec![text(other)],
        None => Vec::new(),
    }
}

/// Runs `rule` over every tree and fails with every problem it reports.
fn over_every_tree(rule: impl Fn(&Tree, &mut Vec<String>)) {
    let mut problems = Vec::new();
    let trees = trees();
    assert!(trees.len() >= 8, "terraform/, the goldens and the variants");
    for tree in &trees {
        rule(tree, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// Amazon Cognito API Reference, VerificationMessageTemplateType: EmailMessage (6–20000
// characters) and SmsMessage (6–140) must contain the `{####}` placeholder, EmailSubject has
// 1–140 characters; the provider validates the same at plan time.
#[test]
fn cognito_verification_messages_hold_the_code_placeholder() {
    over_every_tree(|tree, problems| {
        let pools = tree.resources("aws_cognito_user_pool");
        if pools.is_empty() {
            problems.push(format!("{}: no user pool", tree.name));
        }
        for pool in pools {
            for template in nested(pool.block.body(), "verification_message_template") {
                for (key, min, max, placeholder) in [
                    ("email_message", 6, 20_000, true),
                    ("sms_message", 6, 140, true),
                    ("email_subject", 1, 140, false),
                ] {
                    let Some(text) = attr_text(template, key) else {
                        continue;
                    };
                    let chars = text.chars().count();
                    if placeholder && !text.contains("{####}") {
                        problems.push(format!("{}: {key} {text:?} lacks {{####}}", pool.at(tree)));
                    }
                    if !(min..=max).contains(&chars) {
                        problems.push(format!(
                            "{}: {key} has {chars} characters, Cognito takes {min}–{max}",
                            pool.at(tree)
                        ));
                    }
                }
            }
        }
    });
}

/// Where minijinja reads `{#` as the start of a comment, outside `{{ }}` and `{% %}`.
fn comment_starts(template: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(i) = rest.find('{') {
        let after = &rest[i..];
        let skip = if let Some(close) = ["{{", "{%"]
            .iter()
            .zip(["}}", "%}"])
            .find(|(open, _)| after.starts_with(**open))
            .map(|(_, close)| close)
        {
            after
                .find(close)
                .map_or(after.len(), |end| end + close.len())
        } else {
            if after.starts_with("{#") {
                found.push(offset + i);
            }
            1
        };
        offset += i + skip;
        rest = &rest[i + skip..];
    }
    found
}

// The class behind a Cognito message that lost its `{####}`: minijinja (like Jinja) reads
// `{#…#}` as a comment and drops it, so template text would vanish without an error. The
// templates (`*.j2`) use no comments; a literal `{#` is written as `{{ "{#" }}`. Files without
// template syntax are copied verbatim (render tests check they hold none), so their `{####}`
// stays as written.
#[test]
fn templates_hold_no_text_that_minijinja_drops_as_a_comment() {
    assert_eq!(
        comment_starts(r#"a {####} b"#),
        [2],
        "the defect this guards against"
    );
    assert_eq!(
        comment_starts(r#"a {{ "{####}" }} {% if x %}{#{% endif %}"#),
        [27]
    );
    assert!(comment_starts(r#"${x} %{ if y }{{ "{#" }}"#).is_empty());
    let templates = workspace().join("generator/templates");
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(&templates) {
        let path = entry.unwrap().into_path();
        // Only `*.j2` files are rendered; the others are copied verbatim, `{#` and all.
        if !path.is_file() || path.extension().is_none_or(|e| e != "j2") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for at in comment_starts(&text) {
            let line = text[..at].lines().count().max(1);
            problems.push(format!(
                "{}:{line}: `{{#` starts a template comment, which drops the text up to `#}}`; write a literal `{{#` as {{{{ \"{{#\" }}}}",
                path.strip_prefix(&templates).unwrap().display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `aws_athena_workgroup` resource behind the root's `module.athena.<output>`.
fn workgroup_behind(tree: &Tree, reference: &str) -> Option<Body> {
    let output = reference.strip_prefix("module.athena.")?;
    let outputs = tree.body("modules/athena/outputs.tf")?;
    let value = outputs
        .blocks()
        .find(|b| b.identifier() == "output" && b.labels()[0].as_str() == output)
        .and_then(|b| attr_text(b.body(), "value"))?;
    let resource = value
        .strip_prefix("aws_athena_workgroup.")?
        .split('.')
        .next()?;
    tree.blocks("modules/athena/", "resource", Some("aws_athena_workgroup"))
        .into_iter()
        .find(|f| f.block.labels()[1].as_str() == resource)
        .map(|f| f.block.body().clone())
}

// Athena User Guide, "Considerations and limitations for CTAS queries" and "Troubleshoot
// workgroup errors": a CTAS naming `external_location` fails in a workgroup that enforces its
// result location. The compaction's CTAS names the hour's folder, so the functions' workgroup
// must not enforce; its minimum encryption (which works only without enforcement, "Configure
// minimum encryption for a workgroup") keeps results encrypted.
#[test]
fn the_functions_run_in_a_workgroup_that_accepts_external_locations() {
    over_every_tree(|tree, problems| {
        let root = tree.body("main.tf").unwrap();
        for call in root.blocks().filter(|b| b.identifier() == "module") {
            let name = call.labels()[0].as_str();
            if !["compaction", "billing"].contains(&name) {
                continue;
            }
            let at = format!("{}/main.tf: module.{name}", tree.name);
            let wg = attr_text(call.body(), "workgroup_name").unwrap_or_default();
            let arn = attr_text(call.body(), "workgroup_arn").unwrap_or_default();
            let Some(workgroup) = workgroup_behind(tree, &wg) else {
                problems.push(format!(
                    "{at}: workgroup_name `{wg}` is no workgroup of the athena module"
                ));
                continue;
            };
            if workgroup_behind(tree, &arn) != Some(workgroup.clone()) {
                problems.push(format!(
                    "{at}: workgroup_arn `{arn}` is another workgroup than `{wg}`"
                ));
            }
            let config = nested(&workgroup, "configuration");
            let enforce = config
                .first()
                .and_then(|c| attr_text(c, "enforce_workgroup_configuration"));
            if enforce.as_deref() != Some("false") {
                problems.push(format!("{at}: runs in `{wg}`, whose enforce_workgroup_configuration is {enforce:?}: its CTAS would fail"));
            }
            let minimum = config
                .first()
                .and_then(|c| attr_text(c, "enable_minimum_encryption_configuration"));
            let encryption = config
                .first()
                .map(|c| nested(c, "result_configuration"))
                .and_then(|r| {
                    r.first()
                        .map(|r| nested(r, "encryption_configuration").len())
                });
            if minimum.as_deref() != Some("true") || encryption != Some(1) {
                problems.push(format!("{at}: `{wg}` must encrypt every result (minimum encryption and an encryption_configuration)"));
            }
        }
    });
}

/// The Terraform release that introduced each language feature the rule looks for, and how
/// to spot it in a module's text.
fn features_used(module: &BTreeMap<String, Body>, texts: &[&str]) -> Vec<((u32, u32), String)> {
    let mut used = Vec::new();
    for body in module.values() {
        for block in body.blocks() {
            let kind = block.identifier();
            let since = match kind {
                // Terraform 1.1: `moved`; 1.5: `check` and `import`; 1.7: `removed`;
                // 1.10: `ephemeral` resources (the CHANGELOG of each release).
                "moved" => Some((1, 1)),
                "check" | "import" => Some((1, 5)),
                "removed" => Some((1, 7)),
                "ephemeral" => Some((1, 10)),
                _ => None,
            };
            if let Some(since) = since {
                used.push((since, format!("a `{kind}` block")));
            }
            if kind == "resource" && block.labels()[0].as_str() == "terraform_data" {
                used.push(((1, 4), "the terraform_data resource".into()));
            }
            if kind == "variable" {
                let own = format!("var.{}", block.labels()[0].as_str());
                for validation in nested(block.body(), "validation") {
                    let condition = attr_text(validation, "condition").unwrap_or_default();
                    // Terraform 1.9: "Input variable validation rules can refer to other
                    // objects"; 1.5–1.8 fail with "Invalid reference in variable validation".
                    let others = condition
                        .match_indices("var.")
                        .map(|(i, _)| {
                            condition[i..]
                                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                                .next()
                                .unwrap()
                                .split('.')
                                .take(2)
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .any(|r| r != own);
                    if others {
                        used.push((
                            (1, 9),
                            format!("a validation of `{own}` that refers to another variable"),
                        ));
                    }
                }
                if attr(block.body(), "nullable").is_some() {
                    used.push(((1, 1), format!("`nullable` on `{own}`")));
                }
                if attr(block.body(), "ephemeral").is_some() {
                    used.push(((1, 10), format!("`ephemeral` on `{own}`")));
                }
            }
        }
    }
    // Functions and type constraints by the release that added them.
    for (needle, since) in [
        ("optional(", (1, 3)),
        ("startswith(", (1, 3)),
        ("endswith(", (1, 3)),
        ("timecmp(", (1, 3)),
        ("strcontains(", (1, 5)),
        ("plantimestamp(", (1, 5)),
        ("provider::", (1, 8)),
        ("issensitive(", (1, 8)),
        ("templatestring(", (1, 9)),
        ("ephemeralasnull(", (1, 10)),
    ] {
        if texts.iter().any(|t| {
            t.match_indices(needle).any(|(i, _)| {
                !t[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
            })
        }) {
            used.push((since, format!("`{}`", needle.trim_end_matches('('))));
        }
    }
    used
}

fn declared_minimum(versions_tf: &Body) -> Option<(u32, u32)> {
    let terraform = versions_tf
        .blocks()
        .find(|b| b.identifier() == "terraform")?;
    let constraint = attr_text(terraform.body(), "required_version")?;
    let version = constraint.trim().strip_prefix(">=")?.trim();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
}

/// Problems of one module folder (`""` for the root) of `tree`.
fn required_version_problems(tree: &Tree, dir: &str) -> Vec<String> {
    let tf: BTreeMap<String, Body> = tree
        .files
        .keys()
        .filter(|p| p.ends_with(".tf"))
        .filter(|p| p.rsplit_once('/').map_or("", |(d, _)| d) == dir.trim_end_matches('/'))
        .map(|p| (p.clone(), tree.body(p).unwrap()))
        .collect();
    let texts: Vec<&str> = tf.keys().map(|p| tree.files[p].as_str()).collect();
    let versions = format!("{dir}versions.tf");
    let Some(declared) = tf.get(&versions).and_then(declared_minimum) else {
        return vec![format!(
            "{}/{versions}: no `required_version = \">= X.Y\"`",
            tree.name
        )];
    };
    features_used(&tf, &texts)
        .into_iter()
        .filter(|(since, _)| *since > declared)
        .map(|((major, minor), what)| {
            format!(
                "{}/{versions}: declares >= {}.{}, but {dir} uses {what}, which needs Terraform {major}.{minor}",
                tree.name, declared.0, declared.1
            )
        })
        .collect()
}

// Terraform's CHANGELOG per release (1.9: validations that refer to other variables; 1.5:
// `check`; …): a module must declare at least the release of every feature it uses, or
// older releases accept the constraint and then fail on the configuration.
#[test]
fn required_version_covers_every_language_feature_used() {
    // The defect this guards against: a cross-variable validation under `>= 1.5`.
    let mut fixture = Tree {
        name: "<fixture>".into(),
        files: BTreeMap::new(),
    };
    fixture.files.insert(
        "versions.tf".into(),
        "terraform {\n  required_version = \">= 1.5\"\n}\n".into(),
    );
    fixture.files.insert(
        "variables.tf".into(),
        "variable \"first\" {\n  type = number\n}\n\nvariable \"last\" {\n  type = number\n\n  validation {\n    condition     = var.last >= var.first\n    error_message = \"Not before the first.\"\n  }\n}\n".into(),
    );
    let problems = required_version_problems(&fixture, "");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("needs Terraform 1.9"), "{problems:?}");

    over_every_tree(|tree, problems| {
        let mut dirs: Vec<String> = tree
            .files
            .keys()
            .filter(|p| p.ends_with("versions.tf"))
            .map(|p| p.trim_end_matches("versions.tf").to_owned())
            .collect();
        dirs.sort();
        assert!(dirs.len() > 5, "{}: the root and its modules", tree.name);
        for dir in dirs {
            problems.extend(required_version_problems(tree, &dir));
        }
    });
}

/// The `aws_iam_policy_document` statements of a block, `dynamic "statement"` contents included.
fn statements(doc: &Body) -> Vec<&Body> {
    let mut out = nested(doc, "statement");
    for dynamic in doc.blocks().filter(|b| b.identifier() == "dynamic") {
        out.extend(nested(dynamic.body(), "content"));
    }
    out
}

// Athena User Guide, "Configure access to databases and tables in the AWS Glue Data Catalog":
// every example grants glue:GetDatabase on the catalog and `database/default`; a role whose Glue
// access is scoped to its own databases fails with "not authorized to perform:
// glue:GetDatabase on resource …:database/default" otherwise.
#[test]
fn roles_that_run_athena_queries_can_read_the_default_database() {
    over_every_tree(|tree, problems| {
        let mut runners = 0;
        for doc in tree.blocks("", "data", Some("aws_iam_policy_document")) {
            let statements = statements(doc.block.body());
            let runs_queries = statements.iter().any(|s| {
                list_texts(attr(s, "actions")).contains(&"athena:StartQueryExecution".to_owned())
            });
            if !runs_queries {
                continue;
            }
            runners += 1;
            let reads_default = statements.iter().any(|s| {
                let resources = list_texts(attr(s, "resources"));
                list_texts(attr(s, "actions")).contains(&"glue:GetDatabase".to_owned())
                    && resources.iter().any(|r| r.ends_with(":database/default"))
                    && resources.iter().any(|r| r.ends_with(":catalog"))
            });
            if !reads_default {
                problems.push(format!(
                    "{}: runs Athena queries but may not glue:GetDatabase the catalog and database/default",
                    doc.at(tree)
                ));
            }
        }
        if runners == 0 {
            problems.push(format!("{}: no role runs Athena queries", tree.name));
        }
    });
}

// Lambda Developer Guide, "Lambda instruction set architectures": a function runs only a
// binary of the architecture it declares. The bootstraps are built for LAMBDA_TARGET
// (tests/check-artifacts.sh also reads each ELF header).
#[test]
fn functions_declare_the_architecture_their_bootstraps_are_built_for() {
    let triple_arch = match LAMBDA_ARCHITECTURE {
        "x86_64" => "x86_64-",
        "arm64" => "aarch64-",
        other => panic!("Lambda has no architecture `{other}`"),
    };
    assert!(LAMBDA_TARGET.starts_with(triple_arch) && LAMBDA_TARGET.ends_with("-linux-gnu"));
    over_every_tree(|tree, problems| {
        for function in tree.resources("aws_lambda_function") {
            let declared = list_texts(attr(function.block.body(), "architectures"));
            if declared != [LAMBDA_ARCHITECTURE] {
                problems.push(format!(
                    "{}: architectures {declared:?}, the bootstraps are built for {LAMBDA_TARGET}",
                    function.at(tree)
                ));
            }
        }
    });
}

// API Gateway Developer Guide, "Set up CloudWatch logging for REST APIs in API Gateway": API
// Gateway writes a stage's CloudWatch access and execution logs with the account's CloudWatch
// role, so the `dev` stage (CloudWatch access logs) needs `cloudwatch_account_role`.
#[test]
fn a_stage_logging_to_cloudwatch_comes_with_the_cloudwatch_role() {
    over_every_tree(|tree, problems| {
        let root = tree.body("main.tf").unwrap();
        let api = root
            .blocks()
            .find(|b| b.identifier() == "module" && b.labels()[0].as_str() == "api")
            .expect("the api module");
        let dev = attr_text(api.body(), "dev_stage");
        let role = attr_text(api.body(), "cloudwatch_account_role");
        if dev.as_deref() == Some("true") && role.as_deref() != Some("true") {
            problems.push(format!(
                "{}/main.tf: dev_stage without cloudwatch_account_role",
                tree.name
            ));
        }
        let variables = tree.body("modules/api/variables.tf").unwrap();
        let guarded = variables
            .blocks()
            .find(|b| b.identifier() == "variable" && b.labels()[0].as_str() == "dev_stage")
            .map(|b| nested(b.body(), "validation"))
            .is_some_and(|v| {
                v.iter().any(|v| {
                    attr_text(v, "condition")
                        .is_some_and(|c| c.contains("var.cloudwatch_account_role"))
                })
            });
        if !guarded {
            problems.push(format!(
                "{}/modules/api/variables.tf: dev_stage does not require cloudwatch_account_role",
                tree.name
            ));
        }
    });
}

// Provider source, internal/service/lakeformation/data_lake_settings.go: the resource's create
// replaces every data-lake setting of the account and its delete writes them all empty (no
// administrators, no default permissions), so a stack that declared it would change the
// account on apply and reset it on destroy. The grants ask for what the compaction job does
// (Lake Formation Developer Guide, "Implicit Lake Formation permissions": a table's creator
// may drop it without a grant), never DROP or ALL.
#[test]
fn lake_formation_settings_are_never_written_and_grants_are_narrow() {
    over_every_tree(|tree, problems| {
        for settings in tree.resources("aws_lakeformation_data_lake_settings") {
            problems.push(format!(
                "{}: declares the account's data-lake settings",
                settings.at(tree)
            ));
        }
        for grant in tree.resources("aws_lakeformation_permissions") {
            let permissions = list_texts(attr(grant.block.body(), "permissions"));
            for broad in ["ALL", "DROP", "ALTER", "DATA_LOCATION_ACCESS"] {
                if permissions.iter().any(|p| p == broad) {
                    problems.push(format!("{}: grants {broad}", grant.at(tree)));
                }
            }
        }
    });
}

// Terraform provider documentation, aws_api_gateway_stage, "Managing the API Logging
// CloudWatch Log Group": with execution logging, API Gateway creates
// `API-Gateway-Execution-Logs_{rest-api-id}/{stage-name}` itself (never expiring, never
// deleted) unless the configuration declares it first and the stage depends on it.
#[test]
fn execution_log_groups_are_declared_before_the_stages_that_log_there() {
    over_every_tree(|tree, problems| {
        let groups = tree.blocks("modules/api/", "resource", Some("aws_cloudwatch_log_group"));
        let execution = groups.iter().find(|g| {
            attr_text(g.block.body(), "name").is_some_and(|n| {
                n.starts_with("API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/")
            })
        });
        let Some(execution) = execution else {
            problems.push(format!("{}/modules/api: no execution log group", tree.name));
            return;
        };
        let address = format!(
            "aws_cloudwatch_log_group.{}",
            execution.block.labels()[1].as_str()
        );
        for ty in ["aws_api_gateway_stage", "aws_api_gateway_method_settings"] {
            for found in tree.blocks("modules/api/", "resource", Some(ty)) {
                if !list_texts(attr(found.block.body(), "depends_on")).contains(&address) {
                    problems.push(format!("{}: does not depend on {address}", found.at(tree)));
                }
            }
        }
        for found in tree.resources("aws_cloudwatch_log_group") {
            if attr(found.block.body(), "retention_in_days").is_none() {
                problems.push(format!("{}: no retention", found.at(tree)));
            }
        }
    });
}

// Terraform provider documentation, aws_api_gateway_deployment ("Terraform Resources"
// example): triggers hash the ids and arguments that shape the API. Hashing whole resources
// redeploys the stage whenever a provider release adds an attribute, with no change to the
// configuration.
#[test]
fn deployment_triggers_hash_attributes_not_whole_resources() {
    over_every_tree(|tree, problems| {
        for deployment in tree.resources("aws_api_gateway_deployment") {
            let triggers = attr_text(deployment.block.body(), "triggers").unwrap_or_default();
            let start = triggers.find('[').map_or(0, |i| i + 1);
            let end = triggers.rfind(']').unwrap_or(triggers.len());
            let items: Vec<&str> = triggers[start..end]
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if items.is_empty() {
                problems.push(format!("{}: no triggers", deployment.at(tree)));
            }
            for item in items {
                if item.split('.').count() < 3 {
                    problems.push(format!(
                        "{}: triggers hash the whole `{item}`",
                        deployment.at(tree)
                    ));
                }
            }
        }
    });
}

// Terraform language documentation, "The depends_on Meta-Argument": depends_on on a module
// makes every data source in it wait for the whole dependency, so its results are "known
// after apply" whenever anything there changes. The root passes references instead.
#[test]
fn the_root_module_orders_modules_by_reference_not_depends_on() {
    over_every_tree(|tree, problems| {
        for call in tree
            .body("main.tf")
            .unwrap()
            .blocks()
            .filter(|b| b.identifier() == "module")
        {
            if attr(call.body(), "depends_on").is_some() {
                problems.push(format!(
                    "{}/main.tf: module.{} has depends_on",
                    tree.name,
                    call.labels()[0].as_str()
                ));
            }
        }
    });
}

// API Gateway Developer Guide, "Set up CloudWatch logging for REST APIs": data tracing logs
// whole requests and responses, Authorization headers included; docs/security.md says it is off.
#[test]
fn data_trace_stays_off() {
    let security = std::fs::read_to_string(workspace().join("docs/security.md")).unwrap();
    assert!(
        security.contains("data trace off"),
        "docs/security.md states data trace is off"
    );
    for doc in [
        "README.md",
        "docs/security.md",
        "docs/generated.md",
        "docs/context.md",
    ] {
        let text = std::fs::read_to_string(workspace().join(doc)).unwrap();
        assert!(
            !text.contains("data trace on"),
            "{doc} must not say data trace is on"
        );
    }
    over_every_tree(|tree, problems| {
        for found in tree.resources("aws_api_gateway_method_settings") {
            for settings in nested(found.block.body(), "settings") {
                if attr_text(settings, "data_trace_enabled").is_some_and(|v| v != "false") {
                    problems.push(format!("{}: data trace on", found.at(tree)));
                }
            }
        }
    });
}

// Amazon S3 API Reference, DeleteBucket: "All objects (including all object versions and
// delete markers) in the bucket must be deleted before the bucket itself can be deleted", and
// `aws s3 rm --recursive` only adds delete markers to a versioned bucket. The README must not
// offer it as the way to empty the stack's (versioned) buckets.
#[test]
fn the_readme_empties_versioned_buckets_in_a_way_that_works() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let versioned = trees().iter().all(|tree| {
        tree.resources("aws_s3_bucket_versioning").iter().all(|v| {
            nested(v.block.body(), "versioning_configuration")
                .iter()
                .all(|c| attr_text(c, "status").as_deref() == Some("Enabled"))
        })
    });
    assert!(versioned, "the stack's buckets are versioned");
    let commands: Vec<&str> = readme
        .lines()
        .filter(|l| l.trim_start().starts_with("aws s3 rm"))
        .collect();
    assert!(
        commands.is_empty(),
        "`aws s3 rm` leaves every version behind in a versioned bucket: {commands:?}"
    );
    assert!(readme.contains("\"force_destroy\": true"));
}

/// A literal string argument of the root's `module "<module>"`, in `object.key` or directly.
fn root_literal(root: &Body, module: &str, path: &[&str]) -> Option<String> {
    let call = root
        .blocks()
        .find(|b| b.identifier() == "module" && b.labels()[0].as_str() == module)?;
    let mut expr = attr(call.body(), path[0])?;
    for key in &path[1..] {
        let Expression::Object(object) = expr else {
            return None;
        };
        expr = object
            .iter()
            .find(|(k, _)| k.to_string().trim_matches('"') == *key)
            .map(|(_, v)| v)?;
    }
    match expr {
        Expression::String(s) => Some(s.clone()),
        _ => None,
    }
}

// Names the modules build from the context's: Lambda AddPermission (StatementId ≤ 100:
// `AllowInvokeFromStage-<stage>`), Cognito CreateUserPoolClient (ClientName ≤ 128:
// `<pool>-client`), EventBridge PutRule (Name ≤ 64: `<function>-schedule`), CloudWatch Logs
// CreateLogGroup (`[.\-_/#A-Za-z0-9]+`: `/aws/apigateway/<api name>/dev`), SQS CreateQueue
// (QueueName ≤ 80: `<function>-dead-letters`), each in its AWS API Reference.
#[test]
fn names_built_from_the_context_fit_the_aws_limits() {
    over_every_tree(|tree, problems| {
        let root = tree.body("main.tf").unwrap();
        let mut check = |name: String, max: usize, what: &str| {
            if name.chars().count() > max {
                problems.push(format!(
                    "{}/main.tf: {what} `{name}` has more than {max} characters",
                    tree.name
                ));
            }
        };
        let stage = root_literal(&root, "api", &["stage_name"]).expect("api.stage_name");
        check(
            format!("AllowInvokeFromStage-{stage}"),
            100,
            "Lambda statement id",
        );
        let pool = root_literal(&root, "cognito", &["user_pool_name"]).expect("user_pool_name");
        check(format!("{pool}-client"), 128, "Cognito client name");
        let scheduled: Vec<String> = ["compaction", "billing"]
            .iter()
            .filter_map(|module| root_literal(&root, module, &["function", "function_name"]))
            .collect();
        assert!(
            !scheduled.is_empty(),
            "{}: the compaction function",
            tree.name
        );
        for function in scheduled {
            check(format!("{function}-schedule"), 64, "EventBridge rule name");
            check(format!("{function}-dead-letters"), 80, "SQS queue name");
        }
        let api = root_literal(&root, "api", &["api_name"]).expect("api_name");
        let dev = root
            .blocks()
            .find(|b| b.identifier() == "module" && b.labels()[0].as_str() == "api")
            .and_then(|b| attr_text(b.body(), "dev_stage"));
        let group = format!("/aws/apigateway/{api}/dev");
        if dev.as_deref() == Some("true")
            && !group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_/#".contains(c))
        {
            problems.push(format!("{}/main.tf: log group name `{group}`", tree.name));
        }
    });
}

// Athena User Guide, "OpenX JSON SerDe": without `ignore.malformed.json`, one line that is not
// valid JSON fails every query of its table's partition (HIVE_CURSOR_ERROR), so one bad access
// log line would fail its hour's compaction on every retry and keep the hour from billing.
// With it the line reads as a row of NULLs, which the queries leave out and count.
#[test]
fn the_access_log_table_reads_past_malformed_lines() {
    over_every_tree(|tree, problems| {
        let body = tree.body("modules/data_catalog/main.tf").unwrap();
        let locals = body.blocks().find(|b| b.identifier() == "locals").unwrap();
        let formats = attr(locals.body(), "formats").expect("locals.formats");
        let Expression::Object(formats) = formats else {
            panic!("locals.formats is an object");
        };
        let json = formats
            .iter()
            .find(|(k, _)| k.to_string() == "json")
            .map(|(_, v)| v.to_string())
            .expect("the json format");
        let ignores = json.contains("\"ignore.malformed.json\" = \"TRUE\"")
            && json.contains("org.openx.data.jsonserde.JsonSerDe");
        if !ignores {
            problems.push(format!(
                "{}/modules/data_catalog/main.tf: the JSON table's OpenX SerDe does not ignore malformed lines",
                tree.name
            ));
        }
    });
}

// Lambda API Reference, PutFunctionConcurrency: reserving concurrency must leave the account's
// minimum unreserved (100, and a new account's whole limit may be 10), so a stack that
// reserves any fails to apply there. Runs of the same hour or month are kept apart by a lease
// object per hour or month (S3 User Guide, "Conditional writes", "Conditional deletes")
// instead; the role may do exactly the lease's calls on its prefix.
#[test]
fn no_function_reserves_concurrency_and_leases_keep_runs_apart() {
    over_every_tree(|tree, problems| {
        for function in tree.resources("aws_lambda_function") {
            if attr(function.block.body(), "reserved_concurrent_executions").is_some() {
                problems.push(format!("{}: reserves concurrency", function.at(tree)));
            }
        }
        for module in ["compaction", "billing"] {
            let main = format!("modules/{module}/main.tf");
            let Some(body) = tree.body(&main) else {
                continue;
            };
            let call = body
                .blocks()
                .find(|b| b.identifier() == "module" && b.labels()[0].as_str() == "function")
                .expect("the function");
            let environment = attr_text(call.body(), "environment").unwrap_or_default();
            if !environment
                .contains("LOCK_PREFIX = \"s3://${var.results_bucket_name}/${local.lock_prefix}\"")
            {
                problems.push(format!(
                    "{}/{main}: no LOCK_PREFIX in the results bucket",
                    tree.name
                ));
            }
            let leases = tree
                .blocks(
                    &format!("modules/{module}/"),
                    "data",
                    Some("aws_iam_policy_document"),
                )
                .iter()
                .flat_map(|d| {
                    statements(d.block.body())
                        .into_iter()
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .any(|s| {
                    list_texts(attr(&s, "actions"))
                        == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
                        && list_texts(attr(&s, "resources"))
                            == ["${var.results_bucket_arn}/${local.lock_prefix}/*"]
                });
            if !leases {
                problems.push(format!(
                    "{}/{main}: the role may not hold its leases",
                    tree.name
                ));
            }
        }
    });
}

/// A `locals` string of `modules/<module>/main.tf`.
fn module_local(tree: &Tree, module: &str, name: &str) -> Option<String> {
    let mut all = module_local_strings(tree, module, name);
    (all.len() == 1).then(|| all.remove(0))
}

/// Every string a `locals` value of `modules/<module>/main.tf` can take: the string, or both
/// branches of a conditional (`local.events ? "a" : "b"`).
fn module_local_strings(tree: &Tree, module: &str, name: &str) -> Vec<String> {
    fn strings(expr: &Expression, out: &mut Vec<String>) {
        match expr {
            Expression::String(s) => out.push(s.clone()),
            Expression::Conditional(c) => {
                strings(&c.true_expr, out);
                strings(&c.false_expr, out);
            }
            Expression::Parenthesis(e) => strings(e, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let Some(body) = tree.body(&format!("modules/{module}/main.tf")) else {
        return out;
    };
    if let Some(value) = body
        .blocks()
        .find(|b| b.identifier() == "locals")
        .and_then(|locals| attr(locals.body(), name))
    {
        strings(value, &mut out);
    }
    out
}

// Athena reads every object under a table's location as data (Athena User Guide, "Table
// location in Amazon S3": "Athena reads all data stored in the Amazon S3 folder that you
// specify"), and the compaction empties the Parquet hour folders. So the folders the stack keeps
// for itself in the access-log bucket (the compaction's manifests, the invoices) lie outside
// both tables' folders, and they are the ones `metering-gen` keeps the context's folders away
// from (`STACK_FOLDERS`). Billing reads the manifests the compaction writes, by reference.
#[test]
fn the_stacks_own_folders_lie_outside_the_tables_folders() {
    use metering_gen::model::rules::STACK_FOLDERS;
    let nests = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
    over_every_tree(|tree, problems| {
        let root = tree.body("main.tf").expect("main.tf");
        // Every compaction (the access logs', and the usage events' where deployed) and the
        // folders of its two tables.
        let compactions: Vec<&str> = ["compaction", "usage_events_compaction"]
            .into_iter()
            .filter(|m| root_literal(&root, m, &["json_table", "folder"]).is_some())
            .collect();
        let tables: Vec<String> = compactions
            .iter()
            .flat_map(|m| {
                ["json_table", "parquet_table"]
                    .iter()
                    .filter_map(|t| root_literal(&root, m, &[t, "folder"]))
            })
            .collect();
        assert_eq!(
            tables.len(),
            2 * compactions.len(),
            "{}: the tables' folders",
            tree.name
        );
        // The compaction module picks its manifest folder by source: both are the stack's own.
        let manifests = module_local_strings(tree, "compaction", "manifest_folder");
        assert_eq!(
            manifests.len(),
            2,
            "{}: the compaction's manifest folders",
            tree.name
        );
        let mut own = manifests.clone();
        if let Some(invoices) = module_local(tree, "billing", "invoices_prefix") {
            own.push(invoices.trim_end_matches('/').to_owned());
            let call = root
                .blocks()
                .find(|b| b.identifier() == "module" && b.labels()[0].as_str() == "billing")
                .expect("the billing module");
            if attr_text(call.body(), "manifest_folder").as_deref()
                != Some("module.compaction.manifest_folder")
            {
                problems.push(format!(
                    "{}: billing does not read the compaction's manifests",
                    tree.name
                ));
            }
            if root_literal(&root, "billing", &["json_folder"]).as_ref() != tables.first() {
                problems.push(format!(
                    "{}: billing checks another JSON folder than the compaction's",
                    tree.name
                ));
            }
            if compactions.contains(&"usage_events_compaction") {
                let events = attr(call.body(), "events")
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                if !events.contains("module.usage_events_compaction.manifest_folder") {
                    problems.push(format!(
                        "{}: billing does not read the usage events' compaction manifests",
                        tree.name
                    ));
                }
                if root_literal(&root, "billing", &["events", "json_folder"]).as_ref()
                    != root_literal(&root, "usage_events_compaction", &["json_table", "folder"])
                        .as_ref()
                {
                    problems.push(format!(
                        "{}: billing checks another events folder than the events compaction's",
                        tree.name
                    ));
                }
            }
        }
        for folder in &own {
            if !STACK_FOLDERS.contains(&folder.as_str()) {
                problems.push(format!(
                    "{}: `{folder}` is not in STACK_FOLDERS, so the context's folders are not kept away from it",
                    tree.name
                ));
            }
            for table in &tables {
                if nests(table, folder) || nests(folder, table) {
                    problems.push(format!(
                        "{}: `{folder}` and the table folder `{table}` nest",
                        tree.name
                    ));
                }
            }
        }
        for (i, a) in tables.iter().enumerate() {
            for b in &tables[i + 1..] {
                if nests(a, b) || nests(b, a) {
                    problems.push(format!(
                        "{}: the table folders `{a}` and `{b}` nest",
                        tree.name
                    ));
                }
            }
        }
    });
}

/// The trees that deploy the usage-events stream, with the module's `main.tf` parsed.
fn usage_event_trees() -> Vec<(Tree, Body)> {
    let trees: Vec<(Tree, Body)> = trees()
        .into_iter()
        .filter_map(|tree| {
            let body = tree.body("modules/usage_events/main.tf")?;
            let root = tree.body("main.tf")?;
            root.blocks()
                .any(|b| b.identifier() == "module" && b.labels()[0].as_str() == "usage_events")
                .then_some((tree, body))
        })
        .collect();
    assert!(
        trees.len() >= 2,
        "the metering golden and its variants deploy the usage-events stream"
    );
    trees
}

fn resource<'a>(body: &'a Body, ty: &str, name: &str) -> &'a Body {
    body.blocks()
        .find(|b| {
            b.identifier() == "resource"
                && b.labels()[0].as_str() == ty
                && b.labels()[1].as_str() == name
        })
        .unwrap_or_else(|| panic!("resource {ty}.{name}"))
        .body()
}

fn policy_document<'a>(body: &'a Body, name: &str) -> &'a Body {
    body.blocks()
        .find(|b| {
            b.identifier() == "data"
                && b.labels()[0].as_str() == "aws_iam_policy_document"
                && b.labels()[1].as_str() == name
        })
        .unwrap_or_else(|| panic!("data.aws_iam_policy_document.{name}"))
        .body()
}

// Firehose API Reference, `ProcessorParameter`: "The BufferSizeInMBs ranges between 0.2 MB and
// up to 3MB. The default buffering hint is 1MB"; Lambda Developer Guide, "Lambda quotas": a
// synchronous invocation's response payload is at most 6 MB. The transformation answers at most
// twice a record's size (lambdas/usage-events), base64-encoded (4/3): with the default 1 MB
// buffer that is under 3 MB, with 3 MB it could pass 6 MB and fail every buffer. So the
// processor sets the function only, and is the one processor of the stream (Firehose Developer
// Guide, "Required parameters for data transformation": every record comes back with its id).
// The provider's resource documentation (`kinesis_firehose_delivery_stream`): parameters at
// their defaults "are not stored in terraform state. To prevent perpetual differences, it is
// therefore recommended to only include parameters with non-default values", and "When
// providing a Lambda ARN, you should specify the resource version as well".
#[test]
fn the_usage_events_are_transformed_by_their_function_with_the_default_buffer() {
    let mut problems = Vec::new();
    for (tree, body) in usage_event_trees() {
        let stream = resource(&body, "aws_kinesis_firehose_delivery_stream", "this");
        let s3 = nested(stream, "extended_s3_configuration");
        let processing = s3.first().map(|s3| nested(s3, "processing_configuration"));
        let Some([processing]) = processing.as_deref() else {
            problems.push(format!("{}: no single processing_configuration", tree.name));
            continue;
        };
        if attr_text(processing, "enabled").as_deref() != Some("true") {
            problems.push(format!("{}: processing is not enabled", tree.name));
        }
        let processors = nested(processing, "processors");
        let [processor] = processors.as_slice() else {
            problems.push(format!(
                "{}: {} processors, not 1",
                tree.name,
                processors.len()
            ));
            continue;
        };
        if attr_text(processor, "type").as_deref() != Some("Lambda") {
            problems.push(format!("{}: the processor is not a Lambda", tree.name));
        }
        let parameters: Vec<(Option<String>, Option<String>)> = nested(processor, "parameters")
            .into_iter()
            .map(|p| {
                (
                    attr_text(p, "parameter_name"),
                    attr_text(p, "parameter_value"),
                )
            })
            .collect();
        if parameters
            != [(
                Some("LambdaArn".to_owned()),
                Some("${module.transform.arn}:$LATEST".to_owned()),
            )]
        {
            problems.push(format!(
                "{}: the processor's parameters are {parameters:?}, not only the transform function",
                tree.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// Service Authorization Reference, "Actions, resources, and condition keys for Amazon Data
// Firehose": PutRecord and PutRecordBatch act on the `deliverystream` resource type. The
// writers' policy, which the backend's role gets, allows those two on this stream only; the
// stream's own role may invoke its function only (Firehose Developer Guide, "Controlling
// access with Amazon Data Firehose": lambda:InvokeFunction and lambda:GetFunctionConfiguration
// on the function) and write only under its two folders.
#[test]
fn the_usage_event_policies_are_the_narrowest_that_work() {
    let mut problems = Vec::new();
    for (tree, body) in usage_event_trees() {
        let writer = statements(policy_document(&body, "writer"));
        let grants: Vec<(Vec<String>, Vec<String>)> = writer
            .iter()
            .map(|s| {
                (
                    list_texts(attr(s, "actions")),
                    list_texts(attr(s, "resources")),
                )
            })
            .collect();
        let expected = vec![(
            vec![
                "firehose:PutRecord".to_owned(),
                "firehose:PutRecordBatch".to_owned(),
            ],
            vec!["aws_kinesis_firehose_delivery_stream.this.arn".to_owned()],
        )];
        if grants != expected {
            problems.push(format!(
                "{}: the writer policy grants {grants:?}",
                tree.name
            ));
        }
        for statement in statements(policy_document(&body, "delivery")) {
            let actions = list_texts(attr(statement, "actions"));
            let resources = list_texts(attr(statement, "resources"));
            if actions.iter().any(|a| a.starts_with("lambda:"))
                && resources != ["module.transform.arn", "${module.transform.arn}:*"]
            {
                problems.push(format!(
                    "{}: the stream's role may invoke {resources:?}",
                    tree.name
                ));
            }
            if actions.iter().any(|a| a == "s3:PutObject")
                && resources
                    != [
                        "${var.bucket_arn}/${local.data_root}*",
                        "${var.bucket_arn}/${local.error_root}*",
                    ]
            {
                problems.push(format!(
                    "{}: the stream's role may write to {resources:?}",
                    tree.name
                ));
            }
        }
        let root = tree.body("main.tf").unwrap();
        let prefix = root_literal(&root, "usage_events", &["prefix"]).unwrap_or_default();
        let errors =
            root_literal(&root, "usage_events", &["error_output_prefix"]).unwrap_or_default();
        // Firehose Developer Guide, "Custom prefixes for Amazon S3 objects": an error prefix
        // with expressions must hold `!{firehose:error-output-type}`; and the error folder lies
        // outside the data folder, or the events table would read failed records.
        let data_root = prefix.split("!{").next().unwrap_or_default();
        if !errors.contains("!{firehose:error-output-type}")
            || data_root.is_empty()
            || errors.starts_with(data_root)
            || !prefix.ends_with("/hour=!{timestamp:HH}/")
        {
            problems.push(format!(
                "{}: prefix `{prefix}`, error prefix `{errors}`",
                tree.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A key of an HCL object expression, without quotes.
fn object_field<'a>(expr: &'a Expression, key: &str) -> Option<&'a Expression> {
    let Expression::Object(object) = expr else {
        return None;
    };
    object
        .iter()
        .find(|(k, _)| k.to_string().trim_matches('"') == key)
        .map(|(_, v)| v)
}

/// The column names and types of a table of the `data_catalog` call in the root module.
fn catalog_columns(root: &Body, table: &str) -> Option<Vec<(String, String)>> {
    let call = root
        .blocks()
        .find(|b| b.identifier() == "module" && b.labels()[0].as_str() == "data_catalog")?;
    let columns = object_field(
        object_field(attr(call.body(), "tables")?, table)?,
        "columns",
    )?;
    let Expression::Array(columns) = columns else {
        return None;
    };
    columns
        .iter()
        .map(
            |c| match (object_field(c, "name"), object_field(c, "type")) {
                (Some(Expression::String(name)), Some(Expression::String(t))) => {
                    Some((name.clone(), t.clone()))
                }
                _ => None,
            },
        )
        .collect()
}

// The usage events' JSON table reads the lines the `usage-events` function writes
// (`metering::normalise`) with the Hive JSON SerDe, which matches a line's keys to the
// table's column names and has none of OpenX's options ("Hive JSON SerDe" and "OpenX JSON
// SerDe", Athena User Guide: `ignore.malformed.json` and `case.insensitive` are OpenX's; the
// Hive SerDe "does not allow duplicate keys in map or struct key names"). So: the table's
// columns are exactly the keys of a canonical line and of a flagged one (a column no line has
// would always be NULL, a key no column has would be lost), `time` is a whole number and the
// properties a map of strings; the SerDe is Hive's and is given no OpenX parameter; and the
// Parquet table has the same columns, with `value` the exact decimal the compaction casts to.
#[test]
fn the_usage_events_tables_read_what_the_ingestion_function_writes() {
    let canonical = metering::normalise(
        br#"{"id":"e","tenant":"t","type":"x","time":1,"value":"1.5","properties":{"k":"v"}}"#,
    );
    let flagged = metering::normalise(br#"{"tenant":"t"}"#);
    let mut keys = std::collections::BTreeSet::new();
    for line in [&canonical, &flagged] {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(line).expect("one JSON object");
        keys.extend(object.keys().cloned());
    }
    // The flagged line's copy of the bad record is for people reading the raw folder.
    keys.remove("record");
    keys.remove("record_bytes");
    let trees_with_events = std::cell::Cell::new(0);
    over_every_tree(|tree, problems| {
        let root = tree.body("main.tf").expect("main.tf");
        let Some(json) = catalog_columns(&root, "events_json") else {
            return;
        };
        trees_with_events.set(trees_with_events.get() + 1);
        let names: std::collections::BTreeSet<String> =
            json.iter().map(|(n, _)| n.clone()).collect();
        if names != keys {
            problems.push(format!(
                "{}: the events' JSON table has the columns {names:?}, the lines the keys {keys:?}",
                tree.name
            ));
        }
        let type_of = |columns: &[(String, String)], name: &str| {
            columns
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
                .unwrap_or_default()
        };
        for (name, expected) in [
            ("time", "bigint"),
            ("value", "string"),
            ("properties", "map<string,string>"),
        ] {
            if type_of(&json, name) != expected {
                problems.push(format!(
                    "{}: events_json.{name} is not {expected}",
                    tree.name
                ));
            }
        }
        let parquet = catalog_columns(&root, "events_parquet").unwrap_or_default();
        let parquet_names: Vec<&String> = parquet.iter().map(|(n, _)| n).collect();
        let json_names: Vec<&String> = json.iter().map(|(n, _)| n).collect();
        if parquet_names != json_names || type_of(&parquet, "value") != "decimal(24,9)" {
            problems.push(format!(
                "{}: the events' Parquet table is not the JSON table's columns with value decimal(24,9): {parquet:?}",
                tree.name
            ));
        }
        let catalog = tree
            .files
            .get("modules/data_catalog/main.tf")
            .expect("the data_catalog module");
        let Some(start) = catalog.find("events_json = {") else {
            problems.push(format!("{}: no events_json format", tree.name));
            return;
        };
        let format = &catalog[start..start + catalog[start..].find("\n    }").unwrap_or(0)];
        if !format.contains("\"org.apache.hive.hcatalog.data.JsonSerDe\"")
            || format.contains("ignore.malformed.json")
            || format.contains("case.insensitive")
        {
            problems.push(format!(
                "{}: the events' JSON table is not read by the Hive JSON SerDe without OpenX options:\n{format}",
                tree.name
            ));
        }
    });
    assert!(trees_with_events.get() > 0, "no tree deploys usage events");
}
