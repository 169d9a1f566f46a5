//! Offline check of a generated Terraform tree against the provider schema.
//!
//! `terraform validate` needs the provider binary, which cannot be downloaded everywhere. This
//! crate parses every module of a tree with hcl-edit and checks it against the schema fixture
//! `tests/fixtures/aws-provider-6.62.0.json`:
//!
//! 1. resource and data source types exist in the provider (and in the fixture);
//! 2. every argument and nested block is in the schema, at any depth, `dynamic` blocks included;
//! 3. required arguments and blocks are set, block counts respect `max_items`, computed-only
//!    attributes are not set;
//! 4. references resolve: `var`, `local`, `module` outputs, resources and data sources and their
//!    attributes; module calls pass exactly the variables their child declares;
//! 5. `terraform fmt -check` finds nothing to change.
//!
//! ```no_run
//! use terraform_check::{check_tree, Schema};
//! use std::path::Path;
//!
//! let schema = Schema::load(Path::new("tests/fixtures/aws-provider-6.62.0.json"))?;
//! for finding in check_tree(&schema, Path::new("terraform"))? {
//!     println!("{finding}");
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

mod finding;
mod fmt;
mod module;
mod rules;
pub mod schema;
mod source;

pub use finding::Finding;
pub use schema::Schema;

use anyhow::Result;
use std::path::Path;

/// Runs every check on the tree whose root module is the folder `root`. Findings name files
/// relative to `root` and are sorted by file, line and message.
///
/// Fails when the tree cannot be read or `terraform` (for the fmt check) cannot be run.
pub fn check_tree(schema: &Schema, root: &Path) -> Result<Vec<Finding>> {
    let mut findings = check_hcl(schema, root)?;
    findings.extend(check_fmt(root)?);
    finding::sort(&mut findings);
    Ok(findings)
}

/// Rules 1 to 4 (schema and references), without running Terraform.
pub fn check_hcl(schema: &Schema, root: &Path) -> Result<Vec<Finding>> {
    let (tree, mut findings) = module::Tree::load(root)?;
    for module in &tree.modules {
        rules::blocks::check(schema, module, &mut findings);
        rules::references::check(schema, &tree, module, &mut findings);
        rules::module_calls::check(&tree, module, &mut findings);
    }
    finding::sort(&mut findings);
    Ok(findings)
}

/// Rule 5: `terraform fmt -check -recursive` on `root`; one finding per unformatted file.
pub fn check_fmt(root: &Path) -> Result<Vec<Finding>> {
    let mut findings = fmt::check(root)?;
    finding::sort(&mut findings);
    Ok(findings)
}
