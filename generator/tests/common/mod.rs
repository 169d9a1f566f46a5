//! What the generator's integration tests share.

use std::path::{Path, PathBuf};

/// The workspace root: the folder above `generator/`.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the generator lives in the workspace")
        .to_path_buf()
}
