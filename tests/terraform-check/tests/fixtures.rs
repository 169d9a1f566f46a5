//! Each folder under `fixtures/` is a small tree next to `expected.txt`, the exact findings the
//! check reports on it. `UPDATE_GOLDEN=1 cargo test -p terraform-check` rewrites them (the
//! workspace's one way to refresh expected files).

use std::path::{Path, PathBuf};
use terraform_check::{check_tree, Schema};

fn schema() -> Schema {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/aws-provider-6.62.0.json");
    Schema::load(&path).unwrap()
}

fn fixtures() -> Vec<PathBuf> {
    let pattern = format!("{}/fixtures/*/", env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = glob::glob(&pattern).unwrap().map(Result::unwrap).collect();
    dirs.sort();
    dirs
}

#[test]
fn fixtures_report_expected_findings() {
    let schema = schema();
    let dirs = fixtures();
    assert!(dirs.len() >= 20, "fixtures not found: {dirs:?}");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let findings =
            check_tree(&schema, &dir).unwrap_or_else(|err| panic!("fixture {name}: {err:#}"));
        // Every broken fixture must report something, and the valid ones nothing: an
        // overwrite cannot bless a silent check.
        if name.starts_with("valid") {
            assert!(
                findings.is_empty(),
                "fixture {name}: false positives:\n{findings:#?}"
            );
        } else {
            assert!(!findings.is_empty(), "fixture {name}: no finding");
        }
        let actual: String = findings.iter().map(|f| format!("{f}\n")).collect();
        let expected_file = dir.join("expected.txt");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&expected_file, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
        assert_eq!(
            actual, expected,
            "fixture {name}: findings differ from {}; run `UPDATE_GOLDEN=1 cargo test -p terraform-check` if the change is intended",
            expected_file.display()
        );
    }
}

#[test]
fn every_fixture_but_the_fmt_ones_is_terraform_fmt_clean() {
    for dir in fixtures() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let findings = terraform_check::check_fmt(&dir).unwrap();
        let expect_fmt = name.starts_with("fmt-") || name == "syntax-error";
        assert_eq!(
            !findings.is_empty(),
            expect_fmt,
            "fixture {name}: terraform fmt findings {findings:#?}"
        );
    }
}
