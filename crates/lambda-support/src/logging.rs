//! JSON log lines for CloudWatch: one object per line, event fields at the top level.
//!
//! tracing's field values are flat (strings, numbers, booleans), so an event that needs
//! nested objects or explicit nulls passes them serialized in a field named `fields_json`:
//! its keys are merged into the line as JSON.

use std::fmt;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// The field whose JSON object is merged into the line.
pub const FIELDS_JSON: &str = "fields_json";

/// The subscriber the function logs through, writing to `writer`.
pub fn json_subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .event_format(JsonLines)
        .with_max_level(tracing::Level::INFO)
        .with_writer(writer)
        .finish()
}

/// Installs [`json_subscriber`] on stdout for the whole process.
pub fn init() {
    // Fails only if a subscriber is already set, which is harmless.
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout));
}

/// `{"timestamp": …, "level": …, "message": …, <fields>}`, keys in that order.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Line::default();
        let timestamp =
            DateTime::<Utc>::from(SystemTime::now()).to_rfc3339_opts(SecondsFormat::Micros, true);
        line.insert("timestamp", Value::String(timestamp));
        line.insert("level", Value::from(event.metadata().level().as_str()));
        event.record(&mut line);
        writeln!(writer, "{}", line.to_json())
    }
}

/// The fields of one line in the order they came; a repeated key keeps its first place.
#[derive(Default)]
struct Line(Vec<(String, Value)>);

impl Line {
    fn insert(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    fn to_json(&self) -> String {
        let members: Vec<String> = self
            .0
            .iter()
            .map(|(key, value)| format!("{}:{value}", Value::from(key.as_str())))
            .collect();
        format!("{{{}}}", members.join(","))
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == FIELDS_JSON {
            if let Ok(Value::Object(object)) = serde_json::from_str(value) {
                for (key, value) in object {
                    self.insert(&key, value);
                }
                return;
            }
        }
        self.insert(field.name(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field.name(), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field.name(), Value::from(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field.name(), Value::from(format!("{value:?}")));
    }
}
