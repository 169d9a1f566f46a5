//! docs/security.md lists every inline checkov skip of the templates, with the
//! module it is in, so the documented exceptions cannot drift from the generated ones.

mod common;

use common::workspace;

use std::collections::BTreeSet;

/// (check id, module) of every `#checkov:skip=ID:reason` in the templates.
fn skips_in_templates() -> BTreeSet<(String, String)> {
    let modules = workspace().join("generator/templates/terraform/modules");
    let mut skips = BTreeSet::new();
    for entry in walkdir::WalkDir::new(&modules) {
        let path = entry.unwrap().into_path();
        if path.extension().is_none_or(|e| e != "tf") {
            continue;
        }
        let module = path
            .strip_prefix(&modules)
            .unwrap()
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if let Some(rest) = line.trim().strip_prefix("#checkov:skip=") {
                let (id, reason) = rest.split_once(':').expect("a skip needs a reason");
                assert!(
                    reason.len() > 40,
                    "{}: {id}: reason too thin",
                    path.display()
                );
                skips.insert((id.to_string(), module.clone()));
            }
        }
    }
    skips
}

#[test]
fn every_inline_skip_is_documented() {
    let section = std::fs::read_to_string(workspace().join("docs/security.md")).unwrap();
    assert!(
        section.starts_with("# Security\n"),
        "docs/security.md is the Security page"
    );
    let skips = skips_in_templates();
    assert!(skips.len() >= 10, "{skips:?}");
    for (id, module) in &skips {
        let documented = section.lines().any(|l| {
            l.starts_with('|')
                && l.contains(&format!("`{id}`"))
                && l.contains(&format!("`{module}`"))
        });
        assert!(documented, "docs/security.md lacks `{id}` in `{module}`");
    }
    // And nothing documented that the templates no longer skip.
    let ids: BTreeSet<&str> = skips.iter().map(|(id, _)| id.as_str()).collect();
    for line in section.lines().filter(|l| l.starts_with("| `CKV")) {
        for id in line.split('`').filter(|w| w.starts_with("CKV")) {
            assert!(
                ids.contains(id),
                "docs/security.md documents a skip of {id} that no template has"
            );
        }
    }
}
