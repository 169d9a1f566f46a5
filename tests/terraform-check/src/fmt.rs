//! Rule 5: `terraform fmt -check` differences, one finding per file it lists, at the first line
//! that `terraform fmt` would change.

use crate::finding::Finding;
use anyhow::{bail, Context as _, Result};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Address of fmt findings: they are about a file, not a block.
pub const ADDRESS: &str = "terraform fmt";

/// Runs `terraform fmt -check -recursive -list=true` on the tree at `root`. Fails when
/// `terraform` cannot be run.
pub fn check(root: &Path) -> Result<Vec<Finding>> {
    let output = terraform(
        root,
        &[
            "fmt",
            "-check",
            "-recursive",
            "-list=true",
            "-no-color",
            ".",
        ],
        None,
    )?;
    let listed = listed_files(&output);
    match output.status.code() {
        // 0: all formatted; 3: some files listed.
        Some(0 | 3) => listed.iter().map(|rel| unformatted(root, rel)).collect(),
        // A file terraform cannot parse stops the whole run: go file by file.
        _ => file_by_file(root),
    }
}

fn file_by_file(root: &Path) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for rel in hcl_files(root, Path::new(""))? {
        let arg = rel.to_string_lossy().into_owned();
        let output = terraform(
            root,
            &["fmt", "-check", "-list=true", "-no-color", &arg],
            None,
        )?;
        match output.status.code() {
            Some(0) => {}
            Some(3) => findings.push(unformatted(root, &rel)?),
            _ => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let (line, summary) = first_error(&stderr);
                findings.push(Finding::new(
                    rel,
                    line,
                    ADDRESS,
                    format!("terraform fmt cannot parse the file: {summary}"),
                ));
            }
        }
    }
    Ok(findings)
}

/// The finding for an unformatted file, at the first line `terraform fmt` changes.
fn unformatted(root: &Path, rel: &Path) -> Result<Finding> {
    let path = root.join(rel);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let output = terraform(root, &["fmt", "-no-color", "-"], Some(&text))?;
    let line = if output.status.success() {
        first_difference(&text, &String::from_utf8_lossy(&output.stdout))
    } else {
        1
    };
    Ok(Finding::new(
        rel,
        line,
        ADDRESS,
        "not formatted as `terraform fmt` writes it (first difference on this line): run \
         `terraform fmt`",
    ))
}

/// 1-based number of the first line where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    let mut a_lines = a.split('\n');
    let mut b_lines = b.split('\n');
    let mut line = 1;
    loop {
        match (a_lines.next(), b_lines.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (None, None) => return 1,
            _ => return line,
        }
    }
}

/// Paths listed on stdout, relative to the tree root.
fn listed_files(output: &Output) -> Vec<PathBuf> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| PathBuf::from(l.strip_prefix("./").unwrap_or(l)))
        .collect()
}

/// Line and summary of the first error diagnostic in terraform's stderr.
fn first_error(stderr: &str) -> (usize, String) {
    let summary = stderr
        .lines()
        .find_map(|l| {
            l.trim_start_matches(['│', '╷', ' '])
                .strip_prefix("Error: ")
        })
        .unwrap_or("unknown error")
        .trim()
        .to_string();
    let line = stderr
        .lines()
        .find_map(|l| {
            let (_, after) = l.split_once(" line ")?;
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(1);
    (line, summary)
}

/// The files `terraform fmt -recursive` looks at, relative to `root`, skipping hidden folders.
fn hcl_files(root: &Path, rel: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut out = Vec::new();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = rel.join(&name);
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') {
                out.extend(hcl_files(root, &child)?);
            }
        } else if name.ends_with(".tf")
            || name.ends_with(".tfvars")
            || name.ends_with(".tftest.hcl")
        {
            out.push(child);
        }
    }
    Ok(out)
}

/// Runs `terraform ARGS` in `dir`, with `stdin` on its standard input.
fn terraform(dir: &Path, args: &[&str], stdin: Option<&str>) -> Result<Output> {
    let mut command = Command::new("terraform");
    command
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "`terraform` is not on PATH: the fmt check needs Terraform (1.11 or later) installed"
        ),
        Err(err) => return Err(err).context("running terraform"),
    };
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .context("writing to terraform fmt")?;
    }
    child.wait_with_output().context("running terraform")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_is_one_based() {
        assert_eq!(first_difference("a\nb\nc\n", "a\nB\nc\n"), 2);
        assert_eq!(first_difference("a\n", "a\nb\n"), 2);
        assert_eq!(first_difference("x\n", "y\n"), 1);
    }

    #[test]
    fn first_error_reads_summary_and_line() {
        let stderr =
            "╷\n│ Error: Invalid expression\n│ \n│   on main.tf line 2, in resource \"a\" \"b\":\n";
        assert_eq!(first_error(stderr), (2, "Invalid expression".to_string()));
    }
}
