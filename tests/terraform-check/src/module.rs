//! Loading a tree: the root module, every module reachable through a local `source`, and every
//! folder under `modules/`; plus what each module declares.

use crate::finding::Finding;
use crate::source::SourceFile;
use anyhow::{bail, Context as _, Result};
use hcl_edit::structure::{Block, Body};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};

/// A root module and its child modules, loaded and parsed.
#[derive(Debug)]
pub struct Tree {
    pub modules: Vec<Module>,
}

/// One module folder.
#[derive(Debug)]
pub struct Module {
    /// Canonical path of the folder.
    pub dir: PathBuf,
    /// Its `.tf` files, sorted by name.
    pub files: Vec<SourceFile>,
    /// Every file parsed: when not, "not declared" findings are left out (the declaration may
    /// be in the file that did not parse).
    pub complete: bool,
    pub decls: Declarations,
}

/// What a module declares.
#[derive(Debug, Default)]
pub struct Declarations {
    /// Input variables: name → whether it has a default (callers may omit it).
    pub variables: BTreeMap<String, bool>,
    pub locals: BTreeSet<String>,
    /// `(type, name)` of each resource.
    pub resources: BTreeMap<(String, String), Repetition>,
    /// `(type, name)` of each data source.
    pub data_sources: BTreeMap<(String, String), Repetition>,
    pub module_calls: BTreeMap<String, ModuleCall>,
    pub outputs: BTreeSet<String>,
}

/// Whether a resource, data source or module call has instances keyed by `count` or `for_each`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repetition {
    Single,
    Count,
    ForEach,
}

impl Repetition {
    pub fn of(body: &Body) -> Repetition {
        if body.has_attribute("for_each") {
            Repetition::ForEach
        } else if body.has_attribute("count") {
            Repetition::Count
        } else {
            Repetition::Single
        }
    }
}

/// A `module "name" { source = ... }` block.
#[derive(Debug, Clone)]
pub struct ModuleCall {
    /// `source` as written, when it is a literal string.
    pub source: Option<String>,
    /// Index in [`Tree::modules`] of the child module, for a local source that exists.
    pub child: Option<usize>,
    pub repetition: Repetition,
}

/// Whether `source` is a local path (`./x`, `../x`), resolved against the calling module.
pub fn is_local_source(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../")
}

/// The address of a top-level block: `aws_s3_bucket.this`, `data.aws_region.current`,
/// `module.api`, `output.arn`, `variable.x`, `provider.aws`, `locals`, `terraform`.
pub fn address_of(block: &Block) -> String {
    let kind = block.ident.as_str();
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    match (kind, labels.as_slice()) {
        ("resource", [ty, name]) => format!("{ty}.{name}"),
        ("data", [ty, name]) => format!("data.{ty}.{name}"),
        (_, []) => kind.to_string(),
        (_, labels) => format!("{kind}.{}", labels.join(".")),
    }
}

impl Tree {
    /// Loads the tree whose root module is the folder `root`. Syntax errors and duplicate
    /// declarations are returned as findings; an unreadable tree is an error.
    pub fn load(root: &Path) -> Result<(Tree, Vec<Finding>)> {
        let root = root
            .canonicalize()
            .with_context(|| format!("tree {} not found", root.display()))?;
        if !root.is_dir() {
            bail!("tree {} is not a folder", root.display());
        }
        let mut findings = Vec::new();
        let mut queue: VecDeque<PathBuf> = VecDeque::from([root.clone()]);
        queue.extend(module_folders(&root.join("modules"))?);

        let mut index: HashMap<PathBuf, usize> = HashMap::new();
        let mut modules = Vec::new();
        while let Some(dir) = queue.pop_front() {
            if index.contains_key(&dir) {
                continue;
            }
            let module = Module::load(&root, &dir, &mut findings)?;
            for call in module.decls.module_calls.values() {
                if let Some(child) = local_child_dir(&dir, call) {
                    queue.push_back(child);
                }
            }
            index.insert(dir, modules.len());
            modules.push(module);
        }
        for module in &mut modules {
            let dir = module.dir.clone();
            for call in module.decls.module_calls.values_mut() {
                call.child = local_child_dir(&dir, call).and_then(|d| index.get(&d).copied());
            }
        }
        Ok((Tree { modules }, findings))
    }
}

/// The canonical folder of a local module source, when it exists.
fn local_child_dir(dir: &Path, call: &ModuleCall) -> Option<PathBuf> {
    let source = call.source.as_deref().filter(|s| is_local_source(s))?;
    let child = dir.join(source);
    child.is_dir().then(|| child.canonicalize().ok()).flatten()
}

/// Sorted sub-folders of `dir` that hold `.tf` files (none when `dir` does not exist).
fn module_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() && !tf_files(&path)?.is_empty() {
            out.push(path.canonicalize()?);
        }
    }
    out.sort();
    Ok(out)
}

/// Sorted `*.tf` files of `dir`.
fn tf_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "tf") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

impl Module {
    fn load(root: &Path, dir: &Path, findings: &mut Vec<Finding>) -> Result<Module> {
        let mut files = Vec::new();
        let mut complete = true;
        for path in tf_files(dir)? {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let Ok(text) = String::from_utf8(bytes) else {
                complete = false;
                findings.push(Finding::new(rel, 1, "syntax", "the file is not UTF-8"));
                continue;
            };
            let (file, error) = SourceFile::parse(rel, &text);
            if let Some(error) = error {
                complete = false;
                findings.push(error);
            }
            files.push(file);
        }
        let decls = Declarations::collect(&files, findings);
        Ok(Module {
            dir: dir.to_path_buf(),
            files,
            complete,
            decls,
        })
    }

    /// Every top-level block of the module, with the file it is in.
    pub fn blocks(&self) -> impl Iterator<Item = (&SourceFile, &Block)> {
        self.files.iter().flat_map(|file| {
            file.body
                .iter()
                .flat_map(|body| body.blocks())
                .map(move |block| (file, block))
        })
    }
}

/// Where a name was first declared, for "duplicate" messages.
type FirstSeen = HashMap<String, (PathBuf, usize)>;

impl Declarations {
    fn collect(files: &[SourceFile], findings: &mut Vec<Finding>) -> Declarations {
        let mut decls = Declarations::default();
        let mut seen = FirstSeen::new();
        for file in files {
            let Some(body) = &file.body else { continue };
            for attr in body.attributes() {
                findings.push(file.finding(
                    file.line_of(attr),
                    attr.key.as_str(),
                    format!(
                        "argument `{}` is not allowed at the top level of a module",
                        attr.key.as_str()
                    ),
                ));
            }
            for block in body.blocks() {
                decls.add(file, block, &mut seen, findings);
            }
        }
        decls
    }

    fn add(
        &mut self,
        file: &SourceFile,
        block: &Block,
        seen: &mut FirstSeen,
        findings: &mut Vec<Finding>,
    ) {
        let kind = block.ident.as_str();
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        let line = file.line_of(&block.ident);
        let address = address_of(block);
        let wanted = match kind {
            "resource" | "data" => 2,
            "variable" | "output" | "module" | "provider" | "check" => 1,
            "locals" | "terraform" | "moved" | "import" | "removed" => 0,
            _ => {
                findings.push(file.finding(
                    line,
                    address,
                    format!("unsupported top-level block type `{kind}`"),
                ));
                return;
            }
        };
        if labels.len() != wanted {
            findings.push(file.finding(
                line,
                address,
                format!(
                    "a `{kind}` block takes {wanted} label(s), found {}",
                    labels.len()
                ),
            ));
            return;
        }
        let mut declare = |key: String, line: usize, address: &str| -> bool {
            if let Some((first_file, first_line)) = seen.get(&key) {
                findings.push(file.finding(
                    line,
                    address,
                    format!(
                        "duplicate declaration, first declared at {}:{first_line}",
                        first_file.display()
                    ),
                ));
                return false;
            }
            seen.insert(key, (file.rel.clone(), line));
            true
        };
        if kind == "locals" {
            for attr in block.body.attributes() {
                let name = attr.key.as_str();
                let address = format!("local.{name}");
                if declare(address.clone(), file.line_of(attr), &address) {
                    self.locals.insert(name.to_string());
                }
            }
            return;
        }
        let declares = matches!(kind, "resource" | "data" | "variable" | "output" | "module");
        if !declares || !declare(address.clone(), line, &address) {
            return;
        }
        let repetition = Repetition::of(&block.body);
        match (kind, labels.as_slice()) {
            ("resource", [ty, name]) => {
                let key = (ty.to_string(), name.to_string());
                self.resources.insert(key, repetition);
            }
            ("data", [ty, name]) => {
                let key = (ty.to_string(), name.to_string());
                self.data_sources.insert(key, repetition);
            }
            ("variable", [name]) => {
                let has_default = block.body.has_attribute("default");
                self.variables.insert(name.to_string(), has_default);
            }
            ("output", [name]) => {
                self.outputs.insert(name.to_string());
            }
            ("module", [name]) => {
                let source = block
                    .body
                    .get_attribute("source")
                    .and_then(|a| a.value.as_str())
                    .map(str::to_string);
                let call = ModuleCall {
                    source,
                    child: None,
                    repetition,
                };
                self.module_calls.insert(name.to_string(), call);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls(text: &str) -> (Declarations, Vec<Finding>) {
        let (file, err) = SourceFile::parse("main.tf".into(), text);
        assert!(err.is_none());
        let mut findings = Vec::new();
        let decls = Declarations::collect(&[file], &mut findings);
        (decls, findings)
    }

    #[test]
    fn collects_declarations() {
        let (d, f) = decls(
            r#"
variable "a" {}
variable "b" { default = 1 }
locals {
  x = 1
}
resource "aws_s3_bucket" "this" { count = 1 }
data "aws_region" "current" {}
module "m" { source = "./modules/m" }
output "o" { value = 1 }
"#,
        );
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(d.variables.get("a"), Some(&false));
        assert_eq!(d.variables.get("b"), Some(&true));
        assert!(d.locals.contains("x"));
        assert_eq!(
            d.resources[&("aws_s3_bucket".into(), "this".into())],
            Repetition::Count
        );
        assert!(d
            .data_sources
            .contains_key(&("aws_region".into(), "current".into())));
        assert_eq!(d.module_calls["m"].source.as_deref(), Some("./modules/m"));
        assert!(d.outputs.contains("o"));
    }

    #[test]
    fn duplicates_and_bad_labels_are_findings() {
        let (_, f) =
            decls("locals {\n  x = 1\n}\nlocals {\n  x = 2\n}\nresource \"a\" {}\nfoo {}\n");
        let msgs: Vec<String> = f.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "main.tf:5: local.x: duplicate declaration, first declared at main.tf:2",
                "main.tf:7: resource.a: a `resource` block takes 2 label(s), found 1",
                "main.tf:8: foo: unsupported top-level block type `foo`",
            ]
        );
    }
}
