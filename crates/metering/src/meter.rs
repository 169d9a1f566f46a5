//! Meters: which requests count and how they add up. Each meter has a Rust predicate for the
//! offline path and a SQL condition for Athena, side by side so they are changed together.

use pricing::Decimal;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// At most this many meters: the offline path keeps one bit per meter and request.
pub const MAX_METERS: usize = 64;
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
pub const STATUS_CLASSES: &[&str] = &["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A meter as written in the `metering.meters` section. Of the access logs (the default):
/// `{"aggregation": "count", "filter": {"methods": ["GET"], "status_classes": ["2xx"]}}`; of
/// usage events: `{"source": "events", "event_type": "tokens.generated", "aggregation": "sum",
/// "unit": "tokens", "filter": {"properties": {"model": ["large"]}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meter {
    #[serde(default, skip_serializing_if = "Source::is_access_log")]
    pub source: Source,
    /// The events' `type` the meter counts (events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    pub aggregation: Aggregation,
    /// The property whose distinct values `unique_count` counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// The unit of an events meter's total, as invoices name it (`tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub filter: Filter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Where a meter's records come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// API Gateway's access log: one record per request.
    #[default]
    AccessLog,
    /// Usage events the SaaS backend sends ([`Event`](crate::Event)).
    Events,
}

impl Source {
    pub fn is_access_log(&self) -> bool {
        *self == Source::AccessLog
    }

    pub fn name(self) -> &'static str {
        match self {
            Source::AccessLog => "access_log",
            Source::Events => "events",
        }
    }
}

/// How a meter adds up the records that pass its filter, per tenant and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Number of requests (access log) or events; billed per request or event.
    Count,
    /// Sum of `responseLength` in bytes; billed per decimal GB (10^9 bytes). Access log only.
    SumResponseBytes,
    /// Number of distinct callers (Cognito `sub`); requests without a user do not count.
    /// Access log only.
    UniqueUsers,
    /// Sum of the events' `value`s. Events only.
    Sum,
    /// The largest `value` among the events. Events only.
    Max,
    /// Number of distinct values of the meter's `property`; events without it do not count.
    /// Events only.
    UniqueCount,
}

impl Aggregation {
    /// The source whose records the aggregation reads; `None`: both (`count`).
    pub fn source(self) -> Option<Source> {
        match self {
            Aggregation::Count => None,
            Aggregation::SumResponseBytes | Aggregation::UniqueUsers => Some(Source::AccessLog),
            Aggregation::Sum | Aggregation::Max | Aggregation::UniqueCount => Some(Source::Events),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Count => "count",
            Aggregation::SumResponseBytes => "sum_response_bytes",
            Aggregation::UniqueUsers => "unique_users",
            Aggregation::Sum => "sum",
            Aggregation::Max => "max",
            Aggregation::UniqueCount => "unique_count",
        }
    }
}

impl Meter {
    /// The unit of the raw total the usage comes in.
    pub fn raw_unit(&self) -> &str {
        match (self.source, self.aggregation) {
            (Source::AccessLog, Aggregation::Count) => "requests",
            (_, Aggregation::SumResponseBytes) => "bytes",
            (_, Aggregation::UniqueUsers) => "users",
            (Source::Events, Aggregation::Count) => self.unit.as_deref().unwrap_or("events"),
            (_, Aggregation::UniqueCount) => self.unit.as_deref().unwrap_or("values"),
            (_, Aggregation::Sum | Aggregation::Max) => self.unit.as_deref().unwrap_or("units"),
        }
    }

    /// The unit in which plans price the meter.
    pub fn billing_unit(&self) -> &str {
        match self.aggregation {
            Aggregation::SumResponseBytes => "GB",
            _ => self.raw_unit(),
        }
    }

    /// The raw total in the billing unit, exactly.
    pub fn quantity(&self, raw: Decimal) -> Decimal {
        match self.aggregation {
            Aggregation::SumResponseBytes => {
                (raw / Decimal::from(pricing::BYTES_PER_GB)).normalize()
            }
            _ => raw,
        }
    }

    /// Every problem, as (path relative to the meter, message): a meter reads one source, and
    /// each of its settings must belong to that source.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let source = self.source.name();
        if let Some(needed) = self.aggregation.source() {
            if needed != self.source {
                out.push((
                    "aggregation".to_string(),
                    format!(
                        "`{}` reads the {} source, but the meter's `source` is `{source}`: a meter reads one source",
                        self.aggregation.name(),
                        needed.name()
                    ),
                ));
            }
        }
        match self.source {
            Source::AccessLog => {
                for (key, set) in [
                    ("event_type", self.event_type.is_some()),
                    ("property", self.property.is_some()),
                    ("unit", self.unit.is_some()),
                ] {
                    if set {
                        out.push((
                            key.to_string(),
                            format!("`{key}` is for `\"source\": \"events\"` meters; this meter reads the access log"),
                        ));
                    }
                }
                if !self.filter.properties.is_empty() {
                    out.push((
                        "filter.properties".to_string(),
                        "property filters are for `\"source\": \"events\"` meters; the access log has no properties".to_string(),
                    ));
                }
            }
            Source::Events => {
                match &self.event_type {
                    None => out.push((
                        "event_type".to_string(),
                        "an events meter needs the `event_type` it counts, e.g. `tokens.generated`"
                            .to_string(),
                    )),
                    Some(t) => {
                        if let Err(message) = check_event_type(t) {
                            out.push(("event_type".to_string(), message));
                        }
                    }
                }
                for (key, set) in [
                    ("resource_paths", !self.filter.resource_paths.is_empty()),
                    ("methods", !self.filter.methods.is_empty()),
                    ("status_classes", !self.filter.status_classes.is_empty()),
                ] {
                    if set {
                        out.push((
                            format!("filter.{key}"),
                            format!("`{key}` filters the access log; an events meter filters on `properties`"),
                        ));
                    }
                }
                if let Some(unit) = &self.unit {
                    if let Err(message) = check_unit(unit) {
                        out.push(("unit".to_string(), message));
                    }
                }
            }
        }
        match (&self.property, self.aggregation) {
            (None, Aggregation::UniqueCount) => out.push((
                "property".to_string(),
                "`unique_count` needs the `property` whose distinct values it counts".to_string(),
            )),
            (Some(p), Aggregation::UniqueCount) => {
                if let Err(message) = check_property_name(p) {
                    out.push(("property".to_string(), message));
                }
            }
            (Some(_), _) if self.source == Source::Events => out.push((
                "property".to_string(),
                format!(
                    "`property` is for `unique_count` meters, not `{}`",
                    self.aggregation.name()
                ),
            )),
            _ => {}
        }
        out.extend(
            self.filter
                .problems()
                .into_iter()
                .map(|(path, message)| (format!("filter.{path}"), message)),
        );
        out
    }
}

/// `Ok` when `text` has 1 to `max` characters, each passing `allowed`; otherwise the
/// message `` `text` is not <what> ``.
fn check_chars(
    text: &str,
    max: usize,
    allowed: fn(char) -> bool,
    what: &str,
) -> Result<(), String> {
    if (1..=max).contains(&text.chars().count()) && text.chars().all(allowed) {
        Ok(())
    } else {
        Err(format!("`{text}` is not {what}"))
    }
}

/// An event type a meter selects: 1 to 256 letters, digits and `. _ - : /`.
fn check_event_type(t: &str) -> Result<(), String> {
    check_chars(
        t,
        256,
        |c| c.is_ascii_alphanumeric() || "._-:/".contains(c),
        "an event type: 1 to 256 letters, digits and `. _ - : /`, e.g. `tokens.generated`",
    )
}

/// A property name: 1 to 128 letters, digits and `. _ - :`.
fn check_property_name(p: &str) -> Result<(), String> {
    check_chars(
        p,
        128,
        |c| c.is_ascii_alphanumeric() || "._-:".contains(c),
        "a property name: 1 to 128 letters, digits and `. _ - :`",
    )
}

/// A unit name: 1 to 32 lower-case letters, digits, `_` and spaces, e.g. `tokens`.
fn check_unit(u: &str) -> Result<(), String> {
    check_chars(
        u,
        32,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ' ',
        "a unit: 1 to 32 lower-case letters, digits, `_` and spaces, e.g. `tokens`",
    )
}

/// A property value a filter matches: 1 to 256 characters, none of them a control character
/// or a quote, so that it is a safe SQL string.
fn check_property_value(v: &str) -> Result<(), String> {
    let ok = (1..=256).contains(&v.chars().count())
        && !v.chars().any(|c| c.is_control() || c == '\'' || c == '\\');
    ok.then_some(()).ok_or_else(|| {
        format!("`{v}` cannot be matched: a property value has 1 to 256 characters, without control characters, `'` or `\\`")
    })
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
    /// Events only: property → the values that match (`{"model": ["large", "xl"]}`). An event
    /// without the property does not match.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Vec<String>>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.resource_paths.is_empty()
            && self.methods.is_empty()
            && self.status_classes.is_empty()
            && self.properties.is_empty()
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
        for (name, values) in &self.properties {
            if let Err(message) = check_property_name(name) {
                out.push((format!("properties.{name}"), message));
            }
            if values.is_empty() {
                out.push((
                    format!("properties.{name}"),
                    "list at least one value: an empty list would match no event".to_string(),
                ));
            }
            for (i, value) in values.iter().enumerate() {
                if let Err(message) = check_property_value(value) {
                    out.push((format!("properties.{name}[{i}]"), message));
                }
            }
        }
        let property_lists = self
            .properties
            .iter()
            .map(|(name, values)| (format!("properties.{name}"), values));
        for (key, list) in [
            ("resource_paths".to_string(), &self.resource_paths),
            ("methods".to_string(), &self.methods),
            ("status_classes".to_string(), &self.status_classes),
        ]
        .into_iter()
        .chain(property_lists)
        {
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

    /// Whether an event's properties pass (the type is the meter's business). Only meaningful
    /// for a filter without [`problems`](Self::problems).
    pub fn matches_properties(&self, properties: &BTreeMap<Cow<'_, str>, Cow<'_, str>>) -> bool {
        self.properties.iter().all(|(name, values)| {
            properties
                .get(name.as_str())
                .is_some_and(|v| values.iter().any(|x| x == v))
        })
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
            properties: BTreeMap::new(),
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
