//! The generated `terraform/` tree and every golden tree pass the offline check.

use std::path::{Path, PathBuf};
use terraform_check::{check_tree, Schema};

/// Copies every file under `from` (but `artifacts/`) into `to`, replacing what is there.
fn copy_over(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "artifacts") {
                continue;
            }
            std::fs::create_dir_all(&target).unwrap();
            copy_over(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn generated_trees_have_no_findings() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = crate_dir.join("../..");
    let schema = Schema::load(&crate_dir.join("../fixtures/aws-provider-6.62.0.json")).unwrap();

    // A golden tree holds only what its context changes; the rest is `terraform/`'s.
    let scratch = tempfile::tempdir().unwrap();
    let mut trees = vec![("terraform".to_owned(), repo.join("terraform"))];
    let golden = repo.join("tests/golden");
    let mut goldens: Vec<PathBuf> = std::fs::read_dir(&golden)
        .unwrap_or_else(|err| panic!("listing {}: {err}", golden.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    goldens.sort();
    assert!(
        !goldens.is_empty(),
        "no golden tree under {}",
        golden.display()
    );
    for path in goldens {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let whole = scratch.path().join(&name);
        std::fs::create_dir_all(&whole).unwrap();
        copy_over(&repo.join("terraform"), &whole);
        copy_over(&path, &whole);
        trees.push((format!("tests/golden/{name}"), whole));
    }

    let mut report = String::new();
    for (name, tree) in &trees {
        let findings =
            check_tree(&schema, tree).unwrap_or_else(|err| panic!("checking {name}: {err:#}"));
        for f in findings {
            report.push_str(&format!("{name}/{f}\n"));
        }
    }
    assert!(
        report.is_empty(),
        "findings in the generated trees:\n{report}"
    );
}

/// Every `versions.tf` pins `~> MAJOR.MINOR` with the fixture's release inside it, so that
/// `terraform init` never picks a provider older than the schema the trees were checked with.
#[test]
fn provider_constraint_includes_the_checked_release() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = Schema::load(&crate_dir.join("../fixtures/aws-provider-6.62.0.json")).unwrap();
    let release: Vec<u64> = schema
        .release()
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    let templates = crate_dir.join("../../generator/templates/terraform");
    let mut files = vec![templates.join("versions.tf")];
    for module in std::fs::read_dir(templates.join("modules")).unwrap() {
        files.push(module.unwrap().path().join("versions.tf"));
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let constraint = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("version = \"~> "))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{}: no `version = \"~> X.Y\"`", file.display()));
        let pinned: Vec<u64> = constraint.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(pinned.len(), 2, "{}: ~> {constraint}", file.display());
        assert!(
            pinned[0] == release[0] && pinned[1] <= release[1],
            "{}: ~> {constraint} does not include the checked release {}",
            file.display(),
            schema.release()
        );
    }
}
