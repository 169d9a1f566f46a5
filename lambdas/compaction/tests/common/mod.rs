//! Helpers shared by the test binaries: configuration, events, and a scripted in-memory
//! Athena + S3 ([`FakeAws`]). moto's query results are in [`moto`], its server in
//! [`lambda_support::moto`].
#![allow(dead_code)]

pub mod moto;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaction::{Hour, Settings};
use lambda_support::athena::{
    Athena, QueryRequest, QueryState, QueryStatus, ResultPage, StatusDetail,
};
use lambda_support::query::Backoff;
use lambda_support::s3::S3;
use lambda_support::s3::{DeleteFailure, ObjectPage};
use lambda_support::sdk::ApiError;
use serde_json::Value;
use tokio::time::Instant;

/// Where the tables' data lives in a test configuration.
pub struct Locations<'a> {
    pub json: &'a str,
    pub parquet: &'a str,
    pub staging: &'a str,
    pub manifests: &'a str,
    pub work_group: &'a str,
}

pub const FAKE_LOCATIONS: Locations<'static> = Locations {
    json: "s3://bucket/json-data",
    parquet: "s3://bucket/parquet-data",
    staging: "s3://results-bucket/tmp",
    manifests: "s3://bucket/compaction-manifests",
    work_group: "metering-wg",
};

pub const ALL_COLUMNS: &str =
    "requestId,ip,user,requestTime,httpMethod,resourcePath,status,protocol,responseLength";

pub fn config_with(locations: &Locations<'_>, columns: &str) -> Settings {
    Settings::from_lookup(|name| {
        Some(
            match name {
                "OLD_DATABASE" => "metering",
                "OLD_TABLE_NAME" => "api_access_json",
                "NEW_DATABASE" => "metering",
                "NEW_TABLE_NAME" => "api_access_parquet",
                "COLUMN_NAMES" => columns,
                "ATHENA_WORK_GROUP" => locations.work_group,
                "OLD_TABLE_LOCATION_PREFIX" => locations.json,
                "OUTPUT_PREFIX" => locations.parquet,
                "STAGING_OUTPUT_PREFIX" => locations.staging,
                "REGION_NAME" => "us-east-1",
                "MANIFEST_PREFIX" => locations.manifests,
                _ => return None,
            }
            .to_owned(),
        )
    })
    .unwrap()
}

pub fn settings() -> Settings {
    config_with(&FAKE_LOCATIONS, ALL_COLUMNS)
}

/// An instance compacting usage events (`SOURCE=usage_events`, `LATE_ARRIVAL_HOURS=3`) in
/// the folders of [`FAKE_LOCATIONS`].
pub fn events_settings() -> Settings {
    Settings::from_lookup(|name| {
        Some(
            match name {
                "SOURCE" => "usage_events",
                "LATE_ARRIVAL_HOURS" => "3",
                "OLD_DATABASE" => "metering",
                "OLD_TABLE_NAME" => "usage_events_json",
                "NEW_DATABASE" => "metering",
                "NEW_TABLE_NAME" => "usage_events_parquet",
                "ATHENA_WORK_GROUP" => FAKE_LOCATIONS.work_group,
                "OLD_TABLE_LOCATION_PREFIX" => FAKE_LOCATIONS.json,
                "OUTPUT_PREFIX" => FAKE_LOCATIONS.parquet,
                "STAGING_OUTPUT_PREFIX" => FAKE_LOCATIONS.staging,
                "REGION_NAME" => "us-east-1",
                "MANIFEST_PREFIX" => FAKE_LOCATIONS.manifests,
                _ => return None,
            }
            .to_owned(),
        )
    })
    .unwrap()
}

/// An EventBridge scheduled event at `time`.
pub fn scheduled_event_at(time: &str) -> Value {
    lambda_support::testing::scheduled_event("compaction-hourly", time)
}

/// The run at 01:10:07 that compacts [`hour()`].
pub fn scheduled_event() -> Value {
    scheduled_event_at("2026-11-28T01:10:07Z")
}

pub fn hour() -> Hour {
    Hour::parse("2026-11-28T00").unwrap()
}

pub fn hours(values: &[&str]) -> Vec<Hour> {
    values.iter().map(|v| Hour::parse(v).unwrap()).collect()
}

/// The wall clock the tests give the app: after every hour they name, so all are complete.
pub fn test_clock() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

pub fn ms(values: &[u64]) -> Vec<Duration> {
    values.iter().copied().map(Duration::from_millis).collect()
}

pub fn far_deadline() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

pub fn fast_backoff() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        factor: 2,
        max: Duration::from_millis(200),
    }
}

/// The answer Athena gives to the count query: the header row, then the counts.
pub fn count_results(rows_in: u64, rows_out: u64) -> ResultPage {
    ResultPage {
        columns: vec!["rows_in".to_owned(), "rows_out".to_owned()],
        rows: vec![
            vec![Some("rows_in".to_owned()), Some("rows_out".to_owned())],
            vec![Some(rows_in.to_string()), Some(rows_out.to_string())],
        ],
        next_token: None,
    }
}

/// The answer Athena gives to the count query of usage events.
pub fn event_count_results(
    rows_in: u64,
    rows_out: u64,
    rows_malformed: u64,
    rows_outside_windows: u64,
) -> ResultPage {
    let columns = [
        "rows_in",
        "rows_out",
        "rows_malformed",
        "rows_outside_windows",
    ];
    let counts = [rows_in, rows_out, rows_malformed, rows_outside_windows];
    ResultPage {
        columns: columns.map(str::to_owned).to_vec(),
        rows: vec![
            columns.map(|c| Some(c.to_owned())).to_vec(),
            counts.map(|n| Some(n.to_string())).to_vec(),
        ],
        next_token: None,
    }
}

/// A call to [`FakeAws`], Athena's and S3's in one sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Start {
        id: String,
        sql: String,
        work_group: String,
        output_location: String,
    },
    Status {
        id: String,
        at: Duration,
    },
    Stop {
        id: String,
    },
    Results {
        id: String,
    },
    List {
        bucket: String,
        prefix: String,
    },
    Delete {
        bucket: String,
        keys: Vec<String>,
    },
    Get {
        bucket: String,
        key: String,
    },
    Put {
        bucket: String,
        key: String,
    },
}

struct Query {
    id: String,
    script: VecDeque<QueryStatus>,
    last: QueryStatus,
    results: ResultPage,
}

struct State {
    origin: Instant,
    scripts: VecDeque<Vec<QueryStatus>>,
    results: VecDeque<ResultPage>,
    queries: Vec<Query>,
    calls: Vec<Call>,
    start_error: Option<String>,
    /// (bucket, key) → body
    objects: BTreeMap<(String, String), Vec<u8>>,
    /// Keys DeleteObjects refuses, with S3's code.
    refused: Vec<(String, String)>,
    /// Time each call takes, on tokio's clock.
    latency: Duration,
}

/// A scripted Athena and an in-memory S3 sharing one call log.
///
/// Each started query plays the next script of statuses, its last status repeating; queries
/// without a script succeed at once. GetQueryResults answers with the next queued result for
/// each query, by default 10 rows in and 9 out.
#[derive(Clone)]
pub struct FakeAws(Arc<Mutex<State>>);

impl FakeAws {
    pub fn new(scripts: Vec<Vec<QueryStatus>>) -> Self {
        Self(Arc::new(Mutex::new(State {
            origin: Instant::now(),
            scripts: scripts.into(),
            results: VecDeque::new(),
            queries: Vec::new(),
            calls: Vec::new(),
            start_error: None,
            objects: BTreeMap::new(),
            refused: Vec::new(),
            latency: Duration::ZERO,
        })))
    }

    /// With one JSON object in the folder of each of `hours`.
    pub fn with_json_for(scripts: Vec<Vec<QueryStatus>>, hours: &[Hour]) -> Self {
        let fake = Self::new(scripts);
        for hour in hours {
            fake.put(
                "bucket",
                &format!("json-data/{}/part-0001.json", hour.partition_path()),
            );
        }
        fake
    }

    pub fn failing_start(self, message: &str) -> Self {
        self.0.lock().unwrap().start_error = Some(message.to_owned());
        self
    }

    /// Every call takes `latency` of tokio's clock.
    pub fn with_latency(self, latency: Duration) -> Self {
        self.0.lock().unwrap().latency = latency;
        self
    }

    /// Queues what GetQueryResults gives for the next query asked about.
    pub fn queue_results(&self, results: ResultPage) {
        self.0.lock().unwrap().results.push_back(results);
    }

    pub fn put(&self, bucket: &str, key: &str) {
        self.0
            .lock()
            .unwrap()
            .objects
            .insert((bucket.to_owned(), key.to_owned()), Vec::new());
    }

    /// The body of an object, if there is one.
    pub fn body(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.0
            .lock()
            .unwrap()
            .objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    pub fn refuse_delete(&self, key: &str, code: &str) {
        self.0
            .lock()
            .unwrap()
            .refused
            .push((key.to_owned(), code.to_owned()));
    }

    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .objects
            .keys()
            .filter(|(b, k)| b == bucket && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().calls.clone()
    }

    pub fn starts(&self) -> Vec<(String, String)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Start { id, sql, .. } => Some((id, sql)),
                _ => None,
            })
            .collect()
    }

    pub fn deletes(&self) -> Vec<Vec<String>> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Delete { keys, .. } => Some(keys),
                _ => None,
            })
            .collect()
    }

    pub fn polls_of(&self, wanted: &str) -> Vec<Duration> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Status { id, at } if id == wanted => Some(at),
                _ => None,
            })
            .collect()
    }

    async fn pause(&self) {
        let latency = self.0.lock().unwrap().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
}

impl Athena for FakeAws {
    async fn start_query(&self, request: QueryRequest<'_>) -> Result<String, ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        if let Some(message) = &state.start_error {
            return Err(ApiError::new(message.clone()));
        }
        let id = format!("qid-{}", state.queries.len() + 1);
        let script: VecDeque<QueryStatus> = state
            .scripts
            .pop_front()
            .unwrap_or_else(|| vec![succeeded()])
            .into();
        let last = script.back().cloned().expect("a script is never empty");
        // The count query of either source.
        let results = if request.sql.starts_with("SELECT count") {
            state
                .results
                .pop_front()
                .unwrap_or_else(|| count_results(10, 9))
        } else {
            ResultPage::default()
        };
        state.queries.push(Query {
            id: id.clone(),
            script,
            last,
            results,
        });
        state.calls.push(Call::Start {
            id: id.clone(),
            sql: request.sql.to_owned(),
            work_group: request.work_group.to_owned(),
            output_location: request.output_location.unwrap_or_default().to_owned(),
        });
        Ok(id)
    }

    async fn query_status(&self, id: &str) -> Result<StatusDetail, ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        let at = Instant::now() - state.origin;
        state.calls.push(Call::Status {
            id: id.to_owned(),
            at,
        });
        let query = state
            .queries
            .iter_mut()
            .find(|q| q.id == id)
            .ok_or_else(|| ApiError::new(format!("no query {id}")))?;
        Ok(query
            .script
            .pop_front()
            .unwrap_or_else(|| query.last.clone())
            .into())
    }

    async fn stop_query(&self, id: &str) -> Result<(), ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        state.calls.push(Call::Stop { id: id.to_owned() });
        Ok(())
    }

    /// The query's results in one page.
    async fn query_results(
        &self,
        id: &str,
        _next_token: Option<&str>,
    ) -> Result<ResultPage, ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        state.calls.push(Call::Results { id: id.to_owned() });
        state
            .queries
            .iter()
            .find(|q| q.id == id)
            .map(|q| q.results.clone())
            .ok_or_else(|| ApiError::new(format!("no query {id}")))
    }
}

impl S3 for FakeAws {
    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation_token: Option<&str>,
    ) -> Result<ObjectPage, ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        state.calls.push(Call::List {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        });
        let limit = 1000;
        let after = continuation_token.unwrap_or_default();
        let matching: Vec<String> = state
            .objects
            .keys()
            .filter(|(b, k)| b == bucket && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .filter(|k| k.as_str() > after)
            .collect();
        let keys: Vec<String> = matching.iter().take(limit).cloned().collect();
        let next_continuation_token =
            (matching.len() > limit).then(|| keys.last().cloned().unwrap());
        Ok(ObjectPage {
            keys,
            next_continuation_token,
        })
    }

    async fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> Result<Vec<DeleteFailure>, ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        assert!(keys.len() <= 1000, "DeleteObjects takes at most 1000 keys");
        state.calls.push(Call::Delete {
            bucket: bucket.to_owned(),
            keys: keys.to_vec(),
        });
        let mut failures = Vec::new();
        for key in keys {
            match state.refused.iter().find(|(k, _)| k == key) {
                Some((_, code)) => failures.push(DeleteFailure {
                    key: key.clone(),
                    code: code.clone(),
                    message: "Access Denied".to_owned(),
                }),
                None => {
                    state.objects.remove(&(bucket.to_owned(), key.clone()));
                }
            }
        }
        Ok(failures)
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        state.calls.push(Call::Get {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        });
        state
            .objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::new(format!("NoSuchKey: {key}")))
    }

    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        _content_type: &str,
        body: Vec<u8>,
    ) -> Result<(), ApiError> {
        self.pause().await;
        let mut state = self.0.lock().unwrap();
        state.calls.push(Call::Put {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        });
        state
            .objects
            .insert((bucket.to_owned(), key.to_owned()), body);
        Ok(())
    }
}

pub fn status(state: QueryState) -> QueryStatus {
    QueryStatus::new(state)
}

pub fn succeeded() -> QueryStatus {
    status(QueryState::Succeeded)
}

pub fn queued_running_running_succeeded() -> Vec<QueryStatus> {
    vec![
        status(QueryState::Queued),
        status(QueryState::Running),
        status(QueryState::Running),
        succeeded(),
    ]
}
