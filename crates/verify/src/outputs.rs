//! The deployed stack, as `terraform output -json` describes it.

use serde_json::{Map, Value};
use std::fmt;

/// A Glue table, `database.table` in the outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub database: String,
    pub name: String,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\".\"{}\"", self.database, self.name)
    }
}

/// What `verify` needs to know about the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub user_pool_id: String,
    pub user_pool_client_id: String,
    /// The metered stage's invoke URL, without a trailing slash.
    pub rest_api_endpoint: String,
    pub access_log_bucket: String,
    pub firehose_arn: String,
    pub athena_workgroup: String,
    pub json_table: Table,
    pub parquet_table: Table,
    pub compaction_function_name: String,
    /// `None` when the stack has no billing function.
    pub billing: Option<Billing>,
    /// The Cognito claim holding the tenant id, e.g. `custom:tenant_id`.
    pub tenant_claim: String,
    /// The metered method's path, e.g. `/random/strings`.
    pub metered_path: String,
    /// The JSON folder (`json-data`): hours are `<folder>/year=YYYY/month=MM/day=DD/hour=HH/`.
    pub json_folder: String,
    /// Where Firehose's error output starts (`error/`).
    pub error_prefix: String,
    pub buffer_interval_seconds: u64,
    /// `None` when the stack has no usage-events stream (no `usage_events_stream_name`).
    pub usage_events: Option<UsageEvents>,
}

/// The usage-events stream, its tables and its compaction: the `usage_events_*` outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvents {
    pub stream_name: String,
    pub json_table: Table,
    pub parquet_table: Table,
    pub compaction_function_name: String,
    /// Where the stream delivers, from `verify.usage_events`; `None` when the tree's `verify`
    /// output predates the events stage (the stage then fails saying so).
    pub layout: Option<EventsLayout>,
}

/// `verify.usage_events`: the events' folder (`usage-events`: hours are
/// `<folder>/year=YYYY/month=MM/day=DD/hour=HH/`), where the stream's error output starts
/// (`usage-events-errors/`) and its buffer interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsLayout {
    pub folder: String,
    pub error_prefix: String,
    pub buffer_interval_seconds: u64,
}

/// The outputs of a stack with usage events, besides `usage_events_stream_name`.
pub const USAGE_EVENTS_OUTPUTS: &[&str] = &[
    "usage_events_json_table",
    "usage_events_parquet_table",
    "usage_events_compaction_function_name",
];

/// The billing function and the config it reads: both outputs or neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billing {
    pub function_name: String,
    /// `s3://bucket/key` of the metering config.
    pub config_uri: String,
}

/// Outputs that are missing or of the wrong shape, every one of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {}", .problems.join("; "))]
pub struct OutputsError {
    /// The file, or the command the outputs came from.
    pub origin: String,
    pub problems: Vec<String>,
}

/// The outputs `verify` reads (every other output is ignored).
pub const REQUIRED: &[&str] = &[
    "user_pool_id",
    "user_pool_client_id",
    "rest_api_endpoint",
    "access_log_bucket",
    "firehose_arn",
    "athena_workgroup",
    "json_table",
    "parquet_table",
    "compaction_function_name",
    "verify",
];

impl Stack {
    /// Reads the JSON of `terraform output -json` (`{"name": {"value": …, "type": …}}`);
    /// `source` names where it came from in errors.
    pub fn from_json(text: &str, source: &str) -> Result<Stack, OutputsError> {
        let fail = |problems: Vec<String>| OutputsError {
            origin: source.to_owned(),
            problems,
        };
        let outputs: Map<String, Value> = match serde_json::from_str(text) {
            Ok(Value::Object(outputs)) => outputs,
            Ok(_) => {
                return Err(fail(vec![
                    "not a JSON object of outputs, as `terraform output -json` prints".into(),
                ]))
            }
            Err(e) => return Err(fail(vec![format!("not JSON: {e}")])),
        };
        let mut reader = Reader {
            outputs: &outputs,
            problems: Vec::new(),
        };
        let stack = reader.stack();
        if reader.problems.is_empty() {
            Ok(stack)
        } else {
            Err(fail(reader.problems))
        }
    }
}

struct Reader<'a> {
    outputs: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn stack(&mut self) -> Stack {
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|name| !self.outputs.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            self.problems.push(format!(
                "missing output(s) {}: is this the tree `metering-gen gen` wrote, applied with \
                 `terraform apply`? (`verify` was added in a later version: run `make gen` and \
                 apply again)",
                missing.join(", ")
            ));
        }
        let verify = self.value("verify").cloned().unwrap_or(Value::Null);
        let field = |name: &str| verify.get(name).cloned().unwrap_or(Value::Null);
        Stack {
            user_pool_id: self.string("user_pool_id"),
            user_pool_client_id: self.string("user_pool_client_id"),
            rest_api_endpoint: self
                .string("rest_api_endpoint")
                .trim_end_matches('/')
                .to_owned(),
            access_log_bucket: self.string("access_log_bucket"),
            firehose_arn: self.string("firehose_arn"),
            athena_workgroup: self.string("athena_workgroup"),
            json_table: self.table("json_table"),
            parquet_table: self.table("parquet_table"),
            compaction_function_name: self.string("compaction_function_name"),
            billing: self.billing(&field("metering_config_uri")),
            tenant_claim: self.field_string("verify.tenant_claim", &field("tenant_claim")),
            metered_path: self.field_string("verify.metered_path", &field("metered_path")),
            json_folder: self.field_string("verify.json_folder", &field("json_folder")),
            error_prefix: self.field_string("verify.error_prefix", &field("error_prefix")),
            buffer_interval_seconds: match field("buffer_interval_seconds").as_u64() {
                Some(n) => n,
                None => {
                    if verify.is_object() {
                        self.problems.push(
                            "output `verify.buffer_interval_seconds` is not a whole number".into(),
                        );
                    }
                    0
                }
            },
            usage_events: self.usage_events(&field("usage_events")),
        }
    }

    /// The `usage_events_*` outputs and `verify.usage_events`, when the stack has the stream.
    fn usage_events(&mut self, layout: &Value) -> Option<UsageEvents> {
        match self.value("usage_events_stream_name") {
            None | Some(Value::Null) => return None,
            Some(_) => {}
        }
        let missing: Vec<&str> = USAGE_EVENTS_OUTPUTS
            .iter()
            .copied()
            .filter(|name| !self.outputs.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            self.problems.push(format!(
                "output `usage_events_stream_name` is set but {} missing: was the tree applied \
                 after `make gen`?",
                missing.join(", ")
            ));
        }
        let layout = match layout {
            // A tree generated before the events stage: the stage says so.
            Value::Null => None,
            Value::Object(_) => {
                let text = |reader: &mut Self, name: &str| {
                    reader.field_string(
                        &format!("verify.usage_events.{name}"),
                        layout.get(name).unwrap_or(&Value::Null),
                    )
                };
                let folder = text(self, "folder").trim_end_matches('/').to_owned();
                let error_prefix = text(self, "error_prefix");
                let buffer_interval_seconds = match layout["buffer_interval_seconds"].as_u64() {
                    Some(n) => n,
                    None => {
                        self.problems.push(
                            "output `verify.usage_events.buffer_interval_seconds` is not a whole \
                             number"
                                .into(),
                        );
                        0
                    }
                };
                Some(EventsLayout {
                    folder,
                    error_prefix,
                    buffer_interval_seconds,
                })
            }
            other => {
                self.problems.push(format!(
                    "output `verify.usage_events` is {other}, not an object or null"
                ));
                None
            }
        };
        Some(UsageEvents {
            stream_name: self.string("usage_events_stream_name"),
            json_table: self.table("usage_events_json_table"),
            parquet_table: self.table("usage_events_parquet_table"),
            compaction_function_name: self.string("usage_events_compaction_function_name"),
            layout,
        })
    }

    /// `billing_function_name` and `verify.metering_config_uri`: both strings, or neither
    /// there (a tree without billing has a null URI and no function output).
    fn billing(&mut self, config_uri: &Value) -> Option<Billing> {
        // `verify` itself missing was reported already.
        self.value("verify")?;
        let function = self.value("billing_function_name").and_then(Value::as_str);
        match (function, config_uri.as_str()) {
            (Some(function), Some(uri)) => Some(Billing {
                function_name: function.to_owned(),
                config_uri: uri.to_owned(),
            }),
            (None, None) => None,
            (function, uri) => {
                self.problems.push(format!(
                    "output `billing_function_name` is {function:?} but `verify.metering_config_uri` \
                     is {uri:?}: both or neither (was the tree applied after `make gen`?)"
                ));
                None
            }
        }
    }

    /// The `value` of an output, `None` when it is missing (reported once, above).
    fn value(&self, name: &str) -> Option<&Value> {
        self.outputs.get(name).map(|o| o.get("value").unwrap_or(o))
    }

    fn string(&mut self, name: &str) -> String {
        match self.value(name) {
            None => String::new(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(other) => {
                self.problems.push(format!(
                    "output `{name}` is {other}, not a non-empty string"
                ));
                String::new()
            }
        }
    }

    fn field_string(&mut self, name: &str, value: &Value) -> String {
        match value {
            Value::String(s) if !s.is_empty() => s.clone(),
            // `verify` itself missing was reported already.
            Value::Null if self.value("verify").is_none() => String::new(),
            other => {
                self.problems.push(format!(
                    "output `{name}` is {other}, not a non-empty string"
                ));
                String::new()
            }
        }
    }

    fn table(&mut self, name: &str) -> Table {
        let text = self.string(name);
        match text.split_once('.') {
            Some((database, table)) if !database.is_empty() && !table.is_empty() => Table {
                database: database.to_owned(),
                name: table.to_owned(),
            },
            _ => {
                if !text.is_empty() {
                    self.problems
                        .push(format!("output `{name}` is {text:?}, not `database.table`"));
                }
                Table {
                    database: String::new(),
                    name: String::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn output(value: Value) -> Value {
        json!({"sensitive": false, "type": "string", "value": value})
    }

    pub(crate) fn outputs() -> Value {
        json!({
            "user_pool_id": output(json!("us-east-1_Abc")),
            "user_pool_client_id": output(json!("client1")),
            "rest_api_endpoint": output(json!("https://x.execute-api.us-east-1.amazonaws.com/prod/")),
            "access_log_bucket": output(json!("logs")),
            "firehose_arn": output(json!("arn:aws:firehose:us-east-1:123456789012:deliverystream/amazon-apigateway-random-gen")),
            "athena_workgroup": output(json!("SaaSMeteringDemo")),
            "json_table": output(json!("mydatabase.restapi_access_log_json")),
            "parquet_table": output(json!("mydatabase.restapi_access_log_parquet")),
            "compaction_function_name": output(json!("MergeSmallFilesWithAthenaCTAS")),
            "billing_function_name": output(json!("MeteringMonthlyBilling")),
            "verify": output(json!({
                "tenant_claim": "custom:tenant_id",
                "metered_path": "/random/strings",
                "json_folder": "json-data",
                "error_prefix": "error/",
                "buffer_interval_seconds": 300,
                "metering_config_uri": "s3://logs/config/metering.json",
            })),
        })
    }

    #[test]
    fn reads_terraform_outputs() {
        let stack = Stack::from_json(&outputs().to_string(), "outputs.json").unwrap();
        assert_eq!(
            stack.rest_api_endpoint,
            "https://x.execute-api.us-east-1.amazonaws.com/prod"
        );
        assert_eq!(
            stack.json_table.to_string(),
            "\"mydatabase\".\"restapi_access_log_json\""
        );
        assert_eq!(
            stack.billing,
            Some(Billing {
                function_name: "MeteringMonthlyBilling".into(),
                config_uri: "s3://logs/config/metering.json".into(),
            })
        );
        assert_eq!(stack.tenant_claim, "custom:tenant_id");
        assert_eq!(stack.buffer_interval_seconds, 300);
    }

    #[test]
    fn billing_is_optional() {
        let mut o = outputs();
        o.as_object_mut().unwrap().remove("billing_function_name");
        o["verify"]["value"]["metering_config_uri"] = Value::Null;
        let stack = Stack::from_json(&o.to_string(), "outputs.json").unwrap();
        assert_eq!(stack.billing, None);

        // One without the other is refused.
        let mut o = outputs();
        o["verify"]["value"]["metering_config_uri"] = Value::Null;
        let err = Stack::from_json(&o.to_string(), "outputs.json").unwrap_err();
        assert_eq!(
            err.problems,
            [
                "output `billing_function_name` is Some(\"MeteringMonthlyBilling\") but \
              `verify.metering_config_uri` is None: both or neither (was the tree applied after \
              `make gen`?)"
            ]
        );
    }

    #[test]
    fn usage_events_are_read_when_the_stream_is_there() {
        let stack = Stack::from_json(&outputs().to_string(), "outputs.json").unwrap();
        assert_eq!(stack.usage_events, None);

        let mut o = outputs();
        o["usage_events_stream_name"] = output(json!("usage-events"));
        o["usage_events_json_table"] = output(json!("mydatabase.usage_events_json"));
        o["usage_events_parquet_table"] = output(json!("mydatabase.usage_events_parquet"));
        o["usage_events_compaction_function_name"] =
            output(json!("MergeSmallFilesWithAthenaCTAS-usage-events"));
        o["verify"]["value"]["usage_events"] = json!({
            "folder": "usage-events/",
            "error_prefix": "usage-events-errors/",
            "buffer_interval_seconds": 60,
        });
        let stack = Stack::from_json(&o.to_string(), "outputs.json").unwrap();
        let events = stack.usage_events.unwrap();
        assert_eq!(events.stream_name, "usage-events");
        assert_eq!(
            events.parquet_table.to_string(),
            "\"mydatabase\".\"usage_events_parquet\""
        );
        assert_eq!(
            events.layout,
            Some(EventsLayout {
                folder: "usage-events".into(),
                error_prefix: "usage-events-errors/".into(),
                buffer_interval_seconds: 60,
            })
        );

        // A `verify` output of before the events stage: read, the stage says so.
        let mut older = o.clone();
        older["verify"]["value"]
            .as_object_mut()
            .unwrap()
            .remove("usage_events");
        let stack = Stack::from_json(&older.to_string(), "outputs.json").unwrap();
        assert_eq!(stack.usage_events.unwrap().layout, None);

        // The other outputs missing, or the layout of the wrong shape: named.
        let mut bad = o.clone();
        bad.as_object_mut()
            .unwrap()
            .remove("usage_events_parquet_table");
        bad["verify"]["value"]["usage_events"]["buffer_interval_seconds"] = json!("60");
        let err = Stack::from_json(&bad.to_string(), "outputs.json").unwrap_err();
        assert_eq!(
            err.problems,
            [
                "output `usage_events_stream_name` is set but usage_events_parquet_table missing: \
                 was the tree applied after `make gen`?",
                "output `verify.usage_events.buffer_interval_seconds` is not a whole number",
            ]
        );
        let mut bad = o;
        bad["verify"]["value"]["usage_events"] = json!("usage-events");
        let err = Stack::from_json(&bad.to_string(), "outputs.json").unwrap_err();
        assert_eq!(
            err.problems,
            ["output `verify.usage_events` is \"usage-events\", not an object or null"]
        );
    }

    #[test]
    fn every_problem_is_named() {
        let mut o = outputs();
        o.as_object_mut().unwrap().remove("verify");
        o.as_object_mut().unwrap().remove("user_pool_id");
        o["json_table"]["value"] = json!("no-dot");
        o["athena_workgroup"]["value"] = json!(7);
        let err = Stack::from_json(&o.to_string(), "build/outputs.json").unwrap_err();
        assert_eq!(err.origin, "build/outputs.json");
        assert_eq!(err.problems.len(), 3, "{err}");
        assert!(
            err.problems[0].starts_with("missing output(s) user_pool_id, verify:"),
            "{err}"
        );
        assert_eq!(
            err.problems[1],
            "output `athena_workgroup` is 7, not a non-empty string"
        );
        assert_eq!(
            err.problems[2],
            "output `json_table` is \"no-dot\", not `database.table`"
        );

        let err = Stack::from_json("[]", "x.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.json: not a JSON object of outputs, as `terraform output -json` prints"
        );
        let err = Stack::from_json("{", "x.json").unwrap_err();
        assert!(err.to_string().starts_with("x.json: not JSON: "), "{err}");
    }
}
