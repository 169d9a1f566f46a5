//! One problem found in a tree.

use std::fmt;
use std::path::PathBuf;

/// A problem in a Terraform tree: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    /// File, relative to the tree root (e.g. `modules/bucket/main.tf`).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// Block address, with the nested path for nested blocks, e.g. `aws_s3_bucket.this`,
    /// `data.aws_iam_policy_document.read.statement`, `module.api`, `output.arn`.
    pub address: String,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    pub fn new(
        file: impl Into<PathBuf>,
        line: usize,
        address: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            file: file.into(),
            line,
            address: address.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.address,
            self.message
        )
    }
}

/// Sorts by file, line and message (address last), and drops exact duplicates.
pub fn sort(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (&a.file, a.line, &a.message, &a.address).cmp(&(&b.file, b.line, &b.message, &b.address))
    });
    findings.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_file_line_address_message() {
        let f = Finding::new("modules/x/main.tf", 7, "aws_s3_bucket.this", "oops");
        assert_eq!(
            f.to_string(),
            "modules/x/main.tf:7: aws_s3_bucket.this: oops"
        );
    }

    #[test]
    fn sorts_by_file_line_message() {
        let mut v = vec![
            Finding::new("b.tf", 1, "x", "a"),
            Finding::new("a.tf", 9, "x", "b"),
            Finding::new("a.tf", 9, "y", "a"),
            Finding::new("a.tf", 2, "x", "z"),
            Finding::new("a.tf", 2, "x", "z"),
        ];
        sort(&mut v);
        let lines: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "a.tf:2: x: z",
                "a.tf:9: y: a",
                "a.tf:9: x: b",
                "b.tf:1: x: a"
            ]
        );
    }
}
