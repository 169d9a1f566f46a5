//! Reading a function's settings from its environment: a value is trimmed, and one that is
//! missing, blank or invalid is named with its variable.
//!
//! [`required`] takes `lookup`, which returns a variable's value by name (`std::env::var` in
//! production, a map in tests).

/// A variable that is missing, blank or does not hold what it should.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// The variable is set, to nothing but white space.
    #[error("environment variable {0} is empty")]
    Empty(&'static str),
    /// The variable's value is not what it should be.
    #[error("environment variable {var}: {problem}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
}

/// The value of `var`, trimmed; missing or blank is an error.
pub fn required<F>(lookup: &F, var: &'static str) -> Result<String, EnvError>
where
    F: Fn(&str) -> Option<String>,
{
    match lookup(var) {
        None => Err(EnvError::Missing(var)),
        Some(v) if v.trim().is_empty() => Err(EnvError::Empty(var)),
        Some(v) => Ok(v.trim().to_owned()),
    }
}

/// Turns a problem with the value of `var` into [`EnvError::Invalid`], for `map_err`.
pub fn invalid(var: &'static str) -> impl Fn(String) -> EnvError {
    move |problem| EnvError::Invalid { var, problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "SET" => Some(" value\n".to_owned()),
            "BLANK" => Some(" \t".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn values_are_trimmed_and_problems_name_the_variable() {
        assert_eq!(required(&lookup, "SET").unwrap(), "value");

        let missing = required(&lookup, "UNSET").unwrap_err();
        assert_eq!(missing, EnvError::Missing("UNSET"));
        assert_eq!(missing.to_string(), "environment variable UNSET is not set");
        let blank = required(&lookup, "BLANK").unwrap_err();
        assert_eq!(blank, EnvError::Empty("BLANK"));
        assert_eq!(blank.to_string(), "environment variable BLANK is empty");
        let bad = invalid("SET")("\"value\" is not a number".to_owned());
        assert_eq!(
            bad.to_string(),
            "environment variable SET: \"value\" is not a number"
        );
    }
}
