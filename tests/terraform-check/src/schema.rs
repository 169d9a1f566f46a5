//! The provider schema fixture: every type name of the provider, and the full block schema of
//! the types the generator emits (see `tests/fixtures/extract-provider-schema.py`).

use anyhow::{Context as _, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

/// The schema of one provider release, as `tests/fixtures/extract-provider-schema.py` writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Schema {
    /// Provider address, e.g. `registry.terraform.io/hashicorp/aws`.
    pub provider: String,
    /// Provider release the schema was taken from, e.g. `6.62.0`.
    pub version: String,
    /// Where the schema was extracted from.
    #[serde(default)]
    pub source: String,
    /// Every resource type name of the provider.
    pub resource_types: BTreeSet<String>,
    /// Every data source type name of the provider.
    pub data_source_types: BTreeSet<String>,
    /// Full schema of the resource types the generator emits.
    pub resources: BTreeMap<String, BlockSchema>,
    /// Full schema of the data source types the generator emits.
    pub data_sources: BTreeMap<String, BlockSchema>,
}

/// Arguments and nested blocks of a resource, data source or nested block.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BlockSchema {
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeSchema>,
    #[serde(default)]
    pub blocks: BTreeMap<String, NestedBlockSchema>,
}

/// One attribute.
#[derive(Debug, Clone, Deserialize)]
pub struct AttributeSchema {
    /// Coarse Terraform type: `string`, `number`, `bool`, `list(string)`, `object`, `any`, ...
    #[serde(rename = "type")]
    pub ty: String,
    pub mode: Mode,
}

/// Whether an attribute must, may or cannot be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Required,
    Optional,
    /// Computed-only: readable, never set.
    Computed,
}

/// A nested block type and how many times it may appear.
#[derive(Debug, Clone, Deserialize)]
pub struct NestedBlockSchema {
    pub min_items: u32,
    /// `None`: unbounded.
    pub max_items: Option<u32>,
    pub block: BlockSchema,
}

/// Resource or data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Resource,
    DataSource,
}

impl Kind {
    /// `resource` or `data source`, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Resource => "resource",
            Kind::DataSource => "data source",
        }
    }
}

/// What the schema knows about a type name.
#[derive(Debug, Clone, Copy)]
pub enum TypeSchema<'a> {
    /// The provider has no such type.
    Unknown,
    /// The provider has the type but the fixture holds no full schema for it.
    NotExtracted,
    Known(&'a BlockSchema),
}

impl Schema {
    /// Reads the JSON fixture at `path`.
    pub fn load(path: &Path) -> Result<Schema> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the provider schema {}", path.display()))?;
        Schema::from_json(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Parses the JSON fixture.
    pub fn from_json(text: &str) -> Result<Schema> {
        Ok(serde_json::from_str(text)?)
    }

    /// `hashicorp/aws 6.62.0`, for messages.
    pub fn provider_label(&self) -> String {
        let short = self
            .provider
            .strip_prefix("registry.terraform.io/")
            .unwrap_or(&self.provider);
        format!("{short} {}", self.release())
    }

    /// The provider release the fixture was extracted from.
    pub fn release(&self) -> &str {
        &self.version
    }

    /// The schema of resource or data source type `name`.
    pub fn lookup(&self, kind: Kind, name: &str) -> TypeSchema<'_> {
        if kind == Kind::Resource && name == "terraform_data" {
            return TypeSchema::Known(terraform_data());
        }
        let (names, full) = match kind {
            Kind::Resource => (&self.resource_types, &self.resources),
            Kind::DataSource => (&self.data_source_types, &self.data_sources),
        };
        match full.get(name) {
            Some(block) => TypeSchema::Known(block),
            None if names.contains(name) => TypeSchema::NotExtracted,
            None => TypeSchema::Unknown,
        }
    }

    /// Whether `name` is a resource type of the provider.
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.resource_types.contains(name)
            || self.resources.contains_key(name)
            || name == "terraform_data"
    }
}

/// Terraform's built-in `terraform_data` resource, which no provider schema lists.
fn terraform_data() -> &'static BlockSchema {
    static SCHEMA: OnceLock<BlockSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let json = r#"{"attributes": {
            "id": {"type": "string", "mode": "computed"},
            "input": {"type": "any", "mode": "optional"},
            "output": {"type": "any", "mode": "computed"},
            "triggers_replace": {"type": "any", "mode": "optional"}
        }}"#;
        serde_json::from_str(json).expect("the built-in terraform_data schema is valid JSON")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{
        "provider": "registry.terraform.io/hashicorp/aws", "version": "1.2.3",
        "resource_types": ["aws_a", "aws_b"], "data_source_types": ["aws_d"],
        "resources": {"aws_a": {"attributes": {"x": {"type": "string", "mode": "computed"}},
                                "blocks": {"b": {"min_items": 1, "max_items": null,
                                                 "block": {"attributes": {}, "blocks": {}}}}}},
        "data_sources": {}
    }"#;

    #[test]
    fn lookup_tells_unknown_from_not_extracted() {
        let schema = Schema::from_json(SMALL).unwrap();
        assert!(matches!(
            schema.lookup(Kind::Resource, "aws_a"),
            TypeSchema::Known(_)
        ));
        assert!(matches!(
            schema.lookup(Kind::Resource, "aws_b"),
            TypeSchema::NotExtracted
        ));
        assert!(matches!(
            schema.lookup(Kind::Resource, "terraform_data"),
            TypeSchema::Known(_)
        ));
        assert!(matches!(
            schema.lookup(Kind::Resource, "aws_c"),
            TypeSchema::Unknown
        ));
        assert!(matches!(
            schema.lookup(Kind::DataSource, "aws_d"),
            TypeSchema::NotExtracted
        ));
        assert_eq!(schema.provider_label(), "hashicorp/aws 1.2.3");
    }

    #[test]
    fn parses_modes_and_unbounded_blocks() {
        let schema = Schema::from_json(SMALL).unwrap();
        let a = &schema.resources["aws_a"];
        assert_eq!(a.attributes["x"].mode, Mode::Computed);
        assert_eq!(a.blocks["b"].max_items, None);
        assert_eq!(a.blocks["b"].min_items, 1);
    }
}
