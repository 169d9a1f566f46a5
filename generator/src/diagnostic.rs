//! Errors about the user's input: each names the file, the place in it and the rule.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The file as a whole (missing, unreadable).
    File,
    /// A line and column (1-based), for syntax errors.
    Position { line: usize, column: usize },
    /// A JSON path such as `firehose.buffer_size_in_mbs`; `$` is the top level.
    Path(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub place: Place,
    pub message: String,
}

impl Diagnostic {
    pub fn at_path(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            place: Place::Path(path.into()),
            message: message.into(),
        }
    }

    pub fn path(&self) -> Option<&str> {
        match &self.place {
            Place::Path(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values from the input are echoed: keep control characters from reaching the terminal.
        let message = printable(&self.message);
        match &self.place {
            Place::File => write!(f, "{}: {message}", self.file),
            Place::Position { line, column } => {
                write!(f, "{}:{}:{}: {message}", self.file, line, column)
            }
            Place::Path(path) => write!(f, "{}: at `{}`: {message}", self.file, printable(path)),
        }
    }
}

fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// All problems found in one input, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// `Some("did you mean `x`?")` when one of `candidates` is close to `word`.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}
