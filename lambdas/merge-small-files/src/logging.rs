//! JSON log lines for CloudWatch: one object per line, event fields at the top level.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;

/// The subscriber the function logs through, writing to `writer`.
pub fn json_subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(writer)
        .finish()
}

/// Installs [`json_subscriber`] on stdout for the whole process.
pub fn init() {
    // Fails only if a subscriber is already set, which is harmless.
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout));
}
