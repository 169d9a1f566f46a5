//! Reading the answer of the count query ([`crate::sql::count_rows`]), of either source.

use lambda_support::query::QueryResults;
use serde::Serialize;

const ROWS_IN: &str = "rows_in";
const ROWS_OUT: &str = "rows_out";
const ROWS_MALFORMED: &str = "rows_malformed";
const ROWS_OUTSIDE_WINDOWS: &str = "rows_outside_windows";

/// Rows of an hour in the JSON files, and distinct request (or event) ids among them: the rows
/// the Parquet files will hold; and the lines that were no request (not valid JSON, or without
/// a request id) or no event (flagged by the ingestion), which are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_malformed: u64,
    /// Usage events (copies included) whose time no bill reads from the hour's folder: written,
    /// flagged [`crate::sql::OUTSIDE_ANY_WINDOW`]. Always 0 for access logs.
    pub rows_outside_windows: u64,
}

impl RowCounts {
    /// Athena gives a SELECT's column names as its first row; the one row after it holds the
    /// counts.
    pub fn from_results(results: &QueryResults) -> Result<Self, String> {
        let position = |name: &str, default: usize| {
            results
                .columns
                .iter()
                .position(|column| column.eq_ignore_ascii_case(name))
                .unwrap_or(default)
        };
        let (rows_in, rows_out) = (position(ROWS_IN, 0), position(ROWS_OUT, 1));
        let is_header = |row: &Vec<Option<String>>| {
            row.get(rows_in)
                .and_then(Option::as_deref)
                .is_some_and(|value| value.eq_ignore_ascii_case(ROWS_IN))
        };
        let data: Vec<&Vec<Option<String>>> = match results.rows.split_first() {
            Some((first, rest)) if is_header(first) => rest.iter().collect(),
            _ => results.rows.iter().collect(),
        };
        let [row] = data.as_slice() else {
            return Err(format!(
                "expected one row of counts, got {} rows",
                data.len()
            ));
        };
        let number = |index: usize, name: &str| -> Result<u64, String> {
            match row.get(index).and_then(Option::as_deref) {
                Some(value) => value
                    .parse()
                    .map_err(|_| format!("{name} = {value:?} is not a count")),
                None => Err(format!("{name} is missing")),
            }
        };
        // Named only: an answer without the column (an older query text, or the access logs'
        // query for events outside the windows) has none.
        let named = |name: &str| -> Result<u64, String> {
            match results
                .columns
                .iter()
                .position(|column| column.eq_ignore_ascii_case(name))
            {
                Some(index) => number(index, name),
                None => Ok(0),
            }
        };
        Ok(Self {
            rows_in: number(rows_in, ROWS_IN)?,
            rows_out: number(rows_out, ROWS_OUT)?,
            rows_malformed: named(ROWS_MALFORMED)?,
            rows_outside_windows: named(ROWS_OUTSIDE_WINDOWS)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(columns: &[&str], rows: &[&[Option<&str>]]) -> QueryResults {
        QueryResults {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows
                .iter()
                .map(|row| row.iter().map(|v| v.map(str::to_owned)).collect())
                .collect(),
            pages: 1,
        }
    }

    #[test]
    fn reads_the_row_after_the_header() {
        let got = RowCounts::from_results(&results(
            &["rows_in", "rows_out"],
            &[
                &[Some("rows_in"), Some("rows_out")],
                &[Some("120"), Some("118")],
            ],
        ));
        assert_eq!(
            got,
            Ok(RowCounts {
                rows_in: 120,
                rows_out: 118,
                rows_malformed: 0,
                rows_outside_windows: 0,
            })
        );
    }

    #[test]
    fn finds_columns_by_name_and_works_without_a_header_row() {
        let got = RowCounts::from_results(&results(
            &["ROWS_OUT", "rows_in"],
            &[&[Some("7"), Some("9")]],
        ));
        assert_eq!(
            got,
            Ok(RowCounts {
                rows_in: 9,
                rows_out: 7,
                rows_malformed: 0,
                rows_outside_windows: 0,
            })
        );
        let got = RowCounts::from_results(&results(&[], &[&[Some("0"), Some("0")]]));
        assert_eq!(
            got,
            Ok(RowCounts {
                rows_in: 0,
                rows_out: 0,
                rows_malformed: 0,
                rows_outside_windows: 0,
            })
        );
    }

    #[test]
    fn reads_the_malformed_lines_when_the_query_counts_them() {
        let got = RowCounts::from_results(&results(
            &["rows_in", "rows_out", "rows_malformed"],
            &[
                &[Some("rows_in"), Some("rows_out"), Some("rows_malformed")],
                &[Some("120"), Some("118"), Some("2")],
            ],
        ));
        assert_eq!(
            got,
            Ok(RowCounts {
                rows_in: 120,
                rows_out: 118,
                rows_malformed: 2,
                rows_outside_windows: 0,
            })
        );
        let got = RowCounts::from_results(&results(
            &["rows_in", "rows_out", "rows_malformed"],
            &[&[Some("1"), Some("1"), None]],
        ));
        assert_eq!(got, Err("rows_malformed is missing".to_owned()));
    }

    #[test]
    fn reads_the_events_outside_the_windows_by_name() {
        let columns = [
            "rows_in",
            "rows_out",
            "rows_malformed",
            "rows_outside_windows",
        ];
        let got = RowCounts::from_results(&results(
            &columns,
            &[
                &columns.map(Some),
                &[Some("6"), Some("4"), Some("1"), Some("2")],
            ],
        ));
        assert_eq!(
            got,
            Ok(RowCounts {
                rows_in: 6,
                rows_out: 4,
                rows_malformed: 1,
                rows_outside_windows: 2,
            })
        );
        // In any order.
        let got = RowCounts::from_results(&results(
            &["ROWS_OUTSIDE_WINDOWS", "rows_in", "rows_out"],
            &[&[Some("3"), Some("5"), Some("5")]],
        ));
        assert_eq!(got.map(|c| c.rows_outside_windows), Ok(3));
        let got = RowCounts::from_results(&results(
            &columns,
            &[&[Some("1"), Some("1"), Some("0"), Some("x")]],
        ));
        assert_eq!(
            got,
            Err("rows_outside_windows = \"x\" is not a count".to_owned())
        );
    }

    #[test]
    fn anything_else_is_an_error_that_says_what_was_wrong() {
        let cols = ["rows_in", "rows_out"];
        let header: &[Option<&str>] = &[Some("rows_in"), Some("rows_out")];
        let cases: [(QueryResults, &str); 5] = [
            (
                results(&cols, &[]),
                "expected one row of counts, got 0 rows",
            ),
            (
                results(&cols, &[header]),
                "expected one row of counts, got 0 rows",
            ),
            (
                results(
                    &cols,
                    &[header, &[Some("1"), Some("1")], &[Some("2"), Some("2")]],
                ),
                "expected one row of counts, got 2 rows",
            ),
            (
                results(&cols, &[header, &[Some("many"), Some("1")]]),
                "rows_in = \"many\" is not a count",
            ),
            (
                results(&cols, &[header, &[Some("3"), None]]),
                "rows_out is missing",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(RowCounts::from_results(&input), Err(expected.to_owned()));
        }
    }
}
