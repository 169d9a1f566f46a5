//! What an expression, or a block with its nested blocks, refers to: `var.*`, `local.*`,
//! `data.*` and functions, so that every value missing from the [`Inputs`](crate::Inputs) can
//! be named before anything is evaluated.

use std::collections::BTreeSet;

use hcl::expr::{Expression, ObjectKey, Operation, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::Body;

/// The references found by a [`Walker`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Refs {
    /// `var.<name>`
    pub vars: BTreeSet<String>,
    /// `local.<name>`
    pub locals: BTreeSet<String>,
    /// `data.<type>.<name>.<attribute>…`: the attribute names after `data`.
    pub data: BTreeSet<Vec<String>>,
    /// Functions called, `provider::…::name` for provider functions.
    pub funcs: BTreeSet<String>,
    /// Anything else a test cannot give: resources (`aws_sqs_queue.x`), `module.*`,
    /// `path.*`, `each`, `count`, `self`, a bare `var`.
    pub unresolvable: BTreeSet<String>,
    /// Templates that do not parse.
    pub bad_templates: Vec<String>,
}

/// Walks expressions, keeping the names a `for` expression, a template `for` or a `dynamic`
/// block's iterator binds.
pub(crate) struct Walker<'a> {
    refs: &'a mut Refs,
    bound: Vec<String>,
}

impl<'a> Walker<'a> {
    pub fn new(refs: &'a mut Refs) -> Self {
        Self {
            refs,
            bound: Vec::new(),
        }
    }

    /// Every attribute and nested block of `body`; `dynamic` blocks bind their iterator
    /// inside `content`.
    pub fn body(&mut self, body: &Body) {
        for attribute in body.attributes() {
            self.expr(attribute.expr());
        }
        for block in body.blocks() {
            if block.identifier() != "dynamic" {
                self.body(block.body());
                continue;
            }
            let iterator = dynamic_iterator(block);
            for attribute in block.body().attributes() {
                if attribute.key() != "iterator" {
                    self.expr(attribute.expr());
                }
            }
            self.bound.push(iterator);
            for content in block.body().blocks() {
                self.body(content.body());
            }
            self.bound.pop();
        }
    }

    pub fn expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Null
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(items) => items.iter().for_each(|item| self.expr(item)),
            Expression::Object(object) => {
                for (key, value) in object {
                    if let ObjectKey::Expression(key) = key {
                        self.expr(key);
                    }
                    self.expr(value);
                }
            }
            Expression::TemplateExpr(template) => match Template::from_expr(template) {
                Ok(template) => self.template(&template),
                Err(error) => self
                    .refs
                    .bad_templates
                    .push(format!("`{template}`: {error}")),
            },
            Expression::Variable(variable) => self.root(variable.as_str(), &[]),
            Expression::Traversal(traversal) => {
                match &traversal.expr {
                    Expression::Variable(root) => {
                        let attributes: Vec<&str> = traversal
                            .operators
                            .iter()
                            .map_while(|op| match op {
                                TraversalOperator::GetAttr(name) => Some(name.as_str()),
                                _ => None,
                            })
                            .collect();
                        self.root(root.as_str(), &attributes);
                    }
                    other => self.expr(other),
                }
                for op in &traversal.operators {
                    if let TraversalOperator::Index(index) = op {
                        self.expr(index);
                    }
                }
            }
            Expression::FuncCall(call) => {
                self.refs.funcs.insert(call.name.to_string());
                call.args.iter().for_each(|arg| self.expr(arg));
            }
            Expression::Parenthesis(inner) => self.expr(inner),
            Expression::Conditional(conditional) => {
                self.expr(&conditional.cond_expr);
                self.expr(&conditional.true_expr);
                self.expr(&conditional.false_expr);
            }
            Expression::Operation(operation) => match operation.as_ref() {
                Operation::Unary(op) => self.expr(&op.expr),
                Operation::Binary(op) => {
                    self.expr(&op.lhs_expr);
                    self.expr(&op.rhs_expr);
                }
            },
            Expression::ForExpr(for_expr) => {
                self.expr(&for_expr.collection_expr);
                let bound = self.bound.len();
                if let Some(key) = &for_expr.key_var {
                    self.bound.push(key.to_string());
                }
                self.bound.push(for_expr.value_var.to_string());
                if let Some(key) = &for_expr.key_expr {
                    self.expr(key);
                }
                self.expr(&for_expr.value_expr);
                if let Some(cond) = &for_expr.cond_expr {
                    self.expr(cond);
                }
                self.bound.truncate(bound);
            }
            other => {
                self.refs
                    .unresolvable
                    .insert(format!("an expression iam-policy cannot read: `{other}`"));
            }
        }
    }

    fn template(&mut self, template: &Template) {
        for element in template.elements() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(interpolation) => self.expr(&interpolation.expr),
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(directive) => {
                        self.expr(&directive.cond_expr);
                        self.template(&directive.true_template);
                        if let Some(otherwise) = &directive.false_template {
                            self.template(otherwise);
                        }
                    }
                    Directive::For(directive) => {
                        self.expr(&directive.collection_expr);
                        let bound = self.bound.len();
                        if let Some(key) = &directive.key_var {
                            self.bound.push(key.to_string());
                        }
                        self.bound.push(directive.value_var.to_string());
                        self.template(&directive.template);
                        self.bound.truncate(bound);
                    }
                },
            }
        }
    }

    fn root(&mut self, name: &str, attributes: &[&str]) {
        if self.bound.iter().any(|bound| bound == name) {
            return;
        }
        let first = attributes.first().map(|a| a.to_string());
        match (name, first) {
            ("var", Some(var)) => {
                self.refs.vars.insert(var);
            }
            ("local", Some(local)) => {
                self.refs.locals.insert(local);
            }
            ("data", Some(_)) => {
                self.refs
                    .data
                    .insert(attributes.iter().map(|a| a.to_string()).collect());
            }
            _ => {
                // A resource is `type.name`; `module.x`, `path.root` and the like two names too.
                let shown: Vec<&str> = std::iter::once(name)
                    .chain(attributes.iter().copied().take(1))
                    .collect();
                self.refs.unresolvable.insert(shown.join("."));
            }
        }
    }
}

/// The name a `dynamic` block's `content` knows its element by: `iterator = name`, else the
/// block type (its label).
pub(crate) fn dynamic_iterator(block: &hcl::Block) -> String {
    block
        .body()
        .attributes()
        .find(|a| a.key() == "iterator")
        .and_then(|a| match a.expr() {
            Expression::Variable(name) => Some(name.to_string()),
            _ => None,
        })
        .or_else(|| block.labels().first().map(|l| l.as_str().to_owned()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs_of(source: &str) -> Refs {
        let body: Body = hcl::parse(source).unwrap();
        let mut refs = Refs::default();
        Walker::new(&mut refs).body(&body);
        refs
    }

    #[test]
    fn finds_vars_locals_data_and_functions_but_not_bound_names() {
        let refs = refs_of(
            r#"
            a = concat([for db in local.dbs : "${var.prefix}/${db}"], [data.aws_region.current.region])
            b = "%{ for x in var.items }${x}-${local.sep}%{ endfor }"
            dynamic "statement" {
              for_each = var.keys
              iterator = key
              content {
                resources = [key.value, statement.value]
              }
            }
            c = aws_sqs_queue.dead_letters.arn
            "#,
        );
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        assert_eq!(refs.vars, set(&["items", "keys", "prefix"]));
        assert_eq!(refs.locals, set(&["dbs", "sep"]));
        assert_eq!(
            refs.data,
            [vec![
                "aws_region".to_owned(),
                "current".to_owned(),
                "region".to_owned()
            ]]
            .into_iter()
            .collect()
        );
        assert_eq!(refs.funcs, set(&["concat"]));
        // `statement` is not bound when the iterator is renamed.
        assert_eq!(
            refs.unresolvable,
            set(&["aws_sqs_queue.dead_letters", "statement.value"])
        );
    }
}
