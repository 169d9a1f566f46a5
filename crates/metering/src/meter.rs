//! Meters: which requests count and how they add up. Each meter has a Rust predicate for the
//! offline path and a SQL condition for Athena, side by side so they are changed together.

use pricing::Decimal;
use serde::{Deserialize, Serialize};

/// At most this many meters: the offline path keeps one bit per meter and request.
pub const MAX_METERS: usize = 64;
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
pub const STATUS_CLASSES: &[&str] = &["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A meter as written in the `metering.meters` section:
/// `{"aggregation": "count", "filter": {"methods": ["GET"], "status_classes": ["2xx"]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meter {
    pub aggregation: Aggregation,
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub filter: Filter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How a meter adds up the requests that pass its filter, per tenant and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Number of requests; billed per request.
    Count,
    /// Sum of `responseLength` in bytes; billed per decimal GB (10^9 bytes).
    SumResponseBytes,
    /// Number of distinct callers (Cognito `sub`); requests without a user do not count.
    UniqueUsers,
}

impl Aggregation {
    /// The unit of the raw total the query returns.
    pub fn raw_unit(self) -> &'static str {
        match self {
            Aggregation::Count => "requests",
            Aggregation::SumResponseBytes => "bytes",
            Aggregation::UniqueUsers => "users",
        }
    }

    /// The unit in which plans price the meter.
    pub fn billing_unit(self) -> &'static str {
        match self {
            Aggregation::Count => "requests",
            Aggregation::SumResponseBytes => "GB",
            Aggregation::UniqueUsers => "users",
        }
    }

    /// The raw total in the billing unit, exactly.
    pub fn quantity(self, raw: u64) -> Decimal {
        match self {
            Aggregation::SumResponseBytes => pricing::bytes_to_gb(raw),
            Aggregation::Count | Aggregation::UniqueUsers => Decimal::from(raw),
        }
    }
}

/// Which requests a meter counts. Every list that is not empty must match (an empty list
/// matches everything); within a list, any entry may match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filter {
    /// API resource paths as API Gateway logs them (`$context.resourcePath`, the resource
    /// template such as `/items/{id}`): exact, or ending in `/*` for a path and everything
    /// below it (`/random/*` matches `/random` and `/random/strings`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_paths: Vec<String>,
    /// HTTP methods, upper case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Status classes: `"2xx"` counts responses 200 to 299.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_classes: Vec<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.resource_paths.is_empty() && self.methods.is_empty() && self.status_classes.is_empty()
    }

    /// Every problem, as (path relative to the filter, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, path) in self.resource_paths.iter().enumerate() {
            if let Err(message) = check_resource_path(path) {
                out.push((format!("resource_paths[{i}]"), message));
            }
        }
        for (i, method) in self.methods.iter().enumerate() {
            if !METHODS.contains(&method.as_str()) {
                out.push((
                    format!("methods[{i}]"),
                    format!("`{method}` is not one of {}", METHODS.join(", ")),
                ));
            }
        }
        for (i, class) in self.status_classes.iter().enumerate() {
            if !STATUS_CLASSES.contains(&class.as_str()) {
                out.push((
                    format!("status_classes[{i}]"),
                    format!("`{class}` is not one of {}", STATUS_CLASSES.join(", ")),
                ));
            }
        }
        for (key, list) in [
            ("resource_paths", &self.resource_paths),
            ("methods", &self.methods),
            ("status_classes", &self.status_classes),
        ] {
            for (i, item) in list.iter().enumerate() {
                if list[..i].contains(item) {
                    out.push((format!("{key}[{i}]"), format!("`{item}` is listed twice")));
                }
            }
        }
        out
    }

    /// Whether a request passes. A field the record lacks fails every test on it, as a NULL
    /// column does in SQL. Only meaningful for a filter without [`problems`](Self::problems).
    pub fn matches(
        &self,
        resource_path: Option<&str>,
        method: Option<&str>,
        status: Option<i64>,
    ) -> bool {
        (self.resource_paths.is_empty()
            || resource_path
                .is_some_and(|r| self.resource_paths.iter().any(|p| path_matches(p, r))))
            && (self.methods.is_empty()
                || method.is_some_and(|m| self.methods.iter().any(|x| x == m)))
            && (self.status_classes.is_empty()
                || status.is_some_and(|s| {
                    self.status_classes
                        .iter()
                        .any(|c| status_range(c).contains(&s))
                }))
    }

    /// The same test as a SQL condition over the log table's lower-case columns, valid in
    /// Athena (Trino) and DuckDB. Only for a filter without problems: paths and methods are
    /// then made of characters that need no quoting in a SQL string except the LIKE escapes.
    pub fn sql(&self) -> String {
        let mut parts = Vec::new();
        if !self.resource_paths.is_empty() {
            let alternatives: Vec<String> = self
                .resource_paths
                .iter()
                .map(|p| match p.strip_suffix("/*") {
                    Some("") => "resourcepath IS NOT NULL".to_string(),
                    Some(prefix) => format!(
                        "resourcepath = '{prefix}' OR resourcepath LIKE '{}/%' ESCAPE '\\'",
                        like_escape(prefix)
                    ),
                    None => format!("resourcepath = '{p}'"),
                })
                .collect();
            parts.push(format!("({})", alternatives.join(" OR ")));
        }
        if !self.methods.is_empty() {
            let quoted: Vec<String> = self.methods.iter().map(|m| format!("'{m}'")).collect();
            parts.push(format!("httpmethod IN ({})", quoted.join(", ")));
        }
        if !self.status_classes.is_empty() {
            let ranges: Vec<String> = self
                .status_classes
                .iter()
                .map(|c| {
                    let r = status_range(c);
                    format!("status BETWEEN {} AND {}", r.start(), r.end())
                })
                .collect();
            parts.push(format!("({})", ranges.join(" OR ")));
        }
        if parts.is_empty() {
            "TRUE".to_string()
        } else {
            parts.join(" AND ")
        }
    }
}

fn status_range(class: &str) -> std::ops::RangeInclusive<i64> {
    let hundreds = class
        .as_bytes()
        .first()
        .map_or(0, |b| i64::from(b.wrapping_sub(b'0')));
    hundreds * 100..=hundreds * 100 + 99
}

fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some("") => true,
        Some(prefix) => {
            path == prefix || (path.starts_with(prefix) && path[prefix.len()..].starts_with('/'))
        }
        None => pattern == path,
    }
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A resource path: `/` alone, or `/`-separated segments of letters, digits and `-._~{}+`,
/// optionally ending in `/*`. Nothing else, so that it is also a safe SQL string.
fn check_resource_path(path: &str) -> Result<(), String> {
    let body = path.strip_suffix("/*").unwrap_or(path);
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~{}+".contains(c))
    };
    let ok = path == "/"
        || body.is_empty()
        || (body.starts_with('/') && body[1..].split('/').all(segment_ok));
    if ok && path.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "`{path}` is not a resource path: `/`-separated segments of letters, digits and `-._~{{}}+`, starting with `/`, optionally ending in `/*` (e.g. `/random/strings` or `/random/*`)"
        ))
    }
}

/// Names a meter cannot have: the columns of [`usage_query`](crate::usage_query)'s result
/// besides the meters, which [`Usage::from_rows`](crate::Usage::from_rows) (and so the
/// billing Lambda) matches by name. A meter `tenant` would make two result columns `tenant`,
/// and `ORDER BY tenant` ambiguous (Trino) or a sort by the meter (DuckDB).
pub const RESERVED_NAMES: &[&str] = &["tenant"];

/// A meter name: lower-case letters, digits and `_`, starting with a letter, at most 64
/// characters, and none of [`RESERVED_NAMES`]. It becomes a SQL column alias (quoted, so SQL
/// keywords such as `order` are fine) and a CSV column. Being lower case, it comes back as
/// the result's column name exactly as written, whether or not the engine folds names to
/// lower case (Athena does for the names it stores).
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(format!(
            "meter name `{name}` must be lower-case letters, digits and `_`, start with a letter and be at most 64 characters"
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(format!(
            "meter name `{name}` is reserved: the usage query and its result already have a `{name}` column"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(paths: &[&str], methods: &[&str], classes: &[&str]) -> Filter {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Filter {
            resource_paths: own(paths),
            methods: own(methods),
            status_classes: own(classes),
        }
    }

    #[test]
    fn paths_match_exactly_or_below_a_wildcard() {
        let f = filter(&["/random/*", "/items/{id}"], &[], &[]);
        assert!(f.matches(Some("/random"), Some("GET"), Some(200)));
        assert!(f.matches(Some("/random/strings"), Some("GET"), Some(200)));
        assert!(!f.matches(Some("/randomness"), Some("GET"), Some(200)));
        assert!(f.matches(Some("/items/{id}"), Some("GET"), Some(200)));
        assert!(!f.matches(Some("/items"), Some("GET"), Some(200)));
        assert!(filter(&["/*"], &[], &[]).matches(
            Some("/anything/at/all"),
            Some("GET"),
            Some(200)
        ));
    }

    #[test]
    fn methods_and_status_classes_narrow_the_match() {
        let f = filter(&[], &["GET", "POST"], &["2xx", "3xx"]);
        assert!(f.matches(Some("/"), Some("GET"), Some(200)));
        assert!(f.matches(Some("/"), Some("POST"), Some(399)));
        assert!(!f.matches(Some("/"), Some("GET"), Some(199)));
        assert!(!f.matches(Some("/"), Some("GET"), Some(400)));
        assert!(!f.matches(Some("/"), Some("PUT"), Some(200)));
        assert!(Filter::default().matches(Some("/"), Some("PUT"), Some(503)));
        assert!(Filter::default().matches(None, None, None));
        assert!(!f.matches(Some("/"), Some("GET"), None));
        assert!(!filter(&["/*"], &[], &[]).matches(None, Some("GET"), Some(200)));
    }

    #[test]
    fn sql_escapes_like_wildcards() {
        let f = filter(&["/a_b/*", "/x"], &["GET"], &["2xx"]);
        assert_eq!(
            f.sql(),
            "(resourcepath = '/a_b' OR resourcepath LIKE '/a\\_b/%' ESCAPE '\\' OR resourcepath = '/x') AND httpmethod IN ('GET') AND (status BETWEEN 200 AND 299)"
        );
        assert_eq!(Filter::default().sql(), "TRUE");
    }

    #[test]
    fn problems_name_the_entry() {
        let f = filter(
            &["/ok/*", "no-slash", "/a'b", "/a/*/b", "/ok/*"],
            &["get", "GET"],
            &["6xx"],
        );
        let paths: Vec<String> = f.problems().into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "resource_paths[1]",
                "resource_paths[2]",
                "resource_paths[3]",
                "methods[0]",
                "status_classes[0]",
                "resource_paths[4]"
            ]
        );
        assert!(filter(&["/", "/*", "/items/{id}/*"], &[], &[])
            .problems()
            .is_empty());
    }

    #[test]
    fn names() {
        assert!(check_name("api_requests_2xx").is_ok());
        for bad in ["", "2xx", "Requests", "a-b", "a b", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        // SQL reserved words are fine: the query quotes them.
        for ok in [
            "order", "group", "values", "end", "table", "select", "tenants",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_query_columns_are_reserved() {
        assert_eq!(
            check_name("tenant").unwrap_err(),
            "meter name `tenant` is reserved: the usage query and its result already have a `tenant` column"
        );
    }
}
