//! Each module README's inputs and outputs are generated from its `variables.tf` and
//! `outputs.tf`, in the style of terraform-docs, between `<!-- BEGIN_TF_DOCS -->` and
//! `<!-- END_TF_DOCS -->`, so that they cannot drift from the code. `UPDATE_GOLDEN=1` rewrites
//! them in `generator/templates/terraform/modules/*/README.md` (then run it again to copy them
//! into `terraform/`).

mod common;

use common::workspace;
use hcl::{Body, Expression};
use std::path::Path;

const BEGIN: &str = "<!-- BEGIN_TF_DOCS -->";
const END: &str = "<!-- END_TF_DOCS -->";

fn attr<'a>(body: &'a Body, name: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key() == name)
        .map(|a| a.expr())
}

/// An expression on one line, as written.
fn inline(expr: &Expression) -> String {
    let text = hcl::format::to_string(expr).unwrap();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn description(body: &Body) -> String {
    match attr(body, "description") {
        Some(Expression::String(s)) => s.replace('|', "\\|"),
        _ => String::new(),
    }
}

fn blocks(path: &Path, ident: &str) -> Vec<(String, Body)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let body: Body = hcl::from_str(&text).unwrap();
    body.blocks()
        .filter(|b| b.identifier() == ident)
        .map(|b| (b.labels()[0].as_str().to_owned(), b.body().clone()))
        .collect()
}

/// The generated section of the module in `dir`.
fn docs(dir: &Path) -> String {
    let mut out = format!(
        "{BEGIN}\n## Inputs\n\n| name | type | default | description |\n|---|---|---|---|\n"
    );
    for (name, body) in blocks(&dir.join("variables.tf"), "variable") {
        let ty = attr(&body, "type")
            .map(inline)
            .unwrap_or_else(|| "any".into());
        let default = attr(&body, "default")
            .map_or_else(|| "required".into(), |d| format!("`{}`", inline(d)));
        out.push_str(&format!(
            "| `{name}` | `{ty}` | {default} | {} |\n",
            description(&body)
        ));
    }
    out.push_str("\n## Outputs\n\n| name | description |\n|---|---|\n");
    for (name, body) in blocks(&dir.join("outputs.tf"), "output") {
        out.push_str(&format!("| `{name}` | {} |\n", description(&body)));
    }
    out.push_str(END);
    out.push('\n');
    out
}

#[test]
fn module_readmes_list_their_inputs_and_outputs() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let modules = workspace().join("generator/templates/terraform/modules");
    let mut dirs: Vec<_> = std::fs::read_dir(&modules)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "{dirs:?}");
    let mut problems = Vec::new();
    for dir in dirs {
        let readme_path = dir.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let expected = docs(&dir);
        let current = match (readme.find(BEGIN), readme.find(END)) {
            (Some(start), Some(end)) => Some((start, end + END.len() + 1)),
            _ => None,
        };
        let actual = current.map(|(start, end)| &readme[start..end.min(readme.len())]);
        if actual == Some(expected.as_str()) {
            continue;
        }
        if update {
            let rewritten = match current {
                Some((start, end)) => {
                    format!(
                        "{}{expected}{}",
                        &readme[..start],
                        &readme[end.min(readme.len())..]
                    )
                }
                None => format!(
                    "{}\n{expected}",
                    readme.trim_end_matches('\n').to_owned() + "\n"
                ),
            };
            std::fs::write(&readme_path, rewritten).unwrap();
        } else {
            problems.push(format!(
                "{}: the inputs and outputs differ from variables.tf and outputs.tf; run `UPDATE_GOLDEN=1 make test`",
                readme_path.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
