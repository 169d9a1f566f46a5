//! Helpers shared by the test binaries: settings, the metering config, events and clocks.
//! moto's query results are in [`moto`], its server in [`lambda_support::moto`].
#![allow(dead_code)]

pub mod moto;

use std::time::Duration;

use billing::Settings;
use chrono::{DateTime, Utc};
use lambda_support::query::Backoff;
use serde_json::{json, Value};
use tokio::time::Instant;

pub const WORK_GROUP: &str = "billing-wg";
pub const DATABASE: &str = "metering";
pub const TABLE: &str = "api_access_parquet";
pub const CONFIG_BUCKET: &str = "metering-deploy";
pub const CONFIG_KEY: &str = "billing/metering.json";
pub const INVOICES_BUCKET: &str = "metering-invoices";
pub const INVOICES_PREFIX: &str = "invoices/";
pub const DATA_BUCKET: &str = "metering-data";
pub const JSON_FOLDER: &str = "json-data";
pub const MANIFEST_FOLDER: &str = "compaction-manifests";

/// The usage events' Parquet table (in [`DATABASE`]) and folders (in [`DATA_BUCKET`]), as a
/// stack with a `usage_events` section has them.
pub const EVENTS_TABLE: &str = "usage_events_parquet";
pub const EVENTS_JSON_FOLDER: &str = "usage-events";
pub const EVENTS_MANIFEST_FOLDER: &str = "usage-events-manifests";

pub fn settings() -> Settings {
    Settings::from_lookup(|name| environment(name, false)).unwrap()
}

/// [`settings`] with the four `EVENTS_*` variables.
pub fn settings_with_events() -> Settings {
    Settings::from_lookup(|name| environment(name, true)).unwrap()
}

fn environment(name: &str, events: bool) -> Option<String> {
    Some(match name {
        "ATHENA_WORK_GROUP" => WORK_GROUP.to_owned(),
        "USAGE_DATABASE" => DATABASE.to_owned(),
        "USAGE_TABLE" => TABLE.to_owned(),
        "METERING_CONFIG_URI" => format!("s3://{CONFIG_BUCKET}/{CONFIG_KEY}"),
        "INVOICES_BUCKET" => INVOICES_BUCKET.to_owned(),
        "INVOICES_PREFIX" => INVOICES_PREFIX.to_owned(),
        "JSON_LOCATION_PREFIX" => format!("s3://{DATA_BUCKET}/{JSON_FOLDER}"),
        "MANIFEST_PREFIX" => format!("s3://{DATA_BUCKET}/{MANIFEST_FOLDER}"),
        "AWS_REGION" => "us-east-1".to_owned(),
        "EVENTS_DATABASE" if events => DATABASE.to_owned(),
        "EVENTS_TABLE" if events => EVENTS_TABLE.to_owned(),
        "EVENTS_JSON_LOCATION_PREFIX" if events => {
            format!("s3://{DATA_BUCKET}/{EVENTS_JSON_FOLDER}")
        }
        "EVENTS_MANIFEST_PREFIX" if events => {
            format!("s3://{DATA_BUCKET}/{EVENTS_MANIFEST_FOLDER}")
        }
        _ => return None,
    })
}

/// Two meters and two plans: `acme` on `pro` (EUR, graduated requests, a monthly minimum),
/// everyone else on `standard` (USD, per-unit with free requests).
pub fn config_json() -> Value {
    json!({
        "late_arrival_hours": 3,
        "meters": {
            "requests": {"aggregation": "count", "filter": {"status_classes": ["2xx"]}},
            "transfer": {"aggregation": "sum_response_bytes"}
        },
        "pricing": {
            "default_plan": "standard",
            "plans": {
                "standard": {
                    "currency": "USD",
                    "charges": {
                        "requests": {"model": "per_unit", "unit_price": "0.0004", "free_units": 1000},
                        "transfer": {"model": "per_unit", "unit_price": "0.09"}
                    }
                },
                "pro": {
                    "currency": "EUR",
                    "monthly_minimum": "49.00",
                    "charges": {
                        "requests": {"model": "graduated", "tiers": [
                            {"up_to": 100000, "unit_price": "0.0002"},
                            {"up_to": null, "unit_price": "0.0001"}
                        ]},
                        "transfer": {"model": "per_unit", "unit_price": "0.05"}
                    }
                }
            },
            "tenants": {"acme": "pro"}
        }
    })
}

/// The config object as Terraform writes it: a serialized `metering::Config`.
pub fn config_bytes() -> Vec<u8> {
    let config: metering::Config = serde_json::from_value(config_json()).unwrap();
    serde_json::to_vec_pretty(&config).unwrap()
}

pub fn valid_config() -> metering::ValidConfig {
    serde_json::from_value::<metering::Config>(config_json())
        .unwrap()
        .validate()
        .unwrap()
}

/// [`config_json`] with a meter of usage events, `tokens` (the sum of `tokens.generated`
/// events' values), priced in both plans.
pub fn events_config_json() -> Value {
    let mut config = config_json();
    config["meters"]["tokens"] = json!({
        "source": "events", "event_type": "tokens.generated", "aggregation": "sum",
        "unit": "tokens"
    });
    let plans = &mut config["pricing"]["plans"];
    plans["standard"]["charges"]["tokens"] = json!({"model": "per_unit", "unit_price": "0.00002"});
    plans["pro"]["charges"]["tokens"] = json!({"model": "per_unit", "unit_price": "0.00001"});
    config
}

pub fn events_config_bytes() -> Vec<u8> {
    let config: metering::Config = serde_json::from_value(events_config_json()).unwrap();
    serde_json::to_vec_pretty(&config).unwrap()
}

pub fn valid_events_config() -> metering::ValidConfig {
    serde_json::from_value::<metering::Config>(events_config_json())
        .unwrap()
        .validate()
        .unwrap()
}

/// The usage query for October over the access log and the usage events, as the function
/// must send it for [`events_config_json`].
pub fn october_events_query() -> String {
    metering::usage_query_with_events(
        &valid_events_config(),
        october(),
        metering::Table {
            database: DATABASE,
            table: TABLE,
        },
        Some(metering::Table {
            database: DATABASE,
            table: EVENTS_TABLE,
        }),
    )
    .unwrap()
}

/// [`usage_rows`] with the `tokens` meter of [`events_config_json`]: acme's 3 000 000 tokens
/// (× 0.00001 = 30.00 EUR) lift its invoice above the 49.00 minimum to 25.00 + 30.00 + 0.12 =
/// 55.12; unassigned's 1500.5 (× 0.00002 = 0.03001 → 0.03 USD) add 0.03 to its 0.09.
pub fn events_usage_rows() -> Vec<Vec<&'static str>> {
    vec![
        vec!["tenant", "requests", "tokens", "transfer"],
        vec!["acme", "150000", "3000000", "2500000000"],
        vec!["unassigned", "1234", "1500.5", "1000000"],
    ]
}

/// The totals of [`events_usage_rows`]; [`usage_rows`]' are 49.00 EUR and 0.09 USD.
pub const EVENTS_TOTALS: [(&str, &str); 2] = [("EUR", "55.12"), ("USD", "0.12")];

pub fn october() -> metering::Month {
    "2026-10".parse().unwrap()
}

/// The usage query for October, as the function must send it.
pub fn october_query() -> String {
    metering::usage_query(&valid_config(), october(), DATABASE, TABLE).unwrap()
}

/// Mid-November: October may be billed.
pub fn mid_november() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-15T12:00:00Z")
        .unwrap()
        .to_utc()
}

/// An EventBridge scheduled event at `time`.
pub fn scheduled_event_at(time: &str) -> Value {
    lambda_support::testing::scheduled_event("monthly-billing", time)
}

pub fn far_deadline() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

pub fn fast_backoff() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        factor: 2,
        max: Duration::from_millis(100),
    }
}

/// `(header, rows)` of the usage query for two tenants: `acme` and `unassigned`.
pub fn usage_rows() -> Vec<Vec<&'static str>> {
    vec![
        vec!["tenant", "requests", "transfer"],
        vec!["acme", "150000", "2500000000"],
        vec!["unassigned", "1234", "1000000"],
    ]
}

/// summary.csv for [`usage_rows`]:
/// - acme, pro (EUR): requests 100 000 × 0.0002 + 50 000 × 0.0001 = 25.00; transfer
///   2.5 GB × 0.05 = 0.125 → 0.12 (half-even); subtotal 25.12, topped up to the 49.00
///   minimum by 23.88;
/// - unassigned, standard (USD): requests (1234 − 1000 free) × 0.0004 = 0.0936 → 0.09;
///   transfer 0.001 GB × 0.09 = 0.00009 → 0.00; total 0.09.
pub const SUMMARY_CSV: &str = "\
tenant,period,plan,currency,requests_requests,transfer_gb,subtotal,minimum_adjustment,total
acme,2026-10,pro,EUR,150000,2.5,25.12,23.88,49.00
unassigned,2026-10,standard,USD,1234,0.001,0.09,0.00,0.09
";
