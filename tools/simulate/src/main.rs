use clap::Parser;
use simulate::{simulate, SimulateOptions, SUMMARY_FILE};
use std::path::PathBuf;
use std::process::ExitCode;

/// Write a month of synthetic access logs in Firehose's layout, with the defects real
/// deliveries have (duplicates, late files, a file straddling the month's start, malformed
/// lines), and optionally the usage events the API's backend sends (one `tokens.generated`
/// event per successful request of a tenant, with duplicates and bad events), for demos and
/// benchmarks.
#[derive(Parser)]
#[command(name = "simulate", version)]
struct Cli {
    /// Number of tenants (`tenant-0001` …).
    #[arg(long, default_value_t = 20)]
    tenants: u32,
    /// Distinct requests in the month.
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// The month, `YYYY-MM` (UTC).
    #[arg(long)]
    month: metering::Month,
    /// Where to write `<folder>/year=…/…` and `simulation.json` (what was written).
    #[arg(long)]
    out: PathBuf,
    /// The same seed gives the same files, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write gzip files, as Firehose's GZIP compression does.
    #[arg(long)]
    gzip: bool,
    /// The Firehose output folder.
    #[arg(long, default_value = "json-data")]
    folder: String,
    /// The delivery stream name in file names.
    #[arg(long, default_value = "amazon-apigateway-random-gen")]
    stream_name: String,
    /// Also write usage events (`tokens.generated`, one per successful request of a tenant)
    /// in this Firehose output folder, named after the stream `<stream-name>-events`.
    #[arg(long, value_name = "DIR")]
    events_folder: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = SimulateOptions {
        tenants: cli.tenants,
        requests: cli.requests,
        month: cli.month,
        seed: cli.seed,
        gzip: cli.gzip,
        folder: cli.folder,
        stream_name: cli.stream_name,
        events_folder: cli.events_folder,
    };
    let summary = match simulate(&options, &cli.out) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(3);
        }
    };
    let events = match (&options.events_folder, summary.events) {
        (Some(folder), Some(events)) => format!(
            "; {}: {} files, {} lines ({} bytes): {} usage events billed in the month, {} in the next, {} duplicate lines, {} bad events",
            cli.out.join(folder).display(),
            summary.event_files.unwrap_or_default(),
            summary.event_lines.unwrap_or_default(),
            summary.event_bytes.unwrap_or_default(),
            events,
            summary.next_month_events.unwrap_or_default(),
            summary.duplicate_event_lines.unwrap_or_default(),
            summary.bad_events.unwrap_or_default(),
        ),
        _ => String::new(),
    };
    println!(
        "{}: {} files, {} lines ({} bytes): {} requests of {} tenants, {} duplicate lines, {} malformed lines, {} lines of the previous month (in {} file straddling the month's start), {} late files{events}; what was written: {}",
        cli.out.join(&options.folder).display(),
        summary.files,
        summary.lines,
        summary.bytes,
        summary.requests,
        summary.tenants.len(),
        summary.duplicate_lines,
        summary.malformed_lines,
        summary.previous_month_lines,
        summary.straddling_files.len(),
        summary.late_files.len(),
        cli.out.join(SUMMARY_FILE).display()
    );
    ExitCode::SUCCESS
}
