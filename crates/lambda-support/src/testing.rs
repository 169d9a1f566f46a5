//! Helpers for the Lambdas' tests (feature `test-util`): capturing the JSON log lines, a
//! Lambda invocation with a deadline, and an EventBridge scheduled event.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

/// A log writer that keeps what is written, for
/// [`json_subscriber`](crate::logging::json_subscriber); clones share one buffer.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    /// The lines written since the last call.
    pub fn take_raw(&self) -> Vec<String> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        let text = String::from_utf8(bytes).unwrap();
        text.lines().map(str::to_owned).collect()
    }

    /// The JSON lines written since the last call; panics on a line that is not JSON.
    pub fn take_lines(&self) -> Vec<Value> {
        self.take_raw()
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

/// A Lambda invocation of `payload` whose deadline is `deadline_in` from now.
pub fn lambda_event(payload: Value, deadline_in: Duration) -> LambdaEvent<Value> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let mut context = Context::default();
    context.request_id = "test-invocation".to_owned();
    context.deadline = (now + deadline_in).as_millis() as u64;
    LambdaEvent::new(payload, context)
}

/// The event EventBridge sends at `time` for the schedule rule `rule` (in us-east-1).
pub fn scheduled_event(rule: &str, time: &str) -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
        "detail": {}
    })
}
