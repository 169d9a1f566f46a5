//! EventBridge schedule expressions as a typed value, every field checked.
//!
//! The rules are those of the Amazon EventBridge User Guide, "Schedule expressions for rules":
//! "Using cron and rate expressions to schedule rules in Amazon EventBridge"
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>)
//! and its "Cron expressions reference" (`eb-cron-expressions.html`) and "Rate expressions
//! reference" (`eb-rate-expressions.html`):
//!
//! - `cron(fields)`: six required fields separated by white space,
//!
//!   | Field        | Values          | Wildcards         |
//!   |--------------|-----------------|-------------------|
//!   | Minutes      | 0-59            | `, - * /`         |
//!   | Hours        | 0-23            | `, - * /`         |
//!   | Day-of-month | 1-31            | `, - * ? / L W`   |
//!   | Month        | 1-12 or JAN-DEC | `, - * /`         |
//!   | Day-of-week  | 1-7 or SUN-SAT  | `, - * ? L #`     |
//!   | Year         | 1970-2199       | `, - * /`         |
//!
//!   `,` adds values, `-` makes a range, `*` is every value, `/` an increment (`1/10`), `?` any
//!   value, `L` the last day of the month or week, `<day>W` the weekday closest to that day of
//!   the month, `<day>#<n>` the n-th such day of the week in the month (`3#2`, the second
//!   Tuesday). With `#` the day-of-week field holds that one expression only (`3#1,6#3` is
//!   refused). The day-of-month and day-of-week fields cannot both be given: a value or `*` in
//!   one needs `?` in the other, so exactly one of them is `?`.
//! - `rate(value unit)`: a positive value and a unit, `minute | minutes | hour | hours | day |
//!   days`, singular for a value of 1 and plural above (`rate(1 hours)` and `rate(5 hour)` are
//!   refused).
//!
//! Where the guide says no more, this parser decides, mostly as Quartz (whose syntax
//! EventBridge's follows) does: names and the letters `L` and `W` may be in either case; `L`,
//! `<day>W`, `<day>L` (day-of-week: the last such day of the month) and `<day>#<n>` (n from 1
//! to 5) stand alone in their field, like `#`; an increment starts at `*`, a value or a range
//! and is at least 1 and less than the field's span; a range may wrap around (`22-2`,
//! `NOV-FEB`) except in the year; a rate's value fits 32 bits. Forms the guide does not list
//! are refused: Quartz's `LW` and `L-<n>`, or `/` in the day-of-week field.

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Cron {
        minutes: CronField,
        hours: CronField,
        day_of_month: CronField,
        month: CronField,
        day_of_week: CronField,
        year: CronField,
    },
    Rate {
        value: u32,
        unit: RateUnit,
    },
}

/// One field of a cron expression. Months and days of the week are numbers (JAN and SUN are 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CronField {
    /// `?`: any value (day-of-month, day-of-week).
    Any,
    /// `L`: the last day of the month (day-of-month) or of the week (day-of-week).
    Last,
    /// `<day>L` (day-of-week): the last such day of the week in the month.
    LastOf(u16),
    /// `<day>W` (day-of-month): the weekday closest to that day of the month.
    NearestWeekday(u16),
    /// `<day>#<n>` (day-of-week): the n-th such day of the week in the month.
    Nth { day: u16, n: u16 },
    /// Values, ranges and increments joined by `,`.
    List(Vec<CronItem>),
}

/// An element of a `,` list, with its increment (`/`) if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronItem {
    pub values: CronValues,
    pub increment: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CronValues {
    /// `*`
    All,
    One(u16),
    /// `<first>-<last>`, inclusive; may wrap around except in the year.
    Range(u16, u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minutes,
    Hours,
    Days,
}

impl CronField {
    /// The one value of a field such as `5`: no list, range, increment or wildcard.
    pub fn single(&self) -> Option<u16> {
        match self {
            CronField::List(items) => match items.as_slice() {
                [CronItem {
                    values: CronValues::One(value),
                    increment: None,
                }] => Some(*value),
                _ => None,
            },
            _ => None,
        }
    }
}

/// How one field of a cron expression is written (the guide's table).
struct Spec {
    name: &'static str,
    min: u16,
    max: u16,
    /// Names of the values from `min` on (months, days of the week).
    names: &'static [&'static str],
    wildcards: &'static str,
    /// Whether a range may wrap around (`22-2`).
    cyclic: bool,
}

const MINUTES: Spec = Spec {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
    wildcards: ", - * /",
    cyclic: true,
};
const HOURS: Spec = Spec {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
    wildcards: ", - * /",
    cyclic: true,
};
const DAY_OF_MONTH: Spec = Spec {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    wildcards: ", - * ? / L W",
    cyclic: true,
};
const MONTH: Spec = Spec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    wildcards: ", - * /",
    cyclic: true,
};
const DAY_OF_WEEK: Spec = Spec {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    wildcards: ", - * ? L #",
    cyclic: true,
};
const YEAR: Spec = Spec {
    name: "year",
    min: 1970,
    max: 2199,
    names: &[],
    wildcards: ", - * /",
    cyclic: false,
};

/// The most weeks a month has part of: `<day>#<n>` takes n up to this.
const MAX_WEEK_OF_MONTH: u16 = 5;

impl Schedule {
    /// Parses and checks `expression`; the error names every field that breaks a rule.
    pub fn parse(expression: &str) -> Result<Schedule, String> {
        if let Some(body) = inside(expression, "cron(") {
            return cron(expression, body);
        }
        if let Some(body) = inside(expression, "rate(") {
            return rate(expression, body);
        }
        Err("a schedule expression is `cron(…)` or `rate(…)`".into())
    }
}

fn inside<'a>(expression: &'a str, opening: &str) -> Option<&'a str> {
    expression.strip_prefix(opening)?.strip_suffix(')')
}

fn cron(expression: &str, body: &str) -> Result<Schedule, String> {
    let fields: Vec<&str> = body.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = fields[..] else {
        return Err(format!(
            "an EventBridge cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not {}",
            fields.len()
        ));
    };
    let fields = [
        MINUTES.field(minutes),
        HOURS.field(hours),
        DAY_OF_MONTH.field(day_of_month),
        MONTH.field(month),
        DAY_OF_WEEK.field(day_of_week),
        YEAR.field(year),
    ];
    let mut errors: Vec<String> = fields
        .iter()
        .filter_map(|f| f.as_ref().err().cloned())
        .collect();
    if let (Ok(day_of_month), Ok(day_of_week)) = (&fields[2], &fields[4]) {
        match (day_of_month, day_of_week) {
            (CronField::Any, CronField::Any) => errors.push(
                "the day-of-month and day-of-week fields are both `?`: one of them needs a value or `*`"
                    .into(),
            ),
            (CronField::Any, _) | (_, CronField::Any) => {}
            _ => errors.push(
                "one of the day-of-month and day-of-week fields must be `?`: EventBridge takes a day of the month or a day of the week, not both"
                    .into(),
            ),
        }
    }
    match fields {
        [Ok(minutes), Ok(hours), Ok(day_of_month), Ok(month), Ok(day_of_week), Ok(year)]
            if errors.is_empty() =>
        {
            Ok(Schedule::Cron {
                minutes,
                hours,
                day_of_month,
                month,
                day_of_week,
                year,
            })
        }
        _ => Err(format!("`{expression}`: {}", errors.join("; "))),
    }
}

impl Spec {
    fn allows(&self, wildcard: char) -> bool {
        self.wildcards.contains(wildcard)
    }

    /// `0-59`, `1-12 or JAN-DEC`.
    fn values(&self) -> String {
        match (self.names.first(), self.names.last()) {
            (Some(first), Some(last)) => {
                format!("{}-{} or {first}-{last}", self.min, self.max)
            }
            _ => format!("{}-{}", self.min, self.max),
        }
    }

    fn field(&self, text: &str) -> Result<CronField, String> {
        if !text.contains(',') {
            if let Some(alone) = self.alone(text)? {
                return Ok(alone);
            }
        }
        let items = text
            .split(',')
            .map(|item| match self.alone(item) {
                Ok(Some(_)) => Err(format!(
                    "`{item}` must be the only expression of the {} field, not one of `{text}`",
                    self.name
                )),
                _ => self.item(item),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CronField::List(items))
    }

    /// The forms that make a whole field: `?`, `L`, `<day>W`, `<day>L`, `<day>#<n>`.
    fn alone(&self, text: &str) -> Result<Option<CronField>, String> {
        if text == "?" {
            return if self.allows('?') {
                Ok(Some(CronField::Any))
            } else {
                Err(self.wildcard_error('?'))
            };
        }
        if text.eq_ignore_ascii_case("L") && self.allows('L') {
            return Ok(Some(CronField::Last));
        }
        if self.allows('W') {
            if let Some(day) = text.strip_suffix(['W', 'w']).filter(|d| !d.is_empty()) {
                return Ok(Some(CronField::NearestWeekday(self.value(day, text)?)));
            }
        }
        if self.allows('#') {
            if let Some((day, n)) = text.split_once('#') {
                let day = self.value(day, text)?;
                let n = number(n)
                    .filter(|n| (1..=u32::from(MAX_WEEK_OF_MONTH)).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "`{text}` in the {} field: the number after `#` must be between 1 and {MAX_WEEK_OF_MONTH}, not `{n}`",
                            self.name
                        )
                    })?;
                return Ok(Some(CronField::Nth {
                    day,
                    n: u16::try_from(n).expect("at most 5"),
                }));
            }
            // `<day>L`, in the day-of-week field (whose names do not end in `L`).
            if let Some(day) = text.strip_suffix(['L', 'l']).filter(|d| !d.is_empty()) {
                return Ok(Some(CronField::LastOf(self.value(day, text)?)));
            }
        }
        Ok(None)
    }

    /// `*`, a value or a range, with an increment if the field takes `/`.
    fn item(&self, item: &str) -> Result<CronItem, String> {
        let (values, increment) = match item.split_once('/') {
            None => (item, None),
            Some(_) if !self.allows('/') => return Err(self.wildcard_error('/')),
            Some((start, step)) => (start, Some(self.increment(step, item)?)),
        };
        let values = match values.split_once('-') {
            _ if values == "*" => CronValues::All,
            None => CronValues::One(self.value(values, item)?),
            Some((first, last)) => {
                let (first, last) = (self.value(first, item)?, self.value(last, item)?);
                if first > last && !self.cyclic {
                    return Err(format!(
                        "the {} range `{values}` ends before it starts",
                        self.name
                    ));
                }
                CronValues::Range(first, last)
            }
        };
        Ok(CronItem { values, increment })
    }

    fn increment(&self, step: &str, item: &str) -> Result<u16, String> {
        let most = self.max - self.min;
        number(step)
            .filter(|n| (1..=u32::from(most)).contains(n))
            .map(|n| u16::try_from(n).expect("within the field's span"))
            .ok_or_else(|| {
                format!(
                    "the increment of `{item}` in the {} field must be between 1 and {most}, not `{step}`",
                    self.name
                )
            })
    }

    /// A number or name within the field's values; `item` is the expression it is part of.
    fn value(&self, token: &str, item: &str) -> Result<u16, String> {
        if token.is_empty() {
            return Err(format!(
                "`{item}` in the {} field lacks a value ({})",
                self.name,
                self.values()
            ));
        }
        if let Some(i) = self
            .names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(token))
        {
            return Ok(self.min + u16::try_from(i).expect("12 names at most"));
        }
        if token.bytes().all(|b| b.is_ascii_digit()) {
            return number(token)
                .filter(|n| (u32::from(self.min)..=u32::from(self.max)).contains(n))
                .map(|n| u16::try_from(n).expect("within the field's range"))
                .ok_or_else(|| {
                    format!(
                        "the {} field takes {}, not {token}",
                        self.name,
                        self.values()
                    )
                });
        }
        Err(format!(
            "the {} field takes {} and the wildcards `{}`, not `{token}`",
            self.name,
            self.values(),
            self.wildcards
        ))
    }

    fn wildcard_error(&self, wildcard: char) -> String {
        format!(
            "the {} field takes the wildcards `{}`, not `{wildcard}`",
            self.name, self.wildcards
        )
    }
}

/// Digits only (no sign), as a number; `None` when empty or beyond `u32`.
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn rate(expression: &str, body: &str) -> Result<Schedule, String> {
    let parts: Vec<&str> = body.split_whitespace().collect();
    let [value, unit] = parts[..] else {
        return Err(
            "a rate expression has a value and a unit, like `rate(1 hour)` or `rate(2 hours)`"
                .into(),
        );
    };
    let value = number(value).filter(|v| *v > 0).ok_or_else(|| {
        format!(
            "`{expression}`: the value must be a positive whole number (at most {}), not `{value}`",
            u32::MAX
        )
    })?;
    let (unit, plural) = match unit {
        "minute" => (RateUnit::Minutes, false),
        "minutes" => (RateUnit::Minutes, true),
        "hour" => (RateUnit::Hours, false),
        "hours" => (RateUnit::Hours, true),
        "day" => (RateUnit::Days, false),
        "days" => (RateUnit::Days, true),
        _ => {
            return Err(format!(
                "`{expression}`: the unit must be minute, minutes, hour, hours, day or days, not `{unit}`"
            ))
        }
    };
    let singular = unit_name(unit);
    match (value == 1, plural) {
        (true, true) => Err(format!(
            "`{expression}`: a value of 1 takes the singular unit `{singular}`"
        )),
        (false, false) => Err(format!(
            "`{expression}`: a value above 1 takes the plural unit `{singular}s`"
        )),
        _ => Ok(Schedule::Rate { value, unit }),
    }
}

fn unit_name(unit: RateUnit) -> &'static str {
    match unit {
        RateUnit::Minutes => "minute",
        RateUnit::Hours => "hour",
        RateUnit::Days => "day",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(expression: &str) -> Schedule {
        Schedule::parse(expression).unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    fn err(expression: &str) -> String {
        match Schedule::parse(expression) {
            Ok(s) => panic!("{expression} accepted: {s:?}"),
            Err(e) => e,
        }
    }

    fn one(value: u16) -> CronField {
        CronField::List(vec![CronItem {
            values: CronValues::One(value),
            increment: None,
        }])
    }

    fn all() -> CronField {
        CronField::List(vec![CronItem {
            values: CronValues::All,
            increment: None,
        }])
    }

    #[test]
    fn the_guides_cron_examples_parse() {
        // The examples of the guide's cron expressions reference.
        for expression in [
            "cron(0 10 * * ? *)",
            "cron(15 12 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 8 1 * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0/10 * ? * MON-FRI *)",
            "cron(0/5 8-17 ? * MON-FRI *)",
            // Every wildcard of the table, as its notes use them.
            "cron(0 12 ? JAN,FEB,MAR 3#2 *)",
            "cron(0 12 1-15 * ? *)",
            "cron(1/10 * * * ? *)",
            "cron(0 12 L * ? *)",
            "cron(0 12 3W * ? *)",
            "cron(0 12 ? * L *)",
            "cron(15 10 ? * 6L 2026-2030)",
            "cron(0 0 1 * ? 1970)",
            "cron(0 0 1 * ? 2199)",
        ] {
            ok(expression);
        }
    }

    #[test]
    fn a_cron_expression_parses_into_its_fields() {
        assert_eq!(
            ok("cron(10 4 1 * ? *)"),
            Schedule::Cron {
                minutes: one(10),
                hours: one(4),
                day_of_month: one(1),
                month: all(),
                day_of_week: CronField::Any,
                year: all(),
            }
        );
        let Schedule::Cron {
            minutes,
            hours,
            month,
            day_of_week,
            ..
        } = ok("cron(0/15 22-2 ? nov-Feb mon#2 *)")
        else {
            panic!("a cron expression")
        };
        assert_eq!(
            minutes,
            CronField::List(vec![CronItem {
                values: CronValues::One(0),
                increment: Some(15)
            }])
        );
        assert_eq!(hours.single(), None);
        assert_eq!(
            month,
            CronField::List(vec![CronItem {
                values: CronValues::Range(11, 2),
                increment: None
            }])
        );
        assert_eq!(day_of_week, CronField::Nth { day: 2, n: 2 });
        assert_eq!(one(7).single(), Some(7));
        assert_eq!(CronField::Last.single(), None);
    }

    #[test]
    fn every_field_is_checked_against_its_range() {
        let e = err("cron(99 99 * * ? *)");
        assert!(e.contains("the minutes field takes 0-59, not 99"), "{e}");
        assert!(e.contains("the hours field takes 0-23, not 99"), "{e}");
        for (expression, expected) in [
            ("cron(60 * * * ? *)", "the minutes field takes 0-59, not 60"),
            ("cron(0 24 * * ? *)", "the hours field takes 0-23, not 24"),
            (
                "cron(0 0 0 * ? *)",
                "the day-of-month field takes 1-31, not 0",
            ),
            (
                "cron(0 0 32 * ? *)",
                "the day-of-month field takes 1-31, not 32",
            ),
            (
                "cron(0 0 1 13 ? *)",
                "the month field takes 1-12 or JAN-DEC, not 13",
            ),
            (
                "cron(0 0 1 0 ? *)",
                "the month field takes 1-12 or JAN-DEC, not 0",
            ),
            (
                "cron(0 0 ? * 0 *)",
                "the day-of-week field takes 1-7 or SUN-SAT, not 0",
            ),
            (
                "cron(0 0 ? * 8 *)",
                "the day-of-week field takes 1-7 or SUN-SAT, not 8",
            ),
            (
                "cron(0 0 1 * ? 1969)",
                "the year field takes 1970-2199, not 1969",
            ),
            (
                "cron(0 0 1 * ? 2200)",
                "the year field takes 1970-2199, not 2200",
            ),
            (
                "cron(0-60 * * * ? *)",
                "the minutes field takes 0-59, not 60",
            ),
            (
                "cron(0,5,75 * * * ? *)",
                "the minutes field takes 0-59, not 75",
            ),
            (
                "cron(0 0 1 JAN-FOO ? *)",
                "the month field takes 1-12 or JAN-DEC and the wildcards `, - * /`, not `FOO`",
            ),
            ("cron(0 0 ? * MONDAY *)", "not `MONDAY`"),
            (
                "cron(0 18446744073709551615 1 * ? *)",
                "the hours field takes 0-23, not 18446744073709551615",
            ),
            (
                "cron(-5 * * * ? *)",
                "`-5` in the minutes field lacks a value (0-59)",
            ),
            (
                "cron(0 0 1,,2 * ? *)",
                "`` in the day-of-month field lacks a value",
            ),
        ] {
            let e = err(expression);
            assert!(e.contains(expected), "{expression}: {e}");
            assert!(e.starts_with(&format!("`{expression}`: ")), "{e}");
        }
    }

    #[test]
    fn wildcards_only_where_the_guide_allows_them() {
        for (expression, expected) in [
            (
                "cron(? * * * ? *)",
                "the minutes field takes the wildcards `, - * /`, not `?`",
            ),
            ("cron(0 ? * * ? *)", "the hours field"),
            ("cron(0 0 * ? ? *)", "the month field"),
            ("cron(0 0 1 * ? ?)", "the year field"),
            (
                "cron(L * * * ? *)",
                "the minutes field takes 0-59 and the wildcards `, - * /`, not `L`",
            ),
            ("cron(0 0 1 L ? *)", "the month field"),
            (
                "cron(0 0 ? * 1/2 *)",
                "the day-of-week field takes the wildcards `, - * ? L #`, not `/`",
            ),
            ("cron(0 0 ? * 2W *)", "the day-of-week field"),
            ("cron(0 0 3#2 * ? *)", "the day-of-month field"),
            ("cron(0 0 1 * ? 2030#1)", "the year field"),
            ("cron(0 0 1 * ? 1999L)", "the year field"),
        ] {
            let e = err(expression);
            assert!(e.contains(expected), "{expression}: {e}");
        }
    }

    #[test]
    fn exactly_one_day_field_is_a_question_mark() {
        let e = err("cron(0 0 * * * *)");
        assert!(
            e.contains("one of the day-of-month and day-of-week fields must be `?`"),
            "{e}"
        );
        let e = err("cron(0 0 1 * MON *)");
        assert!(e.contains("must be `?`"), "{e}");
        let e = err("cron(0 0 ? * ? *)");
        assert!(e.contains("both `?`"), "{e}");
        // `?` is the whole field.
        let e = err("cron(0 0 ?,1 * ? *)");
        assert!(
            e.contains("`?` must be the only expression of the day-of-month field"),
            "{e}"
        );
    }

    #[test]
    fn special_forms_stand_alone_and_are_checked() {
        // The guide: "3#1,6#3" is not valid, it is two expressions.
        let e = err("cron(0 0 ? * 3#1,6#3 *)");
        assert!(
            e.contains("`3#1` must be the only expression of the day-of-week field"),
            "{e}"
        );
        let e = err("cron(0 0 ? * 3#6 *)");
        assert!(
            e.contains("the number after `#` must be between 1 and 5, not `6`"),
            "{e}"
        );
        let e = err("cron(0 0 ? * 8#1 *)");
        assert!(
            e.contains("the day-of-week field takes 1-7 or SUN-SAT, not 8"),
            "{e}"
        );
        let e = err("cron(0 0 32W * ? *)");
        assert!(
            e.contains("the day-of-month field takes 1-31, not 32"),
            "{e}"
        );
        let e = err("cron(0 0 L,15 * ? *)");
        assert!(e.contains("`L` must be the only expression"), "{e}");
        let e = err("cron(0 0 ? * 8L *)");
        assert!(e.contains("not 8"), "{e}");
        assert_eq!(
            ok("cron(0 0 15W * ? *)"),
            Schedule::Cron {
                minutes: one(0),
                hours: one(0),
                day_of_month: CronField::NearestWeekday(15),
                month: all(),
                day_of_week: CronField::Any,
                year: all(),
            }
        );
        let Schedule::Cron { day_of_week, .. } = ok("cron(0 0 ? * FRIL *)") else {
            panic!("cron")
        };
        assert_eq!(day_of_week, CronField::LastOf(6));
    }

    #[test]
    fn increments_and_ranges() {
        ok("cron(*/5 * * * ? *)");
        ok("cron(10-50/20 * * * ? *)");
        ok("cron(0 0 1 */3 ? *)");
        ok("cron(0 0 1 * ? 2025/2)");
        ok("cron(0 0 1 * ? 2025-2030)");
        for (expression, expected) in [
            (
                "cron(0/0 * * * ? *)",
                "the increment of `0/0` in the minutes field must be between 1 and 59, not `0`",
            ),
            ("cron(0/60 * * * ? *)", "between 1 and 59, not `60`"),
            ("cron(0 0/24 * * ? *)", "between 1 and 23, not `24`"),
            ("cron(0/x * * * ? *)", "not `x`"),
            ("cron(0/ * * * ? *)", "not ``"),
            (
                "cron(0 0 1 * ? 2030-2025)",
                "the year range `2030-2025` ends before it starts",
            ),
            ("cron(1-2-3 * * * ? *)", "not `2-3`"),
        ] {
            let e = err(expression);
            assert!(e.contains(expected), "{expression}: {e}");
        }
    }

    #[test]
    fn field_count_and_form() {
        for (expression, expected) in [
            (
                "cron(10 * * *)",
                "6 fields (minutes hours day-of-month month day-of-week year), not 4",
            ),
            ("cron(* * * * * * *)", "not 7"),
            ("cron()", "not 0"),
            ("cron(0 10 * * ? *", "`cron(…)` or `rate(…)`"),
            ("every hour", "`cron(…)` or `rate(…)`"),
            ("", "`cron(…)` or `rate(…)`"),
            ("CRON(0 10 * * ? *)", "`cron(…)` or `rate(…)`"),
        ] {
            let e = err(expression);
            assert!(e.contains(expected), "{expression}: {e}");
        }
    }

    #[test]
    fn rates() {
        // The guide's examples.
        assert_eq!(
            ok("rate(1 minute)"),
            Schedule::Rate {
                value: 1,
                unit: RateUnit::Minutes
            }
        );
        assert_eq!(
            ok("rate(5 minutes)"),
            Schedule::Rate {
                value: 5,
                unit: RateUnit::Minutes
            }
        );
        ok("rate(1 hour)");
        ok("rate(1 day)");
        ok("rate(7 days)");
        // Its limitations: singular for 1, plural above.
        assert!(err("rate(1 hours)").contains("a value of 1 takes the singular unit `hour`"));
        assert!(err("rate(5 hour)").contains("a value above 1 takes the plural unit `hours`"));
        assert!(err("rate(0 minutes)").contains("positive whole number"));
        assert!(err("rate(-1 hours)").contains("not `-1`"));
        assert!(err("rate(+2 hours)").contains("not `+2`"));
        assert!(err("rate(1.5 hours)").contains("not `1.5`"));
        assert!(err("rate(4294967296 hours)").contains("at most 4294967295"));
        assert!(err("rate(2 weeks)").contains("not `weeks`"));
        assert!(err("rate(2 Hours)").contains("not `Hours`"));
        assert!(err("rate(2)").contains("a value and a unit"));
        assert!(err("rate(1 hour now)").contains("a value and a unit"));
    }

    #[test]
    fn arbitrary_text_is_refused_without_panicking() {
        for expression in [
            "cron(é é é é é é)",
            "cron(🦀 * * * ? *)",
            "cron(# # # # # #)",
            "cron(0 0 ? * # *)",
            "cron(0 0 ? * 1# *)",
            "cron(0 0 ? * #1 *)",
            "cron(0 0 W * ? *)",
            "cron(0 0 ? * L# *)",
            "cron(, , , , , ,)",
            "cron(- - - - - -)",
            "cron(/ / / / / /)",
            "rate(🦀 hours)",
        ] {
            assert!(Schedule::parse(expression).is_err(), "{expression}");
        }
    }
}
