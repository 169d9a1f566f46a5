//! One parsed `.tf` file and the mapping from byte offsets to line numbers.

use crate::finding::Finding;
use hcl_edit::structure::Body;
use hcl_edit::Span;
use std::ops::Range;
use std::path::PathBuf;

/// A `.tf` file of a module, parsed with hcl-edit.
#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the tree root.
    pub rel: PathBuf,
    /// Parsed body; `None` when the file does not parse (a finding says why).
    pub body: Option<Body>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Parses `text`. A syntax error becomes a finding and leaves `body` empty.
    pub fn parse(rel: PathBuf, text: &str) -> (SourceFile, Option<Finding>) {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let (body, finding) = match hcl_edit::parser::parse_body(text) {
            Ok(body) => (Some(body), None),
            Err(err) => {
                let finding = Finding::new(
                    rel.clone(),
                    err.location().line(),
                    "syntax",
                    format!(
                        "HCL syntax error at column {}: {}",
                        err.location().column(),
                        err.message()
                    ),
                );
                (None, Some(finding))
            }
        };
        let file = SourceFile {
            rel,
            body,
            line_starts,
        };
        (file, finding)
    }

    /// 1-based line of byte `offset`.
    pub fn line_at(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// 1-based line where `node` starts (line 1 when hcl-edit kept no span).
    pub fn line_of(&self, node: &impl Span) -> usize {
        self.line_of_span(node.span())
    }

    /// 1-based line where `span` starts (line 1 for `None`).
    pub fn line_of_span(&self, span: Option<Range<usize>>) -> usize {
        span.map_or(1, |s| self.line_at(s.start))
    }

    /// A finding in this file.
    pub fn finding(
        &self,
        line: usize,
        address: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding::new(self.rel.clone(), line, address, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let (file, err) = SourceFile::parse("a.tf".into(), "a = 1\n\nb = 2\n");
        assert!(err.is_none());
        assert_eq!(file.line_at(0), 1);
        assert_eq!(file.line_at(5), 1);
        assert_eq!(file.line_at(6), 2);
        assert_eq!(file.line_at(7), 3);
    }

    #[test]
    fn odd_input_never_panics() {
        let odd = [
            "",
            "# only a comment",
            "\u{feff}a = 1\n",
            "x = <<EOT\nno end\n",
            "x = \"${\"\n",
            "resource \"a\" \"b\" {\n  x = [[[[[[1]]]]]]\n}\n",
            "a = {\n",
            "ü = \"ü\"\n",
            "}}}}",
            "block \"a\" \"b\" \"c\" {}",
        ];
        for text in odd {
            let (file, err) = SourceFile::parse("odd.tf".into(), text);
            assert!(file.body.is_some() != err.is_some(), "{text:?}");
            if let Some(err) = err {
                assert!(err.line >= 1, "{text:?}: {err}");
            }
        }
    }

    #[test]
    fn syntax_error_is_a_finding() {
        let (file, err) = SourceFile::parse("m/a.tf".into(), "a = 1\nb {\n");
        assert!(file.body.is_none());
        let err = err.unwrap();
        assert_eq!(err.line, 2);
        assert_eq!(err.address, "syntax");
        assert!(
            err.message.starts_with("HCL syntax error at column"),
            "{err}"
        );
    }
}
