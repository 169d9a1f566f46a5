//! The sample's own `examples/cdk.context.json` renders to the committed `terraform/`, every
//! file of it. Each other `examples/<name>.json` renders to `terraform/` with the files under
//! `tests/golden/<name>/` in place of its own: a golden tree holds only what that context
//! changes (its root module, the `billing` module), so a module edit shows once, in
//! `terraform/`. `UPDATE_GOLDEN=1` rewrites the expected files.

mod common;

use common::workspace;

use metering_gen::{output, render::Tree};
use std::path::{Path, PathBuf};

/// (context, expected tree) pairs.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let root = workspace();
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    examples.sort();
    examples
        .into_iter()
        .map(|example| {
            let stem = example.file_stem().unwrap().to_string_lossy().into_owned();
            let expected = if stem == "cdk.context" {
                root.join("terraform")
            } else {
                root.join("tests/golden").join(stem)
            };
            (example, expected)
        })
        .collect()
}

fn render(example: &Path) -> Tree {
    metering_gen::generate(example, &workspace())
        .unwrap_or_else(|e| panic!("{}: {e}", example.display()))
}

/// The files of `tree` that are not, byte for byte, those of `reference`. A context that
/// renders a file less than the reference would need a way to say so; none does.
fn changed_files(example: &Path, tree: Tree, reference: &Tree) -> Tree {
    for path in reference.keys() {
        assert!(
            tree.contains_key(path),
            "{} renders no {path}, which a golden tree cannot express",
            example.display()
        );
    }
    tree.into_iter()
        .filter(|(path, text)| reference.get(path) != Some(text))
        .collect()
}

#[test]
fn every_example_renders_to_its_expected_tree() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let reference = render(&workspace().join("examples/cdk.context.json"));
    let mut failures = Vec::new();
    for (example, expected) in cases() {
        let mut tree = render(&example);
        if !expected.ends_with("terraform") {
            tree = changed_files(&example, tree, &reference);
        }
        if update {
            output::write(&tree, &expected).unwrap();
            continue;
        }
        let changes = output::compare(&tree, &expected).unwrap();
        if !changes.is_empty() {
            let diffs: String = changes.iter().map(|c| c.diff.clone()).collect();
            failures.push(format!(
                "{} does not render to {} ({} files differ); run `UPDATE_GOLDEN=1 make test` if the change is intended:\n{diffs}",
                example.display(),
                expected.display(),
                changes.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_golden_tree_has_an_example() {
    let root = workspace();
    let examples: Vec<PathBuf> = cases().into_iter().map(|(_, e)| e).collect();
    for entry in std::fs::read_dir(root.join("tests/golden")).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            examples.contains(&path),
            "{} has no example in examples/",
            path.display()
        );
    }
}

#[test]
fn the_required_examples_exist() {
    let names: Vec<String> = cases()
        .iter()
        .map(|(e, _)| e.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in [
        "cdk.context",
        "sample-readme",
        "custom-bucket",
        "separate-databases",
        "reduced-columns",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "examples/{required}.json is missing"
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    for (example, _) in cases() {
        assert_eq!(render(&example), render(&example), "{}", example.display());
    }
}

#[test]
fn every_tf_file_parses_as_hcl() {
    for (example, _) in cases() {
        for (path, text) in render(&example) {
            if path.ends_with(".tf") {
                if let Err(e) = hcl::parse(&text) {
                    panic!("{} → {path} is not valid HCL: {e}", example.display());
                }
            }
        }
    }
}
