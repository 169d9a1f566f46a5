//! What the generator's integration tests share.

use std::path::{Path, PathBuf};

/// The workspace root: the folder above `generator/`.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the generator lives in the workspace")
        .to_path_buf()
}

/// `terraform/` and every golden tree as whole trees on disk, in a temporary folder that lives
/// as long as the returned guard: a golden tree holds only what its context changes, the rest
/// is `terraform/`'s (`golden.rs`). Paths in name order, `terraform/`'s first.
#[allow(dead_code)]
pub fn whole_trees() -> (tempfile::TempDir, Vec<PathBuf>) {
    let root = workspace();
    let scratch = tempfile::tempdir().unwrap();
    let mut trees = vec![root.join("terraform")];
    let mut goldens: Vec<PathBuf> = std::fs::read_dir(root.join("tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    goldens.sort();
    for golden in goldens {
        let whole = scratch.path().join(golden.file_name().unwrap());
        for base in [root.join("terraform"), golden] {
            for entry in walkdir::WalkDir::new(&base) {
                let path = entry.unwrap().into_path();
                let rel = path.strip_prefix(&base).unwrap();
                if !path.is_file() || rel.components().any(|c| c.as_os_str() == "artifacts") {
                    continue;
                }
                std::fs::create_dir_all(whole.join(rel).parent().unwrap()).unwrap();
                std::fs::copy(&path, whole.join(rel)).unwrap();
            }
        }
        trees.push(whole);
    }
    (scratch, trees)
}
