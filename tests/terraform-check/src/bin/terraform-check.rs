//! `terraform-check <schema.json> <tree>...`: prints the findings of each tree, one a line as
//! `TREE/FILE:LINE: ADDRESS: MESSAGE`, and exits 1 when there is any (2 on a usage or I/O error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use terraform_check::{check_tree, Schema};

const USAGE: &str = "usage: terraform-check <schema.json> <tree>...";

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args
        .iter()
        .any(|a| a == Path::new("-h") || a == Path::new("--help"))
    {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let [schema, trees @ ..] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if trees.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    match run(schema, trees) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(err) => {
            eprintln!("terraform-check: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(schema: &Path, trees: &[PathBuf]) -> anyhow::Result<usize> {
    let schema = Schema::load(schema)?;
    let mut total = 0;
    for tree in trees {
        let findings = check_tree(&schema, tree)?;
        for f in &findings {
            println!(
                "{}:{}: {}: {}",
                tree.join(&f.file).display(),
                f.line,
                f.address,
                f.message
            );
        }
        total += findings.len();
    }
    eprintln!(
        "terraform-check: {total} finding(s) in {} tree(s), provider schema {}",
        trees.len(),
        schema.provider_label()
    );
    Ok(total)
}
