//! The offline aggregation of usage events against a plain model of the rules: copies of an
//! id count once (the earliest by time, then the first read), an event belongs to the month
//! of its own time, and each meter adds up the events of its type that pass its filter.

use metering::pricing::Decimal;
use metering::{Aggregator, Config, FolderHour, Month, Source, ValidConfig};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

fn config() -> ValidConfig {
    let config: Config = serde_json::from_value(serde_json::json!({
        "meters": {
            "tokens": {"source": "events", "event_type": "tokens.generated", "aggregation": "sum", "unit": "tokens"},
            "tokens_large": {"source": "events", "event_type": "tokens.generated", "aggregation": "sum",
                             "filter": {"properties": {"model": ["large", "xl"]}}},
            "jobs": {"source": "events", "event_type": "job.completed", "aggregation": "count"},
            "peak_gb": {"source": "events", "event_type": "storage.gb", "aggregation": "max"},
            "models": {"source": "events", "event_type": "tokens.generated", "aggregation": "unique_count",
                       "property": "model"},
            "regions": {"source": "events", "event_type": "job.completed", "aggregation": "unique_count",
                        "property": "region"},
            "requests": {"aggregation": "count"}
        },
        "pricing": {"default_plan": "p", "plans": {"p": {"currency": "EUR"}}}
    }))
    .unwrap();
    config.validate().unwrap()
}

fn month() -> Month {
    "2026-10".parse().unwrap()
}

#[derive(Debug, Clone)]
struct Ev {
    id: String,
    tenant: String,
    event_type: &'static str,
    time_ms: i64,
    /// As written in the event: a JSON number or a string.
    value: Option<(String, bool)>,
    model: Option<&'static str>,
    region: Option<&'static str>,
}

impl Ev {
    fn line(&self) -> String {
        let mut e = serde_json::json!({
            "id": self.id, "tenant": self.tenant, "type": self.event_type, "time": self.time_ms,
        });
        let mut properties = serde_json::Map::new();
        if let Some(m) = self.model {
            properties.insert("model".into(), m.into());
        }
        if let Some(r) = self.region {
            properties.insert("region".into(), r.into());
        }
        if !properties.is_empty() {
            e["properties"] = properties.into();
        }
        let mut line = e.to_string();
        if let Some((v, quoted)) = &self.value {
            line.pop();
            if *quoted {
                line.push_str(&format!(r#","value":"{v}"}}"#));
            } else {
                line.push_str(&format!(r#","value":{v}}}"#));
            }
        }
        line
    }
}

fn ev() -> impl Strategy<Value = Ev> {
    let start = month().start_ms();
    let end = month().end_ms();
    (
        0u32..40,
        prop::sample::select(vec!["acme", "globex", "initech"]),
        prop::sample::select(vec![
            "tokens.generated",
            "job.completed",
            "storage.gb",
            "other",
        ]),
        prop_oneof![
            start - 3_600_000..start + 3_600_000,
            start..end,
            end - 3_600_000..end + 3_600_000,
        ],
        prop::option::of((
            0u64..10_000_000,
            0u32..1_000_000_000,
            0u32..10,
            any::<bool>(),
        )),
        prop::option::of(prop::sample::select(vec!["small", "large", "xl"])),
        prop::option::of(prop::sample::select(vec!["eu", "us"])),
    )
        .prop_map(
            |(id, tenant, event_type, time_ms, value, model, region)| Ev {
                id: format!("e-{id}"),
                tenant: tenant.to_string(),
                event_type,
                time_ms,
                value: value.map(|(whole, fraction, digits, quoted)| {
                    let digits = digits.min(9) as usize;
                    let text = if digits == 0 {
                        whole.to_string()
                    } else {
                        format!("{whole}.{:0>9}", fraction)[..whole.to_string().len() + 1 + digits]
                            .to_string()
                    };
                    (text, quoted)
                }),
                model,
                region,
            },
        )
}

/// The rules, written plainly over the events in reading order.
fn expected(events: &[Ev]) -> BTreeMap<String, BTreeMap<String, Decimal>> {
    let mut first: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let entry = first.entry(&e.id).or_insert((e.time_ms, i));
        if (e.time_ms, i) < *entry {
            *entry = (e.time_ms, i);
        }
    }
    let range = month().start_ms()..month().end_ms();
    let kept: Vec<&Ev> = first
        .values()
        .map(|(_, i)| &events[*i])
        .filter(|e| range.contains(&e.time_ms))
        .collect();
    let mut out = BTreeMap::new();
    let mut models: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut regions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &kept {
        let row: &mut BTreeMap<String, Decimal> =
            out.entry(e.tenant.clone()).or_insert_with(|| {
                [
                    "jobs",
                    "models",
                    "peak_gb",
                    "regions",
                    "requests",
                    "tokens",
                    "tokens_large",
                ]
                .into_iter()
                .map(|m| (m.to_string(), Decimal::ZERO))
                .collect()
            });
        let value = e.value.as_ref().map(|(v, _)| Decimal::from_str(v).unwrap());
        match (e.event_type, value) {
            ("tokens.generated", Some(v)) => {
                *row.get_mut("tokens").unwrap() += v;
                if matches!(e.model, Some("large" | "xl")) {
                    *row.get_mut("tokens_large").unwrap() += v;
                }
            }
            ("job.completed", _) => *row.get_mut("jobs").unwrap() += Decimal::ONE,
            ("storage.gb", Some(v)) => {
                let peak = row.get_mut("peak_gb").unwrap();
                *peak = (*peak).max(v);
            }
            _ => {}
        }
        if let ("tokens.generated", Some(m)) = (e.event_type, e.model) {
            models.entry(&e.tenant).or_default().insert(m);
        }
        if let ("job.completed", Some(r)) = (e.event_type, e.region) {
            regions.entry(&e.tenant).or_default().insert(r);
        }
    }
    for (tenant, set) in models {
        out.get_mut(tenant)
            .unwrap()
            .insert("models".into(), Decimal::from(set.len()));
    }
    for (tenant, set) in regions {
        out.get_mut(tenant)
            .unwrap()
            .insert("regions".into(), Decimal::from(set.len()));
    }
    for row in out.values_mut() {
        for v in row.values_mut() {
            *v = v.normalize();
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// One reader, shards dealt the lines in any order, and spilling all give the plain
    /// model's usage.
    #[test]
    fn events_meter_as_the_rules_say(
        events in prop::collection::vec(ev(), 0..200),
        threads in 1usize..4,
        spill in 1usize..300,
        deal in prop::collection::vec(0usize..4, 0..200),
    ) {
        let config = config();
        let mut one = Aggregator::of(&config, month(), Source::Events);
        for e in &events {
            one.add_line(e.line().as_bytes()).unwrap();
        }
        let (usage, counts) = one.finish().unwrap();
        prop_assert_eq!(&usage.tenants, &expected(&events));
        prop_assert_eq!(counts.records, events.len() as u64);
        prop_assert_eq!(counts.duplicates + counts.outside_month + counts.billed, counts.records);

        let mut sharded = Aggregator::of(&config, month(), Source::Events)
            .with_threads(threads)
            .with_spill_rows(spill);
        let shards = sharded.shards();
        for (i, e) in events.iter().enumerate().rev() {
            let shard = deal.get(i).copied().unwrap_or(i) % threads;
            shards[shard].add_line(e.line().as_bytes(), i as u64, None).unwrap();
        }
        let (sharded_usage, sharded_counts) = sharded.finish().unwrap();
        prop_assert_eq!(sharded_usage.tenants, usage.tenants);
        prop_assert_eq!(sharded_counts, counts);
    }
}

#[test]
fn a_retried_batch_bills_once() {
    let config = config();
    let line = r#"{"id": "e-1", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:00Z", "value": "1532.5"}"#;
    let mut agg = Aggregator::of(&config, month(), Source::Events);
    for _ in 0..3 {
        agg.add_line(line.as_bytes()).unwrap();
    }
    let (usage, counts) = agg.finish().unwrap();
    assert_eq!(usage.tenants["acme"]["tokens"].to_string(), "1532.5");
    assert_eq!((counts.duplicates, counts.billed), (2, 1));
}

#[test]
fn events_outside_every_window_are_refused_with_their_folder() {
    let config = config();
    let folder = FolderHour::new(2026, 10, 7, 12).unwrap();
    let at = |time: &str| {
        let line = format!(
            r#"{{"id": "e", "tenant": "acme", "type": "job.completed", "time": "{time}"}}"#
        );
        let mut agg = Aggregator::of(&config, month(), Source::Events);
        agg.add_line_in(line.as_bytes(), folder)
            .map_err(|e| e.to_string())
    };
    assert_eq!(at("2026-10-07T11:59:00Z"), Ok(()));
    assert_eq!(at("2026-10-01T00:00:00Z"), Ok(()));
    // Sent long after it happened: September's bill read its folders up to October 1st, 02:00.
    assert_eq!(
        at("2026-09-30T10:00:00Z"),
        Err("`time` 2026-09-30T10:00:00.000Z is in 2026-09, whose bill reads the folders 2026-08-31T23..2026-10-01T02, not 2026-10-07T12 where the event arrived: no bill counts it".into())
    );
    // Dated in a later month.
    assert!(at("2026-11-01T00:00:00Z")
        .unwrap_err()
        .contains("is in 2026-11"));

    // The month's edges: September's last late hour and October's previous-month hour.
    let early = FolderHour::new(2026, 10, 1, 2).unwrap();
    let late = FolderHour::new(2026, 9, 30, 23).unwrap();
    let mut agg = Aggregator::of(&config, month(), Source::Events);
    let line = |id: &str, time: &str| {
        format!(r#"{{"id": "{id}", "tenant": "acme", "type": "job.completed", "time": "{time}"}}"#)
    };
    agg.add_line_in(line("a", "2026-09-30T23:59:59.999Z").as_bytes(), early)
        .unwrap();
    agg.add_line_in(line("b", "2026-10-01T00:00:00Z").as_bytes(), late)
        .unwrap();
    assert!(agg
        .add_line_in(
            line("c", "2026-09-30T23:00:00Z").as_bytes(),
            FolderHour::new(2026, 10, 1, 3).unwrap()
        )
        .is_err());
    let (usage, counts) = agg.finish().unwrap();
    assert_eq!(usage.tenants["acme"]["jobs"], Decimal::ONE);
    assert_eq!(
        (counts.records, counts.outside_month, counts.billed),
        (2, 1, 1)
    );
}

#[test]
fn access_log_lines_are_not_events_and_the_other_source_reads_zero() {
    let config = config();
    let request = r#"{"requestId": "r-1", "requestTime": 1791374400000, "tenant": "acme"}"#;
    let mut events = Aggregator::of(&config, month(), Source::Events);
    assert!(events.add_line(request.as_bytes()).is_err());
    let mut logs = Aggregator::new(&config, month());
    logs.add_line(request.as_bytes()).unwrap();
    let (usage, _) = logs.finish().unwrap();
    assert_eq!(usage.tenants["acme"]["requests"], Decimal::ONE);
    assert_eq!(usage.tenants["acme"]["tokens"], Decimal::ZERO);
}

#[test]
fn a_total_larger_than_a_decimal_fails_loudly() {
    let config = config();
    let mut agg = Aggregator::of(&config, month(), Source::Events);
    for i in 0..100_000 {
        let line = format!(
            r#"{{"id": "e-{i}", "tenant": "acme", "type": "tokens.generated", "time": "2026-10-07T12:00:00Z", "value": 999999999999999}}"#
        );
        agg.add_line(line.as_bytes()).unwrap();
    }
    let error = agg.finish().unwrap_err().to_string();
    assert_eq!(
        error,
        "the 2026-10 usage of meter `tokens` for tenant `acme` is larger than a decimal holds"
    );
}

proptest! {
    /// The time range a folder's events may have is exactly the times whose month's window
    /// reads the folder, whatever the late hours.
    #[test]
    fn the_times_billed_from_a_folder_are_those_whose_window_reads_it(
        folder_ms in 1_700_000_000_000i64..1_900_000_000_000,
        offset_ms in -3_000_000_000i64..3_000_000_000,
        late in 1u32..=metering::MAX_LATE_ARRIVAL_HOURS,
    ) {
        let hour = chrono::DateTime::from_timestamp_millis(folder_ms).unwrap();
        use chrono::{Datelike, Timelike};
        let folder = FolderHour::new(hour.year(), hour.month(), hour.day(), hour.hour()).unwrap();
        let time = folder_ms + offset_ms;
        let window = metering::Window {
            month: Month::containing(time).unwrap(),
            late_arrival_hours: late,
        };
        prop_assert_eq!(
            metering::times_billed_from(folder, late).contains(&time),
            window.reads_folder(folder)
        );
    }
}
