//! Properties of the engine over generated plans and usage.
//!
//! Every decimal is generated as an integer mantissa and a scale: no float anywhere.

use pricing::{price, Catalog, Charge, Decimal, Package, PerUnit, Plan, Tier, Tiered, ValidPlan};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use std::collections::BTreeMap;

const CURRENCIES: [&str; 6] = ["EUR", "USD", "JPY", "KWD", "BHD", "CLF"];

/// A non-negative decimal `mantissa × 10^-scale`.
fn decimal(max_mantissa: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
    (0..=max_mantissa, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
}

fn price_strategy() -> impl Strategy<Value = Decimal> {
    decimal(100_000, 5)
}

fn quantity() -> impl Strategy<Value = Decimal> {
    decimal(100_000_000, 3)
}

/// Valid tiers: positive increments for the bounded ones, then the unbounded one.
fn tiers() -> impl Strategy<Value = Vec<Tier>> {
    (
        vec(
            (
                decimal(10_000, 2).prop_map(|d| d + Decimal::ONE),
                price_strategy(),
                proptest::option::of(decimal(10_000, 2)),
            ),
            0..4,
        ),
        price_strategy(),
        proptest::option::of(decimal(10_000, 2)),
    )
        .prop_map(|(bounded, last_price, last_fee)| {
            let mut up_to = Decimal::ZERO;
            let mut tiers: Vec<Tier> = bounded
                .into_iter()
                .map(|(step, unit_price, flat_fee)| {
                    up_to += step;
                    Tier {
                        up_to: Some(up_to),
                        unit_price,
                        flat_fee,
                    }
                })
                .collect();
            tiers.push(Tier {
                up_to: None,
                unit_price: last_price,
                flat_fee: last_fee,
            });
            tiers
        })
}

fn free_units() -> impl Strategy<Value = Option<Decimal>> {
    proptest::option::of(decimal(100_000, 2))
}

fn charge() -> impl Strategy<Value = Charge> {
    prop_oneof![
        (price_strategy(), free_units()).prop_map(|(unit_price, free_units)| {
            Charge::PerUnit(PerUnit {
                unit_price,
                free_units,
            })
        }),
        (tiers(), free_units())
            .prop_map(|(tiers, free_units)| Charge::Graduated(Tiered { tiers, free_units })),
        (tiers(), free_units())
            .prop_map(|(tiers, free_units)| Charge::Volume(Tiered { tiers, free_units })),
        (
            decimal(10_000, 2).prop_map(|d| d + Decimal::new(1, 2)),
            price_strategy(),
            free_units()
        )
            .prop_map(|(package_size, package_price, free_units)| {
                Charge::Package(Package {
                    package_size,
                    package_price,
                    free_units,
                })
            }),
    ]
}

const METERS: [&str; 4] = ["requests", "storage_gb", "exports", "events"];

/// A valid plan: a currency with a minor unit, a minimum that fits it, known meters.
fn plan() -> impl Strategy<Value = Plan> {
    (
        proptest::sample::select(&CURRENCIES[..]),
        proptest::option::of(0..=1_000_000i64),
        btree_map(proptest::sample::select(&METERS[..]), charge(), 0..=4),
    )
        .prop_map(|(currency, minimum, charges)| {
            let minor_units = pricing::Currency::from_code(currency)
                .unwrap()
                .minor_units();
            Plan {
                currency: currency.to_string(),
                monthly_minimum: minimum.map(|m| Decimal::new(m, minor_units)),
                charges: charges
                    .into_iter()
                    .map(|(m, c)| (m.to_string(), c))
                    .collect(),
            }
        })
}

fn validate(plan: &Plan) -> ValidPlan {
    plan.validate(METERS).unwrap()
}

fn usage() -> impl Strategy<Value = BTreeMap<String, Decimal>> {
    btree_map(
        proptest::sample::select(&METERS[..]).prop_map(str::to_string),
        quantity(),
        0..=4,
    )
}

fn single(charge: Charge, currency: &str) -> ValidPlan {
    validate(&Plan {
        currency: currency.to_string(),
        monthly_minimum: None,
        charges: BTreeMap::from([("requests".to_string(), charge)]),
    })
}

fn line_amounts(plan: &ValidPlan, quantity: Decimal) -> (Decimal, Decimal) {
    let usage = BTreeMap::from([("requests".to_string(), quantity)]);
    let invoice = price(plan, &usage).unwrap();
    (invoice.lines[0].exact_amount, invoice.lines[0].amount)
}

proptest! {
    #[test]
    fn graduated_never_decreases_as_usage_grows(
        tiers in tiers(),
        free_units in free_units(),
        currency in proptest::sample::select(&CURRENCIES[..]),
        a in quantity(),
        b in quantity(),
    ) {
        let plan = single(Charge::Graduated(Tiered { tiers, free_units }), currency);
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let (low_exact, low_amount) = line_amounts(&plan, low);
        let (high_exact, high_amount) = line_amounts(&plan, high);
        prop_assert!(low_exact <= high_exact, "{low} → {low_exact}, {high} → {high_exact}");
        prop_assert!(low_amount <= high_amount);
    }

    #[test]
    fn volume_and_graduated_agree_inside_the_first_tier(
        tiers in tiers(),
        free_units in free_units(),
        currency in proptest::sample::select(&CURRENCIES[..]),
        numerator in 0..=1000u32,
    ) {
        // A billable quantity from 0 to the first tier's up_to (all of it when unbounded).
        let first = tiers[0].up_to.unwrap_or(Decimal::from(1_000_000));
        let free = free_units.unwrap_or(Decimal::ZERO);
        let quantity = free + first * Decimal::from(numerator) / Decimal::from(1000);
        let graduated = single(
            Charge::Graduated(Tiered { tiers: tiers.clone(), free_units }),
            currency,
        );
        let volume = single(Charge::Volume(Tiered { tiers, free_units }), currency);
        prop_assert_eq!(line_amounts(&graduated, quantity), line_amounts(&volume, quantity));
    }

    #[test]
    fn total_is_never_below_the_monthly_minimum(plan in plan(), usage in usage()) {
        let valid = validate(&plan);
        let invoice = price(&valid, &usage).unwrap();
        let minimum = plan.monthly_minimum.unwrap_or(Decimal::ZERO);
        prop_assert!(invoice.total >= minimum);
        let lines: Decimal = invoice.lines.iter().map(|l| l.amount).sum();
        prop_assert_eq!(invoice.subtotal, lines);
        prop_assert_eq!(invoice.total, invoice.subtotal + invoice.minimum_adjustment);
        prop_assert!(invoice.minimum_adjustment >= Decimal::ZERO);
        if invoice.subtotal >= minimum {
            prop_assert!(invoice.minimum_adjustment.is_zero());
        }
    }

    #[test]
    fn amounts_have_the_currency_decimals(plan in plan(), usage in usage()) {
        let valid = validate(&plan);
        let minor_units = valid.currency().minor_units();
        let invoice = price(&valid, &usage).unwrap();
        prop_assert_eq!(invoice.lines.len(), plan.charges.len());
        for line in &invoice.lines {
            prop_assert_eq!(line.amount.scale(), minor_units);
            // Rounding moves an amount by at most half a minor unit.
            let half = Decimal::new(5, minor_units + 1);
            prop_assert!((line.amount - line.exact_amount).abs() <= half);
        }
        for money in [invoice.subtotal, invoice.minimum_adjustment, invoice.total] {
            prop_assert_eq!(money.scale(), minor_units);
        }
        let json = serde_json::to_value(&invoice).unwrap();
        let total = json["total"].as_str().unwrap();
        let decimals = total.split_once('.').map_or(0, |(_, f)| f.len());
        prop_assert_eq!(decimals as u32, minor_units);
    }

    #[test]
    fn packages_are_the_fewest_that_cover_the_usage(
        size in decimal(10_000, 3).prop_map(|d| d + Decimal::new(1, 3)),
        quantity in quantity(),
    ) {
        let plan = single(
            Charge::Package(Package { package_size: size, package_price: Decimal::ONE, free_units: None }),
            "EUR",
        );
        let usage = BTreeMap::from([("requests".to_string(), quantity)]);
        let invoice = price(&plan, &usage).unwrap();
        let n = invoice.lines[0].packages.unwrap();
        prop_assert_eq!(n, n.trunc());
        prop_assert!(n * size >= quantity);
        prop_assert!(n.is_zero() || (n - Decimal::ONE) * size < quantity);
    }

    #[test]
    fn a_plan_round_trips_through_json(plan in plan()) {
        let json = serde_json::to_string(&plan).unwrap();
        let back: Plan = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &plan);
        // Scales survive too ("0.10" stays "0.10"): the text is the same the second time.
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn a_catalog_round_trips_through_json(
        plans in btree_map("[a-z]{1,8}", plan(), 1..=3),
        tenants in btree_map("[a-z0-9-]{1,12}", "[a-z]{1,8}", 0..=3),
        test_tenant_prefixes in vec("[a-z-]{1,8}", 0..=2),
    ) {
        let default_plan = plans.keys().next().unwrap().clone();
        let catalog = Catalog { default_plan, plans, tenants, test_tenant_prefixes };
        let json = serde_json::to_string_pretty(&catalog).unwrap();
        let back: Catalog = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, catalog);
    }
}
