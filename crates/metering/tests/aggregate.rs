//! The offline aggregator against a plain re-implementation of the rules (earliest copy of a
//! request id wins, then the month of its own request time), with and without spilling.

use metering::{Aggregator, Config, Month, ValidConfig};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

fn config() -> ValidConfig {
    let c: Config = serde_json::from_str(
        r#"{"late_arrival_hours": 2,
            "meters": {
              "all": {"aggregation": "count"},
              "ok_gets": {"aggregation": "count", "filter": {"methods": ["GET"], "status_classes": ["2xx"]}},
              "bytes": {"aggregation": "sum_response_bytes", "filter": {"resource_paths": ["/a/*"]}},
              "users": {"aggregation": "unique_users"}},
            "pricing": {"default_plan": "p", "plans": {"p": {"currency": "EUR"}}}}"#,
    )
    .unwrap();
    c.validate().unwrap()
}

#[derive(Debug, Clone)]
struct Rec {
    id: u8,
    time: i64,
    tenant: Option<&'static str>,
    sub: Option<&'static str>,
    method: &'static str,
    path: &'static str,
    status: i64,
    bytes: u64,
}

impl Rec {
    fn line(&self) -> String {
        let tenant = self
            .tenant
            .map_or(String::new(), |t| format!(r#", "tenant": "{t}""#));
        format!(
            r#"{{"requestId": "id-{}", "requestTime": {}, "httpMethod": "{}", "resourcePath": "{}", "status": {}, "responseLength": {}{tenant}, "sub": "{}"}}"#,
            self.id,
            self.time,
            self.method,
            self.path,
            self.status,
            self.bytes,
            self.sub.unwrap_or("-")
        )
    }
}

fn month() -> Month {
    "2026-10".parse().unwrap()
}

fn rec() -> impl Strategy<Value = Rec> {
    let m = month();
    let near = prop_oneof![
        (-5_000i64..5_000).prop_map(move |d| m.start_ms() + d),
        (-5_000i64..5_000).prop_map(move |d| m.end_ms() + d),
        (0i64..(m.end_ms() - m.start_ms())).prop_map(move |d| m.start_ms() + d),
    ];
    (
        0u8..40,
        near,
        prop::sample::select(vec![
            Some("acme"),
            Some("globex"),
            Some("-"),
            Some(""),
            None,
        ]),
        prop::sample::select(vec![Some("s1"), Some("s2"), Some("s3"), None]),
        prop::sample::select(vec!["GET", "POST"]),
        prop::sample::select(vec!["/a", "/a/b", "/ab", "/"]),
        prop::sample::select(vec![200i64, 204, 301, 404, 500]),
        0u64..5_000_000_000,
    )
        .prop_map(|(id, time, tenant, sub, method, path, status, bytes)| Rec {
            id,
            time,
            tenant,
            sub,
            method,
            path,
            status,
            bytes,
        })
}

/// The rules, written out plainly.
fn expected(records: &[Rec]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut earliest: HashMap<u8, &Rec> = HashMap::new();
    for r in records {
        let e = earliest.entry(r.id).or_insert(r);
        if r.time < e.time {
            *e = r;
        }
    }
    let m = month();
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut users: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for r in earliest.values() {
        if !(m.start_ms()..m.end_ms()).contains(&r.time) {
            continue;
        }
        let tenant = match r.tenant {
            None | Some("-") | Some("") => "unassigned",
            Some(t) => t,
        }
        .to_string();
        let t = out.entry(tenant.clone()).or_insert_with(|| {
            ["all", "bytes", "ok_gets", "users"]
                .map(|k| (k.to_string(), 0))
                .into()
        });
        *t.get_mut("all").unwrap() += 1;
        if r.method == "GET" && (200..300).contains(&r.status) {
            *t.get_mut("ok_gets").unwrap() += 1;
        }
        if r.path == "/a" || r.path.starts_with("/a/") {
            *t.get_mut("bytes").unwrap() += r.bytes;
        }
        if let Some(s) = r.sub {
            users.entry(tenant).or_default().insert(s);
        }
    }
    for (tenant, subs) in users {
        out.get_mut(&tenant)
            .unwrap()
            .insert("users".into(), subs.len() as u64);
    }
    out
}

fn run(records: &[Rec], spill_rows: Option<usize>) -> BTreeMap<String, BTreeMap<String, u64>> {
    let config = config();
    let mut agg = Aggregator::new(&config, month());
    if let Some(n) = spill_rows {
        agg = agg.with_spill_rows(n);
    }
    for r in records {
        agg.add_line(r.line().as_bytes()).unwrap();
    }
    if spill_rows.is_some_and(|n| n < records.len()) {
        assert!(agg.spilled());
    }
    let (usage, counts) = agg.finish().unwrap();
    assert_eq!(counts.records, records.len() as u64);
    assert_eq!(
        counts.duplicates + counts.outside_month + counts.billed,
        counts.records
    );
    ints(usage.tenants)
}

/// Totals that are all whole numbers, as integers.
fn ints(
    tenants: BTreeMap<String, BTreeMap<String, metering::pricing::Decimal>>,
) -> BTreeMap<String, BTreeMap<String, u64>> {
    tenants
        .into_iter()
        .map(|(tenant, meters)| {
            let meters = meters
                .into_iter()
                .map(|(m, d)| (m, d.to_string().parse().expect("a whole number")))
                .collect();
            (tenant, meters)
        })
        .collect()
}

/// The lines dealt out to `threads` shards in any order, each with its place in `records`.
fn run_in_shards(
    records: &[Rec],
    threads: usize,
    spill_rows: usize,
    deal: &[usize],
) -> (BTreeMap<String, BTreeMap<String, u64>>, metering::Counts) {
    let mut agg = Aggregator::new(&config(), month())
        .with_threads(threads)
        .with_spill_rows(spill_rows);
    assert_eq!(agg.threads(), threads);
    let shards = agg.shards();
    for (i, r) in records.iter().enumerate().rev() {
        let shard = deal.get(i).copied().unwrap_or(i) % threads;
        shards[shard]
            .add_line(r.line().as_bytes(), i as u64, None)
            .unwrap();
    }
    let (usage, counts) = agg.finish().unwrap();
    (ints(usage.tenants), counts)
}

proptest! {
    /// However the lines are dealt out to shards and in whatever order each shard gets
    /// them, the usage and the counts are those of one shard reading them in order: of two
    /// copies with the same time, the one at the lower position counts.
    #[test]
    fn shards_give_what_one_reader_gives(
        records in prop::collection::vec(rec(), 0..300),
        threads in 1usize..5,
        spill in 1usize..400,
        deal in prop::collection::vec(0usize..5, 0..300),
    ) {
        let config = config();
        let mut one = Aggregator::new(&config, month());
        for r in &records {
            one.add_line(r.line().as_bytes()).unwrap();
        }
        let (usage, counts) = one.finish().unwrap();
        let (sharded, sharded_counts) = run_in_shards(&records, threads, spill, &deal);
        prop_assert_eq!(&sharded, &ints(usage.tenants));
        prop_assert_eq!(sharded_counts, counts);
        prop_assert_eq!(&sharded, &expected(&records));
    }

    #[test]
    fn matches_the_rules_with_and_without_spilling(
        records in prop::collection::vec(rec(), 0..300),
        spill in 1usize..64,
    ) {
        let want = expected(&records);
        prop_assert_eq!(&run(&records, None), &want);
        prop_assert_eq!(&run(&records, Some(spill)), &want);
    }
}

/// A GET of `/` by `tenant`, status 200, 1 byte, without a user.
fn request(id: u8, time: i64, tenant: &'static str) -> Rec {
    Rec {
        id,
        time,
        tenant: Some(tenant),
        sub: None,
        method: "GET",
        path: "/",
        status: 200,
        bytes: 1,
    }
}

#[test]
fn the_last_millisecond_of_the_month_is_in_it() {
    let m = month();
    let at = |id: u8, time: i64| request(id, time, "acme");
    let got = run(
        &[
            at(1, m.end_ms() - 1),
            at(2, m.end_ms()),
            at(3, m.start_ms() - 1),
            at(4, m.start_ms()),
        ],
        None,
    );
    assert_eq!(got["acme"]["all"], 2);
}

#[test]
fn the_earliest_copy_decides_the_month_and_the_tenant() {
    let m = month();
    let copy = |time: i64, tenant: &'static str| request(7, time, tenant);
    // A copy inside the month, but an earlier one in September: not October's.
    let got = run(
        &[
            copy(m.start_ms() + 10, "acme"),
            copy(m.start_ms() - 10, "acme"),
        ],
        None,
    );
    assert!(got.is_empty(), "{got:?}");
    let got = run(
        &[
            copy(m.start_ms() + 20, "acme"),
            copy(m.start_ms() + 10, "globex"),
        ],
        Some(1),
    );
    assert_eq!(got.keys().collect::<Vec<_>>(), ["globex"]);
}

#[test]
fn of_copies_at_the_same_time_the_one_read_first_counts() {
    let copy = |tenant: &'static str| request(9, month().start_ms() + 5, tenant);
    let records = [copy("acme"), copy("globex"), copy("initech")];
    for threads in 1..4 {
        for deal in [[0, 1, 2], [2, 1, 0], [1, 1, 0]] {
            let (usage, counts) = run_in_shards(&records, threads, 1, &deal);
            assert_eq!(
                usage.keys().collect::<Vec<_>>(),
                ["acme"],
                "{threads} {deal:?}"
            );
            assert_eq!(counts.duplicates, 2);
        }
    }
}
