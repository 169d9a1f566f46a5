//! `bill` and `usage`: the billing Lambda's work over log files on disk, with the same meters,
//! de-duplication, month bucketing, pricing and invoice files (the `metering` crate).

use super::logs::{self, ReadReport};
use crate::diagnostic::Diagnostics;
use crate::{context, Error};
use anyhow::Context as _;
use metering::{Aggregator, FolderHour, Month, MonthInvoices, Source, Usage, ValidConfig, Window};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The meters and plans of a context file.
pub fn load_config(context_path: &Path) -> Result<ValidConfig, Error> {
    let ctx = context::load(context_path).map_err(Error::Input)?;
    crate::model::metering::billing_config(&ctx).map_err(Error::Input)
}

/// Where the records of a month are: the access-log folder and the usage-event folder.
#[derive(Debug, Clone, Copy)]
pub struct Folders<'a> {
    pub logs: Option<&'a Path>,
    pub events: Option<&'a Path>,
}

/// Reads the records of `month` under each folder the meters need, on as many threads as
/// the machine offers, and joins their usage. A source that a meter reads must have its
/// folder (refused as bad input, naming the meters); a folder that no meter reads is not read.
pub fn measure(
    config: &ValidConfig,
    folders: Folders<'_>,
    month: Month,
) -> Result<(Usage, Vec<ReadReport>), Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut parts = Vec::new();
    let mut reports = Vec::new();
    for (source, folder, flag) in [
        (Source::AccessLog, folders.logs, "--logs"),
        (Source::Events, folders.events, "--events"),
    ] {
        if !config.reads(source) {
            continue;
        }
        let Some(folder) = folder else {
            let meters: Vec<&str> = config
                .meters()
                .filter(|(_, m)| m.source == source)
                .map(|(name, _)| name)
                .collect();
            return Err(Error::Input(Diagnostics(vec![
                crate::diagnostic::Diagnostic {
                    file: flag.to_string(),
                    place: crate::diagnostic::Place::File,
                    message: format!(
                        "the meters {} read the {} source: give its folder with {flag} DIR",
                        meters.join(", "),
                        source.name()
                    ),
                },
            ])));
        };
        let aggregator = Aggregator::of(config, month, source).with_threads(threads);
        let (usage, report) = logs::read(folder, aggregator)?;
        parts.push(usage);
        reports.push(report);
    }
    Ok((Usage::join(config, parts), reports))
}

/// What writing the invoice files changed.
#[derive(Debug, Default)]
pub struct Written {
    pub written: Vec<PathBuf>,
    /// Files of the month's folder that a previous run wrote and this one did not.
    pub deleted: Vec<PathBuf>,
}

/// Writes the month's invoice files under `out` (each file replaced atomically) and deletes
/// the month's files that are no longer part of it, as the billing Lambda does in S3: a
/// re-run leaves exactly the files of the latest run.
pub fn write_invoices(
    out: &Path,
    month: Month,
    files: &BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<Written> {
    let mut result = Written::default();
    for (relative, bytes) in files {
        let path = out.join(relative);
        let dir = path.parent().expect("invoice files are in folders");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("writing in {}", dir.display()))?;
        std::io::Write::write_all(&mut tmp, bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        tmp.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        result.written.push(path);
    }
    let keep: BTreeSet<PathBuf> = result.written.iter().cloned().collect();
    let folder = out.join(metering::month_folder(month));
    for entry in walkdir::WalkDir::new(&folder).sort_by_file_name() {
        let entry = entry.with_context(|| format!("listing {}", folder.display()))?;
        if entry.file_type().is_file() && !keep.contains(entry.path()) {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("deleting {}", entry.path().display()))?;
            result.deleted.push(entry.path().to_path_buf());
        }
    }
    Ok(result)
}

/// Runs of hours without files shown by [`describe_reading`]; the rest are counted.
pub const SHOWN_GAPS: usize = 5;

/// What was read, for the terminal: counts, the window's folders and the hours without files,
/// then malformed lines with file and line.
pub fn describe_reading(report: &ReadReport) -> String {
    let c = &report.counts;
    let (prefix, noun) = match report.source {
        Source::AccessLog => ("", "requests"),
        Source::Events => ("usage events: ", "events"),
    };
    let mut out = format!(
        "{prefix}read {} files, {} lines ({} bytes): {} records, {} duplicates counted once, {} outside the month, {} {noun} billed\n",
        report.files_read, report.lines, report.bytes, c.records, c.duplicates, c.outside_month, c.billed
    );
    if let Some(window) = report.window {
        out.push_str(&describe_window(window, &report.hours_with_files));
    }
    if report.files_outside_window > 0 {
        let _ = writeln!(
            out,
            "skipped {} files of hours outside the month's window",
            report.files_outside_window
        );
    }
    if !report.files_not_in_layout.is_empty() {
        let _ = writeln!(
            out,
            "ignored {} files outside the year=/month=/day=/hour= layout, e.g. {}",
            report.files_not_in_layout.len(),
            report.files_not_in_layout[0].display()
        );
    }
    out
}

/// The folders the month's window reads (the previous month's last hour to the next month's
/// last late-arrival hour), how many of those hours have files, and the runs of hours that
/// have none: `2026-10-03T04..2026-10-03T06` (first and last, inclusive), at most
/// [`SHOWN_GAPS`] of them.
pub fn describe_window(window: Window, hours_with_files: &BTreeSet<FolderHour>) -> String {
    let mut gaps: Vec<(FolderHour, FolderHour)> = Vec::new();
    let (mut hours, mut without) = (0u64, 0u64);
    let mut previous_had_files = true;
    for hour in window.folders() {
        hours += 1;
        let has_files = hours_with_files.contains(&hour);
        if !has_files {
            without += 1;
            match gaps.last_mut() {
                Some((_, last)) if !previous_had_files => *last = hour,
                _ => gaps.push((hour, hour)),
            }
        }
        previous_had_files = has_files;
    }
    let mut out = format!(
        "window {}..{} ({hours} hours: {}'s last, {}, {}'s first {}): {} hours with files, {without} without\n",
        window.first_folder(),
        window.last_folder(),
        window.month.previous(),
        window.month,
        window.month.next(),
        window.late_arrival_hours,
        hours - without,
    );
    if gaps.is_empty() {
        return out;
    }
    let shown: Vec<String> = gaps
        .iter()
        .take(SHOWN_GAPS)
        .map(|(first, last)| {
            if first == last {
                first.to_string()
            } else {
                format!("{first}..{last}")
            }
        })
        .collect();
    let _ = write!(out, "  hours without files: {}", shown.join(", "));
    if gaps.len() > SHOWN_GAPS {
        let _ = write!(out, ", and {} more ranges", gaps.len() - SHOWN_GAPS);
    }
    out.push('\n');
    out
}

/// Malformed lines, one per line of text, as `file:line: reason`.
pub fn describe_malformed(report: &ReadReport) -> String {
    let mut out = String::new();
    if report.malformed == 0 {
        return out;
    }
    let what = match report.source {
        Source::AccessLog => "malformed lines",
        Source::Events => "bad usage events",
    };
    let _ = writeln!(out, "{} {what} (not billed):", report.malformed);
    for m in &report.malformed_shown {
        let _ = writeln!(out, "  {}:{}: {}", m.file.display(), m.line, m.reason);
    }
    if report.malformed > report.malformed_shown.len() as u64 {
        let _ = writeln!(
            out,
            "  … and {} more",
            report.malformed - report.malformed_shown.len() as u64
        );
    }
    out
}

/// Usage per tenant and meter, in billing units, as an aligned text table.
pub fn usage_table(config: &ValidConfig, usage: &Usage) -> String {
    let mut header = vec!["tenant".to_string()];
    header.extend(
        config
            .meters()
            .map(|(name, m)| format!("{name} ({})", m.billing_unit())),
    );
    let mut rows = vec![header];
    for (tenant, meters) in &usage.tenants {
        let mut row = vec![tenant.clone()];
        row.extend(config.meters().map(|(name, m)| {
            m.quantity(meters.get(name).copied().unwrap_or_default())
                .to_string()
        }));
        rows.push(row);
    }
    table(&rows)
}

/// Each tenant's plan and amounts, as an aligned text table.
pub fn invoice_table(invoices: &MonthInvoices) -> String {
    let mut rows = vec![[
        "tenant",
        "plan",
        "currency",
        "subtotal",
        "minimum adj.",
        "total",
    ]
    .map(String::from)
    .to_vec()];
    for i in &invoices.invoices {
        rows.push(vec![
            i.tenant.clone(),
            i.plan.clone(),
            i.invoice.currency.to_string(),
            i.invoice.subtotal.to_string(),
            i.invoice.minimum_adjustment.to_string(),
            i.invoice.total.to_string(),
        ]);
    }
    let mut out = table(&rows);
    if !invoices.test_tenants.is_empty() {
        out.push_str(&format!(
            "{} test tenant(s) not invoiced (pricing.test_tenant_prefixes): {}\n",
            invoices.test_tenants.len(),
            invoices.test_tenants.join(", ")
        ));
    }
    out
}

/// Left-aligned first column, right-aligned numbers.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                if i == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// Malformed lines and bad events fail a `--strict` run, as bad input.
pub fn strict_failure(report: &ReadReport, folder: &Path) -> Error {
    Error::Input(Diagnostics(vec![crate::diagnostic::Diagnostic {
        file: folder.display().to_string(),
        place: crate::diagnostic::Place::File,
        message: format!(
            "{} {} (--strict):\n{}",
            report.malformed,
            match report.source {
                Source::AccessLog => "malformed lines",
                Source::Events => "bad usage events",
            },
            describe_malformed(report).trim_end()
        ),
    }]))
}
