//! Writing a rendered tree into a folder, and comparing one with it.
//!
//! The generator owns exactly the files whose first line carries [`MARKER`]: those it no
//! longer renders are removed, everything else in the folder (Terraform's `.terraform/`, state,
//! a user's `backend.tf`, the Lambda zips) is left alone. Swapping the whole folder would lose
//! those, so the new files are first written completely to a staging folder inside the target
//! and then each is renamed into place, which is atomic per file on one file system.

use crate::render::{Tree, MARKER};
use anyhow::{Context as _, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Removed,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    /// A unified diff from the folder's version to the rendered one.
    pub diff: String,
}

/// Files under `dir` that the generator owns, as relative `/` paths.
pub fn owned_files(dir: &Path) -> Result<BTreeSet<String>> {
    let mut owned = BTreeSet::new();
    if !dir.exists() {
        return Ok(owned);
    }
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let first_line = fs::read(entry.path())
            .ok()
            .and_then(|bytes| {
                let end = bytes
                    .iter()
                    .position(|b| *b == b'\n')
                    .unwrap_or(bytes.len());
                String::from_utf8(bytes[..end].to_vec()).ok()
            })
            .unwrap_or_default();
        if first_line.contains(MARKER) {
            let rel = entry.path().strip_prefix(dir)?;
            owned.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(owned)
}

/// What writing `tree` into `dir` would change.
pub fn compare(tree: &Tree, dir: &Path) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for (path, new) in tree {
        let target = dir.join(path);
        match fs::read_to_string(&target) {
            Ok(old) if &old == new => {}
            Ok(old) => changes.push(Change {
                path: path.clone(),
                kind: ChangeKind::Modified,
                diff: unified(path, &old, new),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => changes.push(Change {
                path: path.clone(),
                kind: ChangeKind::Added,
                diff: unified(path, "", new),
            }),
            Err(e) => return Err(e).with_context(|| format!("reading {}", target.display())),
        }
    }
    for path in owned_files(dir)? {
        if !tree.contains_key(&path) {
            let old = fs::read_to_string(dir.join(&path)).unwrap_or_default();
            changes.push(Change {
                diff: unified(&path, &old, ""),
                path,
                kind: ChangeKind::Removed,
            });
        }
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changes)
}

pub fn unified(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Writes `tree` into `dir` and removes owned files it no longer holds. Returns the changes.
pub fn write(tree: &Tree, dir: &Path) -> Result<Vec<Change>> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let changes = compare(tree, dir)?;
    if changes.is_empty() {
        return Ok(changes);
    }
    let staging = tempfile::Builder::new()
        .prefix(".metering-gen-staging-")
        .tempdir_in(dir)
        .with_context(|| format!("creating a staging folder in {}", dir.display()))?;
    let changed: Vec<&Change> = changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Removed)
        .collect();
    for change in &changed {
        let staged = staging.path().join(&change.path);
        fs::create_dir_all(staged.parent().expect("a file path has a parent"))?;
        fs::write(&staged, &tree[&change.path])
            .with_context(|| format!("writing {}", staged.display()))?;
        fs::File::open(&staged)?.sync_all()?;
    }
    for change in &changed {
        let target = dir.join(&change.path);
        fs::create_dir_all(target.parent().expect("a file path has a parent"))?;
        fs::rename(staging.path().join(&change.path), &target)
            .with_context(|| format!("moving {} into place", target.display()))?;
    }
    for change in changes.iter().filter(|c| c.kind == ChangeKind::Removed) {
        let target = dir.join(&change.path);
        fs::remove_file(&target).with_context(|| format!("removing {}", target.display()))?;
        remove_empty_parents(&target, dir);
    }
    Ok(changes)
}

fn remove_empty_parents(file: &Path, root: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        files
            .iter()
            .map(|(p, c)| (p.to_string(), format!("# {MARKER} test\n{c}")))
            .collect()
    }

    #[test]
    fn writes_replaces_and_removes_only_owned_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&tree(&[("main.tf", "a"), ("modules/x/main.tf", "b")]), root).unwrap();
        fs::write(root.join("backend.tf"), "terraform {}\n").unwrap();
        fs::create_dir_all(root.join(".terraform")).unwrap();
        fs::write(root.join(".terraform/x.tf"), format!("# {MARKER}\n")).unwrap();

        let changes = write(&tree(&[("main.tf", "a2")]), root).unwrap();
        let summary: Vec<(&str, &ChangeKind)> =
            changes.iter().map(|c| (c.path.as_str(), &c.kind)).collect();
        assert_eq!(
            summary,
            vec![
                ("main.tf", &ChangeKind::Modified),
                ("modules/x/main.tf", &ChangeKind::Removed)
            ]
        );
        assert!(fs::read_to_string(root.join("main.tf"))
            .unwrap()
            .ends_with("a2"));
        assert!(!root.join("modules").exists(), "empty folders are removed");
        assert!(root.join("backend.tf").exists(), "a user's file stays");
        assert!(
            root.join(".terraform/x.tf").exists(),
            "dot folders are never touched"
        );
        let leftovers: Vec<_> = fs::read_dir(root)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".metering-gen"))
            .collect();
        assert!(leftovers.is_empty(), "the staging folder is cleaned up");
        assert!(compare(&tree(&[("main.tf", "a2")]), root)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn compare_reports_a_readable_diff() {
        let dir = tempfile::tempdir().unwrap();
        write(&tree(&[("main.tf", "one\n")]), dir.path()).unwrap();
        let changes = compare(
            &tree(&[("main.tf", "two\n"), ("new.tf", "x\n")]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(changes.len(), 2);
        assert!(changes[0].diff.contains("-one") && changes[0].diff.contains("+two"));
        assert_eq!(changes[1].kind, ChangeKind::Added);
    }
}
