//! Usage of a month: per tenant, the raw total of every meter.

use crate::config::ValidConfig;
use crate::month::Month;
use std::collections::BTreeMap;

/// Tenant → meter → raw total (requests, bytes or users; see
/// [`Aggregation::raw_unit`](crate::Aggregation::raw_unit)). Every tenant with at least one
/// request in the month is present, with every meter (0 when no request passed its filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub month: Month,
    pub tenants: BTreeMap<String, BTreeMap<String, u64>>,
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
                    None => 0,
                    Some(text) => text.parse::<u64>().map_err(|_| {
                        format!("usage row {i} ({tenant}): `{name}` is `{text}`, not a count")
                    })?,
                };
                meters.insert(name.to_string(), n);
            }
            if tenants.insert(tenant.clone(), meters).is_some() {
                return Err(format!("usage row {i}: tenant `{tenant}` appears twice"));
            }
        }
        Ok(Usage { month, tenants })
    }
}
