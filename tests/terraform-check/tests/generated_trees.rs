//! The generated `terraform/` tree and every golden tree pass the offline check.

use std::path::{Path, PathBuf};
use terraform_check::{check_tree, Schema};

#[test]
fn generated_trees_have_no_findings() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = crate_dir.join("../..");
    let schema = Schema::load(&crate_dir.join("../fixtures/aws-provider-6.62.0.json")).unwrap();

    let mut trees = vec![PathBuf::from("terraform")];
    let golden = repo.join("tests/golden");
    let mut goldens: Vec<PathBuf> = std::fs::read_dir(&golden)
        .unwrap_or_else(|err| panic!("listing {}: {err}", golden.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| Path::new("tests/golden").join(path.file_name().unwrap()))
        .collect();
    goldens.sort();
    assert!(
        !goldens.is_empty(),
        "no golden tree under {}",
        golden.display()
    );
    trees.extend(goldens);

    let mut report = String::new();
    for tree in &trees {
        let findings = check_tree(&schema, &repo.join(tree))
            .unwrap_or_else(|err| panic!("checking {}: {err:#}", tree.display()));
        for f in findings {
            report.push_str(&format!("{}/{f}\n", tree.display()));
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
