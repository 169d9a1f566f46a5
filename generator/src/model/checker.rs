//! Collects the violations of every section, each at its file and JSON path.

use super::rules;
use super::schedule::Schedule;
use crate::diagnostic::{Diagnostic, Diagnostics};

pub(super) struct Checker<'a> {
    file: &'a str,
    pub(super) errors: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(file: &'a str) -> Self {
        Checker {
            file,
            errors: Vec::new(),
        }
    }

    pub(super) fn check(&mut self, path: &str, rule: rules::Rule) {
        if let Err(message) = rule {
            self.fail(path, message);
        }
    }

    pub(super) fn fail(&mut self, path: &str, message: impl Into<String>) {
        self.errors
            .push(Diagnostic::at_path(self.file, path, message));
    }

    pub(super) fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        if !(min..=max).contains(&value) {
            self.fail(
                path,
                format!("must be between {min} and {max}, not {value}"),
            );
        }
    }

    /// A section the model cannot do without: reported at `path` when absent.
    pub(super) fn required<T>(&mut self, path: &str, section: Option<T>) -> Option<T> {
        if section.is_none() {
            self.fail(path, "required section is missing");
        }
        section
    }

    /// A schedule key: the expression written at `path`, parsed and checked there, or, when
    /// the key is absent, `default`. The default is built from other keys, whose own checks
    /// report anything wrong with it, so it is parsed but not reported again.
    pub(super) fn schedule(
        &mut self,
        path: &str,
        written: Option<&str>,
        default: impl FnOnce() -> String,
    ) -> (String, Option<Schedule>) {
        let expression = written.map_or_else(default, str::to_string);
        match Schedule::parse(&expression) {
            Ok(schedule) => (expression, Some(schedule)),
            Err(message) => {
                if written.is_some() {
                    self.fail(path, message);
                }
                (expression, None)
            }
        }
    }

    /// The value `assemble` builds from the sections' parts when no rule was broken. A part
    /// is missing (`None`, ended by `?`) only where a violation was reported.
    pub(super) fn finish<T>(self, assemble: impl FnOnce() -> Option<T>) -> Result<T, Diagnostics> {
        if !self.errors.is_empty() {
            return Err(Diagnostics(self.errors));
        }
        assemble().ok_or(Diagnostics(self.errors))
    }
}
