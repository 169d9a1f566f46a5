//! `metering-gen verify`: the stack from `terraform output -json`, the caller's AWS
//! credentials, and the stages of the `verify` crate, with Ctrl-C cleaning up.

use crate::diagnostic::{Diagnostic, Diagnostics, Place};
use crate::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;
use verify::{Options, Stack, Stage};

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The Terraform root module whose outputs are read (`terraform output -json`).
    pub tree: PathBuf,
    /// Read the outputs from this file instead.
    pub outputs: Option<PathBuf>,
    pub stages: Vec<Stage>,
    pub calls: u32,
    pub timeout: Option<Duration>,
    pub keep_user: bool,
    pub json: bool,
}

fn input(source: &str, message: impl Into<String>) -> Error {
    Error::Input(Diagnostics(vec![Diagnostic {
        file: source.to_owned(),
        place: Place::File,
        message: message.into(),
    }]))
}

/// The text of the stack's outputs and where it came from: the file, or `terraform output
/// -json` in the tree.
pub(crate) fn outputs_text(outputs: Option<&Path>, tree: &Path) -> Result<(String, String), Error> {
    match outputs {
        Some(file) => Ok((
            std::fs::read_to_string(file)
                .map_err(|e| input(&file.display().to_string(), format!("cannot read: {e}")))?,
            file.display().to_string(),
        )),
        None => terraform_outputs(tree),
    }
}

/// The stack's outputs, from the file or from `terraform output -json` in the tree.
fn stack(request: &Request) -> Result<Stack, Error> {
    let (text, source) = outputs_text(request.outputs.as_deref(), &request.tree)?;
    Stack::from_json(&text, &source).map_err(|e| {
        Error::Input(Diagnostics(
            e.problems
                .into_iter()
                .map(|message| Diagnostic {
                    file: e.origin.clone(),
                    place: Place::File,
                    message,
                })
                .collect(),
        ))
    })
}

fn terraform_outputs(tree: &Path) -> Result<(String, String), Error> {
    let source = format!("`terraform -chdir={} output -json`", tree.display());
    let output = Command::new("terraform")
        .arg(format!("-chdir={}", tree.display()))
        .args(["output", "-json"])
        .output()
        .map_err(|e| {
            input(
                &source,
                format!("cannot run terraform: {e}; or give --outputs FILE"),
            )
        })?;
    if !output.status.success() {
        return Err(input(
            &source,
            format!(
                "failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| input(&source, "printed something that is not UTF-8"))?;
    if text.trim() == "{}" {
        return Err(input(
            &source,
            "no outputs: has the tree been applied (`terraform apply`)?",
        ));
    }
    Ok((text, source))
}

/// Runs the stages; the report goes to stdout (as it happens, or as JSON at the end).
pub fn run(request: Request) -> Result<ExitCode, Error> {
    let stages = verify::select(&request.stages).map_err(|e| input("--stages", e))?;
    let stack = stack(&request)?;
    let options = Options {
        stages,
        calls: request.calls,
        timeout: request.timeout,
        keep_user: request.keep_user,
        ..Options::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(anyhow::anyhow!("cannot start the async runtime: {e}")))?;
    let report = runtime.block_on(async {
        let http = verify::Http::new().map_err(|e| Error::Other(anyhow::anyhow!(e)))?;
        let aws = verify::Aws::from_environment().await;
        let verifier = verify::Verifier::new(stack, aws, http, options);
        let interrupt = async {
            // Without a handler Ctrl-C would kill the process before the user is deleted.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let json = request.json;
        Ok::<_, Error>(
            verify::run_until(&verifier, interrupt, |stage| {
                if !json {
                    println!("{stage}");
                }
            })
            .await,
        )
    })?;
    if request.json {
        println!("{}", report.json());
    } else {
        if let Some(why) = &report.interrupted {
            println!("interrupted: {why}");
        }
        println!("{}", report.to_string().lines().last().unwrap_or_default());
    }
    Ok(ExitCode::from(report.exit_code()))
}
