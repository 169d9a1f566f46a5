use clap::{Parser, Subcommand};
use metering_gen::offline::bill;
use metering_gen::{artifacts, output, render, Error};
use std::path::PathBuf;
use std::process::ExitCode;

/// Generates the Terraform and Lambda artifacts of a serverless API-usage metering stack from
/// the reference sample's cdk.context.json.
///
/// Exit codes: 0 success, 1 the committed tree differs from what would be generated (--check),
/// 2 bad input (the message names the file, the place and the rule), 3 any other failure.
#[derive(Parser)]
#[command(name = "metering-gen", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the Lambda zips and write the Terraform tree.
    Gen {
        /// The context file.
        #[arg(long, default_value = "examples/cdk.context.json")]
        context: PathBuf,
        /// The Terraform root module to write; the zips go to its `artifacts/` folder.
        #[arg(long, default_value = "terraform")]
        out: PathBuf,
        /// Write nothing: compare the rendered tree with --out, print a diff and exit 1 if
        /// they differ.
        #[arg(long)]
        check: bool,
        /// Render the tree without building the Lambda zips.
        #[arg(long)]
        no_build: bool,
        /// The Cargo workspace holding `lambdas/`.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
    /// Check the context file only.
    Validate {
        #[arg(long, default_value = "examples/cdk.context.json")]
        context: PathBuf,
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
    },
    /// Bill a month from access-log and usage-event files, as the billing function does from
    /// the data lake: same meters, de-duplication, pricing and invoice files.
    Bill {
        #[command(flatten)]
        logs: LogsArgs,
        /// Where the invoice files go (`year=YYYY/month=MM/…` below it). A re-run replaces
        /// the month's files.
        #[arg(long, default_value = "invoices")]
        out: PathBuf,
    },
    /// Print a month's usage per tenant and meter, from access-log and usage-event files.
    Usage {
        #[command(flatten)]
        logs: LogsArgs,
    },
    /// Prove stage by stage that a deployed stack meters and bills: stack, identity, api,
    /// delivery, compaction, usage, events, cleanup. Uses the caller's AWS credentials and region;
    /// creates a temporary Cognito user (tenant `verify-<random>`) and deletes it, also on
    /// failure or Ctrl-C. Exit codes: 0 every stage that ran passed, 1 a stage failed, 2 bad
    /// arguments or outputs, 3 anything else (an interruption too).
    #[cfg(feature = "verify")]
    Verify(VerifyArgs),
    /// Send one usage event to the stack's usage-events stream with the caller's AWS
    /// credentials and region, after checking it as billing reads it (bad input: exit 2).
    #[cfg(feature = "verify")]
    Emit(EmitArgs),
}

#[cfg(feature = "verify")]
#[derive(clap::Args)]
struct EmitArgs {
    /// The event's `type`, e.g. `tokens.generated`.
    #[arg(long = "type")]
    event_type: String,
    /// The tenant billed.
    #[arg(long)]
    tenant: String,
    /// A decimal number of 0 or more (digits, at most 15 before the point and 9 after).
    #[arg(long, allow_hyphen_values = true)]
    value: Option<String>,
    /// The event's id (default: `evt-` and 32 random hex digits). Sending an id again is
    /// harmless: billing counts it once.
    #[arg(long)]
    id: Option<String>,
    /// When it happened: RFC 3339 (default: now, UTC).
    #[arg(long)]
    time: Option<String>,
    /// A property, `name=value`; repeat for more.
    #[arg(long = "property")]
    properties: Vec<String>,
    /// The Firehose stream (default: the stack's `usage_events_stream_name` output).
    #[arg(long)]
    stream: Option<String>,
    /// The applied Terraform root module whose outputs are read (`terraform output -json`).
    #[arg(long, default_value = "terraform")]
    tree: PathBuf,
    /// Read the outputs from this file (as `terraform output -json` prints them) instead.
    #[arg(long)]
    outputs: Option<PathBuf>,
    /// Print the event instead of sending it.
    #[arg(long)]
    dry_run: bool,
}

#[cfg(feature = "verify")]
#[derive(clap::Args)]
struct VerifyArgs {
    /// The applied Terraform root module whose outputs are read (`terraform output -json`).
    #[arg(long, default_value = "terraform")]
    tree: PathBuf,
    /// Read the outputs from this file (as `terraform output -json` prints them) instead.
    #[arg(long)]
    outputs: Option<PathBuf>,
    /// The stages to run, comma-separated (default: all); each needs the one before it.
    #[arg(long, value_delimiter = ',')]
    stages: Vec<verify::Stage>,
    /// Authorized calls to the metered method.
    #[arg(long, default_value_t = verify::DEFAULT_CALLS, value_parser = clap::value_parser!(u32).range(1..=100))]
    calls: u32,
    /// Seconds to wait for the access-log records, and for the usage events (default: the
    /// stream's buffer interval plus 180).
    #[arg(long)]
    timeout: Option<u64>,
    /// Keep the test user (the command prints how to delete it).
    #[arg(long)]
    keep_user: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct LogsArgs {
    /// A folder of access logs in Firehose's layout (`…/year=YYYY/month=MM/day=DD/hour=HH/`),
    /// plain or gzip; files elsewhere are ignored. Needed when a meter reads the access log.
    #[arg(long)]
    logs: Option<PathBuf>,
    /// A folder of usage events in the same layout. Needed when a meter reads events
    /// (`"source": "events"`).
    #[arg(long)]
    events: Option<PathBuf>,
    /// The month, `YYYY-MM` (UTC).
    #[arg(long)]
    month: metering::Month,
    /// The context file whose `metering` section has the meters and plans.
    #[arg(long, default_value = "examples/cdk.context.json")]
    context: PathBuf,
    /// Fail (exit 2) when any line is malformed or any event bad, instead of reporting and
    /// skipping it.
    #[arg(long)]
    strict: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            match e {
                Error::Input(_) => ExitCode::from(2),
                Error::Other(_) => ExitCode::from(3),
            }
        }
    }
}

/// Reads and meters the logs; reports what was read on stderr.
fn measure(args: &LogsArgs) -> Result<(metering::ValidConfig, metering::Usage), Error> {
    let config = bill::load_config(&args.context)?;
    let folders = bill::Folders {
        logs: args.logs.as_deref(),
        events: args.events.as_deref(),
    };
    let (usage, reports) = bill::measure(&config, folders, args.month)?;
    for report in &reports {
        eprint!("{}", bill::describe_reading(report));
    }
    for report in &reports {
        let folder = match report.source {
            metering::Source::AccessLog => folders.logs,
            metering::Source::Events => folders.events,
        };
        if args.strict && report.malformed > 0 {
            return Err(bill::strict_failure(
                report,
                folder.expect("a folder was read"),
            ));
        }
    }
    for report in &reports {
        eprint!("{}", bill::describe_malformed(report));
    }
    Ok((config, usage))
}

fn run(command: Cmd) -> Result<ExitCode, Error> {
    match command {
        #[cfg(feature = "verify")]
        Cmd::Verify(args) => metering_gen::verify::run(metering_gen::verify::Request {
            tree: args.tree,
            outputs: args.outputs,
            stages: args.stages,
            calls: args.calls,
            timeout: args.timeout.map(std::time::Duration::from_secs),
            keep_user: args.keep_user,
            json: args.json,
        }),
        #[cfg(feature = "verify")]
        Cmd::Emit(args) => metering_gen::emit::run(metering_gen::emit::Request {
            event_type: args.event_type,
            tenant: args.tenant,
            value: args.value,
            id: args.id,
            time: args.time,
            properties: args.properties,
            stream: args.stream,
            tree: args.tree,
            outputs: args.outputs,
            dry_run: args.dry_run,
        }),
        Cmd::Usage { logs } => {
            let (config, usage) = measure(&logs)?;
            print!("{}", bill::usage_table(&config, &usage));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Bill { logs, out } => {
            let (config, usage) = measure(&logs)?;
            let invoices = metering::MonthInvoices::price(&config, &usage)
                .map_err(|e| Error::Other(anyhow::anyhow!("pricing {}: {e}", logs.month)))?;
            let written = bill::write_invoices(&out, logs.month, &invoices.files(&config, &usage))?;
            print!("{}", bill::invoice_table(&invoices));
            println!(
                "{}: {} files written, {} stale files deleted",
                out.join(metering::month_folder(logs.month)).display(),
                written.written.len(),
                written.deleted.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Validate { context, workspace } => {
            metering_gen::load(&context, &workspace)?;
            println!("{}: valid", context.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Gen {
            context,
            out,
            check,
            no_build,
            workspace,
        } => {
            let (model, crates) = metering_gen::load(&context, &workspace)?;
            let tree = render::render(&model, &metering_gen::context_name(&context))?;
            if check {
                let changes = output::compare(&tree, &out)?;
                if changes.is_empty() {
                    println!("{} is up to date ({} files)", out.display(), tree.len());
                    return Ok(ExitCode::SUCCESS);
                }
                for change in &changes {
                    print!("{}", change.diff);
                }
                eprintln!(
                    "{} differs from what `metering-gen gen` renders from {}: {} file(s) would change:",
                    out.display(),
                    context.display(),
                    changes.len()
                );
                for change in &changes {
                    eprintln!("  {:?}: {}", change.kind, change.path);
                }
                return Ok(ExitCode::from(1));
            }
            if !no_build {
                let artifacts_dir = out.join("artifacts");
                for artifact in artifacts::package(&workspace, &crates, &artifacts_dir)? {
                    println!(
                        "packaged {} ({} bytes, sha256 {})",
                        artifact.zip.display(),
                        artifact.size,
                        artifact.sha256
                    );
                }
            }
            let changes = output::write(&tree, &out)?;
            println!(
                "{}: {} files, {} changed",
                out.display(),
                tree.len(),
                changes.len()
            );
            for change in &changes {
                println!("  {:?}: {}", change.kind, change.path);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
