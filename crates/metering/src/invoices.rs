//! Invoice files: one JSON document per tenant and a CSV summary per month, byte for byte the
//! same whether the billing Lambda writes them to S3 or `metering-gen bill` to a folder.
//!
//! ```text
//! year=2026/month=10/tenants/acme.json     one line of JSON per tenant
//! year=2026/month=10/summary.csv           one row per tenant
//! ```

use crate::config::ValidConfig;
use crate::meter::Aggregation;
use crate::usage::Usage;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pricing::{Decimal, Invoice, PriceError};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

/// Characters of a tenant id kept as they are in its file name; the rest are percent-encoded
/// (`a/b` → `a%2Fb`, `.` → `%2E`, so that no name is `.` or `..`).
const FILE_NAME: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// One tenant's invoice for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantInvoice {
    pub tenant: String,
    /// `YYYY-MM`.
    pub period: String,
    pub period_start: String,
    pub period_end: String,
    pub plan: String,
    /// Every meter's usage, also those the plan does not charge.
    pub usage: Vec<MeterUsage>,
    #[serde(flatten)]
    pub invoice: Invoice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeterUsage {
    pub meter: String,
    pub aggregation: Aggregation,
    /// The total as measured, in `raw_unit`: a JSON number, written with its exact digits
    /// (an integer except for the `sum` and `max` of event values).
    #[serde(serialize_with = "as_number")]
    pub raw: Decimal,
    pub raw_unit: String,
    /// `raw` in the unit plans price: equal to `raw` except for bytes, which are priced in GB.
    #[serde(serialize_with = "as_string")]
    pub quantity: Decimal,
    pub unit: String,
}

fn as_string<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

fn as_number<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    JsonNumber(*d).serialize(s)
}

/// A decimal that serializes as a JSON number with exactly its digits (`1532.5`, never
/// `1532.4999…`): written as raw JSON text, not through `f64`. For JSON serializers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonNumber(pub Decimal);

impl Serialize for JsonNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.0.normalize().to_string();
        serde_json::value::RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// The invoices of a month: every tenant with usage, and every tenant the catalog gives a
/// plan even without usage (its plan may have a monthly minimum); test tenants (the catalog's
/// `test_tenant_prefixes`) are not invoiced, but named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthInvoices {
    pub invoices: Vec<TenantInvoice>,
    /// Test tenants with usage this month, in name order: measured, not invoiced.
    pub test_tenants: Vec<String>,
}

impl MonthInvoices {
    pub fn price(config: &ValidConfig, usage: &Usage) -> Result<MonthInvoices, PriceError> {
        let month = usage.month;
        let tenants: BTreeSet<&str> = usage
            .tenants
            .keys()
            .map(String::as_str)
            .chain(config.config().pricing.tenants.keys().map(String::as_str))
            .collect();
        let catalog = &config.config().pricing;
        let (test_tenants, tenants): (Vec<&str>, Vec<&str>) =
            tenants.into_iter().partition(|t| catalog.is_test_tenant(t));
        let mut invoices = Vec::new();
        for tenant in tenants {
            let raw = usage.tenants.get(tenant);
            let meter_usage: Vec<MeterUsage> = config
                .meters()
                .map(|(name, meter)| {
                    let n = raw
                        .and_then(|r| r.get(name))
                        .copied()
                        .unwrap_or(Decimal::ZERO);
                    MeterUsage {
                        meter: name.to_string(),
                        aggregation: meter.aggregation,
                        raw: n,
                        raw_unit: meter.raw_unit().to_string(),
                        quantity: meter.quantity(n),
                        unit: meter.billing_unit().to_string(),
                    }
                })
                .collect();
            let quantities: BTreeMap<String, Decimal> = meter_usage
                .iter()
                .map(|u| (u.meter.clone(), u.quantity))
                .collect();
            let (plan_name, plan) = config.catalog().plan_for_tenant(tenant);
            invoices.push(TenantInvoice {
                tenant: tenant.to_string(),
                period: month.to_string(),
                period_start: month.first_date(),
                period_end: month.last_date(),
                plan: plan_name.to_string(),
                usage: meter_usage,
                invoice: pricing::price(plan, &quantities)?,
            });
        }
        Ok(MonthInvoices {
            invoices,
            test_tenants: test_tenants.into_iter().map(str::to_owned).collect(),
        })
    }

    /// Relative path → contents, for the month's folder under the invoices root.
    pub fn files(&self, config: &ValidConfig, usage: &Usage) -> BTreeMap<String, Vec<u8>> {
        let folder = month_folder(usage.month);
        let mut files = BTreeMap::new();
        for invoice in &self.invoices {
            let mut json = serde_json::to_vec(invoice).expect("invoices serialize");
            json.push(b'\n');
            files.insert(
                format!("{folder}/tenants/{}.json", file_stem(&invoice.tenant)),
                json,
            );
        }
        files.insert(format!("{folder}/summary.csv"), self.summary_csv(config));
        files
    }

    fn summary_csv(&self, config: &ValidConfig) -> Vec<u8> {
        let mut out = csv::Writer::from_writer(Vec::new());
        let mut header = vec![
            "tenant".to_string(),
            "period".into(),
            "plan".into(),
            "currency".into(),
        ];
        for (name, meter) in config.meters() {
            header.push(format!(
                "{name}_{}",
                meter.billing_unit().to_ascii_lowercase().replace(' ', "_")
            ));
        }
        header.extend(["subtotal", "minimum_adjustment", "total"].map(String::from));
        out.write_record(&header).expect("writing to memory");
        for invoice in &self.invoices {
            let mut row = vec![
                invoice.tenant.clone(),
                invoice.period.clone(),
                invoice.plan.clone(),
                invoice.invoice.currency.to_string(),
            ];
            row.extend(invoice.usage.iter().map(|u| u.quantity.to_string()));
            row.extend(
                [
                    invoice.invoice.subtotal,
                    invoice.invoice.minimum_adjustment,
                    invoice.invoice.total,
                ]
                .map(|d| d.to_string()),
            );
            out.write_record(&row).expect("writing to memory");
        }
        out.into_inner().expect("writing to memory")
    }
}

/// `year=YYYY/month=MM`: the month's folder, partitioned like the access logs.
pub fn month_folder(month: crate::Month) -> String {
    format!("year={:04}/month={:02}", month.year(), month.month())
}

/// A tenant id as a file name (without `.json`).
pub fn file_stem(tenant: &str) -> String {
    utf8_percent_encode(tenant, FILE_NAME).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("acme-01_x"), "acme-01_x");
        assert_eq!(file_stem("a/b"), "a%2Fb");
        assert_eq!(file_stem(".."), "%2E%2E");
        assert_eq!(file_stem("Zoë"), "Zo%C3%AB");
    }

    #[test]
    fn test_tenants_are_measured_but_not_invoiced() {
        let config: crate::Config = serde_json::from_str(
            r#"{"meters": {"requests": {"aggregation": "count"}},
                "pricing": {"default_plan": "std", "plans": {"std": {"currency": "EUR",
                    "monthly_minimum": "5.00",
                    "charges": {"requests": {"model": "per_unit", "unit_price": "0.01"}}}},
                    "tenants": {"idle": "std"}}}"#,
        )
        .unwrap();
        let config = config.validate().unwrap();
        let month: crate::Month = "2026-10".parse().unwrap();
        let usage = Usage {
            month,
            tenants: [("acme", 7), ("verify-3f9a", 5), ("verify-0b12", 1)]
                .into_iter()
                .map(|(t, n)| {
                    let n = Decimal::from(n);
                    (t.to_owned(), BTreeMap::from([("requests".to_owned(), n)]))
                })
                .collect(),
        };
        let invoices = MonthInvoices::price(&config, &usage).unwrap();
        let invoiced: Vec<&str> = invoices
            .invoices
            .iter()
            .map(|i| i.tenant.as_str())
            .collect();
        assert_eq!(invoiced, ["acme", "idle"]);
        assert_eq!(invoices.test_tenants, ["verify-0b12", "verify-3f9a"]);
        let files = invoices.files(&config, &usage);
        assert!(
            files.keys().all(|k| !k.contains("verify")),
            "{:?}",
            files.keys()
        );
        let summary = String::from_utf8(files["year=2026/month=10/summary.csv"].clone()).unwrap();
        assert!(!summary.contains("verify"), "{summary}");
    }
}
