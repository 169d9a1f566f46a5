//! `metering-gen emit`: one usage event, checked as billing reads it, then sent with the
//! caller's credentials and region to the stack's usage-events stream (the
//! `usage_events_stream_name` output, or `--stream`), for scripts and smoke tests.

use crate::diagnostic::{Diagnostic, Diagnostics, Place};
use crate::Error;
use std::path::PathBuf;
use std::process::ExitCode;

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Request {
    pub event_type: String,
    pub tenant: String,
    pub value: Option<String>,
    pub id: Option<String>,
    pub time: Option<String>,
    /// `name=value`, as given.
    pub properties: Vec<String>,
    pub stream: Option<String>,
    /// The Terraform root module whose outputs name the stream.
    pub tree: PathBuf,
    /// Read the outputs from this file instead.
    pub outputs: Option<PathBuf>,
    /// Print the event without sending it.
    pub dry_run: bool,
}

fn input(place: &str, message: impl Into<String>) -> Error {
    Error::Input(Diagnostics(vec![Diagnostic {
        file: place.to_owned(),
        place: Place::File,
        message: message.into(),
    }]))
}

/// The event as one line of JSON: refused, naming the option, when billing would not count it.
pub fn event(request: &Request) -> Result<Vec<u8>, Error> {
    let mut properties = serde_json::Map::new();
    for property in &request.properties {
        let Some((name, value)) = property.split_once('=') else {
            return Err(input(
                "--property",
                format!("`{property}` is not `name=value`"),
            ));
        };
        properties.insert(name.to_owned(), value.into());
    }
    let mut event = serde_json::json!({
        "id": request.id.clone().unwrap_or_else(verify::send::random_id),
        "tenant": request.tenant,
        "type": request.event_type,
        "time": request.time.clone().unwrap_or_else(verify::send::now),
    });
    if let Some(value) = &request.value {
        event["value"] = value.clone().into();
    }
    if !properties.is_empty() {
        event["properties"] = properties.into();
    }
    let line = serde_json::to_vec(&event).expect("strings serialize");
    if let Err(problem) = metering::Event::parse(&line) {
        let option = match problem {
            metering::EventError::NoId => "--id",
            metering::EventError::NoTenant => "--tenant",
            metering::EventError::NoType => "--type",
            metering::EventError::Time(_) => "--time",
            metering::EventError::Value(_) => "--value",
            _ => "the event",
        };
        return Err(input(
            option,
            format!("{problem}: billing would not count this event"),
        ));
    }
    Ok(line)
}

/// The stream: `--stream`, or the `usage_events_stream_name` output of the stack.
fn stream(request: &Request) -> Result<String, Error> {
    if let Some(stream) = &request.stream {
        return Ok(stream.clone());
    }
    let (text, source) = crate::verify::outputs_text(request.outputs.as_deref(), &request.tree)?;
    let outputs: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        input(
            &source,
            format!("not the JSON of `terraform output -json`: {e}"),
        )
    })?;
    outputs["usage_events_stream_name"]["value"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            input(
                &source,
                "no `usage_events_stream_name` output: the stack has no usage-events stream (add a `usage_events` section to the context and apply), or give --stream",
            )
        })
}

pub fn run(request: Request) -> Result<ExitCode, Error> {
    let line = event(&request)?;
    let shown = String::from_utf8_lossy(&line).into_owned();
    if request.dry_run {
        println!("{shown}");
        return Ok(ExitCode::SUCCESS);
    }
    let stream = stream(&request)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(anyhow::anyhow!("cannot start the async runtime: {e}")))?;
    runtime
        .block_on(async {
            let client = verify::send::client_from_environment().await;
            verify::send::send_events(&client, &stream, &[line]).await
        })
        .map_err(|e| Error::Other(anyhow::anyhow!("{e}")))?;
    println!("sent to {stream}: {shown}");
    Ok(ExitCode::SUCCESS)
}
