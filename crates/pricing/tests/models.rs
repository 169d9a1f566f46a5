//! Hand-computed invoices for every charge model, at and around every tier boundary.
//!
//! Decimals are written as strings and parsed exactly: no float literal anywhere.

use pricing::{bytes_to_gb, price, Currency, Decimal, Invoice, Model, Plan, PriceError, ValidPlan};
use std::collections::BTreeMap;

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn plan(json: &str) -> ValidPlan {
    let plan: Plan = serde_json::from_str(json).unwrap();
    let meters: Vec<String> = plan.charges.keys().cloned().collect();
    plan.validate(meters).unwrap()
}

/// A plan charging the single meter `m` with `charge` (a JSON object).
fn one_charge(currency: &str, charge: &str) -> ValidPlan {
    plan(&format!(
        r#"{{"currency": "{currency}", "charges": {{"m": {charge}}}}}"#
    ))
}

fn usage(quantity: &str) -> BTreeMap<String, Decimal> {
    BTreeMap::from([("m".to_string(), d(quantity))])
}

fn invoice(plan: &ValidPlan, quantity: &str) -> Invoice {
    price(plan, &usage(quantity)).unwrap()
}

/// For each `(quantity, exact amount, rounded amount)`, checks the single line.
fn check_line(plan: &ValidPlan, cases: &[(&str, &str, &str)]) {
    for &(quantity, exact, amount) in cases {
        let invoice = invoice(plan, quantity);
        let line = &invoice.lines[0];
        assert_eq!(
            (line.exact_amount.to_string(), line.amount.to_string()),
            (exact.to_string(), amount.to_string()),
            "quantity {quantity}"
        );
    }
}

const TIERS: &str = r#"[
    {"up_to": 1000, "unit_price": "0.10"},
    {"up_to": 2000, "unit_price": "0.05", "flat_fee": "1.00"},
    {"up_to": null, "unit_price": "0.01"}
]"#;

#[test]
fn per_unit() {
    let plan = one_charge("EUR", r#"{"model": "per_unit", "unit_price": "0.01"}"#);
    check_line(
        &plan,
        &[
            ("0", "0.00", "0.00"),
            ("1", "0.01", "0.01"),
            ("999", "9.99", "9.99"),
            ("1000", "10.00", "10.00"),
            ("1000.5", "10.005", "10.00"),
            ("1001", "10.01", "10.01"),
        ],
    );
    let line = &invoice(&plan, "1000.5").lines[0];
    assert_eq!(line.model, Model::PerUnit);
    assert!(line.tiers.is_empty());
    assert_eq!(line.packages, None);
}

#[test]
fn graduated_around_every_boundary() {
    let plan = one_charge(
        "EUR",
        &format!(r#"{{"model": "graduated", "tiers": {TIERS}}}"#),
    );
    check_line(
        &plan,
        &[
            ("0", "0.00", "0.00"),
            ("1", "0.10", "0.10"),
            ("999", "99.90", "99.90"),
            ("1000", "100.00", "100.00"),
            // 100 + 0.5 × 0.05 + 1 (the second tier's flat fee, reached by half a unit)
            ("1000.5", "101.025", "101.02"),
            ("1001", "101.05", "101.05"),
            ("1999", "150.95", "150.95"),
            ("2000", "151.00", "151.00"),
            ("2000.5", "151.005", "151.00"),
            ("2001", "151.01", "151.01"),
            ("10000", "231.00", "231.00"),
        ],
    );
}

/// `(tier index, units, amount)` of a line's breakdown.
fn breakdown(invoice: &Invoice) -> Vec<(usize, String, String)> {
    invoice.lines[0]
        .tiers
        .iter()
        .map(|t| (t.tier, t.units.to_string(), t.amount.to_string()))
        .collect()
}

fn t(tier: usize, units: &str, amount: &str) -> (usize, String, String) {
    (tier, units.to_string(), amount.to_string())
}

#[test]
fn graduated_tier_breakdown() {
    let plan = one_charge(
        "EUR",
        &format!(r#"{{"model": "graduated", "tiers": {TIERS}}}"#),
    );
    assert_eq!(breakdown(&invoice(&plan, "0")), vec![]);
    assert_eq!(
        breakdown(&invoice(&plan, "999")),
        vec![t(0, "999", "99.90")]
    );
    assert_eq!(
        breakdown(&invoice(&plan, "1000")),
        vec![t(0, "1000", "100.00")]
    );
    assert_eq!(
        breakdown(&invoice(&plan, "1000.5")),
        vec![t(0, "1000", "100.00"), t(1, "0.5", "1.025")]
    );
    assert_eq!(
        breakdown(&invoice(&plan, "2001")),
        vec![
            t(0, "1000", "100.00"),
            t(1, "1000", "51.00"),
            t(2, "1", "0.01")
        ]
    );
    let line = &invoice(&plan, "2001").lines[0];
    assert_eq!(line.model, Model::Graduated);
    assert_eq!(line.tiers[1].flat_fee, d("1.00"));
    assert_eq!(line.tiers[1].unit_price, d("0.05"));
    assert_eq!(line.tiers[1].up_to, Some(d("2000")));
    assert_eq!(line.tiers[2].up_to, None);
}

#[test]
fn volume_around_every_boundary() {
    let plan = one_charge(
        "EUR",
        &format!(r#"{{"model": "volume", "tiers": {TIERS}}}"#),
    );
    check_line(
        &plan,
        &[
            ("0", "0.00", "0.00"),
            ("1", "0.10", "0.10"),
            ("999", "99.90", "99.90"),
            ("1000", "100.00", "100.00"),
            // All 1000.5 units at the second tier's 0.05, plus its flat fee.
            ("1000.5", "51.025", "51.02"),
            ("1001", "51.05", "51.05"),
            ("1999", "100.95", "100.95"),
            ("2000", "101.00", "101.00"),
            ("2000.5", "20.005", "20.00"),
            ("2001", "20.01", "20.01"),
            ("10000", "100.00", "100.00"),
        ],
    );
    assert_eq!(breakdown(&invoice(&plan, "0")), vec![]);
    assert_eq!(
        breakdown(&invoice(&plan, "1000")),
        vec![t(0, "1000", "100.00")]
    );
    assert_eq!(
        breakdown(&invoice(&plan, "1001")),
        vec![t(1, "1001", "51.05")]
    );
    assert_eq!(
        breakdown(&invoice(&plan, "2001")),
        vec![t(2, "2001", "20.01")]
    );
}

#[test]
fn package_rounds_partial_packages_up() {
    let plan = one_charge(
        "EUR",
        r#"{"model": "package", "package_size": 100, "package_price": "5.00"}"#,
    );
    for (quantity, packages, amount) in [
        ("0", "0", "0.00"),
        ("0.5", "1", "5.00"),
        ("1", "1", "5.00"),
        ("99", "1", "5.00"),
        ("100", "1", "5.00"),
        ("100.01", "2", "10.00"),
        ("101", "2", "10.00"),
        ("200", "2", "10.00"),
        ("201", "3", "15.00"),
    ] {
        let line = &invoice(&plan, quantity).lines[0];
        assert_eq!(line.model, Model::Package);
        assert_eq!(
            (line.packages.unwrap().to_string(), line.amount.to_string()),
            (packages.to_string(), amount.to_string()),
            "quantity {quantity}"
        );
    }
}

#[test]
fn package_with_fractional_size() {
    let plan = one_charge(
        "USD",
        r#"{"model": "package", "package_size": "0.5", "package_price": "1.25"}"#,
    );
    let line = &invoice(&plan, "1.2").lines[0];
    assert_eq!(line.packages, Some(d("3")));
    assert_eq!(line.amount.to_string(), "3.75");
}

#[test]
fn package_count_is_exact_where_division_rounds() {
    // 7.0000000000000000000000000001 ÷ 7 needs more digits than a Decimal has: the quotient
    // rounds to exactly 1, but the last 10^-28 of a unit still needs a second package.
    let plan = one_charge(
        "EUR",
        r#"{"model": "package", "package_size": 7, "package_price": "1"}"#,
    );
    let quantity = d("7.0000000000000000000000000001");
    assert_eq!(
        (quantity / Decimal::from(7)).ceil(),
        Decimal::ONE,
        "the trap this test is about"
    );
    let line = &invoice(&plan, "7.0000000000000000000000000001").lines[0];
    assert_eq!(line.packages, Some(d("2")));
    assert_eq!(line.amount.to_string(), "2.00");
    let line = &invoice(&plan, "7").lines[0];
    assert_eq!(line.packages, Some(d("1")));
}

#[test]
fn free_units_below_at_and_above_the_allowance() {
    let plan = one_charge(
        "EUR",
        r#"{"model": "per_unit", "unit_price": "1.00", "free_units": 1000}"#,
    );
    for (quantity, applied, billable, amount) in [
        ("0", "0", "0", "0.00"),
        ("999", "999", "0", "0.00"),
        ("1000", "1000", "0", "0.00"),
        ("1000.5", "1000", "0.5", "0.50"),
        ("1500", "1000", "500", "500.00"),
    ] {
        let line = &invoice(&plan, quantity).lines[0];
        assert_eq!(
            (
                line.quantity.to_string(),
                line.free_units_applied.to_string(),
                line.billable_quantity.to_string(),
                line.amount.to_string()
            ),
            (
                quantity.to_string(),
                applied.to_string(),
                billable.to_string(),
                amount.to_string()
            ),
        );
    }
}

#[test]
fn free_units_come_off_before_the_tiers() {
    let graduated = one_charge(
        "EUR",
        r#"{"model": "graduated", "free_units": "100", "tiers": [
            {"up_to": 100, "unit_price": "1"}, {"up_to": null, "unit_price": "0.5"}]}"#,
    );
    // 250 used, 150 billable: 100 × 1 + 50 × 0.5.
    check_line(
        &graduated,
        &[("100", "0.00", "0.00"), ("250", "125.00", "125.00")],
    );
    let volume = one_charge(
        "EUR",
        r#"{"model": "volume", "free_units": "100", "tiers": [
            {"up_to": 100, "unit_price": "1"}, {"up_to": null, "unit_price": "0.5"}]}"#,
    );
    // 150 billable, above 100: all at 0.5.
    check_line(
        &volume,
        &[("250", "75.00", "75.00"), ("200", "100.00", "100.00")],
    );
    let package = one_charge(
        "EUR",
        r#"{"model": "package", "free_units": "10", "package_size": 10, "package_price": "2"}"#,
    );
    let line = &invoice(&package, "21").lines[0];
    assert_eq!(line.billable_quantity, d("11"));
    assert_eq!(line.packages, Some(d("2")));
    assert_eq!(line.amount.to_string(), "4.00");
}

#[test]
fn monthly_minimum_below_at_and_above() {
    let plan = plan(
        r#"{"currency": "EUR", "monthly_minimum": "10.00",
            "charges": {"m": {"model": "per_unit", "unit_price": "1.00"}}}"#,
    );
    for (quantity, subtotal, adjustment, total) in [
        ("0", "0.00", "10.00", "10.00"),
        ("9", "9.00", "1.00", "10.00"),
        ("9.99", "9.99", "0.01", "10.00"),
        // 9.995 rounds (half-even) to 10.00: the minimum compares with the rounded subtotal.
        ("9.995", "10.00", "0.00", "10.00"),
        ("10", "10.00", "0.00", "10.00"),
        ("11", "11.00", "0.00", "11.00"),
    ] {
        let invoice = invoice(&plan, quantity);
        assert_eq!(
            (
                invoice.subtotal.to_string(),
                invoice.minimum_adjustment.to_string(),
                invoice.total.to_string()
            ),
            (subtotal.into(), adjustment.into(), total.into()),
            "quantity {quantity}"
        );
        assert_eq!(invoice.monthly_minimum, Some(d("10.00")));
    }
}

#[test]
fn minimum_written_without_decimals_is_padded() {
    let plan = plan(r#"{"currency": "EUR", "monthly_minimum": 49}"#);
    let invoice = price(&plan, &BTreeMap::new()).unwrap();
    assert_eq!(invoice.monthly_minimum.unwrap().to_string(), "49.00");
    assert_eq!(invoice.total.to_string(), "49.00");
}

#[test]
fn zero_usage_gets_zero_lines_and_still_pays_the_minimum() {
    let plan = plan(
        r#"{"currency": "USD", "monthly_minimum": "25.00", "charges": {
            "requests": {"model": "per_unit", "unit_price": "0.001"},
            "storage_gb": {"model": "graduated", "tiers": [
                {"up_to": 10, "unit_price": "0", "flat_fee": "3.00"},
                {"up_to": null, "unit_price": "0.02"}]},
            "exports": {"model": "package", "package_size": 10, "package_price": "1"}}}"#,
    );
    for usage in [
        BTreeMap::new(),
        BTreeMap::from([
            ("requests".to_string(), Decimal::ZERO),
            ("storage_gb".to_string(), Decimal::ZERO),
            ("exports".to_string(), Decimal::ZERO),
        ]),
        // Usage of a meter the plan does not charge is not billed.
        BTreeMap::from([("uncharged".to_string(), d("5000"))]),
    ] {
        let invoice = price(&plan, &usage).unwrap();
        let lines: Vec<(&str, String, String)> = invoice
            .lines
            .iter()
            .map(|l| {
                (
                    l.meter.as_str(),
                    l.quantity.to_string(),
                    l.amount.to_string(),
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("exports", "0".to_string(), "0.00".to_string()),
                ("requests", "0".to_string(), "0.00".to_string()),
                ("storage_gb", "0".to_string(), "0.00".to_string()),
            ]
        );
        assert!(invoice.lines.iter().all(|l| l.tiers.is_empty()));
        assert_eq!(invoice.subtotal.to_string(), "0.00");
        assert_eq!(invoice.minimum_adjustment.to_string(), "25.00");
        assert_eq!(invoice.total.to_string(), "25.00");
    }
}

#[test]
fn lines_round_half_even_in_two_zero_and_three_decimal_currencies() {
    let cases = [
        ("EUR", "0.125", "0.12"),
        ("EUR", "0.135", "0.14"),
        ("EUR", "0.145", "0.14"),
        ("EUR", "0.126", "0.13"),
        ("EUR", "0.124", "0.12"),
        ("USD", "1.005", "1.00"),
        ("USD", "1.015", "1.02"),
        ("JPY", "2.5", "2"),
        ("JPY", "3.5", "4"),
        ("JPY", "0.5", "0"),
        ("JPY", "1000", "1000"),
        ("JPY", "999.51", "1000"),
        ("KWD", "0.0125", "0.012"),
        ("KWD", "0.0135", "0.014"),
        ("BHD", "1.0005", "1.000"),
        ("BHD", "12.3", "12.300"),
    ];
    for (currency, quantity, amount) in cases {
        let plan = one_charge(currency, r#"{"model": "per_unit", "unit_price": "1"}"#);
        let line = &invoice(&plan, quantity).lines[0];
        assert_eq!(line.amount.to_string(), amount, "{quantity} {currency}");
    }
}

#[test]
fn subtotal_is_the_sum_of_rounded_lines() {
    // Three lines of 0.005 each: rounded separately to 0.00 (half-even), not 0.015 → 0.02.
    let plan = plan(
        r#"{"currency": "EUR", "charges": {
            "a": {"model": "per_unit", "unit_price": "0.005"},
            "b": {"model": "per_unit", "unit_price": "0.005"},
            "c": {"model": "per_unit", "unit_price": "0.005"}}}"#,
    );
    let usage = BTreeMap::from([
        ("a".to_string(), d("1")),
        ("b".to_string(), d("1")),
        ("c".to_string(), d("1")),
    ]);
    let invoice = price(&plan, &usage).unwrap();
    assert_eq!(invoice.subtotal.to_string(), "0.00");
    assert_eq!(invoice.total.to_string(), "0.00");
}

#[test]
fn currency_round() {
    let eur = Currency::from_code("EUR").unwrap();
    let jpy = Currency::from_code("JPY").unwrap();
    let kwd = Currency::from_code("KWD").unwrap();
    assert_eq!(
        (eur.minor_units(), jpy.minor_units(), kwd.minor_units()),
        (2, 0, 3)
    );
    assert_eq!(eur.round(d("12.3")).unwrap().to_string(), "12.30");
    assert_eq!(eur.round(d("-0.001")).unwrap().to_string(), "0.00");
    assert_eq!(jpy.round(d("1000.0")).unwrap().to_string(), "1000");
    assert_eq!(kwd.round(d("0.0125")).unwrap().to_string(), "0.012");
    assert!(eur.fits(d("49.00")) && eur.fits(d("49.0000")) && !eur.fits(d("49.001")));
    assert_eq!(eur.code(), "EUR");
    assert_eq!(eur.to_string(), "EUR");
}

#[test]
fn invoice_json_has_exact_decimal_strings() {
    let plan = plan(
        r#"{"currency": "EUR", "monthly_minimum": "20.00", "charges": {
            "requests": {"model": "graduated", "free_units": 100, "tiers": [
                {"up_to": 1000, "unit_price": "0.01"},
                {"up_to": null, "unit_price": "0.005", "flat_fee": "0.30"}]},
            "exports": {"model": "package", "package_size": 10, "package_price": "1.5"}}}"#,
    );
    let usage = BTreeMap::from([
        ("requests".to_string(), d("1600")),
        ("exports".to_string(), d("25")),
    ]);
    let json = serde_json::to_value(price(&plan, &usage).unwrap()).unwrap();
    let expected = serde_json::json!({
        "currency": "EUR",
        "lines": [
            {
                "meter": "exports",
                "model": "package",
                "quantity": "25",
                "free_units_applied": "0",
                "billable_quantity": "25",
                "packages": "3",
                "exact_amount": "4.50",
                "amount": "4.50"
            },
            {
                "meter": "requests",
                "model": "graduated",
                "quantity": "1600",
                "free_units_applied": "100",
                "billable_quantity": "1500",
                "tiers": [
                    {"tier": 0, "up_to": "1000", "units": "1000", "unit_price": "0.01",
                     "flat_fee": "0", "amount": "10.00"},
                    {"tier": 1, "up_to": null, "units": "500", "unit_price": "0.005",
                     "flat_fee": "0.30", "amount": "2.80"}
                ],
                "exact_amount": "12.80",
                "amount": "12.80"
            }
        ],
        "subtotal": "17.30",
        "monthly_minimum": "20.00",
        "minimum_adjustment": "2.70",
        "total": "20.00"
    });
    assert_eq!(json, expected);

    let jpy = one_charge("JPY", r#"{"model": "per_unit", "unit_price": "10"}"#);
    let json = serde_json::to_value(invoice(&jpy, "100")).unwrap();
    assert_eq!(json["total"], "1000");
    assert_eq!(json["monthly_minimum"], serde_json::Value::Null);
}

#[test]
fn negative_usage_is_refused() {
    let plan = one_charge("EUR", r#"{"model": "per_unit", "unit_price": "1"}"#);
    let err = price(&plan, &usage("-1")).unwrap_err();
    assert_eq!(
        err,
        PriceError::NegativeUsage {
            meter: "m".to_string(),
            quantity: d("-1")
        }
    );
    assert_eq!(err.to_string(), "the usage of meter `m` is negative: -1");
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    let plan = one_charge("EUR", r#"{"model": "per_unit", "unit_price": "1000"}"#);
    let err = price(&plan, &BTreeMap::from([("m".to_string(), Decimal::MAX)])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the amount of meter `m` is too large to compute"
    );
}

#[test]
fn bytes_to_gb_uses_ten_to_the_ninth() {
    assert_eq!(bytes_to_gb(0), Decimal::ZERO);
    assert_eq!(bytes_to_gb(1).to_string(), "0.000000001");
    assert_eq!(bytes_to_gb(999_999_999).to_string(), "0.999999999");
    assert_eq!(bytes_to_gb(1_000_000_000).to_string(), "1");
    assert_eq!(bytes_to_gb(1_073_741_824).to_string(), "1.073741824");
    assert_eq!(bytes_to_gb(u64::MAX).to_string(), "18446744073.709551615");
    assert_eq!(pricing::BYTES_PER_GB, 1_000_000_000);
}
