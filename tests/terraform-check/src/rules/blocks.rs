//! Rules 1 to 3: resource and data source blocks against the provider schema.
//!
//! 1. the type exists in the provider (and the fixture has its schema);
//! 2. every argument and nested block, at any depth and inside `dynamic` blocks, is in the
//!    schema, as an argument or as a block as the schema says;
//! 3. required arguments and blocks are there, no block appears more often than allowed and no
//!    computed-only attribute is set.

use crate::finding::Finding;
use crate::module::{address_of, Module};
use crate::schema::{BlockSchema, Kind, Mode, Schema, TypeSchema};
use crate::source::SourceFile;
use hcl_edit::structure::{Block, Body};
use std::collections::{BTreeMap, BTreeSet};

/// Meta-arguments Terraform accepts on every resource and data block.
const META_ARGUMENTS: &[&str] = &["count", "for_each", "depends_on", "provider"];
/// Meta-blocks Terraform accepts on every resource and data block.
const META_BLOCKS: &[&str] = &["lifecycle", "provisioner", "connection"];
/// Arguments of a `dynamic` block itself.
const DYNAMIC_ARGUMENTS: &[&str] = &["for_each", "iterator", "labels"];

/// Checks every resource and data block of `module`.
pub fn check(schema: &Schema, module: &Module, findings: &mut Vec<Finding>) {
    for (file, block) in module.blocks() {
        let kind = match block.ident.as_str() {
            "resource" => Kind::Resource,
            "data" => Kind::DataSource,
            _ => continue,
        };
        // Wrong label counts are reported when the module is loaded.
        let [ty, _] = block.labels.as_slice() else {
            continue;
        };
        let ty = ty.as_str();
        let address = address_of(block);
        let line = file.line_of(&block.ident);
        match schema.lookup(kind, ty) {
            TypeSchema::Unknown => findings.push(file.finding(
                line,
                address,
                format!(
                    "{} type `{ty}` does not exist in provider {}",
                    kind.noun(),
                    schema.provider_label()
                ),
            )),
            TypeSchema::NotExtracted => findings.push(file.finding(
                line,
                address,
                format!(
                    "{} type `{ty}` exists in provider {} but the schema fixture has no schema \
                     for it: re-run tests/fixtures/extract-provider-schema.py",
                    kind.noun(),
                    schema.provider_label()
                ),
            )),
            TypeSchema::Known(block_schema) => {
                let mut checker = BodyChecker { file, findings };
                checker.body(&block.body, block_schema, &address, line, true);
            }
        }
    }
}

struct BodyChecker<'a> {
    file: &'a SourceFile,
    findings: &'a mut Vec<Finding>,
}

impl BodyChecker<'_> {
    fn push(&mut self, line: usize, address: &str, message: String) {
        self.findings
            .push(self.file.finding(line, address, message));
    }

    /// Checks `body` (of the block at `line`, whose address is `address`) against `schema`.
    /// `top`: the body of the resource or data block itself, where meta-arguments are allowed.
    fn body(&mut self, body: &Body, schema: &BlockSchema, address: &str, line: usize, top: bool) {
        let mut set = BTreeSet::new();
        // Lines of the literal blocks of each type, and the types some `dynamic` block makes.
        let mut literal: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut dynamic = BTreeSet::new();

        for attr in body.attributes() {
            let name = attr.key.as_str();
            let attr_line = self.file.line_of(attr);
            if top && META_ARGUMENTS.contains(&name) {
                continue;
            }
            if let Some(attribute) = schema.attributes.get(name) {
                set.insert(name);
                if attribute.mode == Mode::Computed {
                    self.push(
                        attr_line,
                        address,
                        format!(
                            "`{name}` is computed by the provider (read-only): it cannot be set"
                        ),
                    );
                }
            } else if schema.blocks.contains_key(name) {
                self.push(
                    attr_line,
                    address,
                    format!(
                        "`{name}` is a nested block, not an argument: write `{name} {{ ... }}` \
                         instead of `{name} = ...`"
                    ),
                );
            } else {
                self.push(attr_line, address, format!("unsupported argument `{name}`"));
            }
        }

        for block in body.blocks() {
            let name = block.ident.as_str();
            let block_line = self.file.line_of(&block.ident);
            if top && META_BLOCKS.contains(&name) {
                continue;
            }
            if name == "dynamic" {
                if let Some(generated) = self.dynamic(block, schema, address) {
                    dynamic.insert(generated);
                }
                continue;
            }
            let nested_address = format!("{address}.{name}");
            if let Some(nested) = schema.blocks.get(name) {
                literal.entry(name).or_default().push(block_line);
                if !block.labels.is_empty() {
                    self.push(
                        block_line,
                        &nested_address,
                        format!("a `{name}` block takes no labels"),
                    );
                }
                self.body(
                    &block.body,
                    &nested.block,
                    &nested_address,
                    block_line,
                    false,
                );
            } else if schema.attributes.contains_key(name) {
                self.push(
                    block_line,
                    address,
                    format!(
                        "`{name}` is an argument, not a nested block: write `{name} = ...` \
                         instead of `{name} {{ ... }}`"
                    ),
                );
            } else {
                self.push(
                    block_line,
                    address,
                    format!("unsupported block type `{name}`"),
                );
            }
        }

        for (name, attribute) in &schema.attributes {
            if attribute.mode == Mode::Required && !set.contains(name.as_str()) {
                self.push(line, address, format!("missing required argument `{name}`"));
            }
        }
        for (name, nested) in &schema.blocks {
            let lines = literal.get(name.as_str()).map_or(&[][..], Vec::as_slice);
            let count = lines.len();
            if (count as u64) < u64::from(nested.min_items) && !dynamic.contains(name) {
                let message = if count == 0 {
                    format!("missing required block `{name}`")
                } else {
                    format!(
                        "at least {} `{name}` blocks are required, found {count}",
                        nested.min_items
                    )
                };
                self.push(line, address, message);
            }
            if let Some(max) = nested.max_items {
                if let Some(&extra_line) = lines.get(max as usize) {
                    self.push(
                        extra_line,
                        &format!("{address}.{name}"),
                        format!("too many `{name}` blocks: at most {max} allowed, found {count}"),
                    );
                }
            }
        }
    }

    /// Checks a `dynamic "label" { for_each = ..., content { ... } }` block; returns the nested
    /// block type it generates when the schema has it.
    fn dynamic(&mut self, block: &Block, schema: &BlockSchema, address: &str) -> Option<String> {
        let line = self.file.line_of(&block.ident);
        let [label] = block.labels.as_slice() else {
            self.push(
                line,
                &format!("{address}.dynamic"),
                format!(
                    "a `dynamic` block takes 1 label (the nested block type), found {}",
                    block.labels.len()
                ),
            );
            return None;
        };
        let label = label.as_str();
        let nested_address = format!("{address}.{label}");
        for attr in block.body.attributes() {
            let name = attr.key.as_str();
            if !DYNAMIC_ARGUMENTS.contains(&name) {
                self.push(
                    self.file.line_of(attr),
                    &nested_address,
                    format!(
                        "unsupported argument `{name}` in a dynamic block (allowed: for_each, \
                         iterator, labels and a content block)"
                    ),
                );
            }
        }
        if !block.body.has_attribute("for_each") {
            self.push(
                line,
                &nested_address,
                format!("dynamic block `{label}` needs a `for_each` argument"),
            );
        }
        let mut contents = Vec::new();
        for inner in block.body.blocks() {
            if inner.ident.as_str() == "content" {
                contents.push(inner);
            } else {
                self.push(
                    self.file.line_of(&inner.ident),
                    &nested_address,
                    format!(
                        "unsupported block type `{}` in a dynamic block (only `content`)",
                        inner.ident.as_str()
                    ),
                );
            }
        }
        if contents.len() != 1 {
            self.push(
                line,
                &nested_address,
                format!(
                    "dynamic block `{label}` needs exactly one `content` block, found {}",
                    contents.len()
                ),
            );
        }
        if let Some(nested) = schema.blocks.get(label) {
            for content in contents {
                let content_line = self.file.line_of(&content.ident);
                self.body(
                    &content.body,
                    &nested.block,
                    &nested_address,
                    content_line,
                    false,
                );
            }
            Some(label.to_string())
        } else {
            let message = if schema.attributes.contains_key(label) {
                format!(
                    "`{label}` is an argument, not a nested block: a dynamic block cannot \
                     generate it"
                )
            } else {
                format!("unsupported block type `{label}` (in a dynamic block)")
            };
            self.push(line, address, message);
            None
        }
    }
}
