//! Running the usage query to its end with the shared runner
//! ([`lambda_support::query::run_query`]: start, poll with backoff, resubmit a retryable
//! failure, stop at the deadline or when its state cannot be read) and reading every page of
//! its results.

use std::future::Future;
use std::time::Duration;

use metering::Month;
use tokio::time::Instant;

pub use lambda_support::athena::Rows;
pub use lambda_support::query::{
    failure_reason, Attempt, Backoff, Earlier, QueryPolicy, Resubmit, RunError, DEFAULT_RESUBMIT,
};
use lambda_support::query::{run_query, QueryJob};

use crate::athena::{Athena, StatusDetail};
use crate::error::BillingError;
use crate::sdk::ApiError;

/// The backoff between GetQueryExecution polls unless [`crate::App::with_backoff`] says
/// otherwise: 500 ms, doubling up to 10 s.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(500),
    factor: 2,
    max: Duration::from_secs(10),
};

/// A query that SUCCEEDED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedQuery {
    pub query_execution_id: String,
    /// GetQueryExecution calls made.
    pub polls: u32,
    /// The submissions before it, which failed with a retryable error.
    pub earlier: Earlier,
}

/// The usage query of `month`: a SELECT, resubmitted as it is.
struct UsageQuery<'a, A> {
    athena: &'a A,
    month: Month,
    sql: &'a str,
    work_group: &'a str,
}

impl<A: Athena> QueryJob for UsageQuery<'_, A> {
    type StartError = BillingError;

    async fn start(&mut self, earlier: &[Attempt]) -> Result<String, BillingError> {
        self.athena
            .start_query(self.sql, self.work_group)
            .await
            .map_err(|error| BillingError::Start {
                month: self.month,
                error,
                earlier: Earlier(earlier.to_vec()),
            })
    }

    fn status(
        &self,
        query_execution_id: &str,
    ) -> impl Future<Output = Result<StatusDetail, ApiError>> + Send {
        self.athena.query_status(query_execution_id)
    }

    fn stop(&self, query_execution_id: &str) -> impl Future<Output = Result<(), ApiError>> + Send {
        self.athena.stop_query(query_execution_id)
    }
}

/// Starts `sql` in `work_group` and waits for it with `policy` until it SUCCEEDED, or failed
/// for good (a retryable failure is resubmitted), or `deadline` passed (then it is stopped,
/// best effort, as it is when its state cannot be read).
pub async fn run_query_in<A: Athena>(
    athena: &A,
    month: Month,
    sql: &str,
    work_group: &str,
    deadline: Instant,
    policy: &QueryPolicy,
) -> Result<FinishedQuery, BillingError> {
    let mut job = UsageQuery {
        athena,
        month,
        sql,
        work_group,
    };
    match run_query(&mut job, deadline, policy).await {
        Ok(done) => Ok(FinishedQuery {
            query_execution_id: done.query_execution_id,
            polls: done.polls,
            earlier: done.earlier,
        }),
        Err(RunError::DeadlineBeforeStart) => Err(BillingError::DeadlineBeforeStart { month }),
        Err(RunError::Start(error)) => Err(error),
        Err(RunError::Ended {
            query_execution_id,
            state,
            reason,
            earlier,
        }) => Err(BillingError::QueryEnded {
            month,
            query_execution_id,
            state,
            reason,
            earlier,
        }),
        Err(RunError::Status {
            query_execution_id,
            error,
            stop,
            earlier,
        }) => Err(BillingError::Status {
            month,
            query_execution_id,
            error,
            stop,
            earlier,
        }),
        Err(RunError::Deadline {
            query_execution_id,
            last_state,
            stop,
            earlier,
        }) => Err(BillingError::Deadline {
            month,
            query_execution_id,
            last_state,
            stop,
            earlier,
        }),
    }
}

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
        let backoff = DEFAULT_BACKOFF;
        let mut delay = backoff.initial;
        let mut ms = vec![delay.as_millis()];
        for _ in 0..6 {
            delay = backoff.next(delay);
            ms.push(delay.as_millis());
        }
        assert_eq!(ms, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
    }
}
