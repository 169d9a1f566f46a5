//! Pricing usage with a plan: the invoice.

use crate::currency::Currency;
use crate::decimal_serde;
use crate::plan::{Charge, Model, Package, Tier};
use crate::validate::ValidPlan;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// An invoice: one line per charge of the plan, in meter-name order.
///
/// Money fields (`amount`, `subtotal`, `monthly_minimum`, `minimum_adjustment`, `total`) hold
/// exactly the currency's number of decimals, and serialize as strings such as `"12.30"` or, for
/// JPY, `"1000"`. `exact_amount`s are the unrounded amounts, with at least that many decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    pub currency: Currency,
    pub lines: Vec<InvoiceLine>,
    /// The sum of the lines' rounded `amount`s.
    #[serde(with = "decimal_serde::exact")]
    pub subtotal: Decimal,
    /// The plan's minimum, `null` when it has none.
    #[serde(with = "decimal_serde::option")]
    pub monthly_minimum: Option<Decimal>,
    /// `monthly_minimum - subtotal` when the subtotal is below the minimum, else 0.
    #[serde(with = "decimal_serde::exact")]
    pub minimum_adjustment: Decimal,
    /// `subtotal + minimum_adjustment`.
    #[serde(with = "decimal_serde::exact")]
    pub total: Decimal,
}

/// The charge for one meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub meter: String,
    pub model: Model,
    /// The usage, in the meter's billing unit (0 when the usage had no entry for the meter).
    #[serde(with = "decimal_serde::exact")]
    pub quantity: Decimal,
    /// The part of `quantity` the free allowance covered: `min(quantity, free_units)`.
    #[serde(with = "decimal_serde::exact")]
    pub free_units_applied: Decimal,
    /// `quantity - free_units_applied`: what the model priced.
    #[serde(with = "decimal_serde::exact")]
    pub billable_quantity: Decimal,
    /// `graduated`: every tier the billable quantity reached; `volume`: the one tier it fell
    /// in. Empty (and left out of JSON) for the other models and for zero billable usage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierLine>,
    /// `package`: the number of packages charged (left out of JSON for the other models).
    #[serde(
        with = "decimal_serde::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub packages: Option<Decimal>,
    /// The amount before rounding.
    #[serde(with = "decimal_serde::exact")]
    pub exact_amount: Decimal,
    /// `exact_amount` rounded half-even to the currency's minor unit.
    #[serde(with = "decimal_serde::exact")]
    pub amount: Decimal,
}

/// The part of a line that one tier priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierLine {
    /// Index of the tier in the plan's `tiers`.
    pub tier: usize,
    #[serde(with = "decimal_serde::option")]
    pub up_to: Option<Decimal>,
    /// Billable units priced in this tier.
    #[serde(with = "decimal_serde::exact")]
    pub units: Decimal,
    #[serde(with = "decimal_serde::exact")]
    pub unit_price: Decimal,
    /// The tier's flat fee (0 when it has none).
    #[serde(with = "decimal_serde::exact")]
    pub flat_fee: Decimal,
    /// `units × unit_price + flat_fee`, unrounded.
    #[serde(with = "decimal_serde::exact")]
    pub amount: Decimal,
}

/// Why usage could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// Usage is never negative: a negative quantity is a bug upstream, not a credit.
    #[error("the usage of meter `{meter}` is negative: {quantity}")]
    NegativeUsage { meter: String, quantity: Decimal },
    /// An amount beyond what a `Decimal` holds (about 7.9 × 10^28).
    #[error("the amount of {what} is too large to compute")]
    Overflow { what: String },
}

/// Prices `usage` (meter name → quantity in the meter's billing unit) with `plan`.
///
/// Every charge of the plan gets a line, in meter-name order; a meter missing from `usage`
/// counts as 0, and usage of meters the plan does not charge is not billed. Each line's
/// amount is rounded half-even to the currency's minor unit; the subtotal is the sum of the
/// rounded lines; the monthly minimum tops the total up. See the crate documentation for the
/// models and worked examples.
pub fn price(plan: &ValidPlan, usage: &BTreeMap<String, Decimal>) -> Result<Invoice, PriceError> {
    let currency = plan.currency();
    let mut lines = Vec::with_capacity(plan.charges().len());
    let mut subtotal = Decimal::ZERO;
    for (meter, charge) in plan.charges() {
        let quantity = usage.get(meter).copied().unwrap_or(Decimal::ZERO);
        let line = price_line(meter, charge, quantity, currency)?;
        subtotal = subtotal
            .checked_add(line.amount)
            .ok_or_else(|| overflow("the subtotal"))?;
        lines.push(line);
    }
    let subtotal = to_minor(currency, subtotal, "the subtotal")?;
    let monthly_minimum = match plan.plan().monthly_minimum {
        // Validation made sure it has no more decimals than the currency: this only pads.
        Some(m) => Some(to_minor(currency, m, "the monthly minimum")?),
        None => None,
    };
    let minimum = monthly_minimum.unwrap_or(Decimal::ZERO);
    let minimum_adjustment = if subtotal < minimum {
        to_minor(currency, minimum - subtotal, "the minimum adjustment")?
    } else {
        to_minor(currency, Decimal::ZERO, "the minimum adjustment")?
    };
    let total = subtotal
        .checked_add(minimum_adjustment)
        .ok_or_else(|| overflow("the total"))?;
    let total = to_minor(currency, total, "the total")?;
    Ok(Invoice {
        currency,
        lines,
        subtotal,
        monthly_minimum,
        minimum_adjustment,
        total,
    })
}

impl ValidPlan {
    /// [`price`] with this plan.
    pub fn price(&self, usage: &BTreeMap<String, Decimal>) -> Result<Invoice, PriceError> {
        price(self, usage)
    }
}

fn overflow(what: &str) -> PriceError {
    PriceError::Overflow {
        what: what.to_string(),
    }
}

fn to_minor(currency: Currency, amount: Decimal, what: &str) -> Result<Decimal, PriceError> {
    currency.round(amount).ok_or_else(|| overflow(what))
}

/// The unrounded amount as shown: trailing zeros trimmed, but at least the currency's decimals.
fn shown(currency: Currency, amount: Decimal) -> Decimal {
    let mut shown = amount.normalize();
    if shown.scale() < currency.minor_units() {
        shown.rescale(currency.minor_units());
    }
    shown
}

fn price_line(
    meter: &str,
    charge: &Charge,
    quantity: Decimal,
    currency: Currency,
) -> Result<InvoiceLine, PriceError> {
    if quantity < Decimal::ZERO {
        return Err(PriceError::NegativeUsage {
            meter: meter.to_string(),
            quantity,
        });
    }
    let what = || format!("meter `{meter}`");
    let err = || PriceError::Overflow { what: what() };
    let quantity = quantity.normalize();
    let free_units_applied = quantity.min(charge.free_units()).normalize();
    let billable_quantity = (quantity - free_units_applied).normalize();

    let mut tiers = Vec::new();
    let mut packages = None;
    let exact = match charge {
        Charge::PerUnit(c) => billable_quantity
            .checked_mul(c.unit_price)
            .ok_or_else(err)?,
        Charge::Graduated(c) => {
            tiers = graduated(&c.tiers, billable_quantity).ok_or_else(err)?;
            sum(tiers.iter().map(|t| t.amount)).ok_or_else(err)?
        }
        Charge::Volume(c) => {
            tiers = volume(&c.tiers, billable_quantity).ok_or_else(err)?;
            sum(tiers.iter().map(|t| t.amount)).ok_or_else(err)?
        }
        Charge::Package(c) => {
            let n = package_count(c, billable_quantity).ok_or_else(err)?;
            packages = Some(n);
            n.checked_mul(c.package_price).ok_or_else(err)?
        }
    };
    for t in &mut tiers {
        t.amount = shown(currency, t.amount);
    }
    Ok(InvoiceLine {
        meter: meter.to_string(),
        model: charge.model(),
        quantity,
        free_units_applied,
        billable_quantity,
        tiers,
        packages,
        exact_amount: shown(currency, exact),
        amount: to_minor(currency, exact, &what())?,
    })
}

fn sum(amounts: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    amounts
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, a| acc.checked_add(a))
}

fn tier_line(index: usize, tier: &Tier, units: Decimal) -> Option<TierLine> {
    let flat_fee = tier.flat_fee.unwrap_or(Decimal::ZERO);
    Some(TierLine {
        tier: index,
        up_to: tier.up_to,
        units: units.normalize(),
        unit_price: tier.unit_price,
        flat_fee,
        amount: units.checked_mul(tier.unit_price)?.checked_add(flat_fee)?,
    })
}

/// Each billable unit at the price of the tier it falls in; the flat fee of every tier reached.
fn graduated(tiers: &[Tier], billable: Decimal) -> Option<Vec<TierLine>> {
    let mut lines = Vec::new();
    let mut start = Decimal::ZERO;
    for (i, tier) in tiers.iter().enumerate() {
        if billable <= start {
            break;
        }
        let end = tier.up_to.map_or(billable, |up_to| billable.min(up_to));
        lines.push(tier_line(i, tier, end - start)?);
        match tier.up_to {
            Some(up_to) => start = up_to,
            None => break,
        }
    }
    Some(lines)
}

/// Every billable unit at the price of the tier the billable quantity falls in, plus that
/// tier's flat fee; nothing for zero billable usage.
fn volume(tiers: &[Tier], billable: Decimal) -> Option<Vec<TierLine>> {
    if billable.is_zero() {
        return Some(Vec::new());
    }
    // A valid plan's last tier is unbounded, so some tier always matches.
    let (i, tier) = tiers
        .iter()
        .enumerate()
        .find(|(_, t)| t.up_to.is_none_or(|up_to| billable <= up_to))
        .or_else(|| tiers.iter().enumerate().next_back())?;
    Some(vec![tier_line(i, tier, billable)?])
}

/// `ceil(billable / package_size)`, exactly: the quotient is corrected by multiplication, so
/// a division rounded to 28 digits cannot turn `n + ε` packages into `n`.
fn package_count(package: &Package, billable: Decimal) -> Option<Decimal> {
    let size = package.package_size;
    let mut n = billable.checked_div(size)?.ceil();
    while n.checked_mul(size)? < billable {
        n = n.checked_add(Decimal::ONE)?;
    }
    while n > Decimal::ZERO && (n - Decimal::ONE).checked_mul(size)? >= billable {
        n -= Decimal::ONE;
    }
    Some(n.normalize())
}
