//! Stage 6: the billing function's preview gives the test tenant the usage its records give
//! under the meters.

use std::collections::BTreeMap;

use metering::{Aggregator, Config, Month, ValidConfig};
use serde_json::json;

use super::{Calls, Finding, Outcome, Records, TestUser};
use crate::outputs::Billing;
use crate::Verifier;

impl Verifier {
    pub(crate) async fn usage_stage(
        &self,
        billing: &Billing,
        user: &TestUser,
        calls: &Calls,
        records: &Records,
    ) -> Outcome<()> {
        let function = billing.function_name.as_str();
        let config = self.metering_config(&billing.config_uri).await?;
        let month = Month::containing(calls.started.timestamp_millis())
            .ok_or_else(|| Finding::new("the calls' time is before 1970"))?;
        let expected = expected_usage(&config, month, records, &user.tenant)?;

        let event = json!({"month": month.to_string(), "preview": true, "tenant": user.tenant});
        let preview = self
            .invoke(function, &event)
            .await
            .map_err(|e| Finding::new(format!("the billing preview failed: {e}")))?;
        if preview["preview"] != json!(true) {
            return Err(Finding::new(format!(
                "the billing function answered {preview} to a preview event: is it older than \
                 this verify? (`make gen && terraform apply`)"
            )));
        }
        // Totals are JSON numbers with exact digits; integers come back exactly.
        let got: BTreeMap<String, String> = preview["usage"][&user.tenant]
            .as_object()
            .map(|meters| {
                meters
                    .iter()
                    .map(|(m, v)| (m.clone(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut lines = Vec::new();
        let mut wrong = Vec::new();
        for (meter, _) in config.meters() {
            let want = expected
                .get(meter)
                .map_or_else(|| "0".to_string(), |d| d.normalize().to_string());
            let have = got.get(meter).cloned().unwrap_or_else(|| "0".to_string());
            lines.push(format!("{meter} {have}"));
            if want != have {
                wrong.push(format!(
                    "{meter}: the preview has {have}, the records give {want}"
                ));
            }
        }
        let not_compacted = preview["hours_not_compacted"]
            .as_array()
            .map_or(0, Vec::len);
        if !wrong.is_empty() {
            let mut finding = Finding::new(format!(
                "the preview of {month} for {} does not match the calls",
                user.tenant
            ));
            finding.details = wrong;
            return Err(finding.detail(format!("preview: {preview}")));
        }
        let invoiced = preview["invoices"]
            .as_array()
            .is_some_and(|invoices| invoices.iter().any(|i| i["tenant"] == json!(user.tenant)));
        let mut finding = Finding::new(format!(
            "the preview of {month} gives {}: {}",
            user.tenant,
            lines.join(", ")
        ))
        .detail(format!(
            "as the {} records give under the meters; {not_compacted} hour(s) of the month not compacted yet",
            records.len()
        ));
        if invoiced {
            return Err(Finding::new(format!(
                "the test tenant {} would be invoiced: `pricing.test_tenant_prefixes` does not \
                 cover `verify-`",
                user.tenant
            )));
        }
        finding = finding.detail("a test tenant: measured, never invoiced");
        Ok(((), finding))
    }

    /// The meters and plans the billing function reads.
    async fn metering_config(&self, uri: &str) -> Result<ValidConfig, Finding> {
        let (bucket, key) = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(|| {
                Finding::new(format!(
                    "the metering config URI {uri:?} is not s3://bucket/key"
                ))
            })?;
        let bytes = self
            .read_object(bucket, key, &format!("the metering config {uri}"))
            .await?;
        let config: Config = serde_json::from_slice(&bytes)
            .map_err(|e| Finding::new(format!("the metering config {uri}: {e}")))?;
        config.validate().map_err(|errors| {
            let mut finding = Finding::new(format!("the metering config {uri} is invalid"));
            finding.details = errors
                .into_iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect();
            finding
        })
    }
}

/// The usage `tenant`'s records give in `month`, meter by meter, as billing measures it.
fn expected_usage(
    config: &ValidConfig,
    month: Month,
    records: &Records,
    tenant: &str,
) -> Result<BTreeMap<String, metering::pricing::Decimal>, Finding> {
    let mut aggregator = Aggregator::new(config, month);
    for (id, record) in records {
        aggregator
            .add_line(&record.line)
            .map_err(|e| Finding::new(format!("the record of {id} is not billable: {e}")))?;
    }
    let (usage, _) = aggregator
        .finish()
        .map_err(|e| Finding::new(format!("measuring the records: {e}")))?;
    Ok(usage.tenants.get(tenant).cloned().unwrap_or_default())
}

/// The summary of a usage stage that found no billing function.
pub(crate) const SKIPPED_WITHOUT_BILLING: &str =
    "billing is not deployed (no billing_function_name output)";
