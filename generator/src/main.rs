use clap::{Parser, Subcommand};
use metering_gen::{artifacts, output, render, Error};
use std::path::PathBuf;
use std::process::ExitCode;

/// Generates the Terraform and Lambda artifacts of a serverless API-usage metering stack from
/// the reference sample's cdk.context.json.
///
/// Exit codes: 0 success, 1 the committed tree differs from what would be generated (--check),
/// 2 bad input (the message names the file, the place and the rule), 3 any other failure.
#[derive(Parser)]
#[command(name = "metering-gen", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the Lambda zips and write the Terraform tree.
    Gen {
        /// The context file.
        #[arg(long, default_value = "examples/cdk.context.json")]
        context: PathBuf,
        /// The Terraform root module to write; the zips go to its `artifacts/` folder.
        #[arg(long, default_value = "terraform")]
        out: PathBuf,
        /// Write nothing: compare the rendered tree with --out, print a diff and exit 1 if
        /// they differ.
        #[arg(long)]
        check: bool,
        /// Render the tree without building the Lambda zips.
        #[arg(long)]
        no_build: bool,
        /// The Cargo workspace holding `lambdas/`.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
    /// Check the context file only.
    Validate {
        #[arg(long, default_value = "examples/cdk.context.json")]
        context: PathBuf,
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            match e {
                Error::Input(_) => ExitCode::from(2),
                Error::Other(_) => ExitCode::from(3),
            }
        }
    }
}

fn run(command: Cmd) -> Result<ExitCode, Error> {
    match command {
        Cmd::Validate { context, workspace } => {
            metering_gen::load(&context, &workspace)?;
            println!("{}: valid", context.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Gen {
            context,
            out,
            check,
            no_build,
            workspace,
        } => {
            let (model, crates) = metering_gen::load(&context, &workspace)?;
            let tree = render::render(&model, &metering_gen::context_name(&context))?;
            if check {
                let changes = output::compare(&tree, &out)?;
                if changes.is_empty() {
                    println!("{} is up to date ({} files)", out.display(), tree.len());
                    return Ok(ExitCode::SUCCESS);
                }
                for change in &changes {
                    print!("{}", change.diff);
                }
                eprintln!(
                    "{} differs from what `metering-gen gen` renders from {}: {} file(s) would change:",
                    out.display(),
                    context.display(),
                    changes.len()
                );
                for change in &changes {
                    eprintln!("  {:?}: {}", change.kind, change.path);
                }
                return Ok(ExitCode::from(1));
            }
            if !no_build {
                let artifacts_dir = out.join("artifacts");
                for artifact in artifacts::package(&workspace, &crates, &artifacts_dir)? {
                    println!(
                        "packaged {} ({} bytes, sha256 {})",
                        artifact.zip.display(),
                        artifact.size,
                        artifact.sha256
                    );
                }
            }
            let changes = output::write(&tree, &out)?;
            println!(
                "{}: {} files, {} changed",
                out.display(),
                tree.len(),
                changes.len()
            );
            for change in &changes {
                println!("  {:?}: {}", change.kind, change.path);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
