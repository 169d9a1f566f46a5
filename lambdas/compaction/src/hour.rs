//! One UTC hour, the unit of compaction, and the arithmetic on it.

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

/// One UTC hour: one Firehose folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hour(NaiveDateTime);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an hour like 2026-11-28T00")]
pub struct BadHour {
    pub value: String,
}

impl Hour {
    /// The hour that contains `at` (minutes and seconds dropped).
    pub fn containing(at: NaiveDateTime) -> Self {
        let date = at.date();
        Self(
            date.and_hms_opt(at.hour(), 0, 0)
                .expect("an hour taken from a valid time is valid"),
        )
    }

    /// The latest hour whose folder is complete at `at` (UTC): the hour before the one that
    /// contains `at - delay_minutes`. With a 10-minute delay, 01:10 gives 00:00–00:59.
    pub fn latest_complete(at: NaiveDateTime, delay_minutes: u32) -> Self {
        Self::containing(at - Duration::minutes(i64::from(delay_minutes))).previous()
    }

    /// Parses `YYYY-MM-DDTHH`.
    pub fn parse(value: &str) -> Result<Self, BadHour> {
        let bad = || BadHour {
            value: value.to_owned(),
        };
        let (date, hour) = value.split_once('T').ok_or_else(bad)?;
        if date.len() != 10 || hour.len() != 2 || !hour.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        let hour: u32 = hour.parse().map_err(|_| bad())?;
        date.and_hms_opt(hour, 0, 0).map(Self).ok_or_else(bad)
    }

    pub fn next(&self) -> Self {
        Self(self.0 + Duration::hours(1))
    }

    pub fn previous(&self) -> Self {
        Self(self.0 - Duration::hours(1))
    }

    /// How many hours `from..=self` holds: 1 for the same hour, 0 or less when `from` is later.
    pub fn hours_since(&self, from: &Hour) -> i64 {
        (self.0 - from.0).num_hours() + 1
    }

    pub fn year(&self) -> i32 {
        self.0.year()
    }

    pub fn month(&self) -> u32 {
        self.0.month()
    }

    pub fn day(&self) -> u32 {
        self.0.day()
    }

    pub fn hour(&self) -> u32 {
        self.0.hour()
    }

    /// `YYYYMMDDHH`, used in temporary table names.
    pub fn compact(&self) -> String {
        self.0.format("%Y%m%d%H").to_string()
    }

    /// `year=YYYY/month=MM/day=DD/hour=HH`, the Hive-style folder of the hour.
    pub fn partition_path(&self) -> String {
        self.0.format("year=%Y/month=%m/day=%d/hour=%H").to_string()
    }

    /// The same hour as metering names a folder (the windows of usage events).
    pub fn folder_hour(&self) -> metering::FolderHour {
        metering::FolderHour::new(self.year(), self.month(), self.day(), self.hour())
            .expect("an Hour is a valid hour")
    }
}

impl fmt::Display for Hour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn latest(value: &str, delay: u32) -> String {
        Hour::latest_complete(at(value), delay).to_string()
    }

    #[test]
    fn latest_complete_hour_with_the_default_delay() {
        assert_eq!(latest("2026-11-28T01:10:07", 10), "2026-11-28T00");
        assert_eq!(latest("2026-11-28T01:10:00", 10), "2026-11-28T00");
        assert_eq!(latest("2026-11-28T13:59:59", 10), "2026-11-28T12");
        // Before the delay has passed, the previous hour is not complete yet.
        assert_eq!(latest("2026-11-28T01:09:59", 10), "2026-11-27T23");
    }

    #[test]
    fn latest_complete_hour_with_other_delays() {
        assert_eq!(latest("2026-11-28T01:00:00", 0), "2026-11-28T00");
        assert_eq!(latest("2026-11-28T00:59:59", 0), "2026-11-27T23");
        assert_eq!(latest("2026-11-28T01:59:00", 59), "2026-11-28T00");
        assert_eq!(latest("2026-11-28T01:58:59", 59), "2026-11-27T23");
    }

    #[test]
    fn latest_complete_hour_rolls_over_midnight_month_and_year() {
        assert_eq!(latest("2026-11-28T00:10:00", 10), "2026-11-27T23");
        assert_eq!(latest("2026-12-01T00:15:00", 10), "2026-11-30T23");
        assert_eq!(latest("2027-01-01T00:10:00", 10), "2026-12-31T23");
        assert_eq!(latest("2028-03-01T00:10:01", 10), "2028-02-29T23");
    }

    #[test]
    fn hour_fields_and_formats() {
        let hour = Hour::latest_complete(at("2027-01-01T00:10:00"), 10);
        assert_eq!(
            (hour.year(), hour.month(), hour.day(), hour.hour()),
            (2026, 12, 31, 23)
        );
        assert_eq!(hour.compact(), "2026123123");
        assert_eq!(hour.partition_path(), "year=2026/month=12/day=31/hour=23");
        assert_eq!(hour.next().to_string(), "2027-01-01T00");
        assert_eq!(hour.previous().to_string(), "2026-12-31T22");

        assert_eq!(
            hour.folder_hour(),
            metering::FolderHour::new(2026, 12, 31, 23).unwrap()
        );
        assert_eq!(hour.folder_hour().to_string(), hour.to_string());

        let hour = Hour::parse("2026-03-05T07").unwrap();
        assert_eq!(hour.compact(), "2026030507");
        assert_eq!(hour.partition_path(), "year=2026/month=03/day=05/hour=07");
        assert_eq!(hour.to_string(), "2026-03-05T07");
    }

    #[test]
    fn hours_since_counts_both_ends() {
        let from = Hour::parse("2026-11-01T05").unwrap();
        assert_eq!(from.hours_since(&from), 1);
        assert_eq!(Hour::parse("2026-11-01T09").unwrap().hours_since(&from), 5);
        assert_eq!(Hour::parse("2026-11-04T05").unwrap().hours_since(&from), 73);
        assert_eq!(Hour::parse("2026-11-01T04").unwrap().hours_since(&from), 0);
    }

    #[test]
    fn parse_accepts_only_zero_padded_hours() {
        assert_eq!(
            Hour::parse("2026-02-28T23").unwrap().to_string(),
            "2026-02-28T23"
        );
        for value in [
            "2026-11-28",
            "2026-11-28T24",
            "2026-11-28T5",
            "2026-11-28T00:00",
            "2026-02-30T00",
            "2026-13-01T00",
            "26-11-28T00",
            "2026-11-28 00",
            "2026-11-28T+1",
            "",
        ] {
            let err = Hour::parse(value).unwrap_err();
            assert_eq!(err.value, value);
            assert_eq!(
                err.to_string(),
                format!("{value:?} is not an hour like 2026-11-28T00")
            );
        }
    }
}
