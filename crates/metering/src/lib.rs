//! Metering: from access-log records to usage per tenant and meter, and from usage to invoice
//! files. Shared by the billing Lambda (which runs [`usage_query`] in Athena) and
//! `metering-gen bill` (which runs [`Aggregator`] over log files), so the two apply one set
//! of rules and write the same bytes.
//!
//! The rules, in both paths:
//! - the previous month's last hour's folder ([`PREVIOUS_MONTH_HOURS`]), the month's folders
//!   and the first [`Config::late_arrival_hours`] of the next are read;
//! - a request id counts once, with its earliest copy;
//! - a request belongs to the month of its own `requestTime` (UTC, epoch milliseconds),
//!   not to the folder it arrived in: 23:59:59.999 on the last day is in the month;
//! - requests without a tenant are metered as [`UNASSIGNED`];
//! - a meter's filter sees a missing field as failing (SQL's NULL).

mod aggregate;
mod config;
mod event;
mod invoices;
mod lines;
mod meter;
mod month;
mod record;
mod sql;
mod usage;

pub use aggregate::{AddError, Aggregator, Counts, Shard, DEFAULT_SPILL_ROWS, PARTITIONS};
pub use config::{
    Config, ConfigError, ValidConfig, DEFAULT_LATE_ARRIVAL_HOURS, MAX_LATE_ARRIVAL_HOURS,
};
pub use event::{
    amount_decimal, normalise, Event, EventError, EVENT_COLUMNS, FLAGGED_RECORD_BYTES,
    MAX_EVENT_TIME_MS, MAX_VALUE_INTEGER_DIGITS, VALUE_SCALE,
};
pub use invoices::{file_stem, month_folder, JsonNumber, MeterUsage, MonthInvoices, TenantInvoice};
pub use lines::Lines;
pub use meter::{
    check_name, Aggregation, Filter, Meter, Source, MAX_METERS, METHODS, RESERVED_NAMES,
    STATUS_CLASSES,
};
pub use month::{
    times_billed_from, FolderHour, Month, MonthError, Window, FIREHOSE_MAX_BUFFER_SECONDS,
    PREVIOUS_MONTH_HOURS,
};
pub use pricing;
pub use record::{LineError, Request, UNASSIGNED};
pub use sql::{usage_query, usage_query_with_events, EventsNotQueried, Table};
pub use usage::Usage;
