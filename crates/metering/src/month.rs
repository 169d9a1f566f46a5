//! A billing month and the stretch of data read to bill it.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// A calendar month in UTC, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a month: expected YYYY-MM, e.g. 2026-10")]
pub struct MonthError(pub String);

impl Month {
    /// `None` unless `1 <= month <= 12` and `1970 <= year <= 9999`.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1970..=9999).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The month that contains `epoch_ms` (UTC).
    pub fn containing(epoch_ms: i64) -> Option<Month> {
        let t = chrono::DateTime::from_timestamp_millis(epoch_ms)?;
        Month::new(t.year(), t.month())
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                month: self.month - 1,
                ..self
            }
        }
    }

    fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("validated month")
    }

    /// 00:00:00.000 UTC on the first day, in epoch milliseconds.
    pub fn start_ms(self) -> i64 {
        self.first_day()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp_millis()
    }

    /// The next month's start: a request belongs to the month when
    /// `start_ms() <= requestTime < end_ms()`.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }

    /// The first day, `YYYY-MM-01`.
    pub fn first_date(self) -> String {
        self.first_day().format("%Y-%m-%d").to_string()
    }

    /// The last day, `YYYY-MM-DD`.
    pub fn last_date(self) -> String {
        self.next()
            .first_day()
            .pred_opt()
            .expect("not the first day of the calendar")
            .format("%Y-%m-%d")
            .to_string()
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthError;

    fn from_str(s: &str) -> Result<Month, MonthError> {
        let err = || MonthError(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        Month::new(y.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?).ok_or_else(err)
    }
}

/// One folder of Firehose's hourly layout (`year=YYYY/month=MM/day=DD/hour=HH`), which holds
/// the records that *arrived* in that hour, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FolderHour {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

impl FolderHour {
    pub fn new(year: i32, month: u32, day: u32, hour: u32) -> Option<FolderHour> {
        NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, 0, 0)?;
        Some(FolderHour {
            year,
            month,
            day,
            hour,
        })
    }

    /// The hour's first instant.
    fn start(&self) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(self.year, self.month, self.day)
            .and_then(|d| d.and_hms_opt(self.hour, 0, 0))
            .expect("a validated hour")
    }

    fn from_datetime(t: NaiveDateTime) -> FolderHour {
        FolderHour {
            year: t.year(),
            month: t.month(),
            day: t.day(),
            hour: t.hour(),
        }
    }

    /// Reads the hour from a path's `year=`, `month=`, `day=` and `hour=` components, in any
    /// order, wherever they are; `None` unless all four are there and form a real hour.
    pub fn from_path(path: &std::path::Path) -> Option<FolderHour> {
        let (mut year, mut month, mut day, mut hour) = (None, None, None, None);
        for component in path.components() {
            let Some(text) = component.as_os_str().to_str() else {
                continue;
            };
            let Some((key, value)) = text.split_once('=') else {
                continue;
            };
            let slot = match key {
                "year" => &mut year,
                "month" => &mut month,
                "day" => &mut day,
                "hour" => &mut hour,
                _ => continue,
            };
            *slot = Some(value.parse::<u32>().ok()?);
        }
        FolderHour::new(i32::try_from(year?).ok()?, month?, day?, hour?)
    }
}

/// `YYYY-MM-DDTHH`, e.g. `2026-10-31T23`.
impl fmt::Display for FolderHour {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}",
            self.year, self.month, self.day, self.hour
        )
    }
}

/// Hours of the previous month whose folders are also read: its last hour.
///
/// Firehose names an S3 object, and so files it under an hour folder, after its *oldest*
/// record: "When evaluating timestamps, Firehose uses the approximate arrival timestamp of the
/// oldest record that's contained in the Amazon S3 object being written" (Amazon Data
/// Firehose Developer Guide, "Custom prefixes for Amazon S3 objects", `s3-prefixes.html`).
/// So a request that arrives at 00:00:30 on the 1st in the same buffer as a record that
/// arrived at 23:57 is in the previous month's `day=<last>/hour=23`. A buffer is written at
/// the latest its buffer interval after its first record, and the interval is at most
/// [`FIREHOSE_MAX_BUFFER_SECONDS`] (API Reference, `BufferingHints.IntervalInSeconds`: "Maximum
/// value of 900"): a record of the month can be filed at most 900 s before the month starts,
/// which is inside the previous month's last hour: 900 s < 1 h, so one hour is enough. (The
/// API calls buffering values hints that Firehose "might choose" to change; a buffer held
/// open for more than an hour would not be covered.)
pub const PREVIOUS_MONTH_HOURS: u32 = 1;

/// The longest Firehose buffer interval, in seconds (API Reference, `BufferingHints`).
pub const FIREHOSE_MAX_BUFFER_SECONDS: u32 = 900;

// The previous month's hours read must cover a whole buffer interval, and stay on its last day.
const _: () = assert!(FIREHOSE_MAX_BUFFER_SECONDS <= PREVIOUS_MONTH_HOURS * 3600);
const _: () = assert!(PREVIOUS_MONTH_HOURS >= 1 && PREVIOUS_MONTH_HOURS <= 24);

/// What is read to bill a month: the folders from the previous month's last
/// [`PREVIOUS_MONTH_HOURS`] (a buffer that straddles midnight is filed under the hour of its
/// oldest record) up to `late_arrival_hours` into the next month (a request made at
/// 23:59:59.999 on the last day reaches S3 in the next month's first folder), and of their
/// records those whose `requestTime` lies in the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub month: Month,
    pub late_arrival_hours: u32,
}

impl Window {
    /// The first folder read: the previous month's last hour.
    pub fn first_folder(&self) -> FolderHour {
        FolderHour::from_datetime(
            self.month
                .first_day()
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                - chrono::Duration::hours(i64::from(PREVIOUS_MONTH_HOURS)),
        )
    }

    /// The last folder read (inclusive).
    pub fn last_folder(&self) -> FolderHour {
        let end = self
            .month
            .next()
            .first_day()
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            + chrono::Duration::hours(i64::from(self.late_arrival_hours))
            - chrono::Duration::hours(1);
        FolderHour::from_datetime(end)
    }

    pub fn reads_folder(&self, folder: FolderHour) -> bool {
        (self.first_folder()..=self.last_folder()).contains(&folder)
    }

    /// Every folder read, in time order, from [`first_folder`](Window::first_folder) to
    /// [`last_folder`](Window::last_folder).
    pub fn folders(&self) -> impl Iterator<Item = FolderHour> {
        let first = self.first_folder().start();
        let last = self.last_folder().start();
        (0..)
            .map(move |h| first + chrono::Duration::hours(h))
            .take_while(move |t| *t <= last)
            .map(FolderHour::from_datetime)
    }

    pub fn contains_request(&self, epoch_ms: i64) -> bool {
        (self.month.start_ms()..self.month.end_ms()).contains(&epoch_ms)
    }
}

/// The times of the records that some month's bill reads from `folder`: from the start of
/// the first month whose window reads the folder to the end of the last. The folder's own
/// month always does; the previous month too for its first `late_arrival_hours`, the next
/// month too for its last hour ([`PREVIOUS_MONTH_HOURS`]). A usage event in `folder` whose
/// time lies outside is in no bill (compaction and `bill` flag it).
pub fn times_billed_from(folder: FolderHour, late_arrival_hours: u32) -> Range<i64> {
    let own = Month::new(folder.year, folder.month).expect("a folder's month is valid");
    let reads = |month: Month| {
        Window {
            month,
            late_arrival_hours,
        }
        .reads_folder(folder)
    };
    let first = if reads(own.previous()) {
        own.previous()
    } else {
        own
    };
    let last = if reads(own.next()) { own.next() } else { own };
    first.start_ms()..last.end_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let m: Month = "2026-02".parse().unwrap();
        assert_eq!(m.to_string(), "2026-02");
        assert_eq!(m.last_date(), "2026-02-28");
        assert_eq!(
            "2024-02".parse::<Month>().unwrap().last_date(),
            "2024-02-29"
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "2026/01",
            "2026-01-01",
            "",
            "1969-12",
            "２０２６-01",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_are_half_open_in_milliseconds() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(m.start_ms(), 1_796_083_200_000); // 2026-12-01T00:00:00Z
        assert_eq!(m.end_ms(), 1_798_761_600_000); // 2027-01-01T00:00:00Z
        let w = Window {
            month: m,
            late_arrival_hours: 3,
        };
        assert!(w.contains_request(m.end_ms() - 1)); // 2026-12-31T23:59:59.999Z
        assert!(!w.contains_request(m.end_ms()));
        assert!(w.contains_request(m.start_ms()));
        assert!(!w.contains_request(m.start_ms() - 1));
        assert_eq!(Month::containing(m.end_ms() - 1), Some(m));
        assert_eq!(Month::containing(m.end_ms()), Some(m.next()));
    }

    #[test]
    fn the_window_reaches_into_the_next_month() {
        let w = Window {
            month: "2026-12".parse().unwrap(),
            late_arrival_hours: 3,
        };
        assert_eq!(w.last_folder(), FolderHour::new(2027, 1, 1, 2).unwrap());
        assert!(w.reads_folder(FolderHour::new(2027, 1, 1, 2).unwrap()));
        assert!(!w.reads_folder(FolderHour::new(2027, 1, 1, 3).unwrap()));
    }

    #[test]
    fn the_window_starts_with_the_previous_months_last_hour() {
        // A buffer opened at 23:57 on 30 November and holding a request of 00:00:30 on
        // 1 December is filed under 2026-11-30 hour 23: December reads that folder.
        let w = Window {
            month: "2026-12".parse().unwrap(),
            late_arrival_hours: 3,
        };
        assert_eq!(w.first_folder(), FolderHour::new(2026, 11, 30, 23).unwrap());
        assert!(w.reads_folder(FolderHour::new(2026, 11, 30, 23).unwrap()));
        assert!(w.reads_folder(FolderHour::new(2026, 12, 1, 0).unwrap()));
        assert!(!w.reads_folder(FolderHour::new(2026, 11, 30, 22).unwrap()));
        // Across a year, and after a short month.
        let jan = Window {
            month: "2027-01".parse().unwrap(),
            late_arrival_hours: 1,
        };
        assert_eq!(
            jan.first_folder(),
            FolderHour::new(2026, 12, 31, 23).unwrap()
        );
        let mar = Window {
            month: "2028-03".parse().unwrap(),
            late_arrival_hours: 1,
        };
        assert_eq!(
            mar.first_folder(),
            FolderHour::new(2028, 2, 29, 23).unwrap()
        );
        // The previous month's requests in that folder are still not the month's.
        assert!(!w.contains_request(w.month.start_ms() - 1));
    }

    #[test]
    fn the_window_lists_its_folders_in_order() {
        let w = Window {
            month: "2026-02".parse().unwrap(),
            late_arrival_hours: 3,
        };
        let folders: Vec<FolderHour> = w.folders().collect();
        // January's last hour, February's 28 × 24 hours, March's first 3.
        assert_eq!(folders.len(), 1 + 28 * 24 + 3);
        assert_eq!(folders.first(), Some(&w.first_folder()));
        assert_eq!(folders.last(), Some(&w.last_folder()));
        assert_eq!(folders[1], FolderHour::new(2026, 2, 1, 0).unwrap());
        assert!(folders.windows(2).all(|p| p[0] < p[1]));
        assert!(folders.iter().all(|f| w.reads_folder(*f)));
        assert_eq!(folders[0].to_string(), "2026-01-31T23");
        assert_eq!(folders[folders.len() - 1].to_string(), "2026-03-01T02");
    }

    #[test]
    fn folder_hours_come_from_paths() {
        let p = std::path::Path::new("logs/json-data/year=2026/month=10/day=31/hour=23/f-1");
        assert_eq!(FolderHour::from_path(p), FolderHour::new(2026, 10, 31, 23));
        assert_eq!(FolderHour::from_path(std::path::Path::new("logs/x")), None);
        let bad = std::path::Path::new("year=2026/month=02/day=30/hour=01/f");
        assert_eq!(FolderHour::from_path(bad), None);
    }
}
