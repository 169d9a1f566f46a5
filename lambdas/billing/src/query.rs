//! Running the usage query to its end with the shared runner
//! ([`lambda_support::query::run_query`]: start, poll with backoff, resubmit a retryable
//! failure, stop at the deadline or when its state cannot be read) and reading every page of
//! its results ([`lambda_support::query::read_results`]), the outcome as a [`BillingError`].

use std::convert::Infallible;
use std::time::Duration;

use lambda_support::athena::{Athena, QueryRequest, Rows};
use lambda_support::query::{
    read_results, run_query, Backoff, QueryFailure, QueryJob, QueryPolicy, RunError, Succeeded,
};
use metering::Month;
use tokio::time::Instant;

use crate::error::BillingError;

/// The backoff between GetQueryExecution polls unless [`crate::App::with_backoff`] says
/// otherwise: 500 ms, doubling up to 10 s.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(500),
    factor: 2,
    max: Duration::from_secs(10),
};

/// The usage query of a month: a SELECT, resubmitted as it is, its results where the work
/// group's enforced configuration says.
struct UsageQuery<'a, A> {
    athena: &'a A,
    sql: &'a str,
    work_group: &'a str,
}

impl<A: Athena> QueryJob for UsageQuery<'_, A> {
    type Athena = A;
    type StartError = Infallible;

    fn athena(&self) -> &A {
        self.athena
    }

    fn request(&self) -> QueryRequest<'_> {
        QueryRequest {
            sql: self.sql,
            work_group: self.work_group,
            output_location: None,
        }
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
) -> Result<Succeeded, BillingError> {
    let mut job = UsageQuery {
        athena,
        sql,
        work_group,
    };
    run_query(&mut job, deadline, policy)
        .await
        .map_err(|error| billing_error(month, error))
}

/// The runner's verdict on the usage query of `month` as a [`BillingError`].
fn billing_error(month: Month, error: RunError<Infallible>) -> BillingError {
    match error {
        RunError::DeadlineBeforeStart => BillingError::DeadlineBeforeStart { month },
        RunError::Start(never) => match never {},
        RunError::Failed(failure) => BillingError::Query { month, failure },
    }
}

/// The rows of a finished query, every page read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRows {
    pub header: Vec<String>,
    pub rows: Rows,
    pub pages: u32,
}

/// Every page of GetQueryResults, the header row apart.
pub async fn read_usage<A: Athena>(
    athena: &A,
    month: Month,
    query_execution_id: &str,
) -> Result<QueryRows, BillingError> {
    let failed = |failure| BillingError::Query { month, failure };
    let results = read_results(athena, query_execution_id)
        .await
        .map_err(failed)?;
    let (header, rows) = split_header(results.rows).map_err(|problem| {
        failed(QueryFailure::BadResults {
            query_execution_id: query_execution_id.to_owned(),
            problem,
        })
    })?;
    Ok(QueryRows {
        header,
        rows,
        pages: results.pages,
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
