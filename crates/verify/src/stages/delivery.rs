//! Stage 4: the calls' access-log records reach the JSON folder with the user's tenant and
//! sub, and the JSON table shows them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    records_condition, sdk_error, Calls, Delivered, Finding, Hour, Outcome, Records, TestUser,
};
use crate::Verifier;

/// Objects written this long before the first call may still hold its records (clocks).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// The folder hours that may hold records of requests made from `started` to `now`. Firehose
/// files an object under the arrival hour of its *oldest* record, so a request's record may
/// sit one hour before its own.
pub(crate) fn hours(started: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Hour> {
    let last = Hour::containing(now);
    std::iter::successors(Some(Hour::containing(started).previous()), |h| {
        Some(h.next())
    })
    .take_while(|h| *h <= last)
    .collect()
}

/// The lines of an object: gzip (Firehose's GZIP compression) or plain.
pub(crate) fn lines(body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let text = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(body)
            .read_to_end(&mut out)
            .map_err(|e| format!("not gzip: {e}"))?;
        out
    } else {
        body.to_vec()
    };
    Ok(text
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(<[u8]>::to_vec)
        .collect())
}

/// A record's field as text (`-` and absent as `None`).
fn field(record: &Value, name: &str) -> Option<String> {
    match record.get(name)? {
        Value::String(s) if s == "-" || s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Verifier {
    pub(crate) async fn delivery_stage(&self, user: &TestUser, calls: &Calls) -> Outcome<Records> {
        let timeout = self.options.timeout.unwrap_or(
            Duration::from_secs(self.stack.buffer_interval_seconds) + crate::DELIVERY_MARGIN,
        );
        let wanted: BTreeSet<&str> = calls.calls.iter().map(|c| c.request_id.as_str()).collect();
        let needed: BTreeSet<&str> = calls.authorized().map(|c| c.request_id.as_str()).collect();
        let since = calls.started - CLOCK_SKEW;
        let waited_from = std::time::Instant::now();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut records = Records::new();
        loop {
            for hour in hours(calls.started, Utc::now()) {
                let prefix = format!("{}/{}/", self.stack.json_folder, hour.folder());
                for key in self.new_objects(&prefix, since, &mut seen).await? {
                    self.read_records(&key, hour, &wanted, &mut records).await?;
                }
            }
            if needed.iter().all(|id| records.contains_key(*id)) {
                break;
            }
            let waited = waited_from.elapsed();
            if waited >= timeout {
                return Err(self.not_delivered(&needed, &records, waited, since).await);
            }
            tokio::time::sleep(self.options.poll.min(timeout - waited)).await;
        }
        let waited = waited_from.elapsed();

        let mut problems = Vec::new();
        for call in &calls.calls {
            let Some(delivered) = records.get(&call.request_id) else {
                continue;
            };
            let record: Value = serde_json::from_slice(&delivered.line).unwrap_or(Value::Null);
            let (tenant, sub) = (field(&record, "tenant"), field(&record, "sub"));
            let status = field(&record, "status");
            if call.authorized {
                if tenant.as_deref() != Some(user.tenant.as_str())
                    || sub.as_deref() != Some(user.sub.as_str())
                {
                    problems.push(format!(
                        "record {} has tenant {tenant:?} and sub {sub:?}, not {:?} and {:?}: \
                         does the stage's access-log format name the claim `{}`?",
                        call.request_id, user.tenant, user.sub, self.stack.tenant_claim
                    ));
                }
            } else if tenant.is_some() {
                problems.push(format!(
                    "record {} of the call without a token has tenant {tenant:?}",
                    call.request_id
                ));
            }
            if status.as_deref() != Some(call.status.to_string().as_str()) {
                problems.push(format!(
                    "record {} has status {status:?}, the call got {}",
                    call.request_id, call.status
                ));
            }
        }
        if !problems.is_empty() {
            let mut finding = Finding::new("the records do not say who called");
            finding.details = problems;
            return Err(finding);
        }

        let json_rows = self.json_table_rows(&records).await?;
        let mut missing = Vec::new();
        for call in calls.authorized() {
            match json_rows.get(&call.request_id) {
                Some((tenant, sub)) if tenant == &user.tenant && sub == &user.sub => {}
                Some((tenant, sub)) => missing.push(format!(
                    "{} shows tenant {tenant:?} and sub {sub:?}",
                    call.request_id
                )),
                None => missing.push(format!("{} is not in the table", call.request_id)),
            }
        }
        if !missing.is_empty() {
            let mut finding = Finding::new(format!(
                "the records are in S3 but the JSON table {} does not show them right: do its \
                 location and partition projection match the Firehose prefix?",
                self.stack.json_table
            ));
            finding.details = missing;
            return Err(finding);
        }

        let keys: BTreeSet<&str> = records.values().map(|r| r.key.as_str()).collect();
        let unauthenticated = calls.calls.len() - needed.len();
        let logged_unauthenticated = records.len() - needed.len();
        let finding = Finding::new(format!(
            "{} records in S3 after {:.0} s, tenant and sub as signed in; the JSON table shows them",
            records.len(),
            waited.as_secs_f64()
        ))
        .detail(format!(
            "objects {}",
            keys.into_iter().collect::<Vec<_>>().join(", ")
        ))
        .detail(format!(
            "{logged_unauthenticated} of {unauthenticated} calls without a token logged (as tenant `unassigned`)"
        ));
        Ok((records, finding))
    }

    /// Keys under `prefix` written since `since` and not seen yet.
    pub(crate) async fn new_objects(
        &self,
        prefix: &str,
        since: DateTime<Utc>,
        seen: &mut BTreeSet<String>,
    ) -> Result<Vec<String>, Finding> {
        let bucket = &self.stack.access_log_bucket;
        let mut pages = self
            .aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                Finding::new(format!(
                    "cannot list s3://{bucket}/{prefix}: {}",
                    sdk_error(&e)
                ))
            })?;
            for object in page.contents() {
                let (Some(key), Some(modified)) = (object.key(), object.last_modified()) else {
                    continue;
                };
                let recent =
                    DateTime::<Utc>::from_timestamp(modified.secs(), 0).is_some_and(|t| t >= since);
                if recent && seen.insert(key.to_owned()) {
                    keys.push(key.to_owned());
                }
            }
        }
        Ok(keys)
    }

    /// Adds the records of `wanted` requests that the object `key` holds.
    async fn read_records(
        &self,
        key: &str,
        hour: Hour,
        wanted: &BTreeSet<&str>,
        records: &mut Records,
    ) -> Result<(), Finding> {
        let bucket = &self.stack.access_log_bucket;
        let body = self
            .read_object(bucket, key, &format!("s3://{bucket}/{key}"))
            .await?;
        let lines = lines(&body).map_err(|e| Finding::new(format!("s3://{bucket}/{key}: {e}")))?;
        for line in lines {
            let Ok(record) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let Some(id) = record.get("requestId").and_then(Value::as_str) else {
                continue;
            };
            if wanted.contains(id) && !records.contains_key(id) {
                records.insert(
                    id.to_owned(),
                    Delivered {
                        key: key.to_owned(),
                        hour,
                        line,
                    },
                );
            }
        }
        Ok(())
    }

    /// Why the records did not come: what is missing, and Firehose's error output.
    async fn not_delivered(
        &self,
        needed: &BTreeSet<&str>,
        records: &Records,
        waited: Duration,
        since: DateTime<Utc>,
    ) -> Finding {
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|id| !records.contains_key(*id))
            .collect();
        let errors = {
            let mut seen = BTreeSet::new();
            match self
                .new_objects(&self.stack.error_prefix, since, &mut seen)
                .await
            {
                Ok(keys) => match keys.first() {
                    Some(key) => format!(
                        "Firehose error output: s3://{}/{key} ({} object(s) since the calls)",
                        self.stack.access_log_bucket,
                        keys.len()
                    ),
                    None => format!(
                        "Firehose error output: none under s3://{}/{} since the calls",
                        self.stack.access_log_bucket, self.stack.error_prefix
                    ),
                },
                Err(finding) => format!("Firehose error output: {}", finding.summary),
            }
        };
        let summary = if records.is_empty() {
            format!(
                "no records after {:.0} s: is the stage's access log destination the Firehose \
                 ARN {}? {errors}",
                waited.as_secs_f64(),
                self.stack.firehose_arn
            )
        } else {
            format!(
                "{} of {} records after {:.0} s; the rest may still be buffered (--timeout): \
                 {errors}",
                needed.len() - missing.len(),
                needed.len(),
                waited.as_secs_f64()
            )
        };
        Finding::new(summary).detail(format!("missing request ids {}", missing.join(", ")))
    }

    /// request id → (tenant, sub) as the JSON table shows the records.
    async fn json_table_rows(
        &self,
        records: &Records,
    ) -> Result<BTreeMap<String, (String, String)>, Finding> {
        let sql = format!(
            "SELECT requestid, tenant, sub FROM {} WHERE {}",
            self.stack.json_table,
            records_condition(records)
        );
        let rows = self
            .query(&sql)
            .await
            .map_err(|e| Finding::new(format!("the JSON table query failed: {e}")))?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let mut cells = row.into_iter();
                let id = cells.next()??;
                let tenant = cells.next().flatten().unwrap_or_default();
                let sub = cells.next().flatten().unwrap_or_default();
                Some((id, (tenant, sub)))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn the_hour_before_the_first_call_is_read_too() {
        let hours: Vec<String> = hours(at("2026-12-31T23:58:00Z"), at("2027-01-01T00:04:00Z"))
            .into_iter()
            .map(|h| h.folder())
            .collect();
        assert_eq!(
            hours,
            [
                "year=2026/month=12/day=31/hour=22",
                "year=2026/month=12/day=31/hour=23",
                "year=2027/month=01/day=01/hour=00"
            ]
        );
    }

    #[test]
    fn objects_are_plain_or_gzip() {
        let plain = b"{\"a\": 1}\n{\"a\": 2}\n\n";
        assert_eq!(lines(plain).unwrap().len(), 2);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, plain).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(lines(&gz).unwrap(), lines(plain).unwrap());
    }
}
