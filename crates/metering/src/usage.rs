//! Usage of a month: per tenant, the raw total of every meter.

use crate::config::ValidConfig;
use crate::month::Month;
use pricing::Decimal;
use std::collections::BTreeMap;

/// Tenant → meter → raw total, exact (requests, bytes, users, events or the events' unit; see
/// [`Meter::raw_unit`](crate::Meter::raw_unit)). Every tenant with at least one request or
/// usage event in the month is present, with every meter (0 when no record passed its filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub month: Month,
    pub tenants: BTreeMap<String, BTreeMap<String, Decimal>>,
}

impl Usage {
    /// Reads the result of [`usage_query`](crate::usage_query): a header row `tenant, <meter>…`
    /// (meters in name order) and one row per tenant, values as Athena returns them (text;
    /// `None` for NULL, read as 0).
    pub fn from_rows<I>(
        config: &ValidConfig,
        month: Month,
        header: &[String],
        rows: I,
    ) -> Result<Usage, String>
    where
        I: IntoIterator<Item = Vec<Option<String>>>,
    {
        let expected: Vec<&str> = std::iter::once("tenant")
            .chain(config.meters().map(|(n, _)| n))
            .collect();
        if header != expected.as_slice() {
            return Err(format!(
                "usage query columns are {header:?}, expected {expected:?}"
            ));
        }
        let mut tenants = BTreeMap::new();
        for (i, row) in rows.into_iter().enumerate() {
            if row.len() != expected.len() {
                return Err(format!(
                    "usage row {i} has {} values, expected {}",
                    row.len(),
                    expected.len()
                ));
            }
            let tenant = row[0]
                .clone()
                .ok_or_else(|| format!("usage row {i} has no tenant"))?;
            let mut meters = BTreeMap::new();
            for (name, value) in expected[1..].iter().zip(&row[1..]) {
                let n = match value {
                    None => Decimal::ZERO,
                    Some(text) => Decimal::from_str_exact(text)
                        .or_else(|_| Decimal::from_scientific(text))
                        .ok()
                        .filter(|d| !d.is_sign_negative())
                        .ok_or_else(|| {
                            format!("usage row {i} ({tenant}): `{name}` is `{text}`, not an exact total of 0 or more")
                        })?
                        .normalize(),
                };
                meters.insert(name.to_string(), n);
            }
            if tenants.insert(tenant.clone(), meters).is_some() {
                return Err(format!("usage row {i}: tenant `{tenant}` appears twice"));
            }
        }
        Ok(Usage { month, tenants })
    }

    /// Joins the usage of two sources measured apart (the access log and the events): a
    /// tenant of either, each meter from the one that measured it, 0 where neither did.
    pub fn join(config: &ValidConfig, parts: impl IntoIterator<Item = Usage>) -> Usage {
        let mut parts = parts.into_iter().peekable();
        let month = parts.peek().map(|u| u.month).expect("at least one part");
        let mut tenants: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
        for part in parts {
            debug_assert_eq!(part.month, month);
            for (tenant, meters) in part.tenants {
                let row = tenants.entry(tenant).or_insert_with(|| {
                    config
                        .meters()
                        .map(|(name, _)| (name.to_string(), Decimal::ZERO))
                        .collect()
                });
                for (name, value) in meters {
                    if !value.is_zero() {
                        row.insert(name, value);
                    }
                }
            }
        }
        Usage { month, tenants }
    }
}
