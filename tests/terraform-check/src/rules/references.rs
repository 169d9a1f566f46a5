//! Rule 4: every reference in every expression resolves.
//!
//! Walks all expressions (templates, heredocs, function calls, for expressions, conditionals,
//! index and splat operators) and checks the traversals rooted at `var`, `local`, `module`,
//! `data` and resource types against the module's declarations, the child modules' outputs and
//! the provider schema. `each`, `count`, `path`, `self`, `terraform`, for-expression variables
//! and `dynamic` iterators are allowed where Terraform allows them.

use crate::finding::Finding;
use crate::module::{address_of, Module, Repetition, Tree};
use crate::schema::{BlockSchema, Kind, Schema, TypeSchema};
use crate::source::SourceFile;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Ident, Span};
use std::ops::Range;

type Operator = Decorated<TraversalOperator>;

/// Checks the references of every top-level block of `module`.
pub fn check(schema: &Schema, tree: &Tree, module: &Module, findings: &mut Vec<Finding>) {
    for (file, block) in module.blocks() {
        let mut walker = Walker {
            schema,
            tree,
            module,
            file,
            findings: &mut *findings,
        };
        walker.top_block(block);
    }
}

/// Names in scope where an expression is.
#[derive(Debug, Clone)]
struct Scope {
    /// Address of the enclosing block, with the nested path.
    address: String,
    /// For-expression variables (`false`) and `dynamic` iterators (`true`), innermost last.
    names: Vec<(String, bool)>,
    /// `count.index` is available.
    count: bool,
    /// `each.key` and `each.value` are available.
    each: bool,
}

impl Scope {
    fn new(address: String) -> Scope {
        Scope {
            address,
            names: Vec::new(),
            count: false,
            each: false,
        }
    }

    fn nested(&self, name: &str) -> Scope {
        Scope {
            address: format!("{}.{name}", self.address),
            ..self.clone()
        }
    }

    fn with_names<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Scope {
        let mut scope = self.clone();
        scope
            .names
            .extend(names.into_iter().map(|n| (n.to_string(), false)));
        scope
    }

    fn with_iterator(&self, name: &str) -> Scope {
        let mut scope = self.clone();
        scope.names.push((name.to_string(), true));
        scope
    }

    /// `Some(is_iterator)` when `name` is a for-expression variable or iterator in scope.
    fn lookup(&self, name: &str) -> Option<bool> {
        self.names
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|&(_, iterator)| iterator)
    }
}

struct Walker<'a> {
    schema: &'a Schema,
    tree: &'a Tree,
    module: &'a Module,
    file: &'a SourceFile,
    findings: &'a mut Vec<Finding>,
}

/// The attribute name of a `.name` operator.
fn get_attr(op: Option<&Operator>) -> Option<&str> {
    match op.map(|op| op.value()) {
        Some(TraversalOperator::GetAttr(ident)) => Some(ident.as_str()),
        _ => None,
    }
}

/// Whether `op` selects instances: `[key]`, `.0`, `[*]` or `.*`.
fn is_key_or_splat(op: &Operator) -> bool {
    !matches!(op.value(), TraversalOperator::GetAttr(_))
}

impl Walker<'_> {
    fn push(&mut self, span: Option<Range<usize>>, scope: &Scope, message: String) {
        let line = self.file.line_of_span(span);
        self.findings
            .push(self.file.finding(line, scope.address.clone(), message));
    }

    fn top_block(&mut self, block: &Block) {
        let mut scope = Scope::new(address_of(block));
        let body = &block.body;
        match block.ident.as_str() {
            "resource" | "data" => {
                scope.count = body.has_attribute("count");
                scope.each = body.has_attribute("for_each");
                self.resource_body(body, &scope);
            }
            "module" => {
                scope.count = body.has_attribute("count");
                scope.each = body.has_attribute("for_each");
                self.body_except(body, &scope, &["source", "version", "providers"]);
            }
            "variable" => self.body_except(body, &scope, &["type"]),
            "provider" => self.body_except(body, &scope, &["alias"]),
            "output" | "check" => self.body(body, &scope),
            "locals" => {
                for attr in body.attributes() {
                    let scope = Scope::new(format!("local.{}", attr.key.as_str()));
                    self.expr(&attr.value, &scope);
                }
            }
            // `terraform` holds no references; `moved`, `import` and `removed` name addresses
            // that need not exist any more.
            _ => {}
        }
    }

    /// The body of a resource or data block: `provider` names a provider configuration and
    /// `lifecycle.ignore_changes` names attributes; neither is a reference.
    fn resource_body(&mut self, body: &Body, scope: &Scope) {
        for attr in body.attributes() {
            if attr.key.as_str() != "provider" {
                self.expr(&attr.value, scope);
            }
        }
        for block in body.blocks() {
            if block.ident.as_str() == "lifecycle" {
                let scope = scope.nested("lifecycle");
                self.body_except(&block.body, &scope, &["ignore_changes"]);
            } else {
                self.block(block, scope);
            }
        }
    }

    fn body(&mut self, body: &Body, scope: &Scope) {
        self.body_except(body, scope, &[]);
    }

    fn body_except(&mut self, body: &Body, scope: &Scope, skip: &[&str]) {
        for attr in body.attributes() {
            if !skip.contains(&attr.key.as_str()) {
                self.expr(&attr.value, scope);
            }
        }
        for block in body.blocks() {
            self.block(block, scope);
        }
    }

    /// A nested block; `dynamic` blocks bring their iterator into scope in `labels` and
    /// `content`.
    fn block(&mut self, block: &Block, scope: &Scope) {
        let name = block.ident.as_str();
        if name != "dynamic" {
            self.body(&block.body, &scope.nested(name));
            return;
        }
        let label = block.labels.first().map_or("dynamic", |l| l.as_str());
        let iterator = match block.body.get_attribute("iterator") {
            Some(attr) => match attr.value.as_variable() {
                Some(ident) => ident.as_str().to_string(),
                None => {
                    self.push(
                        attr.value.span(),
                        &scope.nested(label),
                        "`iterator` must be a bare name".to_string(),
                    );
                    label.to_string()
                }
            },
            None => label.to_string(),
        };
        let inner = scope.nested(label).with_iterator(&iterator);
        for attr in block.body.attributes() {
            match attr.key.as_str() {
                "for_each" => self.expr(&attr.value, &scope.nested(label)),
                "iterator" => {}
                _ => self.expr(&attr.value, &inner),
            }
        }
        for content in block.body.blocks() {
            // `content` does not add to the address: it is the generated block's body.
            self.body(&content.body, &inner);
        }
    }

    fn expr(&mut self, expr: &Expression, scope: &Scope) {
        match expr {
            Expression::Array(array) => {
                for item in array.iter() {
                    self.expr(item, scope);
                }
            }
            Expression::Object(object) => {
                for (key, value) in object.iter() {
                    if let ObjectKey::Expression(key) = key {
                        // A bare name as a key is a literal string.
                        if !key.is_variable() {
                            self.expr(key, scope);
                        }
                    }
                    self.expr(value.expr(), scope);
                }
            }
            Expression::StringTemplate(template) => self.template(template, scope),
            Expression::HeredocTemplate(heredoc) => self.template(&heredoc.template, scope),
            Expression::Parenthesis(inner) => self.expr(inner.inner(), scope),
            Expression::Variable(root) => self.reference(root, &[], root.span(), scope),
            Expression::Conditional(cond) => {
                self.expr(&cond.cond_expr, scope);
                self.expr(&cond.true_expr, scope);
                self.expr(&cond.false_expr, scope);
            }
            Expression::FuncCall(call) => {
                for arg in call.args.iter() {
                    self.expr(arg, scope);
                }
            }
            Expression::Traversal(traversal) => {
                match &traversal.expr {
                    Expression::Variable(root) => {
                        self.reference(root, &traversal.operators, traversal.span(), scope);
                    }
                    other => self.expr(other, scope),
                }
                for op in &traversal.operators {
                    if let TraversalOperator::Index(index) = op.value() {
                        self.expr(index, scope);
                    }
                }
            }
            Expression::UnaryOp(op) => self.expr(&op.expr, scope),
            Expression::BinaryOp(op) => {
                self.expr(&op.lhs_expr, scope);
                self.expr(&op.rhs_expr, scope);
            }
            Expression::ForExpr(for_expr) => {
                let intro = &for_expr.intro;
                self.expr(&intro.collection_expr, scope);
                let names = intro.key_var.iter().chain([&intro.value_var]);
                let inner = scope.with_names(names.map(|v| v.as_str()));
                if let Some(key) = &for_expr.key_expr {
                    self.expr(key, &inner);
                }
                self.expr(&for_expr.value_expr, &inner);
                if let Some(cond) = &for_expr.cond {
                    self.expr(&cond.expr, &inner);
                }
            }
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
        }
    }

    fn template(&mut self, template: &Template, scope: &Scope) {
        for element in template.iter() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(interpolation) => self.expr(&interpolation.expr, scope),
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(dir) => {
                        self.expr(&dir.if_expr.cond_expr, scope);
                        self.template(&dir.if_expr.template, scope);
                        if let Some(else_expr) = &dir.else_expr {
                            self.template(&else_expr.template, scope);
                        }
                    }
                    Directive::For(dir) => {
                        let for_expr = &dir.for_expr;
                        self.expr(&for_expr.collection_expr, scope);
                        let names = for_expr.key_var.iter().chain([&for_expr.value_var]);
                        let inner = scope.with_names(names.map(|v| v.as_str()));
                        self.template(&for_expr.template, &inner);
                    }
                },
            }
        }
    }

    /// A traversal `root.op1.op2...` (or a bare `root`).
    fn reference(
        &mut self,
        root: &Decorated<Ident>,
        ops: &[Operator],
        span: Option<Range<usize>>,
        scope: &Scope,
    ) {
        let name = root.as_str();
        let first = get_attr(ops.first());
        match scope.lookup(name) {
            Some(false) => return,
            Some(true) => {
                if !matches!(first, Some("key" | "value")) {
                    let message = format!(
                        "the iterator `{name}` of a dynamic block has only `{name}.key` and \
                         `{name}.value`"
                    );
                    self.push(span, scope, message);
                }
                return;
            }
            None => {}
        }
        let declared = self.module.complete;
        let decls = &self.module.decls;
        let problem = match name {
            "var" => match first {
                None => Some("`var` must be followed by a variable name: `var.NAME`".to_string()),
                Some(v) if declared && !decls.variables.contains_key(v) => {
                    Some(format!("reference to undeclared input variable `var.{v}`"))
                }
                Some(_) => None,
            },
            "local" => match first {
                None => Some("`local` must be followed by a name: `local.NAME`".to_string()),
                Some(l) if declared && !decls.locals.contains(l) => {
                    Some(format!("reference to undeclared local value `local.{l}`"))
                }
                Some(_) => None,
            },
            "module" => self.module_reference(ops),
            "data" => match (first, get_attr(ops.get(1))) {
                (Some(ty), Some(data_name)) => {
                    self.resource_reference(Kind::DataSource, ty, data_name, &ops[2..])
                }
                _ => Some("`data` must be followed by a type and a name: `data.TYPE.NAME`".into()),
            },
            "each" if !scope.each => {
                Some("`each` is only available in a block that sets `for_each`".to_string())
            }
            "each" => (!matches!(first, Some("key" | "value")))
                .then(|| "`each` has only `each.key` and `each.value`".to_string()),
            "count" if !scope.count => {
                Some("`count.index` is only available in a block that sets `count`".to_string())
            }
            "count" => {
                (first != Some("index")).then(|| "`count` has only `count.index`".to_string())
            }
            "path" => (!matches!(first, Some("module" | "root" | "cwd")))
                .then(|| "`path` has only `path.module`, `path.root` and `path.cwd`".to_string()),
            "terraform" => (!matches!(first, Some("workspace" | "applying"))).then(|| {
                "`terraform` has only `terraform.workspace` and `terraform.applying`".to_string()
            }),
            "self" => None,
            _ if self.is_resource_type(name) => match first {
                Some(resource_name) => {
                    self.resource_reference(Kind::Resource, name, resource_name, &ops[1..])
                }
                None => Some(format!(
                    "`{name}` must be followed by a resource name: `{name}.NAME`"
                )),
            },
            _ => Some(format!(
                "unknown name `{name}`: not var, local, module, data, a resource type of {}, \
                 nor a for-expression or dynamic-block iterator variable in scope",
                self.schema.provider_label()
            )),
        };
        if let Some(message) = problem {
            self.push(span, scope, message);
        }
    }

    /// A root name that reads as a resource: a type of the provider, a type this module
    /// declares, or a name with the provider's prefix (a misspelt type).
    fn is_resource_type(&self, name: &str) -> bool {
        let prefix = self.schema.provider.rsplit('/').next().unwrap_or_default();
        self.schema.is_resource_type(name)
            || self.module.decls.resources.keys().any(|(ty, _)| ty == name)
            || (!prefix.is_empty()
                && name
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('_')))
    }

    /// `module.NAME[key].OUTPUT`.
    fn module_reference(&mut self, ops: &[Operator]) -> Option<String> {
        let Some(name) = get_attr(ops.first()) else {
            return Some("`module` must be followed by a module name: `module.NAME`".into());
        };
        let label = format!("module.{name}");
        let Some(call) = self.module.decls.module_calls.get(name) else {
            return self
                .module
                .complete
                .then(|| format!("reference to undeclared module call `{label}`"));
        };
        let rest = match instance_access(&label, call.repetition, &ops[1..]) {
            Ok(rest) => rest,
            Err(message) => return Some(message),
        };
        let output = get_attr(rest.first())?;
        let child = &self.tree.modules[call.child?];
        (child.complete && !child.decls.outputs.contains(output)).then(|| {
            format!(
                "module `{name}` (source {}) has no output `{output}`",
                call.source.as_deref().unwrap_or("?")
            )
        })
    }

    /// `TYPE.NAME[key].ATTR...` or `data.TYPE.NAME[key].ATTR...`; `rest`: after the name.
    fn resource_reference(
        &mut self,
        kind: Kind,
        ty: &str,
        name: &str,
        rest: &[Operator],
    ) -> Option<String> {
        let (label, declared) = match kind {
            Kind::Resource => (
                format!("{ty}.{name}"),
                self.module.decls.resources.get(&(ty.into(), name.into())),
            ),
            Kind::DataSource => (
                format!("data.{ty}.{name}"),
                self.module
                    .decls
                    .data_sources
                    .get(&(ty.into(), name.into())),
            ),
        };
        let Some(&repetition) = declared else {
            return self
                .module
                .complete
                .then(|| format!("reference to undeclared {} `{label}`", kind.noun()));
        };
        let rest = match instance_access(&label, repetition, rest) {
            Ok(rest) => rest,
            Err(message) => return Some(message),
        };
        match self.schema.lookup(kind, ty) {
            TypeSchema::Known(schema) => attribute_path(&label, ty, schema, rest),
            // The block rules report the type.
            _ => None,
        }
    }
}

/// Checks how the instances of a resource, data source or module call are selected and
/// returns the operators after the selection.
fn instance_access<'o>(
    label: &str,
    repetition: Repetition,
    rest: &'o [Operator],
) -> Result<&'o [Operator], String> {
    let Some(first) = rest.first() else {
        return Ok(rest);
    };
    match (first.value(), repetition) {
        (TraversalOperator::GetAttr(attr), Repetition::Count | Repetition::ForEach) => {
            let example = if repetition == Repetition::Count {
                "[0]"
            } else {
                "[\"key\"]"
            };
            Err(format!(
                "`{label}` has {}: select an instance (`{label}{example}.{}`) or splat it \
                 (`{label}[*].{}`)",
                if repetition == Repetition::Count {
                    "count"
                } else {
                    "for_each"
                },
                attr.as_str(),
                attr.as_str()
            ))
        }
        (TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_), Repetition::Single) => {
            Err(format!(
                "`{label}` has neither count nor for_each: it cannot be indexed"
            ))
        }
        (TraversalOperator::GetAttr(_), Repetition::Single) => Ok(rest),
        _ => Ok(&rest[1..]),
    }
}

/// Checks `.ATTR` (and, through nested blocks, `.BLOCK[i].ATTR`) against `schema`.
fn attribute_path(label: &str, ty: &str, schema: &BlockSchema, ops: &[Operator]) -> Option<String> {
    let attr = get_attr(ops.first())?;
    if schema.attributes.contains_key(attr) {
        return None;
    }
    if let Some(nested) = schema.blocks.get(attr) {
        let rest = &ops[1..];
        let skip = rest.iter().take_while(|op| is_key_or_splat(op)).count();
        return attribute_path(&format!("{label}.{attr}"), ty, &nested.block, &rest[skip..]);
    }
    Some(format!(
        "`{label}` has no attribute `{attr}` (not in the {ty} schema)"
    ))
}
