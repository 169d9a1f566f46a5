//! Stage 7: usage events sent to the usage-events stream reach the events folder as canonical
//! lines, and the events compaction puts each in the events' Parquet table once, with its
//! exact value.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use metering::pricing::Decimal;
use serde_json::{json, Value};

use super::delivery::{hours, lines};
use super::{plain_id, Finding, Hour, Outcome, TestUser};
use crate::outputs::{EventsLayout, UsageEvents};
use crate::Verifier;

/// The `type` of the events `verify` sends (no meter should count it).
pub const EVENT_TYPE: &str = "verify.event";

/// The summary of an events stage on a stack without the usage-events stream.
pub(crate) const SKIPPED_WITHOUT_EVENTS: &str =
    "usage events are not deployed (no usage_events_stream_name output)";

/// Objects written this long before the events were sent may still hold them (clocks).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// An SDK error's text without the debug dump `DisplayErrorContext` ends with.
fn without_debug(text: &str) -> &str {
    [
        " (ServiceError(",
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ConstructionFailure(",
    ]
    .iter()
    .filter_map(|marker| text.find(marker))
    .min()
    .map_or(text, |end| &text[..end])
}

/// One event sent: its id, exact value and the line the stream should deliver for it.
struct Sent {
    id: String,
    value: Decimal,
    /// `metering::normalise` of what was sent, as JSON.
    canonical: Value,
}

/// One line of the events folder holding an event sent.
struct Found {
    key: String,
    hour: Hour,
    line: Vec<u8>,
}

impl Verifier {
    pub(crate) async fn events_stage(&self, events: &UsageEvents, user: &TestUser) -> Outcome<()> {
        let Some(layout) = &events.layout else {
            return Err(Finding::new(
                "the outputs have `usage_events_stream_name` but no `verify.usage_events` (the \
                 events' folder, error folder and buffer interval): the tree was generated \
                 before verify's events stage; run `make gen` and `terraform apply`",
            ));
        };
        let stream = &events.stream_name;
        let timeout = self.options.timeout.unwrap_or(
            Duration::from_secs(layout.buffer_interval_seconds) + crate::DELIVERY_MARGIN,
        );

        // Two events of the test tenant; the first sent again, as a retried batch would.
        let values = ["1.5", "1234567.123456789"];
        let mut sent = Vec::new();
        let mut bodies = Vec::new();
        for value in values {
            let id = crate::send::random_id();
            let event = json!({
                "id": id,
                "tenant": user.tenant,
                "type": EVENT_TYPE,
                "time": crate::send::now(),
                "value": value,
                "properties": {"sent_by": "metering-gen verify"},
            });
            let body = event.to_string().into_bytes();
            let canonical =
                serde_json::from_slice(&metering::normalise(&body)).expect("normalise writes JSON");
            sent.push(Sent {
                id,
                value: value.parse().expect("a decimal"),
                canonical,
            });
            bodies.push(body);
        }
        let started = Utc::now();
        let firehose = &self.aws.firehose;
        let sending = async {
            crate::send::send_events(firehose, stream, &bodies).await?;
            crate::send::send_events(firehose, stream, &bodies[..1]).await
        };
        sending.await.map_err(|e| {
            Finding::new(format!(
                "could not send the events: {}: may the caller (like the backend's role, with \
                 the policy of `usage_events_writer_policy_arn`) put records to {stream}?",
                without_debug(&e.to_string())
            ))
        })?;

        let waited_from = std::time::Instant::now();
        let since = started - CLOCK_SKEW;
        let wanted: BTreeSet<&str> = sent.iter().map(|s| s.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        let mut found: BTreeMap<String, Vec<Found>> = BTreeMap::new();
        loop {
            for hour in hours(started, Utc::now()) {
                let prefix = format!("{}/{}/", layout.folder, hour.folder());
                for key in self.new_objects(&prefix, since, &mut seen).await? {
                    self.read_events(&key, hour, &wanted, &mut found).await?;
                }
            }
            if wanted.iter().all(|id| found.contains_key(*id)) {
                break;
            }
            let waited = waited_from.elapsed();
            if waited >= timeout {
                return Err(self
                    .events_not_delivered(layout, &wanted, &found, waited, since)
                    .await);
            }
            tokio::time::sleep(self.options.poll.min(timeout - waited)).await;
        }
        let waited = waited_from.elapsed();

        let mut wrong = Vec::new();
        for event in &sent {
            for copy in &found[&event.id] {
                let line: Value = serde_json::from_slice(&copy.line).unwrap_or(Value::Null);
                if line != event.canonical {
                    wrong.push(format!(
                        "s3://{}/{}: {} (the canonical form is {})",
                        self.stack.access_log_bucket,
                        copy.key,
                        String::from_utf8_lossy(&copy.line),
                        event.canonical
                    ));
                }
            }
        }
        if !wrong.is_empty() {
            let mut finding = Finding::new(
                "the events are in the events folder but not in canonical form: does the \
                 stream transform them with the usage-events function of this version?",
            );
            finding.details = wrong;
            return Err(finding);
        }

        let hours: BTreeSet<Hour> = found.values().flatten().map(|f| f.hour).collect();
        let function = &events.compaction_function_name;
        for hour in &hours {
            self.compact(function, *hour).await.map_err(|e| {
                Finding::new(format!("the events compaction of {hour} failed: {e}"))
            })?;
        }
        let rows = self.event_rows(events, &hours, &wanted).await?;
        let mut problems = Vec::new();
        for event in &sent {
            let id = &event.id;
            match rows.get(id).map(Vec::as_slice).unwrap_or_default() {
                [] => problems.push(format!("{id} is not in the Parquet table")),
                [(value, problem)] => {
                    let exact = value
                        .as_deref()
                        .and_then(|v| v.parse::<Decimal>().ok())
                        .is_some_and(|v| v == event.value);
                    if !exact {
                        problems.push(format!(
                            "{id} has the value {value:?} in the Parquet table, not {}",
                            event.value
                        ));
                    }
                    if let Some(problem) = problem {
                        problems.push(format!("{id} has the problem {problem:?}"));
                    }
                }
                more => problems.push(format!("{id} is in the Parquet table {} times", more.len())),
            }
        }
        if !problems.is_empty() {
            let mut finding = Finding::new(format!(
                "the Parquet table {} does not hold each event once with its value after the \
                 compaction",
                events.parquet_table
            ));
            finding.details = problems;
            return Err(finding);
        }

        let copies: usize = found.values().map(Vec::len).sum();
        let keys: BTreeSet<&str> = found.values().flatten().map(|f| f.key.as_str()).collect();
        let hours: Vec<String> = hours.iter().map(Hour::to_string).collect();
        let finding = Finding::new(format!(
            "{} events (one sent twice) in {}/ after {:.0} s as canonical lines; compacted {}: \
             the Parquet table holds each once with its exact value",
            sent.len(),
            layout.folder,
            waited.as_secs_f64(),
            hours.join(", ")
        ))
        .detail(format!(
            "ids {} of tenant {}, {copies} line(s) in the folder",
            sent.iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            user.tenant
        ))
        .detail(format!(
            "objects {}",
            keys.into_iter().collect::<Vec<_>>().join(", ")
        ));
        Ok(((), finding))
    }

    /// Adds the lines of `wanted` events that the object `key` holds; a line the usage-events
    /// function flagged that holds one of them fails the stage with its problem.
    async fn read_events(
        &self,
        key: &str,
        hour: Hour,
        wanted: &BTreeSet<&str>,
        found: &mut BTreeMap<String, Vec<Found>>,
    ) -> Result<(), Finding> {
        let bucket = &self.stack.access_log_bucket;
        let body = self
            .read_object(bucket, key, &format!("s3://{bucket}/{key}"))
            .await?;
        let lines = lines(&body).map_err(|e| Finding::new(format!("s3://{bucket}/{key}: {e}")))?;
        for line in lines {
            let Ok(event) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if let Some(id) = event.get("id").and_then(Value::as_str) {
                if wanted.contains(id) {
                    found.entry(id.to_owned()).or_default().push(Found {
                        key: key.to_owned(),
                        hour,
                        line,
                    });
                }
            } else if let (Some(problem), Some(record)) = (
                event.get("problem").and_then(Value::as_str),
                event.get("record").and_then(Value::as_str),
            ) {
                if let Some(id) = wanted.iter().find(|id| record.contains(*id)) {
                    return Err(Finding::new(format!(
                        "the usage-events function flagged the event {id}: {problem}"
                    ))
                    .detail(format!(
                        "s3://{bucket}/{key}: {}",
                        String::from_utf8_lossy(&line)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Why the events did not come: which are missing, and the stream's error output.
    async fn events_not_delivered(
        &self,
        layout: &EventsLayout,
        wanted: &BTreeSet<&str>,
        found: &BTreeMap<String, Vec<Found>>,
        waited: Duration,
        since: DateTime<Utc>,
    ) -> Finding {
        let bucket = &self.stack.access_log_bucket;
        let missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|id| !found.contains_key(*id))
            .collect();
        let mut seen = BTreeSet::new();
        let errors = match self
            .new_objects(&layout.error_prefix, since, &mut seen)
            .await
        {
            Ok(keys) => match keys.first() {
                Some(key) => format!(
                    "Firehose error output: s3://{bucket}/{key} ({} object(s) since the events \
                     were sent)",
                    keys.len()
                ),
                None => format!(
                    "Firehose error output: none under s3://{bucket}/{} since the events were sent",
                    layout.error_prefix
                ),
            },
            Err(finding) => format!("Firehose error output: {}", finding.summary),
        };
        let summary = if found.is_empty() {
            format!(
                "no events in s3://{bucket}/{}/ after {:.0} s, though the stream accepted them: \
                 does the usage-events function run, and may the stream's role write to the \
                 bucket (and use its key)? {errors}",
                layout.folder,
                waited.as_secs_f64()
            )
        } else {
            format!(
                "{} of {} events in s3://{bucket}/{}/ after {:.0} s; the rest may still be \
                 buffered (--timeout): {errors}",
                wanted.len() - missing.len(),
                wanted.len(),
                layout.folder,
                waited.as_secs_f64()
            )
        };
        Finding::new(summary).detail(format!("missing event ids {}", missing.join(", ")))
    }

    /// id → (value as text, problem) of each row of the events' Parquet table in `hours`.
    async fn event_rows(
        &self,
        events: &UsageEvents,
        hours: &BTreeSet<Hour>,
        ids: &BTreeSet<&str>,
    ) -> Result<BTreeMap<String, Vec<(Option<String>, Option<String>)>>, Finding> {
        debug_assert!(ids.iter().all(|id| plain_id(id)));
        let hours: Vec<String> = hours.iter().map(|h| h.predicate()).collect();
        let ids: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
        let sql = format!(
            "SELECT id, CAST(value AS varchar), problem FROM {} WHERE ({}) AND id IN ({})",
            events.parquet_table,
            hours.join(" OR "),
            ids.join(", ")
        );
        let rows = self
            .query(&sql)
            .await
            .map_err(|e| Finding::new(format!("the events' Parquet table query failed: {e}")))?;
        let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for row in rows {
            let mut cells = row.into_iter();
            let Some(Some(id)) = cells.next() else {
                continue;
            };
            let value = cells.next().flatten();
            let problem = cells.next().flatten();
            out.entry(id).or_default().push((value, problem));
        }
        Ok(out)
    }
}
