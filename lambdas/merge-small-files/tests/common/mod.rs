//! A scripted in-memory Athena shared by the test binaries.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use merge_small_files::athena::{ApiError, Athena, QueryRequest, QueryState, QueryStatus};
use merge_small_files::{Config, Hour};
use serde_json::{json, Value};
use tokio::time::Instant;

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
}

struct Query {
    id: String,
    script: VecDeque<QueryStatus>,
    last: QueryStatus,
}

struct State {
    origin: Instant,
    scripts: VecDeque<Vec<QueryStatus>>,
    queries: Vec<Query>,
    calls: Vec<Call>,
    start_error: Option<String>,
}

/// Each started query plays the next script; its last status repeats.
/// Queries without a script succeed at once.
#[derive(Clone)]
pub struct FakeAthena(Arc<Mutex<State>>);

impl FakeAthena {
    pub fn new(scripts: Vec<Vec<QueryStatus>>) -> Self {
        Self(Arc::new(Mutex::new(State {
            origin: Instant::now(),
            scripts: scripts.into(),
            queries: Vec::new(),
            calls: Vec::new(),
            start_error: None,
        })))
    }

    pub fn failing_start(message: &str) -> Self {
        let fake = Self::new(vec![]);
        fake.0.lock().unwrap().start_error = Some(message.to_owned());
        fake
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

    pub fn polls_of(&self, wanted: &str) -> Vec<Duration> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Status { id, at } if id == wanted => Some(at),
                _ => None,
            })
            .collect()
    }
}

impl Athena for FakeAthena {
    async fn start_query(&self, request: QueryRequest<'_>) -> Result<String, ApiError> {
        let mut state = self.0.lock().unwrap();
        if let Some(message) = &state.start_error {
            return Err(ApiError(message.clone()));
        }
        let id = format!("qid-{}", state.queries.len() + 1);
        let script: VecDeque<QueryStatus> = state
            .scripts
            .pop_front()
            .unwrap_or_else(|| vec![succeeded()])
            .into();
        let last = script.back().cloned().expect("a script is never empty");
        state.queries.push(Query {
            id: id.clone(),
            script,
            last,
        });
        state.calls.push(Call::Start {
            id: id.clone(),
            sql: request.sql.to_owned(),
            work_group: request.work_group.to_owned(),
            output_location: request.output_location.to_owned(),
        });
        Ok(id)
    }

    async fn query_status(&self, id: &str) -> Result<QueryStatus, ApiError> {
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
            .ok_or_else(|| ApiError(format!("no query {id}")))?;
        Ok(query
            .script
            .pop_front()
            .unwrap_or_else(|| query.last.clone()))
    }

    async fn stop_query(&self, id: &str) -> Result<(), ApiError> {
        let mut state = self.0.lock().unwrap();
        state.calls.push(Call::Stop { id: id.to_owned() });
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

pub fn config() -> Config {
    Config::from_lookup(|name| {
        Some(
            match name {
                "OLD_DATABASE" => "metering",
                "OLD_TABLE_NAME" => "api_access_json",
                "NEW_DATABASE" => "metering",
                "NEW_TABLE_NAME" => "api_access_parquet",
                "COLUMN_NAMES" => "requestId,ip,user,requestTime,httpMethod,resourcePath,status,protocol,responseLength",
                "ATHENA_WORK_GROUP" => "metering-wg",
                "OLD_TABLE_LOCATION_PREFIX" => "s3://bucket/json-data",
                "OUTPUT_PREFIX" => "s3://bucket/parquet-data",
                "STAGING_OUTPUT_PREFIX" => "s3://results-bucket/tmp",
                "REGION_NAME" => "us-east-1",
                _ => return None,
            }
            .to_owned(),
        )
    })
    .unwrap()
}

pub fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-11-28T01:10:07Z",
        "detail": {}
    })
}

pub fn hour() -> Hour {
    Hour::parse("2026-11-28T00").unwrap()
}

pub fn ms(values: &[u64]) -> Vec<Duration> {
    values.iter().copied().map(Duration::from_millis).collect()
}

pub fn far_deadline() -> Instant {
    Instant::now() + Duration::from_secs(600)
}
