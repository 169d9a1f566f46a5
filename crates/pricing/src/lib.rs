//! The pricing engine: plans, their validation, and invoices computed in exact decimals.
//!
//! One crate for the billing Lambda and for `metering-gen bill`, so that a deployed invoice and
//! one computed offline can never disagree. Money is [`Decimal`] throughout, never a float: not
//! in plans, not in arithmetic, not in JSON.
//!
//! # Use
//!
//! 1. Read a [`Catalog`] (or a single [`Plan`]) with serde, e.g. from the `metering` section of
//!    `cdk.context.json`.
//! 2. [`Catalog::validate`] it against the meter names the caller knows: every problem comes
//!    back at once as a [`PlanError`] with a JSON path relative to the catalog
//!    (`plans.standard.charges.requests.tiers[2].up_to`) and a message.
//! 3. [`price`] a [`ValidPlan`] with the usage of a month (meter → quantity in the meter's
//!    billing unit; [`bytes_to_gb`] converts bytes). The [`Invoice`] serializes to JSON.
//!
//! ```
//! use pricing::{price, Catalog, Decimal};
//! use std::collections::BTreeMap;
//!
//! let catalog: Catalog = serde_json::from_str(r#"{
//!     "default_plan": "standard",
//!     "plans": {
//!         "standard": {
//!             "currency": "EUR",
//!             "monthly_minimum": "49.00",
//!             "charges": {
//!                 "requests": {
//!                     "model": "graduated",
//!                     "free_units": 10000,
//!                     "tiers": [
//!                         { "up_to": 1000000, "unit_price": "0.0001" },
//!                         { "up_to": null, "unit_price": "0.00005" }
//!                     ]
//!                 },
//!                 "storage_gb": { "model": "per_unit", "unit_price": "0.023" },
//!                 "exports": { "model": "package", "package_size": 100, "package_price": "5.00" }
//!             }
//!         },
//!         "enterprise": {
//!             "currency": "EUR",
//!             "monthly_minimum": "2000.00",
//!             "charges": {
//!                 "requests": {
//!                     "model": "volume",
//!                     "tiers": [
//!                         { "up_to": 10000000, "unit_price": "0.00008" },
//!                         { "up_to": null, "unit_price": "0.00004", "flat_fee": "100.00" }
//!                     ]
//!                 }
//!             }
//!         }
//!     },
//!     "tenants": { "acme": "enterprise" }
//! }"#).unwrap();
//! let catalog = catalog.validate(["requests", "storage_gb", "exports"]).unwrap();
//!
//! let (plan_name, plan) = catalog.plan_for_tenant("globex"); // not listed: the default
//! assert_eq!(plan_name, "standard");
//! let usage = BTreeMap::from([
//!     ("requests".to_string(), Decimal::from(1_510_000)),
//!     ("storage_gb".to_string(), "12.5".parse::<Decimal>().unwrap()),
//! ]);
//! let invoice = price(plan, &usage).unwrap();
//! // exports: no usage, 0 packages, 0.00.
//! // requests: 1 500 000 billable = 1 000 000 × 0.0001 + 500 000 × 0.00005 = 100 + 25.
//! // storage_gb: 12.5 × 0.023 = 0.2875, rounded to 0.29.
//! let amounts: Vec<String> = invoice.lines.iter().map(|l| l.amount.to_string()).collect();
//! assert_eq!(amounts, ["0.00", "125.00", "0.29"]);
//! assert_eq!(invoice.subtotal.to_string(), "125.29");
//! assert_eq!(invoice.minimum_adjustment.to_string(), "0.00");
//! assert_eq!(invoice.total.to_string(), "125.29");
//! ```
//!
//! # The plan format (JSON)
//!
//! A [`Catalog`] is `{"default_plan", "plans", "tenants"}` as above (`tenants` optional: tenant
//! id → plan name; unlisted tenants get `default_plan`). A [`Plan`] is:
//!
//! | key | value |
//! | --- | --- |
//! | `currency` | ISO 4217 code, upper case (`"EUR"`, `"JPY"`, `"KWD"`); must have a minor unit |
//! | `monthly_minimum` | optional decimal, ≥ 0, at most the currency's decimals |
//! | `charges` | optional object: meter name → charge; meters without a charge are free |
//!
//! A charge is an object with `"model"` one of `per_unit`, `graduated`, `volume`, `package`,
//! the model's keys below, and an optional `free_units` (≥ 0). Unknown keys are errors
//! everywhere, and so is a key of another model (`tiers` on a `per_unit` charge).
//!
//! **Decimals** are written as JSON strings (`"0.0001"`, `"49.00"`) or JSON integers (`1000`).
//! A JSON number with a fraction or an exponent (`0.1`, `1e6`) is refused with a message asking
//! for quotes: JSON parsers hand such numbers over as binary floats, and `0.1` is not exactly
//! 0.1 in binary. Reading them exactly would need serde_json's `arbitrary_precision` feature,
//! which changes how *every* crate in the build reads JSON numbers (it is unified across the
//! workspace) and breaks numbers inside `#[serde(flatten)]`/untagged types, which the generator
//! uses; integers are exact as they are, so they are accepted. Decimals are written back as
//! strings.
//!
//! # Free units
//!
//! Every charge may have `free_units`: `min(usage, free_units)` is taken off the usage first,
//! and the model prices the rest, the *billable quantity* (tiers count billable units). With
//! `free_units: 1000`, a usage of 800 bills 0, 1000 bills 0, and 1500 bills 500.
//!
//! # Charge models
//!
//! ## `per_unit`
//!
//! `{"model": "per_unit", "unit_price": P}`: billable × P.
//!
//! *Example:* `unit_price "0.0004"`, `free_units 10000`, usage 1 234 567 requests: billable
//! 1 224 567 × 0.0004 = 489.8268, invoiced **489.83** EUR.
//!
//! ## `graduated`
//!
//! `{"model": "graduated", "tiers": [{"up_to": N | null, "unit_price": P, "flat_fee": F?}, …]}`.
//! Tier *i* covers billable quantities above the previous tier's `up_to` (0 for the first) up to
//! and including its own `up_to`; the last tier has `"up_to": null` and no upper bound. Each
//! unit is priced by the tier it falls in, and every tier that some billable usage reaches adds
//! its `flat_fee` once. Fractional quantities split the same way: with `up_to 1000`, 1000.5
//! units are 1000 in the first tier and 0.5 in the second.
//!
//! *Example:* tiers `[{up_to 1000, "0.01"}, {up_to 10000, "0.008"}, {null, "0.005"}]`, 12 345
//! units: 1000 × 0.01 + 9000 × 0.008 + 2345 × 0.005 = 10 + 72 + 11.725 = 93.725, invoiced
//! **93.72** EUR (half-even). The invoice line lists the three tiers with their units and
//! unrounded amounts.
//!
//! ```
//! # use pricing::{Plan, Decimal};
//! # use std::collections::BTreeMap;
//! let plan: Plan = serde_json::from_str(r#"{"currency": "EUR", "charges": {"requests": {
//!     "model": "graduated",
//!     "tiers": [{"up_to": 1000, "unit_price": "0.01"},
//!               {"up_to": 10000, "unit_price": "0.008"},
//!               {"up_to": null, "unit_price": "0.005"}]}}}"#).unwrap();
//! let plan = plan.validate(["requests"]).unwrap();
//! let invoice = plan.price(&BTreeMap::from([("requests".into(), Decimal::from(12_345))])).unwrap();
//! let line = &invoice.lines[0];
//! let tiers: Vec<(String, String)> =
//!     line.tiers.iter().map(|t| (t.units.to_string(), t.amount.to_string())).collect();
//! assert_eq!(tiers, [("1000".into(), "10.00".into()), ("9000".into(), "72.00".into()),
//!                    ("2345".into(), "11.725".into())]);
//! assert_eq!(line.exact_amount.to_string(), "93.725");
//! assert_eq!(line.amount.to_string(), "93.72");
//! ```
//!
//! ## `volume`
//!
//! Same tiers as `graduated`, but *all* billable units are priced at the tier the billable
//! quantity falls in (`up_to` inclusive), plus that tier's `flat_fee`. Zero billable units cost
//! nothing, flat fee included.
//!
//! *Example:* the tiers above, 12 345 units fall in the third tier: 12 345 × 0.005 = 61.725,
//! invoiced **61.72** EUR; 1000 units are in the first tier: 1000 × 0.01 = **10.00**; 1001
//! units are in the second: 1001 × 0.008 = 8.008, **8.01**.
//!
//! ## `package`
//!
//! `{"model": "package", "package_size": N, "package_price": P}`: ⌈billable ÷ N⌉ packages × P;
//! a partial package costs a whole one. `package_size` must be greater than 0 and may be
//! fractional.
//!
//! *Example:* `package_size 100`, `package_price "5.00"`: 0 units → 0 packages, **0.00**;
//! 1 → 1 package, **5.00**; 100 → 1, **5.00**; 101 → 2, **10.00**; 250 → 3, **15.00**.
//!
//! # Rounding and totals
//!
//! Arithmetic is exact up to `Decimal`'s 28 significant digits. Each invoice line's amount is
//! rounded **once**, to the currency's minor unit (from ISO 4217 via the `iso_currency`
//! crate: EUR/USD 2 decimals, JPY 0, BHD/KWD 3), with **banker's rounding**: half to even
//! ([`RoundingStrategy::MidpointNearestEven`](rust_decimal::RoundingStrategy)), so that
//! rounding errors do not drift one way over many invoices. 0.125 EUR → **0.12**, 0.135 EUR →
//! **0.14**, 0.126 → 0.13; 2.5 JPY → **2**, 3.5 JPY → **4**; 0.0125 KWD → **0.012**.
//! Tier amounts in the breakdown are shown unrounded.
//!
//! The `subtotal` is the sum of the rounded line amounts (so the lines always add up to it).
//! When it is below the plan's `monthly_minimum`, `minimum_adjustment` is the difference,
//! else 0; `total = subtotal + minimum_adjustment`, so the total is never below the minimum.
//! Zero usage still gets its lines (at 0) and still pays the minimum.
//!
//! *Example:* `monthly_minimum "49.00"`, lines 15.00 and 0.29: subtotal 15.29, adjustment
//! **33.71**, total **49.00**. With lines adding up to 60.00: adjustment 0.00, total 60.00.
//!
//! In JSON, every money amount of an [`Invoice`] is a string with exactly the currency's
//! decimals (`"12.30"`, `"1000"` for JPY, `"0.012"` for KWD).
//!
//! # Units
//!
//! Quantities are in each meter's billing unit; the caller converts. [`bytes_to_gb`] uses the
//! decimal gigabyte, 10^9 bytes (as AWS bills data transfer and S3 storage), not the gibibyte
//! (2^30 bytes).

mod currency;
mod decimal_serde;
mod invoice;
mod plan;
mod validate;

pub use currency::{Currency, CurrencyError};
pub use invoice::{price, Invoice, InvoiceLine, PriceError, TierLine};
pub use plan::{
    Catalog, Charge, Model, Package, PerUnit, Plan, Tier, Tiered, DEFAULT_TEST_TENANT_PREFIXES,
};
pub use rust_decimal::{self, Decimal, RoundingStrategy};
pub use validate::{PlanError, ValidCatalog, ValidPlan, MAX_TEST_TENANT_PREFIX};

/// Bytes in one gigabyte, as used by [`bytes_to_gb`]: the decimal (SI) gigabyte, 10^9.
pub const BYTES_PER_GB: u64 = 1_000_000_000;

/// `bytes` in decimal gigabytes (10^9 bytes each, not 2^30), exactly:
/// `bytes_to_gb(1_500_000_000)` is `1.5`, `bytes_to_gb(1)` is `0.000000001`.
///
/// ```
/// assert_eq!(pricing::bytes_to_gb(1_500_000_000).to_string(), "1.5");
/// assert_eq!(pricing::bytes_to_gb(1).to_string(), "0.000000001");
/// ```
pub fn bytes_to_gb(bytes: u64) -> Decimal {
    // Every u64 fits in a Decimal's 96-bit mantissa: moving the point 9 places is exact.
    Decimal::from_i128_with_scale(i128::from(bytes), 9).normalize()
}
