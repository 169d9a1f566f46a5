//! Running the usage query to its end (start, poll with backoff, stop at the deadline) and
//! reading every page of its results.

use std::time::Duration;

use metering::Month;
use tokio::time::Instant;

use crate::athena::{Athena, QueryState, QueryStatus};
use crate::error::BillingError;

/// Exponential backoff between GetQueryExecution polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub factor: u32,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            factor: 2,
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    fn next(&self, delay: Duration) -> Duration {
        delay.saturating_mul(self.factor).min(self.max)
    }
}

/// A query that SUCCEEDED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedQuery {
    pub query_execution_id: String,
    /// GetQueryExecution calls made.
    pub polls: u32,
}

/// Athena's reason for a query that did not succeed.
pub fn failure_reason(status: &QueryStatus) -> String {
    let reason = status
        .state_change_reason
        .as_deref()
        .filter(|s| !s.is_empty());
    let message = status.error_message.as_deref().filter(|s| !s.is_empty());
    match (reason, message) {
        (Some(r), Some(m)) if r == m => r.to_owned(),
        (Some(r), Some(m)) => format!("{r} (AthenaError: {m})"),
        (Some(r), None) => r.to_owned(),
        (None, Some(m)) => format!("AthenaError: {m}"),
        (None, None) => "Athena gave no StateChangeReason".to_owned(),
    }
}

/// Starts `sql` in `work_group` and polls it with `backoff` until it SUCCEEDED, FAILED or was
/// CANCELLED, or `deadline` passed (then it is stopped, best effort).
pub async fn run_query<A: Athena>(
    athena: &A,
    month: Month,
    sql: &str,
    work_group: &str,
    deadline: Instant,
    backoff: &Backoff,
) -> Result<FinishedQuery, BillingError> {
    if Instant::now() >= deadline {
        return Err(BillingError::DeadlineBeforeStart { month });
    }
    let id = athena
        .start_query(sql, work_group)
        .await
        .map_err(|error| BillingError::Start { month, error })?;
    let mut delay = backoff.initial;
    let mut polls = 0;
    loop {
        let status = athena
            .query_status(&id)
            .await
            .map_err(|error| BillingError::Status {
                month,
                query_execution_id: id.clone(),
                error,
            })?;
        polls += 1;
        match status.state {
            QueryState::Succeeded => {
                return Ok(FinishedQuery {
                    query_execution_id: id,
                    polls,
                })
            }
            QueryState::Failed | QueryState::Cancelled => {
                return Err(BillingError::QueryEnded {
                    month,
                    query_execution_id: id,
                    reason: failure_reason(&status),
                    state: status.state,
                })
            }
            _ => {}
        }
        let now = Instant::now();
        if now >= deadline {
            let stop = match athena.stop_query(&id).await {
                Ok(()) => "StopQueryExecution requested".to_owned(),
                Err(e) => format!("StopQueryExecution also failed: {e}"),
            };
            return Err(BillingError::Deadline {
                month,
                query_execution_id: id,
                last_state: status.state,
                stop,
            });
        }
        // The last sleep is cut short so the final poll lands on the deadline.
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = backoff.next(delay);
    }
}

/// Rows of query results: `VarCharValue`s, `None` for SQL NULL.
pub type Rows = Vec<Vec<Option<String>>>;

/// The rows of a finished query, every page read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRows {
    pub header: Vec<String>,
    pub rows: Rows,
    pub pages: u32,
}

/// Reads every page of GetQueryResults.
pub async fn read_results<A: Athena>(
    athena: &A,
    month: Month,
    query_execution_id: &str,
) -> Result<QueryRows, BillingError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = athena
            .query_results(query_execution_id, token.as_deref())
            .await
            .map_err(|error| BillingError::GetResults {
                month,
                query_execution_id: query_execution_id.to_owned(),
                error,
            })?;
        pages += 1;
        all.extend(page.rows);
        match page.next_token {
            Some(next) if Some(&next) == token.as_ref() => {
                return Err(BillingError::BadResults {
                    month,
                    query_execution_id: query_execution_id.to_owned(),
                    problem: format!("GetQueryResults returned the same NextToken twice ({next})"),
                })
            }
            Some(next) => token = Some(next),
            None => break,
        }
    }
    let (header, rows) = split_header(all).map_err(|problem| BillingError::BadResults {
        month,
        query_execution_id: query_execution_id.to_owned(),
        problem,
    })?;
    Ok(QueryRows {
        header,
        rows,
        pages,
    })
}

/// The rows of a SELECT as Athena returns them: the first row holds the column names.
pub fn split_header(mut rows: Rows) -> Result<(Vec<String>, Rows), String> {
    if rows.is_empty() {
        return Err("no rows at all, not even the header row of column names".to_owned());
    }
    let header = rows
        .remove(0)
        .into_iter()
        .enumerate()
        .map(|(i, name)| name.ok_or_else(|| format!("header column {} is NULL", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[Option<&str>]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn the_first_row_is_the_header() {
        let (header, rows) = split_header(vec![
            row(&[Some("tenant"), Some("requests")]),
            row(&[Some("acme"), Some("12")]),
            row(&[Some("unassigned"), None]),
        ])
        .unwrap();
        assert_eq!(header, ["tenant", "requests"]);
        assert_eq!(
            rows,
            [
                row(&[Some("acme"), Some("12")]),
                row(&[Some("unassigned"), None])
            ]
        );
        let (header, rows) = split_header(vec![row(&[Some("tenant")])]).unwrap();
        assert_eq!((header.len(), rows.len()), (1, 0), "no tenant had usage");
    }

    #[test]
    fn results_without_a_header_are_refused() {
        assert_eq!(
            split_header(vec![]).unwrap_err(),
            "no rows at all, not even the header row of column names"
        );
        assert_eq!(
            split_header(vec![row(&[Some("tenant"), None])]).unwrap_err(),
            "header column 2 is NULL"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = Backoff::default();
        let mut delay = backoff.initial;
        let mut ms = vec![delay.as_millis()];
        for _ in 0..6 {
            delay = backoff.next(delay);
            ms.push(delay.as_millis());
        }
        assert_eq!(ms, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
    }

    #[test]
    fn failure_reason_combines_reason_and_athena_error() {
        let mut status = QueryStatus {
            state: QueryState::Failed,
            state_change_reason: None,
            error_message: None,
        };
        assert_eq!(failure_reason(&status), "Athena gave no StateChangeReason");
        status.error_message = Some("TABLE_NOT_FOUND".to_owned());
        assert_eq!(failure_reason(&status), "AthenaError: TABLE_NOT_FOUND");
        status.state_change_reason = Some("Query failed".to_owned());
        assert_eq!(
            failure_reason(&status),
            "Query failed (AthenaError: TABLE_NOT_FOUND)"
        );
    }
}
