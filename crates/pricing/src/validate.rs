//! Checking plans and catalogs: every problem at once, each at its JSON path.

use crate::currency::Currency;
use crate::plan::{Catalog, Charge, Plan, Tier};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One problem in a plan or catalog.
///
/// `path` is relative to the object validated (the catalog for [`Catalog::validate`], the plan
/// for [`Plan::validate`]), written like `plans.standard.charges.requests.tiers[2].up_to`:
/// object keys joined by `.`, array indexes in brackets. A caller that read the catalog from
/// a bigger file prefixes it with the catalog's own path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlanError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "at `{}`: {}", self.path, self.message)
    }
}

impl std::error::Error for PlanError {}

/// A plan that passed [`Plan::validate`]: a known currency with a minor unit, charges for known
/// meters only, well-formed tiers, no negative amounts. The only input [`price`](crate::price)
/// takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPlan {
    plan: Plan,
    currency: Currency,
}

impl ValidPlan {
    /// The plan as written.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The plan's currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The plan's charges by meter name.
    pub fn charges(&self) -> &BTreeMap<String, Charge> {
        &self.plan.charges
    }

    /// The monthly minimum (0 when the plan has none).
    pub fn monthly_minimum(&self) -> Decimal {
        self.plan.monthly_minimum.unwrap_or(Decimal::ZERO)
    }
}

/// The longest test-tenant prefix.
pub const MAX_TEST_TENANT_PREFIX: usize = 64;

/// A catalog that passed [`Catalog::validate`]: every plan valid, the default plan and every
/// tenant's plan exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCatalog {
    catalog: Catalog,
    plans: BTreeMap<String, ValidPlan>,
}

impl ValidCatalog {
    /// The catalog as written.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A plan by name.
    pub fn plan(&self, name: &str) -> Option<&ValidPlan> {
        self.plans.get(name)
    }

    /// Every plan by name.
    pub fn plans(&self) -> &BTreeMap<String, ValidPlan> {
        &self.plans
    }

    /// The name and plan of tenants without a plan of their own.
    pub fn default_plan(&self) -> (&str, &ValidPlan) {
        let name = self.catalog.default_plan.as_str();
        (name, &self.plans[name])
    }

    /// The name and plan a tenant is billed with: its own from `tenants`, else the default.
    pub fn plan_for_tenant(&self, tenant: &str) -> (&str, &ValidPlan) {
        match self.catalog.tenants.get(tenant) {
            Some(name) => (name.as_str(), &self.plans[name]),
            None => self.default_plan(),
        }
    }
}

impl Catalog {
    /// Checks the catalog against the meters the caller knows, reporting every problem:
    /// each plan's (see [`Plan::validate`], paths under `plans.NAME.`), a `default_plan` that
    /// names no plan, and a tenant mapped to a plan that does not exist (at `tenants.TENANT`).
    pub fn validate<I, S>(&self, meters: I) -> Result<ValidCatalog, Vec<PlanError>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let meters = meter_set(meters);
        let mut errors = Vec::new();
        let mut plans = BTreeMap::new();
        for (name, plan) in &self.plans {
            if let Some(valid) = check_plan(plan, &format!("plans.{name}."), &meters, &mut errors) {
                plans.insert(name.clone(), valid);
            }
        }
        if !self.plans.contains_key(&self.default_plan) {
            errors.push(PlanError {
                path: "default_plan".to_string(),
                message: self.no_such_plan(&self.default_plan),
            });
        }
        for (tenant, plan) in &self.tenants {
            if !self.plans.contains_key(plan) {
                errors.push(PlanError {
                    path: format!("tenants.{tenant}"),
                    message: self.no_such_plan(plan),
                });
            } else if self.is_test_tenant(tenant) {
                errors.push(PlanError {
                    path: format!("tenants.{tenant}"),
                    message: format!(
                        "`{tenant}` is a test tenant (`test_tenant_prefixes`), which is never \
                         invoiced: remove it here or change `test_tenant_prefixes`"
                    ),
                });
            }
        }
        for (i, prefix) in self.test_tenant_prefixes.iter().enumerate() {
            if prefix.is_empty() || prefix.chars().count() > MAX_TEST_TENANT_PREFIX {
                errors.push(PlanError {
                    path: format!("test_tenant_prefixes[{i}]"),
                    message: format!(
                        "must have 1 to {MAX_TEST_TENANT_PREFIX} characters (an empty prefix \
                         would make every tenant a test tenant), not {}",
                        prefix.chars().count()
                    ),
                });
            }
        }
        if errors.is_empty() {
            Ok(ValidCatalog {
                catalog: self.clone(),
                plans,
            })
        } else {
            Err(errors)
        }
    }

    fn no_such_plan(&self, name: &str) -> String {
        if self.plans.is_empty() {
            format!("no plan named `{name}`: `plans` is empty")
        } else {
            format!(
                "no plan named `{name}`; the plans are {}",
                quote_list(self.plans.keys())
            )
        }
    }
}

impl Plan {
    /// Checks one plan against the meters the caller knows, reporting every problem with a
    /// path relative to the plan (`currency`, `charges.requests.tiers[2].up_to`, …):
    ///
    /// * `currency`: not an ISO 4217 code, or one without a minor unit;
    /// * `monthly_minimum`: negative, or more decimals than the currency's minor unit;
    /// * `charges.METER`: a meter the caller does not know;
    /// * any negative `unit_price`, `flat_fee`, `package_price` or `free_units`, and a
    ///   `package_size` that is not greater than 0;
    /// * tiers (`graduated`, `volume`), each rule its own error:
    ///   - *empty*: no tier at all (at `tiers`);
    ///   - *unsorted*: an unbounded tier (`"up_to": null`) that is not the last one (at its
    ///     `up_to`);
    ///   - *overlapping*: an `up_to` not greater than the previous bounded tier's `up_to`, or
    ///     than 0 for the first tier — equal or decreasing bounds (at its `up_to`);
    ///   - *gap*: a last tier that is bounded, leaving usage above it without a price (at the
    ///     last tier's `up_to`).
    ///
    ///   Tiers need no start: the first starts at 0 and each next one where the previous one
    ///   ended, so there cannot be a gap between tiers, only after the last.
    pub fn validate<I, S>(&self, meters: I) -> Result<ValidPlan, Vec<PlanError>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let meters = meter_set(meters);
        let mut errors = Vec::new();
        match check_plan(self, "", &meters, &mut errors) {
            Some(valid) if errors.is_empty() => Ok(valid),
            _ => Err(errors),
        }
    }
}

fn meter_set<I, S>(meters: I) -> BTreeSet<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    meters.into_iter().map(|m| m.as_ref().to_string()).collect()
}

fn quote_list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items
        .into_iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds the plan's problems to `errors` (paths prefixed with `prefix`, which is empty or ends
/// in `.`); the valid plan when it had none.
fn check_plan(
    plan: &Plan,
    prefix: &str,
    meters: &BTreeSet<String>,
    errors: &mut Vec<PlanError>,
) -> Option<ValidPlan> {
    let before = errors.len();
    let mut push = |path: String, message: String| errors.push(PlanError { path, message });

    let currency = match Currency::from_code(&plan.currency) {
        Ok(c) => Some(c),
        Err(e) => {
            push(format!("{prefix}currency"), e.to_string());
            None
        }
    };

    if let Some(minimum) = plan.monthly_minimum {
        let path = format!("{prefix}monthly_minimum");
        if minimum < Decimal::ZERO {
            push(path, negative(minimum));
        } else if let Some(currency) = currency {
            if !currency.fits(minimum) {
                push(
                    path,
                    format!(
                        "{minimum} has more decimals than {} allows ({})",
                        currency.code(),
                        currency.minor_units()
                    ),
                );
            }
        }
    }

    for (meter, charge) in &plan.charges {
        let base = format!("{prefix}charges.{meter}");
        if !meters.contains(meter) {
            let message = if meters.is_empty() {
                format!("unknown meter `{meter}`: no meters are defined")
            } else {
                format!(
                    "unknown meter `{meter}`; the meters are {}",
                    quote_list(meters)
                )
            };
            push(base.clone(), message);
        }
        check_charge(charge, &base, &mut push);
    }

    let currency = currency?;
    (errors.len() == before).then(|| ValidPlan {
        plan: plan.clone(),
        currency,
    })
}

fn negative(value: Decimal) -> String {
    format!("must not be negative, found {value}")
}

fn check_not_negative(value: Decimal, path: String, push: &mut impl FnMut(String, String)) {
    if value < Decimal::ZERO {
        push(path, negative(value));
    }
}

fn check_charge(charge: &Charge, base: &str, push: &mut impl FnMut(String, String)) {
    let free_units = match charge {
        Charge::PerUnit(c) => {
            check_not_negative(c.unit_price, format!("{base}.unit_price"), push);
            c.free_units
        }
        Charge::Graduated(c) | Charge::Volume(c) => {
            check_tiers(&c.tiers, base, push);
            c.free_units
        }
        Charge::Package(c) => {
            if c.package_size <= Decimal::ZERO {
                push(
                    format!("{base}.package_size"),
                    format!("must be greater than 0, found {}", c.package_size),
                );
            }
            check_not_negative(c.package_price, format!("{base}.package_price"), push);
            c.free_units
        }
    };
    if let Some(free) = free_units {
        check_not_negative(free, format!("{base}.free_units"), push);
    }
}

fn check_tiers(tiers: &[Tier], base: &str, push: &mut impl FnMut(String, String)) {
    if tiers.is_empty() {
        push(
            format!("{base}.tiers"),
            "at least one tier is required, the last one with `\"up_to\": null`".to_string(),
        );
        return;
    }
    // The bound the next tier must exceed: 0 where the first tier starts, then the highest
    // `up_to` so far (so one stray low value is reported once, not again at every later tier).
    let mut bound = Decimal::ZERO;
    let mut bound_at: Option<usize> = None;
    let last = tiers.len() - 1;
    for (i, tier) in tiers.iter().enumerate() {
        let path = format!("{base}.tiers[{i}]");
        match tier.up_to {
            None if i != last => push(
                format!("{path}.up_to"),
                "only the last tier may be unbounded (`\"up_to\": null`): tiers must be sorted \
                 by `up_to`, the unbounded tier last"
                    .to_string(),
            ),
            None => {}
            Some(up_to) => {
                if up_to <= bound {
                    let message = match bound_at {
                        None => format!(
                            "must be greater than 0, where the first tier starts, found {up_to}: \
                             the tier would be empty"
                        ),
                        Some(j) => format!(
                            "must be greater than {bound}, the `up_to` of tiers[{j}], found \
                             {up_to}: the tiers would overlap"
                        ),
                    };
                    push(format!("{path}.up_to"), message);
                } else {
                    bound = up_to;
                    bound_at = Some(i);
                }
                if i == last {
                    push(
                        format!("{path}.up_to"),
                        format!(
                            "the last tier must be unbounded (`\"up_to\": null`): usage above \
                             {bound} would have no price"
                        ),
                    );
                }
            }
        }
        check_not_negative(tier.unit_price, format!("{path}.unit_price"), push);
        if let Some(fee) = tier.flat_fee {
            check_not_negative(fee, format!("{path}.flat_fee"), push);
        }
    }
}
