//! The S3 writes and deletes that put a month's invoice files in place, worked out without
//! any I/O.
//!
//! Every file is PUT under `<prefix><relative path>`; only then is the month's folder
//! (`<prefix>year=YYYY/month=MM/`) listed and every object in it that is not one of the new
//! files deleted (a tenant without usage any more, a file of an older layout). Running a
//! month again therefore leaves exactly the files of the last run, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use metering::{month_folder, Month};

/// One object to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub key: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// The writes for one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceWrites {
    /// `<prefix>year=YYYY/month=MM/`: everything under it belongs to the month's run.
    pub folder: String,
    /// The tenants' files, in key order.
    pub tenant_files: Vec<Put>,
    /// Files written once every tenant file is in place (the summary), so that a summary is
    /// never newer than the invoices it lists.
    pub last: Vec<Put>,
}

/// The content type of an invoice file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".csv") {
        "text/csv"
    } else {
        "application/octet-stream"
    }
}

impl InvoiceWrites {
    /// `files` are [`MonthInvoices::files`](metering::MonthInvoices::files): relative path →
    /// contents, every path inside the month's folder. `prefix` is empty or ends in `/`.
    pub fn new(
        prefix: &str,
        month: Month,
        files: BTreeMap<String, Vec<u8>>,
    ) -> Result<Self, String> {
        let relative_folder = format!("{}/", month_folder(month));
        let folder = format!("{prefix}{relative_folder}");
        let mut tenant_files = Vec::new();
        let mut last = Vec::new();
        for (path, body) in files {
            if !path.starts_with(&relative_folder) || path.len() == relative_folder.len() {
                return Err(format!(
                    "invoice file {path:?} is outside the month's folder {relative_folder}"
                ));
            }
            let put = Put {
                key: format!("{prefix}{path}"),
                content_type: content_type(&path),
                body,
            };
            if path[relative_folder.len()..].starts_with("tenants/") {
                tenant_files.push(put);
            } else {
                last.push(put);
            }
        }
        Ok(Self {
            folder,
            tenant_files,
            last,
        })
    }

    /// Every object to write.
    pub fn puts(&self) -> impl Iterator<Item = &Put> {
        self.tenant_files.iter().chain(&self.last)
    }

    /// Of `listed` (keys found under [`Self::folder`] after the writes), those to delete:
    /// every key in the folder that is not a file just written. Sorted, without duplicates.
    pub fn stale(&self, listed: impl IntoIterator<Item = String>) -> Vec<String> {
        let written: BTreeSet<&str> = self.puts().map(|put| put.key.as_str()).collect();
        let stale: BTreeSet<String> = listed
            .into_iter()
            .filter(|key| key.starts_with(&self.folder) && !written.contains(key.as_str()))
            .collect();
        stale.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> BTreeMap<String, Vec<u8>> {
        paths
            .iter()
            .map(|p| (p.to_string(), p.as_bytes().to_vec()))
            .collect()
    }

    fn october() -> Month {
        "2026-10".parse().unwrap()
    }

    #[test]
    fn files_go_under_the_prefix_with_their_content_type_summary_last() {
        let writes = InvoiceWrites::new(
            "invoices/",
            october(),
            files(&[
                "year=2026/month=10/summary.csv",
                "year=2026/month=10/tenants/acme.json",
                "year=2026/month=10/tenants/unassigned.json",
            ]),
        )
        .unwrap();
        assert_eq!(writes.folder, "invoices/year=2026/month=10/");
        let puts: Vec<(&str, &str)> = writes
            .puts()
            .map(|p| (p.key.as_str(), p.content_type))
            .collect();
        assert_eq!(
            puts,
            [
                (
                    "invoices/year=2026/month=10/tenants/acme.json",
                    "application/json"
                ),
                (
                    "invoices/year=2026/month=10/tenants/unassigned.json",
                    "application/json"
                ),
                ("invoices/year=2026/month=10/summary.csv", "text/csv"),
            ]
        );
        assert_eq!(
            writes.tenant_files[0].body,
            b"year=2026/month=10/tenants/acme.json"
        );
    }

    #[test]
    fn the_bucket_root_is_a_prefix_too() {
        let writes =
            InvoiceWrites::new("", october(), files(&["year=2026/month=10/summary.csv"])).unwrap();
        assert_eq!(writes.folder, "year=2026/month=10/");
        assert_eq!(writes.last[0].key, "year=2026/month=10/summary.csv");
    }

    #[test]
    fn files_outside_the_month_are_refused() {
        for path in [
            "year=2026/month=09/summary.csv",
            "year=2026/month=10/",
            "summary.csv",
        ] {
            let err = InvoiceWrites::new("invoices/", october(), files(&[path])).unwrap_err();
            assert!(err.contains("outside the month's folder"), "{err}");
        }
    }

    #[test]
    fn stale_keys_are_the_folder_minus_what_was_written() {
        let writes = InvoiceWrites::new(
            "invoices/",
            october(),
            files(&[
                "year=2026/month=10/summary.csv",
                "year=2026/month=10/tenants/acme.json",
            ]),
        )
        .unwrap();
        let listed = [
            "invoices/year=2026/month=10/summary.csv",
            "invoices/year=2026/month=10/tenants/acme.json",
            "invoices/year=2026/month=10/tenants/old.json",
            "invoices/year=2026/month=10/tenants/old.json",
            "invoices/year=2026/month=10/notes.txt",
            // Not in the folder: never touched, even if a listing returned it.
            "invoices/year=2026/month=1/tenants/x.json",
            "invoices/year=2026/month=11/tenants/old.json",
        ]
        .map(String::from);
        assert_eq!(
            writes.stale(listed),
            [
                "invoices/year=2026/month=10/notes.txt",
                "invoices/year=2026/month=10/tenants/old.json"
            ]
        );
        assert!(writes
            .stale(writes.puts().map(|p| p.key.clone()))
            .is_empty());
    }
}
