//! `metering-gen verify`: proves, stage by stage, that a deployed stack meters and bills.
//!
//! It reads the stack from `terraform output -json` ([`outputs::Stack`]), calls AWS with the
//! caller's credentials and region, and runs these stages in order ([`report::Stage`]):
//!
//! 1. **stack**: the functions, work group, tables, bucket and user pool the outputs name
//!    exist (describe calls only);
//! 2. **identity**: a temporary Cognito user `verify-<random>@example.com` of the tenant
//!    `verify-<random>` (set by an admin call) signs in; its ID token carries the tenant
//!    claim, and the app client is refused when it tries to write that attribute;
//! 3. **api**: calls to the metered method with the token answer 200 and a JSON array, a bad
//!    parameter 400, a call without a token 401;
//! 4. **delivery**: those requests' access-log records reach the JSON folder (within the
//!    Firehose buffer interval plus a margin) with the tenant and sub of the user, and the
//!    JSON table shows them in Athena;
//! 5. **compaction**: the compaction function, invoked for their hour, puts each of them in
//!    the Parquet table exactly once, and a second invocation changes nothing;
//! 6. **usage**: the billing function's preview of the month gives the test tenant the usage
//!    the records give under the meters (skipped without billing);
//! 7. **events**: two usage events of the test tenant (one sent twice, as a retried batch)
//!    sent to the usage-events stream reach its folder as canonical lines, and the events
//!    compaction puts each in the events' Parquet table once, with its exact value (skipped
//!    without the stream);
//! 8. **cleanup**: the test user is deleted, also when a stage failed or the run was
//!    interrupted ([`run_until`]).
//!
//! The test requests and events stay in the logs under the tenant `verify-<random>`, a test
//! tenant that billing never invoices (`pricing.test_tenant_prefixes`).

pub mod aws;
pub mod claims;
pub mod outputs;
pub mod report;
pub mod send;
mod stages;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use lambda_support::query::Backoff;

pub use aws::{Aws, Http};
pub use outputs::Stack;
pub use report::{Report, Stage, StageReport, Status};

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// The stages to run (see [`select`]).
    pub stages: BTreeSet<Stage>,
    /// Authorized calls to the metered method (besides the bad-parameter and the
    /// unauthenticated one).
    pub calls: u32,
    /// How long the delivery stage waits for the records, and the events stage for the
    /// events; `None`: the stream's buffer interval plus [`DELIVERY_MARGIN`].
    pub timeout: Option<Duration>,
    /// Leave the test user in the pool.
    pub keep_user: bool,
    /// Between two listings of the JSON folder.
    pub poll: Duration,
    /// Between two GetQueryExecution calls.
    pub query_poll: Backoff,
    /// Before invoking the compaction again when another run holds the hour's lease.
    pub locked_wait: Duration,
}

/// The delivery wait beyond the buffer interval: Firehose writes an object when its buffer
/// is full or its interval has passed, then PUTs it.
pub const DELIVERY_MARGIN: Duration = Duration::from_secs(180);
/// Default number of authorized calls.
pub const DEFAULT_CALLS: u32 = 5;
/// Default time between two listings of the JSON folder.
pub const DEFAULT_POLL: Duration = Duration::from_secs(15);
/// Default wait before compacting an hour again that another run holds: the scheduled
/// compaction of one hour takes about a minute.
pub const DEFAULT_LOCKED_WAIT: Duration = Duration::from_secs(60);
/// Default backoff between GetQueryExecution calls.
pub const DEFAULT_QUERY_POLL: Backoff = Backoff {
    initial: Duration::from_millis(500),
    factor: 2,
    max: Duration::from_secs(5),
};

impl Default for Options {
    fn default() -> Self {
        Options {
            stages: Stage::ALL.into_iter().collect(),
            calls: DEFAULT_CALLS,
            timeout: None,
            keep_user: false,
            poll: DEFAULT_POLL,
            query_poll: DEFAULT_QUERY_POLL,
            locked_wait: DEFAULT_LOCKED_WAIT,
        }
    }
}

/// The stages to run for `asked` (all when empty): each needs the one before it
/// ([`Stage::needs`]), and cleanup runs whenever identity does.
pub fn select(asked: &[Stage]) -> Result<BTreeSet<Stage>, String> {
    if asked.is_empty() {
        return Ok(Stage::ALL.into_iter().collect());
    }
    let mut stages: BTreeSet<Stage> = asked.iter().copied().collect();
    for &stage in &stages {
        let missing: BTreeSet<Stage> = std::iter::successors(stage.needs(), |s| s.needs())
            .filter(|need| !stages.contains(need))
            .collect();
        if !missing.is_empty() {
            let names = |set: &BTreeSet<Stage>, sep: &str| {
                set.iter().map(|s| s.name()).collect::<Vec<_>>().join(sep)
            };
            let all: BTreeSet<Stage> = stages.union(&missing).copied().collect();
            return Err(format!(
                "stage `{stage}` works on what {} finds: add {} (--stages {})",
                names(&missing, " and "),
                if missing.len() == 1 { "it" } else { "them" },
                names(&all, ",")
            ));
        }
    }
    if stages.contains(&Stage::Identity) {
        stages.insert(Stage::Cleanup);
    }
    Ok(stages)
}

/// The test user to delete, shared with the interruption path: set before the user is
/// created, so that an interruption during the creation still deletes it.
pub type UserSlot = Arc<Mutex<Option<String>>>;

/// A run against one stack.
pub struct Verifier {
    stack: Stack,
    aws: Aws,
    http: Http,
    options: Options,
    user: UserSlot,
}

impl Verifier {
    pub fn new(stack: Stack, aws: Aws, http: Http, options: Options) -> Verifier {
        Verifier {
            stack,
            aws,
            http,
            options,
            user: UserSlot::default(),
        }
    }

    /// The test user, while it may exist.
    pub fn user(&self) -> Option<String> {
        self.user.lock().expect("the user slot").clone()
    }
}

/// Runs the stages until they end or `interrupt` completes (Ctrl-C in `metering-gen`); an
/// interrupted run deletes the test user before it returns (unless `keep_user`). Each stage's
/// report is printed with `progress` as soon as it is known.
pub async fn run_until(
    verifier: &Verifier,
    interrupt: impl Future<Output = ()>,
    progress: impl Fn(&StageReport) + Send + Sync,
) -> Report {
    let report = Arc::new(Mutex::new(Report::default()));
    let record = |stage: StageReport| {
        progress(&stage);
        report.lock().expect("the report").stages.push(stage);
    };
    let interrupted = tokio::select! {
        () = verifier.run(&record) => false,
        () = interrupt => true,
    };
    if interrupted {
        if verifier.options.stages.contains(&Stage::Cleanup) {
            record(verifier.cleanup().await);
        }
        report.lock().expect("the report").interrupted =
            Some("interrupted before the stages ended".to_owned());
    }
    let report = report.lock().expect("the report").clone();
    report
}
