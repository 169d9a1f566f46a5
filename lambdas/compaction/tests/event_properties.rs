//! Properties of the event parsing (`event::hours_from_event`) over generated events.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use compaction::event::{hours_from_event, EventError, MAX_BACKFILL_HOURS};
use compaction::Hour;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The clock of these tests; hours up to 2026-11-28T04 are complete with a 10-minute delay.
fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 28)
        .unwrap()
        .and_hms_opt(6, 5, 0)
        .unwrap()
}

fn latest() -> Hour {
    Hour::latest_complete(now(), 10)
}

/// An hour `back` hours before the latest complete one.
fn hour_back(back: u32) -> Hour {
    let mut hour = latest();
    for _ in 0..back {
        hour = hour.previous();
    }
    hour
}

fn text(hours: &[Hour]) -> Vec<String> {
    hours.iter().map(Hour::to_string).collect()
}

proptest! {
    #[test]
    fn a_range_gives_every_hour_from_first_to_last(back in 0u32..2000, span in 1u32..=48) {
        let to = hour_back(back);
        let from = (1..span).fold(to, |h, _| h.previous());
        let event = json!({"from": from.to_string(), "to": to.to_string()});
        let hours = hours_from_event(&event, now(), 10).unwrap();
        prop_assert_eq!(hours.len(), span as usize);
        prop_assert_eq!(hours[0], from);
        prop_assert_eq!(*hours.last().unwrap(), to);
        for pair in hours.windows(2) {
            prop_assert_eq!(pair[0].next(), pair[1]);
        }
    }

    #[test]
    fn a_range_longer_than_48_hours_is_refused(back in 0u32..2000, span in 49u32..5000) {
        let to = hour_back(back);
        let from = (1..span).fold(to, |h, _| h.previous());
        let event = json!({"from": from.to_string(), "to": to.to_string()});
        let err = hours_from_event(&event, now(), 10).unwrap_err();
        prop_assert_eq!(&err, &EventError::RangeTooLong { from, to, count: i64::from(span) });
        let message = err.to_string();
        let expected = format!("spans {span} hours; at most 48 per invocation: split the range");
        prop_assert!(message.ends_with(&expected), "{}", message);
    }

    #[test]
    fn a_backwards_range_is_refused(back in 0u32..2000, gap in 1u32..100) {
        let from = hour_back(back);
        let to = (0..gap).fold(from, |h, _| h.previous());
        let event = json!({"from": from.to_string(), "to": to.to_string()});
        prop_assert_eq!(
            hours_from_event(&event, now(), 10).unwrap_err(),
            EventError::Backwards { from, to }
        );
    }

    #[test]
    fn a_list_gives_its_distinct_hours_in_order(
        backs in prop::collection::vec(0u32..200, 1..80),
    ) {
        let listed: Vec<Hour> = backs.iter().map(|b| hour_back(*b)).collect();
        let mut expected = listed.clone();
        expected.sort();
        expected.dedup();
        let event = json!({ "hours": text(&listed) });
        match hours_from_event(&event, now(), 10) {
            Ok(hours) => {
                prop_assert!(expected.len() <= MAX_BACKFILL_HOURS);
                prop_assert_eq!(hours, expected);
            }
            Err(err) => {
                prop_assert!(expected.len() > MAX_BACKFILL_HOURS);
                prop_assert_eq!(err, EventError::ListTooLong { count: expected.len() });
            }
        }
    }

    #[test]
    fn hours_after_the_latest_complete_one_are_refused(
        ahead in 1u32..10_000,
        delay in 0u32..60,
    ) {
        let latest = Hour::latest_complete(now(), delay);
        let hour = (0..ahead).fold(latest, |h, _| h.next());
        let err = hours_from_event(&json!({"hour": hour.to_string()}), now(), delay).unwrap_err();
        prop_assert_eq!(err, EventError::NotComplete { hour, latest, delay_minutes: delay });
        // The latest complete hour itself is accepted.
        let ok = hours_from_event(&json!({"hour": latest.to_string()}), now(), delay).unwrap();
        prop_assert_eq!(ok, vec![latest]);
    }

    #[test]
    fn a_scheduled_event_compacts_the_hour_that_ended_at_least_delay_minutes_before(
        seconds in 0i64..(20 * 365 * 24 * 3600),
        delay in 0u32..60,
    ) {
        let time = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + Duration::seconds(seconds);
        let event = json!({"source": "aws.events", "time": format!("{}Z", time.format("%Y-%m-%dT%H:%M:%S"))});
        let hours = hours_from_event(&event, now(), delay).unwrap();
        prop_assert_eq!(hours.len(), 1);
        let end_of_hour = hours[0].next();
        let cutoff = time - Duration::minutes(i64::from(delay));
        // The hour ended by the cutoff, and the hour after it had not.
        prop_assert_eq!(end_of_hour, Hour::containing(cutoff));
    }

    #[test]
    fn any_json_gives_hours_or_a_clear_error_and_never_panics(event in json_value()) {
        match hours_from_event(&event, now(), 10) {
            Ok(hours) => {
                prop_assert!(!hours.is_empty() && hours.len() <= MAX_BACKFILL_HOURS);
                prop_assert!(hours.windows(2).all(|w| w[0] < w[1]));
            }
            Err(err) => prop_assert!(err.to_string().len() > 20, "{}", err),
        }
    }
}

/// JSON values biased towards the keys and shapes the parser looks at.
fn json_value() -> impl Strategy<Value = Value> {
    let hour_like = prop_oneof![
        Just("2026-11-28T00".to_owned()),
        Just("2026-11-01T05".to_owned()),
        Just("2999-01-01T00".to_owned()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}",
        ".{0,14}",
    ];
    let scalar = prop_oneof![
        hour_like.clone().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(Value::from("2026-11-28T01:10:07Z")),
    ];
    let field = prop_oneof![
        scalar.clone(),
        prop::collection::vec(scalar.clone(), 0..5).prop_map(Value::from),
    ];
    let key = prop_oneof![
        Just("hour".to_owned()),
        Just("hours".to_owned()),
        Just("from".to_owned()),
        Just("to".to_owned()),
        Just("time".to_owned()),
        "[a-z]{1,6}",
    ];
    prop_oneof![
        scalar,
        prop::collection::btree_map(key, field, 0..4)
            .prop_map(|map| Value::Object(map.into_iter().collect())),
    ]
}
