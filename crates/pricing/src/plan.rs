//! The plan and catalog types, as users write them in JSON.
//!
//! These are the *unchecked* shapes: anything that parses. [`Catalog::validate`] and
//! [`Plan::validate`] turn them into [`ValidCatalog`](crate::ValidCatalog) and
//! [`ValidPlan`](crate::ValidPlan), which are what [`price`](crate::price) accepts.

use crate::decimal_serde;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The pricing catalog: every plan, the plan of tenants without an entry, and the tenants
/// with a plan of their own.
///
/// ```json
/// { "default_plan": "standard",
///   "plans": { "standard": { … }, "enterprise": { … } },
///   "tenants": { "acme": "enterprise" } }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The plan of every tenant not listed in `tenants`.
    pub default_plan: String,
    /// Plans by name.
    pub plans: BTreeMap<String, Plan>,
    /// Tenant id → plan name. Optional in JSON.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, String>,
    /// Tenants whose id starts with one of these are test tenants: their usage is measured
    /// and reported, but they are never invoiced. Optional in JSON, default
    /// [`DEFAULT_TEST_TENANT_PREFIXES`] (the tenants `metering-gen verify` creates); `[]`
    /// invoices every tenant.
    #[serde(default = "default_test_tenant_prefixes")]
    pub test_tenant_prefixes: Vec<String>,
}

/// The prefix of the tenants `metering-gen verify` signs in as.
pub const DEFAULT_TEST_TENANT_PREFIXES: &[&str] = &["verify-"];

fn default_test_tenant_prefixes() -> Vec<String> {
    DEFAULT_TEST_TENANT_PREFIXES
        .iter()
        .map(|p| (*p).to_owned())
        .collect()
}

impl Catalog {
    /// Whether `tenant` is a test tenant: measured, never invoiced. An empty prefix (which
    /// validation refuses) matches nothing.
    pub fn is_test_tenant(&self, tenant: &str) -> bool {
        self.test_tenant_prefixes
            .iter()
            .any(|prefix| !prefix.is_empty() && tenant.starts_with(prefix.as_str()))
    }
}

/// A price plan: a currency, an optional monthly minimum and one charge per priced meter.
///
/// Meters without a charge are not billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// ISO 4217 alphabetic code, upper case: `"EUR"`, `"USD"`, `"JPY"`, `"KWD"`.
    pub currency: String,
    /// The least an invoice of this plan totals; at most as many decimals as the currency's
    /// minor unit. Optional in JSON.
    #[serde(
        default,
        with = "decimal_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub monthly_minimum: Option<Decimal>,
    /// Meter name → how its usage is charged. Optional in JSON (a plan may be a minimum only).
    #[serde(default)]
    pub charges: BTreeMap<String, Charge>,
}

/// How the usage of one meter is charged: in JSON, an object with `"model"` and that model's
/// keys (plus `free_units`).
///
/// Read through one flat object of every model's keys rather than serde's internally tagged
/// enums: those buffer the object before reading it, and the path of an error inside it (as
/// `serde_path_to_error` reports it) would stop at the meter instead of naming the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCharge", into = "RawCharge")]
pub enum Charge {
    /// A price per unit.
    PerUnit(PerUnit),
    /// Each unit priced by the tier it falls in (Stripe's "graduated").
    Graduated(Tiered),
    /// Every unit priced at the tier the billable quantity falls in (Stripe's "volume").
    Volume(Tiered),
    /// Whole packages of `package_size` units, a partial package counted as a whole one.
    Package(Package),
}

/// `{"model": "per_unit", "unit_price": "0.002", "free_units": "1000"}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerUnit {
    /// Price of one unit.
    pub unit_price: Decimal,
    /// Units free of charge, subtracted from the usage before pricing. Optional in JSON.
    pub free_units: Option<Decimal>,
}

/// `{"model": "graduated" | "volume", "tiers": [...], "free_units": "1000"}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiered {
    /// Tiers in ascending `up_to`; the first starts at 0, each next one where the previous
    /// ended, and the last has `"up_to": null`.
    pub tiers: Vec<Tier>,
    /// Units free of charge, subtracted from the usage before the tiers apply. Optional.
    pub free_units: Option<Decimal>,
}

/// One tier: `{"up_to": 1000, "unit_price": "0.01", "flat_fee": "5.00"}`.
///
/// The tier covers billable quantities above the previous tier's `up_to` (0 for the first
/// tier) up to and including its own `up_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Upper bound, inclusive; `null` (required to be written out) for the last, unbounded
    /// tier. May be fractional (e.g. GB).
    #[serde(with = "decimal_serde::option")]
    pub up_to: Option<Decimal>,
    /// Price of one unit in this tier.
    #[serde(with = "decimal_serde::exact")]
    pub unit_price: Decimal,
    /// Charged once when any billable usage falls in this tier (graduated: each tier reached;
    /// volume: the one tier used). Optional.
    #[serde(
        default,
        with = "decimal_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub flat_fee: Option<Decimal>,
}

/// `{"model": "package", "package_size": 100, "package_price": "5.00"}`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Units in one package; greater than 0, may be fractional.
    pub package_size: Decimal,
    /// Price of one package.
    pub package_price: Decimal,
    /// Units free of charge, subtracted from the usage before packaging. Optional.
    pub free_units: Option<Decimal>,
}

/// The name of a charge model, as in the `"model"` key and on invoice lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    PerUnit,
    Graduated,
    Volume,
    Package,
}

impl Charge {
    /// Units free of charge (0 when not set).
    pub fn free_units(&self) -> Decimal {
        match self {
            Charge::PerUnit(c) => c.free_units,
            Charge::Graduated(c) | Charge::Volume(c) => c.free_units,
            Charge::Package(c) => c.free_units,
        }
        .unwrap_or(Decimal::ZERO)
    }

    /// Which model this is.
    pub fn model(&self) -> Model {
        match self {
            Charge::PerUnit(_) => Model::PerUnit,
            Charge::Graduated(_) => Model::Graduated,
            Charge::Volume(_) => Model::Volume,
            Charge::Package(_) => Model::Package,
        }
    }
}

impl Model {
    /// The name in JSON: `per_unit`, `graduated`, `volume`, `package`.
    pub fn name(self) -> &'static str {
        match self {
            Model::PerUnit => "per_unit",
            Model::Graduated => "graduated",
            Model::Volume => "volume",
            Model::Package => "package",
        }
    }

    /// The keys of a charge of this model, besides `model`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Model::PerUnit => &["unit_price", "free_units"],
            Model::Graduated | Model::Volume => &["tiers", "free_units"],
            Model::Package => &["package_size", "package_price", "free_units"],
        }
    }
}

/// A charge as written: every model's keys, each optional; [`Charge`]'s `TryFrom` checks that
/// the model's own keys are there and no other model's.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCharge {
    model: Model,
    #[serde(
        default,
        with = "decimal_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    unit_price: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tiers: Option<Vec<Tier>>,
    #[serde(
        default,
        with = "decimal_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    package_size: Option<Decimal>,
    #[serde(
        default,
        with = "decimal_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    package_price: Option<Decimal>,
    #[serde(
        default,
        with = "decimal_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    free_units: Option<Decimal>,
}

impl TryFrom<RawCharge> for Charge {
    type Error = String;

    fn try_from(raw: RawCharge) -> Result<Charge, String> {
        let model = raw.model;
        let present = [
            ("unit_price", raw.unit_price.is_some()),
            ("tiers", raw.tiers.is_some()),
            ("package_size", raw.package_size.is_some()),
            ("package_price", raw.package_price.is_some()),
        ];
        if let Some((key, _)) = present
            .iter()
            .find(|(key, set)| *set && !model.keys().contains(key))
        {
            let keys: Vec<String> = model.keys().iter().map(|k| format!("`{k}`")).collect();
            return Err(format!(
                "`{key}` is not a key of the `{}` model, whose keys are `model`, {}",
                model.name(),
                keys.join(", ")
            ));
        }
        // Worded like serde's own error, which callers may already turn into a path.
        let missing = |key: &str| format!("missing field `{key}`");
        let free_units = raw.free_units;
        Ok(match model {
            Model::PerUnit => Charge::PerUnit(PerUnit {
                unit_price: raw.unit_price.ok_or_else(|| missing("unit_price"))?,
                free_units,
            }),
            Model::Graduated => Charge::Graduated(Tiered {
                tiers: raw.tiers.ok_or_else(|| missing("tiers"))?,
                free_units,
            }),
            Model::Volume => Charge::Volume(Tiered {
                tiers: raw.tiers.ok_or_else(|| missing("tiers"))?,
                free_units,
            }),
            Model::Package => Charge::Package(Package {
                package_size: raw.package_size.ok_or_else(|| missing("package_size"))?,
                package_price: raw.package_price.ok_or_else(|| missing("package_price"))?,
                free_units,
            }),
        })
    }
}

impl From<Charge> for RawCharge {
    fn from(charge: Charge) -> RawCharge {
        let mut raw = RawCharge {
            model: charge.model(),
            unit_price: None,
            tiers: None,
            package_size: None,
            package_price: None,
            free_units: None,
        };
        match charge {
            Charge::PerUnit(c) => {
                raw.unit_price = Some(c.unit_price);
                raw.free_units = c.free_units;
            }
            Charge::Graduated(c) | Charge::Volume(c) => {
                raw.tiers = Some(c.tiers);
                raw.free_units = c.free_units;
            }
            Charge::Package(c) => {
                raw.package_size = Some(c.package_size);
                raw.package_price = Some(c.package_price);
                raw.free_units = c.free_units;
            }
        }
        raw
    }
}
