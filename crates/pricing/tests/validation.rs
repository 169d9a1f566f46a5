//! Validation: one test per error kind (exact path and message), several errors at once, and
//! what the JSON reader accepts and refuses.

use pricing::{Catalog, Decimal, Plan, PlanError};

const METERS: [&str; 3] = ["requests", "storage_gb", "exports"];

fn catalog(json: &str) -> Catalog {
    serde_json::from_str(json).unwrap()
}

/// The errors of a catalog whose only plan, `standard`, is `plan` (a JSON object).
fn plan_errors(plan: &str) -> Vec<(String, String)> {
    let catalog = catalog(&format!(
        r#"{{"default_plan": "standard", "plans": {{"standard": {plan}}}}}"#
    ));
    pairs(catalog.validate(METERS).unwrap_err())
}

/// The errors of a plan charging `requests` with `charge` (a JSON object).
fn charge_errors(charge: &str) -> Vec<(String, String)> {
    plan_errors(&format!(
        r#"{{"currency": "EUR", "charges": {{"requests": {charge}}}}}"#
    ))
}

fn pairs(errors: Vec<PlanError>) -> Vec<(String, String)> {
    errors.into_iter().map(|e| (e.path, e.message)).collect()
}

fn one(path: &str, message: &str) -> Vec<(String, String)> {
    vec![(path.to_string(), message.to_string())]
}

const STANDARD: &str = r#"{"currency": "EUR", "monthly_minimum": "49.00", "charges": {
    "requests": {"model": "graduated", "tiers": [
        {"up_to": 1000, "unit_price": "0.01"}, {"up_to": null, "unit_price": "0.005"}]}}}"#;

#[test]
fn a_valid_catalog() {
    let catalog = catalog(&format!(
        r#"{{"default_plan": "standard",
            "plans": {{"standard": {STANDARD}, "enterprise": {{"currency": "USD"}}}},
            "tenants": {{"acme": "enterprise"}}}}"#
    ));
    let valid = catalog.validate(METERS).unwrap();
    assert_eq!(valid.plan_for_tenant("acme").0, "enterprise");
    assert_eq!(valid.plan_for_tenant("acme").1.currency().code(), "USD");
    assert_eq!(valid.plan_for_tenant("globex").0, "standard");
    assert_eq!(
        valid.default_plan().1.monthly_minimum().to_string(),
        "49.00"
    );
    assert_eq!(valid.plans().len(), 2);
    assert!(valid.plan("enterprise").is_some() && valid.plan("gold").is_none());
    assert_eq!(valid.catalog(), &catalog);
}

#[test]
fn unknown_currency() {
    assert_eq!(
        plan_errors(r#"{"currency": "EURO"}"#),
        one(
            "plans.standard.currency",
            "unknown ISO 4217 currency code `EURO`"
        )
    );
}

#[test]
fn lower_case_currency_gets_a_hint() {
    assert_eq!(
        plan_errors(r#"{"currency": "eur"}"#),
        one(
            "plans.standard.currency",
            "unknown ISO 4217 currency code `eur`; did you mean `EUR`? (codes are upper case)"
        )
    );
}

#[test]
fn currency_without_a_minor_unit() {
    assert_eq!(
        plan_errors(r#"{"currency": "XAU"}"#),
        one(
            "plans.standard.currency",
            "currency `XAU` has no minor unit in ISO 4217 and cannot be invoiced"
        )
    );
}

#[test]
fn negative_monthly_minimum() {
    assert_eq!(
        plan_errors(r#"{"currency": "EUR", "monthly_minimum": "-1.00"}"#),
        one(
            "plans.standard.monthly_minimum",
            "must not be negative, found -1.00"
        )
    );
}

#[test]
fn monthly_minimum_finer_than_the_minor_unit() {
    assert_eq!(
        plan_errors(r#"{"currency": "EUR", "monthly_minimum": "49.001"}"#),
        one(
            "plans.standard.monthly_minimum",
            "49.001 has more decimals than EUR allows (2)"
        )
    );
    assert_eq!(
        plan_errors(r#"{"currency": "JPY", "monthly_minimum": "10.5"}"#),
        one(
            "plans.standard.monthly_minimum",
            "10.5 has more decimals than JPY allows (0)"
        )
    );
    // Trailing zeros are not decimals.
    let ok = catalog(
        r#"{"default_plan": "p", "plans": {"p": {"currency": "JPY", "monthly_minimum": "10.00"}}}"#,
    );
    assert!(ok.validate(METERS).is_ok());
}

#[test]
fn unknown_meter() {
    assert_eq!(
        plan_errors(
            r#"{"currency": "EUR", "charges": {
                "reqests": {"model": "per_unit", "unit_price": "1"}}}"#
        ),
        one(
            "plans.standard.charges.reqests",
            "unknown meter `reqests`; the meters are `exports`, `requests`, `storage_gb`"
        )
    );
    let catalog = catalog(
        r#"{"default_plan": "p", "plans": {"p": {"currency": "EUR", "charges": {
            "requests": {"model": "per_unit", "unit_price": "1"}}}}}"#,
    );
    assert_eq!(
        pairs(catalog.validate(Vec::<String>::new()).unwrap_err()),
        one(
            "plans.p.charges.requests",
            "unknown meter `requests`: no meters are defined"
        )
    );
}

#[test]
fn negative_unit_price() {
    assert_eq!(
        charge_errors(r#"{"model": "per_unit", "unit_price": "-0.01"}"#),
        one(
            "plans.standard.charges.requests.unit_price",
            "must not be negative, found -0.01"
        )
    );
}

#[test]
fn negative_free_units() {
    assert_eq!(
        charge_errors(r#"{"model": "per_unit", "unit_price": "1", "free_units": -5}"#),
        one(
            "plans.standard.charges.requests.free_units",
            "must not be negative, found -5"
        )
    );
}

#[test]
fn negative_tier_price_and_flat_fee() {
    assert_eq!(
        charge_errors(
            r#"{"model": "volume", "tiers": [
                {"up_to": 10, "unit_price": "1"},
                {"up_to": null, "unit_price": "-1", "flat_fee": "-2.50"}]}"#
        ),
        vec![
            (
                "plans.standard.charges.requests.tiers[1].unit_price".to_string(),
                "must not be negative, found -1".to_string()
            ),
            (
                "plans.standard.charges.requests.tiers[1].flat_fee".to_string(),
                "must not be negative, found -2.50".to_string()
            ),
        ]
    );
}

#[test]
fn negative_package_price() {
    assert_eq!(
        charge_errors(r#"{"model": "package", "package_size": 10, "package_price": "-1"}"#),
        one(
            "plans.standard.charges.requests.package_price",
            "must not be negative, found -1"
        )
    );
}

#[test]
fn zero_or_negative_package_size() {
    assert_eq!(
        charge_errors(r#"{"model": "package", "package_size": 0, "package_price": "1"}"#),
        one(
            "plans.standard.charges.requests.package_size",
            "must be greater than 0, found 0"
        )
    );
    assert_eq!(
        charge_errors(r#"{"model": "package", "package_size": "-0.5", "package_price": "1"}"#),
        one(
            "plans.standard.charges.requests.package_size",
            "must be greater than 0, found -0.5"
        )
    );
}

#[test]
fn empty_tiers() {
    assert_eq!(
        charge_errors(r#"{"model": "graduated", "tiers": []}"#),
        one(
            "plans.standard.charges.requests.tiers",
            "at least one tier is required, the last one with `\"up_to\": null`"
        )
    );
}

#[test]
fn unsorted_tiers() {
    // The unbounded tier is not last.
    assert_eq!(
        charge_errors(
            r#"{"model": "graduated", "tiers": [
                {"up_to": null, "unit_price": "0.01"},
                {"up_to": 1000, "unit_price": "0.02"},
                {"up_to": null, "unit_price": "0.005"}]}"#
        ),
        one(
            "plans.standard.charges.requests.tiers[0].up_to",
            "only the last tier may be unbounded (`\"up_to\": null`): tiers must be sorted by \
             `up_to`, the unbounded tier last"
        )
    );
}

#[test]
fn overlapping_tiers_equal_up_to() {
    assert_eq!(
        charge_errors(
            r#"{"model": "graduated", "tiers": [
                {"up_to": 1000, "unit_price": "0.01"},
                {"up_to": 1000, "unit_price": "0.02"},
                {"up_to": null, "unit_price": "0.005"}]}"#
        ),
        one(
            "plans.standard.charges.requests.tiers[1].up_to",
            "must be greater than 1000, the `up_to` of tiers[0], found 1000: the tiers would \
             overlap"
        )
    );
}

#[test]
fn overlapping_tiers_decreasing_up_to() {
    assert_eq!(
        charge_errors(
            r#"{"model": "volume", "tiers": [
                {"up_to": 1000, "unit_price": "0.01"},
                {"up_to": "2000.5", "unit_price": "0.01"},
                {"up_to": 500, "unit_price": "0.02"},
                {"up_to": null, "unit_price": "0.005"}]}"#
        ),
        one(
            "plans.standard.charges.requests.tiers[2].up_to",
            "must be greater than 2000.5, the `up_to` of tiers[1], found 500: the tiers would \
             overlap"
        )
    );
}

#[test]
fn first_tier_must_end_above_zero() {
    assert_eq!(
        charge_errors(
            r#"{"model": "graduated", "tiers": [
                {"up_to": 0, "unit_price": "0.01"},
                {"up_to": null, "unit_price": "0.005"}]}"#
        ),
        one(
            "plans.standard.charges.requests.tiers[0].up_to",
            "must be greater than 0, where the first tier starts, found 0: the tier would be empty"
        )
    );
}

#[test]
fn gap_after_the_last_tier() {
    assert_eq!(
        charge_errors(
            r#"{"model": "graduated", "tiers": [
                {"up_to": 1000, "unit_price": "0.01"},
                {"up_to": 5000, "unit_price": "0.005"}]}"#
        ),
        one(
            "plans.standard.charges.requests.tiers[1].up_to",
            "the last tier must be unbounded (`\"up_to\": null`): usage above 5000 would have no \
             price"
        )
    );
}

#[test]
fn default_plan_that_does_not_exist() {
    let catalog = catalog(&format!(
        r#"{{"default_plan": "gold", "plans": {{"standard": {STANDARD}, "enterprise": {STANDARD}}}}}"#
    ));
    assert_eq!(
        pairs(catalog.validate(METERS).unwrap_err()),
        one(
            "default_plan",
            "no plan named `gold`; the plans are `enterprise`, `standard`"
        )
    );
    let empty = self::catalog(r#"{"default_plan": "gold", "plans": {}}"#);
    assert_eq!(
        pairs(empty.validate(METERS).unwrap_err()),
        one("default_plan", "no plan named `gold`: `plans` is empty")
    );
}

#[test]
fn tenant_mapped_to_an_unknown_plan() {
    let catalog = catalog(&format!(
        r#"{{"default_plan": "standard", "plans": {{"standard": {STANDARD}}},
            "tenants": {{"acme": "enterprise", "globex": "standard"}}}}"#
    ));
    assert_eq!(
        pairs(catalog.validate(METERS).unwrap_err()),
        one(
            "tenants.acme",
            "no plan named `enterprise`; the plans are `standard`"
        )
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let catalog = catalog(
        r#"{
        "default_plan": "free",
        "plans": {
            "standard": {
                "currency": "EURO",
                "monthly_minimum": "-5",
                "charges": {
                    "requests": {"model": "graduated", "free_units": "-1", "tiers": [
                        {"up_to": null, "unit_price": "0.01"},
                        {"up_to": 100, "unit_price": "0.02"},
                        {"up_to": 100, "unit_price": "-0.03"}]},
                    "exports": {"model": "package", "package_size": 0, "package_price": "1"},
                    "bandwidth": {"model": "per_unit", "unit_price": "0.1"}
                }
            },
            "enterprise": {
                "currency": "JPY",
                "monthly_minimum": "0.5",
                "charges": {"storage_gb": {"model": "volume", "tiers": []}}
            }
        },
        "tenants": {"acme": "enterprise", "initech": "platinum"}
    }"#,
    );
    let expected = [
        (
            "plans.enterprise.monthly_minimum",
            "0.5 has more decimals than JPY allows (0)",
        ),
        (
            "plans.enterprise.charges.storage_gb.tiers",
            "at least one tier is required, the last one with `\"up_to\": null`",
        ),
        (
            "plans.standard.currency",
            "unknown ISO 4217 currency code `EURO`",
        ),
        (
            "plans.standard.monthly_minimum",
            "must not be negative, found -5",
        ),
        (
            "plans.standard.charges.bandwidth",
            "unknown meter `bandwidth`; the meters are `exports`, `requests`, `storage_gb`",
        ),
        (
            "plans.standard.charges.exports.package_size",
            "must be greater than 0, found 0",
        ),
        (
            "plans.standard.charges.requests.tiers[0].up_to",
            "only the last tier may be unbounded (`\"up_to\": null`): tiers must be sorted by \
             `up_to`, the unbounded tier last",
        ),
        (
            "plans.standard.charges.requests.tiers[2].up_to",
            "must be greater than 100, the `up_to` of tiers[1], found 100: the tiers would \
             overlap",
        ),
        (
            "plans.standard.charges.requests.tiers[2].up_to",
            "the last tier must be unbounded (`\"up_to\": null`): usage above 100 would have no \
             price",
        ),
        (
            "plans.standard.charges.requests.tiers[2].unit_price",
            "must not be negative, found -0.03",
        ),
        (
            "plans.standard.charges.requests.free_units",
            "must not be negative, found -1",
        ),
        (
            "default_plan",
            "no plan named `free`; the plans are `enterprise`, `standard`",
        ),
        (
            "tenants.initech",
            "no plan named `platinum`; the plans are `enterprise`, `standard`",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert_eq!(pairs(catalog.validate(METERS).unwrap_err()), expected);
}

#[test]
fn plan_validate_paths_are_relative_to_the_plan() {
    let plan: Plan = serde_json::from_str(
        r#"{"currency": "EUR", "charges": {"requests": {"model": "graduated", "tiers": [
            {"up_to": 10, "unit_price": "1"}]}}}"#,
    )
    .unwrap();
    let errors = plan.validate(["requests"]).unwrap_err();
    assert_eq!(
        pairs(errors.clone()),
        one(
            "charges.requests.tiers[0].up_to",
            "the last tier must be unbounded (`\"up_to\": null`): usage above 10 would have no \
             price"
        )
    );
    assert_eq!(
        errors[0].to_string(),
        "at `charges.requests.tiers[0].up_to`: the last tier must be unbounded \
         (`\"up_to\": null`): usage above 10 would have no price"
    );
}

// --- Reading JSON ---

fn parse_error(json: &str) -> String {
    serde_json::from_str::<Plan>(json).unwrap_err().to_string()
}

#[test]
fn decimals_read_from_strings_and_integers_exactly() {
    let plan: Plan = serde_json::from_str(
        r#"{"currency": "EUR", "monthly_minimum": 49, "charges": {
            "requests": {"model": "per_unit", "unit_price": "0.0000001", "free_units": "-0"}}}"#,
    )
    .unwrap();
    assert_eq!(plan.monthly_minimum, Some(Decimal::from(49)));
    let charge = &plan.charges["requests"];
    match charge {
        pricing::Charge::PerUnit(c) => {
            assert_eq!(c.unit_price.to_string(), "0.0000001");
            // "-0" reads as a plain zero.
            assert_eq!(c.free_units.unwrap().to_string(), "0");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn json_numbers_with_a_fraction_are_refused() {
    let message = parse_error(
        r#"{"currency": "EUR", "charges": {"requests": {"model": "per_unit", "unit_price": 0.1}}}"#,
    );
    assert!(
        message.starts_with(
            "write the number 0.1 as a string, \"0.1\": a JSON number with a fraction or an \
             exponent is read as binary floating point, which is not exact"
        ),
        "{message}"
    );
    let message = parse_error(r#"{"currency": "EUR", "monthly_minimum": 1e3}"#);
    assert!(
        message.starts_with("write the number 1000 as a string"),
        "{message}"
    );
}

#[test]
fn malformed_and_too_precise_decimals_are_refused() {
    let message = parse_error(r#"{"currency": "EUR", "monthly_minimum": "12,50"}"#);
    assert!(
        message.starts_with("`12,50` is not an exact decimal number"),
        "{message}"
    );
    // 30 significant digits: more than a Decimal holds, refused rather than rounded.
    let message =
        parse_error(r#"{"currency": "EUR", "monthly_minimum": "1.23456789012345678901234567890"}"#);
    assert!(
        message.starts_with("`1.23456789012345678901234567890` is not an exact decimal number"),
        "{message}"
    );
}

#[test]
fn unknown_keys_are_refused_everywhere() {
    assert!(parse_error(r#"{"currency": "EUR", "minimum": "1"}"#)
        .starts_with("unknown field `minimum`"));
    assert!(parse_error(
        r#"{"currency": "EUR", "charges": {"r": {"model": "per_unit", "unit_price": "1", "unitprice": "2"}}}"#
    )
    .starts_with("unknown field `unitprice`"));
    assert!(parse_error(
        r#"{"currency": "EUR", "charges": {"r": {"model": "volume", "tiers": [
            {"up_to": null, "unit_price": "1", "flatfee": "2"}]}}}"#
    )
    .starts_with("unknown field `flatfee`"));
    let catalog =
        serde_json::from_str::<Catalog>(r#"{"default_plan": "p", "plans": {}, "tenant": {}}"#);
    assert!(catalog
        .unwrap_err()
        .to_string()
        .starts_with("unknown field `tenant`"));
}

#[test]
fn model_is_required_and_checked() {
    assert!(parse_error(
        r#"{"currency": "EUR", "charges": {"r": {"model": "tiered", "tiers": []}}}"#
    )
    .starts_with(
        "unknown variant `tiered`, expected one of `per_unit`, `graduated`, `volume`, `package`"
    ));
    assert!(
        parse_error(r#"{"currency": "EUR", "charges": {"r": {"unit_price": "1"}}}"#)
            .starts_with("missing field `model`")
    );
}

#[test]
fn up_to_must_be_written_out() {
    assert!(parse_error(
        r#"{"currency": "EUR", "charges": {"r": {"model": "volume", "tiers": [
            {"unit_price": "1"}]}}}"#
    )
    .starts_with("missing field `up_to`"));
}

#[test]
fn reading_from_a_json_value_behaves_the_same() {
    // The generator reads cdk.context.json into a serde_json::Value first.
    let value = serde_json::json!({"currency": "EUR", "monthly_minimum": 49, "charges": {
        "requests": {"model": "graduated", "tiers": [
            {"up_to": 1000, "unit_price": "0.01"}, {"up_to": null, "unit_price": "0.005"}]}}});
    let plan: Plan = serde_json::from_value(value).unwrap();
    assert!(plan.validate(["requests"]).is_ok());
    let value = serde_json::json!({"currency": "EUR", "monthly_minimum": 0.5});
    let message = serde_json::from_value::<Plan>(value)
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("write the number 0.5 as a string"),
        "{message}"
    );
}

#[test]
fn a_key_of_another_model_is_refused() {
    let message = parse_error(
        r#"{"currency": "EUR", "charges": {"r": {"model": "per_unit", "unit_price": "1",
            "tiers": []}}}"#,
    );
    assert!(
        message.starts_with(
            "`tiers` is not a key of the `per_unit` model, whose keys are `model`, \
             `unit_price`, `free_units`"
        ),
        "{message}"
    );
    let message = parse_error(
        r#"{"currency": "EUR", "charges": {"r": {"model": "volume", "tiers": [],
            "package_size": 10}}}"#,
    );
    assert!(
        message.starts_with(
            "`package_size` is not a key of the `volume` model, whose keys are `model`, \
             `tiers`, `free_units`"
        ),
        "{message}"
    );
}

#[test]
fn a_key_the_model_needs_is_required() {
    for (charge, key) in [
        (r#"{"model": "per_unit"}"#, "unit_price"),
        (r#"{"model": "graduated"}"#, "tiers"),
        (r#"{"model": "volume", "free_units": 1}"#, "tiers"),
        (
            r#"{"model": "package", "package_price": "1"}"#,
            "package_size",
        ),
        (
            r#"{"model": "package", "package_size": 1}"#,
            "package_price",
        ),
    ] {
        let message = parse_error(&format!(
            r#"{{"currency": "EUR", "charges": {{"r": {charge}}}}}"#
        ));
        assert!(
            message.starts_with(&format!("missing field `{key}`")),
            "{charge}: {message}"
        );
    }
}

/// The generator reads with serde_path_to_error: a reading error names the key it is about,
/// down inside charges and tiers.
#[test]
fn reading_errors_carry_the_path_of_the_key() {
    let cases = [
        (
            r#"{"default_plan": "s", "plans": {"s": {"currency": "EUR", "charges": {"requests":
                {"model": "graduated", "tiers": [{"up_to": 1, "unit_price": "1"},
                                                 {"up_to": null, "unit_price": 0.5}]}}}}}"#,
            "plans.s.charges.requests.tiers[1].unit_price",
        ),
        (
            r#"{"default_plan": "s", "plans": {"s": {"currency": "EUR", "charges": {"requests":
                {"model": "per_unit", "unit_price": "1", "free_unit": 3}}}}}"#,
            "plans.s.charges.requests.free_unit",
        ),
        (
            r#"{"default_plan": "s", "plans": {"s": {"currency": "EUR", "charges": {"requests":
                {"model": "pro_rata", "unit_price": "1"}}}}}"#,
            "plans.s.charges.requests.model",
        ),
        (
            r#"{"default_plan": "s", "plans": {"s": {"currency": "EUR",
                "monthly_minimum": 0.5}}}"#,
            "plans.s.monthly_minimum",
        ),
    ];
    for (json, path) in cases {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let error = serde_path_to_error::deserialize::<_, Catalog>(value).unwrap_err();
        assert_eq!(error.path().to_string(), path, "{}", error.inner());
    }
}

#[test]
fn test_tenants_default_to_the_verify_prefix_and_are_never_given_a_plan() {
    let c = catalog(r#"{"default_plan": "standard", "plans": {"standard": {"currency": "EUR"}}}"#);
    assert_eq!(c.test_tenant_prefixes, ["verify-"]);
    assert!(c.is_test_tenant("verify-3f9a"));
    assert!(!c.is_test_tenant("acme"));
    assert!(!c.is_test_tenant("averify-x"), "a prefix, not a substring");

    let c = catalog(
        r#"{"default_plan": "standard", "plans": {"standard": {"currency": "EUR"}},
            "tenants": {"verify-1": "standard", "qa-acme": "standard", "acme": "standard"},
            "test_tenant_prefixes": ["qa-", "verify-", ""]}"#,
    );
    assert_eq!(
        pairs(c.validate(METERS).unwrap_err()),
        [
            ("tenants.qa-acme".to_string(), "`qa-acme` is a test tenant (`test_tenant_prefixes`), which is never invoiced: remove it here or change `test_tenant_prefixes`".to_string()),
            ("tenants.verify-1".to_string(), "`verify-1` is a test tenant (`test_tenant_prefixes`), which is never invoiced: remove it here or change `test_tenant_prefixes`".to_string()),
            ("test_tenant_prefixes[2]".to_string(), "must have 1 to 64 characters (an empty prefix would make every tenant a test tenant), not 0".to_string()),
        ]
    );

    // `[]` bills every tenant, verify's too.
    let c = catalog(
        r#"{"default_plan": "standard", "plans": {"standard": {"currency": "EUR"}},
            "tenants": {"verify-1": "standard"}, "test_tenant_prefixes": []}"#,
    );
    assert!(c.validate(METERS).is_ok());
    assert!(!c.is_test_tenant("verify-1"));
}
