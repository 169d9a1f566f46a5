//! Reading a function's settings from its environment: a value is trimmed, and one that is
//! missing, blank or invalid is named with its variable.
//!
//! [`required`] and [`optional`] take `lookup`, which returns a variable's value by name
//! (`std::env::var` in production, a map in tests). The checks of values both functions take
//! ([`Identifier`], [`work_group`], [`minutes`]) are here once.

use std::fmt;

/// Glue and Athena limit database, table and column names to 255 characters.
const MAX_IDENTIFIER_LEN: usize = 255;
/// Athena work group names are 1 to 128 characters (Athena API Reference, `WorkGroup`).
const MAX_WORK_GROUP_LEN: usize = 128;

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

/// The process environment as a `lookup`: the variable `name`, if set (and valid UTF-8).
pub fn process(name: &str) -> Option<String> {
    std::env::var(name).ok()
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

/// The value of `var` ([`required`]) checked by `parse`.
pub fn parsed<F, T>(
    lookup: &F,
    var: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, EnvError>
where
    F: Fn(&str) -> Option<String>,
{
    parse(&required(lookup, var)?).map_err(invalid(var))
}

/// The value of `var` checked by `parse`, or `None` when it is not set; set to nothing but
/// white space is an error.
pub fn optional<F, T>(
    lookup: &F,
    var: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, EnvError>
where
    F: Fn(&str) -> Option<String>,
{
    if lookup(var).is_none() {
        return Ok(None);
    }
    parse(&required(lookup, var)?)
        .map(Some)
        .map_err(invalid(var))
}

/// A database, table or column name that is safe to quote in Athena SQL: ASCII letters,
/// digits and `_` only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identifier(String);

impl Identifier {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() {
            return Err("identifier is empty".to_owned());
        }
        if value.len() > MAX_IDENTIFIER_LEN {
            return Err(format!(
                "identifier {value:?} is longer than {MAX_IDENTIFIER_LEN} characters"
            ));
        }
        if let Some(bad) = value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            return Err(format!(
                "identifier {value:?} contains {bad:?}; only A-Z, a-z, 0-9 and _ are allowed"
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Athena work group name: 1–128 of `A-Z a-z 0-9 . _ -`.
pub fn work_group(value: &str) -> Result<String, String> {
    if value.len() > MAX_WORK_GROUP_LEN {
        return Err(format!(
            "work group {value:?} is longer than {MAX_WORK_GROUP_LEN} characters"
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
    {
        return Err(format!("work group {value:?} contains {bad:?}"));
    }
    Ok(value.to_owned())
}

/// A whole number of minutes from 0 to `max`.
pub fn minutes(value: &str, max: u32) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(minutes) if minutes <= max => Ok(minutes),
        _ => Err(format!(
            "{value:?} is not a whole number of minutes from 0 to {max}"
        )),
    }
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

    #[test]
    fn optional_values_are_none_unset_and_checked_when_set() {
        let parse = |v: &str| minutes(v, 59);
        assert_eq!(optional(&lookup, "UNSET", parse), Ok(None));
        assert_eq!(
            optional(&lookup, "BLANK", parse),
            Err(EnvError::Empty("BLANK"))
        );
        assert_eq!(
            optional(&lookup, "SET", parse).unwrap_err().to_string(),
            "environment variable SET: \"value\" is not a whole number of minutes from 0 to 59"
        );
        let set = |_: &str| Some("7".to_owned());
        assert_eq!(optional(&set, "ANY", parse), Ok(Some(7)));
        assert_eq!(minutes("59", 59), Ok(59));
        assert!(minutes("60", 59).is_err());
        assert!(minutes("-1", 59).is_err());
    }

    #[test]
    fn identifiers_and_work_groups_are_safe_to_splice() {
        for ok in ["a", "A_b_9", "_x", "requestId", "0abc"] {
            assert_eq!(Identifier::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "", "a-b", "a b", "a\"b", "a`b", "a'b", "a;b", "é", "a.b", "a\nb",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Identifier::parse("a\"b").unwrap_err(),
            "identifier \"a\\\"b\" contains '\"'; only A-Z, a-z, 0-9 and _ are allowed"
        );
        assert!(Identifier::parse("").is_err());
        assert!(Identifier::parse(&"a".repeat(256)).is_err());
        assert!(Identifier::parse(&"a".repeat(255)).is_ok());
        assert_eq!(work_group("metering.wg_1-a").unwrap(), "metering.wg_1-a");
        assert_eq!(
            work_group("wg/1").unwrap_err(),
            "work group \"wg/1\" contains '/'"
        );
        assert!(work_group(&"w".repeat(129)).is_err());
        assert!(work_group(&"w".repeat(128)).is_ok());
    }
}
