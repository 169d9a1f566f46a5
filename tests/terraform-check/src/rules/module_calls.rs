//! Rule 4, module calls: the `source` folder exists, every required variable of the child is
//! passed and no argument names a variable the child does not declare.

use crate::finding::Finding;
use crate::module::{address_of, is_local_source, Module, Tree};

/// Arguments of a module call that are not input variables of the child.
const META_ARGUMENTS: &[&str] = &[
    "source",
    "version",
    "providers",
    "count",
    "for_each",
    "depends_on",
];

/// Checks every `module` block of `module`.
pub fn check(tree: &Tree, module: &Module, findings: &mut Vec<Finding>) {
    for (file, block) in module.blocks() {
        if block.ident.as_str() != "module" {
            continue;
        }
        let [name] = block.labels.as_slice() else {
            continue;
        };
        let address = address_of(block);
        let line = file.line_of(&block.ident);
        let mut push = |line: usize, message: String| {
            findings.push(file.finding(line, address.clone(), message));
        };
        for nested in block.body.blocks() {
            push(
                file.line_of(&nested.ident),
                format!(
                    "unsupported block type `{}` in a module call",
                    nested.ident.as_str()
                ),
            );
        }
        let Some(source_attr) = block.body.get_attribute("source") else {
            push(line, "module call without `source`".to_string());
            continue;
        };
        let Some(source) = source_attr.value.as_str() else {
            push(
                file.line_of(source_attr),
                "`source` must be a literal string".to_string(),
            );
            continue;
        };
        if !is_local_source(source) {
            // Registry and remote modules cannot be checked offline.
            continue;
        }
        let call = module.decls.module_calls.get(name.as_str());
        let Some(child) = call.and_then(|c| c.child) else {
            push(
                file.line_of(source_attr),
                format!("module source `{source}` does not exist"),
            );
            continue;
        };
        let child = &tree.modules[child];
        if !child.complete {
            continue;
        }
        let variables = &child.decls.variables;
        for attr in block.body.attributes() {
            let arg = attr.key.as_str();
            if !META_ARGUMENTS.contains(&arg) && !variables.contains_key(arg) {
                push(
                    file.line_of(attr),
                    format!("module `{source}` has no variable `{arg}`"),
                );
            }
        }
        for (variable, has_default) in variables {
            if !has_default && !block.body.has_attribute(variable) {
                push(
                    line,
                    format!("missing required variable `{variable}` of module `{source}`"),
                );
            }
        }
    }
}
