//! `metering-gen`: `cdk.context.json` → Terraform for a serverless API-usage metering stack.
//!
//! The pipeline, one module per step: [`context`] (the file as written) → [`model`] (validated,
//! every name resolved) → [`render`] (pure, Model → Tree) → [`output`] (write or compare).
//! [`artifacts`] builds and packages the Lambda crates the tree refers to.

pub mod artifacts;
pub mod context;
pub mod diagnostic;
#[cfg(feature = "verify")]
pub mod emit;
pub mod model;
pub mod offline;
pub mod output;
pub mod render;
#[cfg(feature = "verify")]
pub mod verify;

use diagnostic::Diagnostics;
use std::path::Path;

/// Why a run stopped.
#[derive(Debug)]
pub enum Error {
    /// The user's input is wrong: exit code 2.
    Input(Diagnostics),
    /// Anything else (I/O, a failed build): exit code 3.
    Other(anyhow::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Input(d) => write!(f, "{d}"),
            Error::Other(e) => write!(f, "error: {e:#}"),
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Other(e)
    }
}

/// Reads and validates the context and the Lambda crates of the workspace at `workspace`.
pub fn load(
    context_path: &Path,
    workspace: &Path,
) -> Result<(model::Model, Vec<model::LambdaCrate>), Error> {
    let parsed = context::load(context_path);
    let crates = artifacts::discover(workspace)?;
    let ctx = parsed.map_err(Error::Input)?;
    let model = model::Model::build(&ctx, &crates).map_err(Error::Input)?;
    Ok((model, crates))
}

/// The name shown in generated headers: the file name only, so output does not depend on
/// where the checkout lives.
pub fn context_name(context_path: &Path) -> String {
    context_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "context".into())
}

/// Loads, validates and renders in memory.
pub fn generate(context_path: &Path, workspace: &Path) -> Result<render::Tree, Error> {
    let (model, _) = load(context_path, workspace)?;
    Ok(render::render(&model, &context_name(context_path))?)
}
