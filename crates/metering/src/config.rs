//! The metering configuration: meters and the pricing catalog, as the generator writes it for
//! the billing Lambda and as `metering-gen bill` reads it from the context.

use crate::meter::{self, Meter, Source, MAX_METERS};
use pricing::{Catalog, ValidCatalog};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DEFAULT_LATE_ARRIVAL_HOURS: u32 = 3;
pub const MAX_LATE_ARRIVAL_HOURS: u32 = 22;

/// What the billing Lambda needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hours of the next month's folders that are also read (1 to 22): records arrive in S3
    /// up to the Firehose buffer interval after the request.
    #[serde(default = "default_late_arrival_hours")]
    pub late_arrival_hours: u32,
    /// Meter name → meter.
    pub meters: BTreeMap<String, Meter>,
    pub pricing: Catalog,
}

fn default_late_arrival_hours() -> u32 {
    DEFAULT_LATE_ARRIVAL_HOURS
}

/// One problem, at a JSON path relative to the [`Config`] (`meters.requests.filter.methods[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// A [`Config`] whose meters and plans passed every check.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    config: Config,
    catalog: ValidCatalog,
}

impl Config {
    pub fn validate(&self) -> Result<ValidConfig, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut fail = |path: String, message: String| errors.push(ConfigError { path, message });
        if !(1..=MAX_LATE_ARRIVAL_HOURS).contains(&self.late_arrival_hours) {
            fail(
                "late_arrival_hours".into(),
                format!(
                    "must be between 1 and {MAX_LATE_ARRIVAL_HOURS}, not {}",
                    self.late_arrival_hours
                ),
            );
        }
        if self.meters.is_empty() {
            fail("meters".into(), "at least one meter is needed".into());
        }
        if self.meters.len() > MAX_METERS {
            fail(
                "meters".into(),
                format!("at most {MAX_METERS} meters, not {}", self.meters.len()),
            );
        }
        for (name, m) in &self.meters {
            if let Err(message) = meter::check_name(name) {
                fail(format!("meters.{name}"), message);
            }
            for (path, message) in m.problems() {
                fail(format!("meters.{name}.{path}"), message);
            }
        }
        let catalog = self
            .pricing
            .validate(self.meters.keys().map(String::as_str))
            .map_err(|plan_errors| {
                for e in plan_errors {
                    fail(format!("pricing.{}", e.path), e.message);
                }
            })
            .ok();
        match catalog {
            Some(catalog) if errors.is_empty() => Ok(ValidConfig {
                config: self.clone(),
                catalog,
            }),
            _ => Err(errors),
        }
    }
}

impl ValidConfig {
    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> &ValidCatalog {
        &self.catalog
    }

    /// Meters in name order: the order of query columns, bits and CSV columns.
    pub fn meters(&self) -> impl Iterator<Item = (&str, &Meter)> {
        self.config.meters.iter().map(|(n, m)| (n.as_str(), m))
    }

    /// Whether any meter reads `source`.
    pub fn reads(&self, source: Source) -> bool {
        self.meters().any(|(_, m)| m.source == source)
    }

    pub fn late_arrival_hours(&self) -> u32 {
        self.config.late_arrival_hours
    }

    /// The folders and request times billing `month` reads.
    pub fn window(&self, month: crate::Month) -> crate::Window {
        crate::Window {
            month,
            late_arrival_hours: self.config.late_arrival_hours,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Config {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_problem_comes_back_with_its_path() {
        let c = config(
            r#"{"late_arrival_hours": 0,
                "meters": {"Bad-Name": {"aggregation": "count"},
                           "requests": {"aggregation": "count", "filter": {"methods": ["FETCH"]}}},
                "pricing": {"default_plan": "std", "plans": {"std": {"currency": "EUR",
                    "charges": {"bytes": {"model": "per_unit", "unit_price": "1"}}}}}}"#,
        );
        let errors = c.validate().unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "late_arrival_hours",
                "meters.Bad-Name",
                "meters.requests.filter.methods[0]",
                "pricing.plans.std.charges.bytes"
            ],
            "{errors:?}"
        );
    }

    #[test]
    fn a_meter_named_like_a_query_column_is_rejected_at_its_path() {
        let c = config(
            r#"{"meters": {"tenant": {"aggregation": "count"}, "order": {"aggregation": "count"}},
                "pricing": {"default_plan": "std", "plans": {"std": {"currency": "EUR"}}}}"#,
        );
        let errors = c.validate().unwrap_err();
        assert_eq!(
            errors,
            [ConfigError {
                path: "meters.tenant".into(),
                message: "meter name `tenant` is reserved: the usage query and its result already have a `tenant` column".into(),
            }]
        );
    }

    #[test]
    fn a_valid_config_round_trips_through_json() {
        let c = config(
            r#"{"meters": {"requests": {"aggregation": "count", "filter": {"status_classes": ["2xx"]}},
                           "transfer": {"aggregation": "sum_response_bytes"}},
                "pricing": {"default_plan": "std", "plans": {"std": {"currency": "EUR",
                    "charges": {"transfer": {"model": "per_unit", "unit_price": "0.09"}}}}}}"#,
        );
        let valid = c.validate().unwrap();
        assert_eq!(valid.late_arrival_hours(), DEFAULT_LATE_ARRIVAL_HOURS);
        let again: Config = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(again, c);
    }
}
