//! What a run found, stage by stage: as text for a person, as JSON for a machine.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The stages, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Stack,
    Identity,
    Api,
    Delivery,
    Compaction,
    Usage,
    Events,
    Cleanup,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Stack,
        Stage::Identity,
        Stage::Api,
        Stage::Delivery,
        Stage::Compaction,
        Stage::Usage,
        Stage::Events,
        Stage::Cleanup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Stack => "stack",
            Stage::Identity => "identity",
            Stage::Api => "api",
            Stage::Delivery => "delivery",
            Stage::Compaction => "compaction",
            Stage::Usage => "usage",
            Stage::Events => "events",
            Stage::Cleanup => "cleanup",
        }
    }

    /// The stage whose results this one works on, if any.
    pub fn needs(self) -> Option<Stage> {
        match self {
            Stage::Stack | Stage::Identity => None,
            Stage::Api => Some(Stage::Identity),
            Stage::Delivery => Some(Stage::Api),
            Stage::Compaction => Some(Stage::Delivery),
            Stage::Usage => Some(Stage::Compaction),
            // It sends events of the test user's tenant.
            Stage::Events => Some(Stage::Identity),
            Stage::Cleanup => Some(Stage::Identity),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Stage::ALL.iter().map(|s| s.name()).collect();
                format!("unknown stage `{s}`: the stages are {}", names.join(", "))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        })
    }
}

/// One stage's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageReport {
    pub stage: Stage,
    pub status: Status,
    #[serde(serialize_with = "as_millis", rename = "elapsed_ms")]
    pub elapsed: Duration,
    /// One line: what was shown, or what went wrong and its likely cause.
    pub summary: String,
    /// The evidence: ids, keys, counts, AWS's own error text.
    pub details: Vec<String>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Every stage that was selected, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub stages: Vec<StageReport>,
    /// Set when the run was interrupted (Ctrl-C) before it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

/// Exit codes.
pub const EXIT_PASSED: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_OTHER: u8 = 3;

impl Report {
    /// 0 when every stage that ran passed, 1 when one failed, 3 when interrupted.
    pub fn exit_code(&self) -> u8 {
        if self.interrupted.is_some() {
            EXIT_OTHER
        } else if self.stages.iter().any(|s| s.status == Status::Fail) {
            EXIT_FAILED
        } else {
            EXIT_PASSED
        }
    }

    pub fn status(&self, stage: Stage) -> Option<Status> {
        self.stages
            .iter()
            .find(|s| s.stage == stage)
            .map(|s| s.status)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }
}

impl fmt::Display for StageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:<10} {:>7.1} s  {}",
            self.status,
            self.stage.name(),
            self.elapsed.as_secs_f64(),
            self.summary
        )?;
        for detail in &self.details {
            write!(f, "\n{:27}{detail}", "")?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for stage in &self.stages {
            writeln!(f, "{stage}")?;
        }
        if let Some(why) = &self.interrupted {
            writeln!(f, "interrupted: {why}")?;
        }
        let ran = self
            .stages
            .iter()
            .filter(|s| s.status != Status::Skip)
            .count();
        let failed = self
            .stages
            .iter()
            .filter(|s| s.status == Status::Fail)
            .count();
        match failed {
            0 if self.interrupted.is_none() => {
                write!(f, "verify: all {ran} stages that ran passed")
            }
            0 => write!(f, "verify: interrupted"),
            n => write!(f, "verify: {n} of {ran} stages that ran failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(stage: Stage, status: Status) -> StageReport {
        StageReport {
            stage,
            status,
            elapsed: Duration::from_millis(1250),
            summary: "summary".into(),
            details: vec!["detail".into()],
        }
    }

    #[test]
    fn exit_codes() {
        let mut report = Report {
            stages: vec![
                stage(Stage::Stack, Status::Pass),
                stage(Stage::Usage, Status::Skip),
            ],
            interrupted: None,
        };
        assert_eq!(report.exit_code(), 0);
        report.stages.push(stage(Stage::Cleanup, Status::Fail));
        assert_eq!(report.exit_code(), 1);
        report.interrupted = Some("Ctrl-C".into());
        assert_eq!(report.exit_code(), 3);
    }

    #[test]
    fn text_and_json() {
        let report = Report {
            stages: vec![
                stage(Stage::Stack, Status::Pass),
                stage(Stage::Api, Status::Fail),
            ],
            interrupted: None,
        };
        assert_eq!(
            report.to_string(),
            "PASS stack          1.2 s  summary\n                           detail\n\
             FAIL api            1.2 s  summary\n                           detail\n\
             verify: 1 of 2 stages that ran failed"
        );
        let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
        assert_eq!(json["stages"][1]["stage"], "api");
        assert_eq!(json["stages"][1]["status"], "fail");
        assert_eq!(json["stages"][1]["elapsed_ms"], 1250);
        assert!(json.get("interrupted").is_none());
    }

    #[test]
    fn stage_names_parse() {
        for stage in Stage::ALL {
            assert_eq!(stage.name().parse::<Stage>(), Ok(stage));
        }
        assert_eq!(
            "usagee".parse::<Stage>().unwrap_err(),
            "unknown stage `usagee`: the stages are stack, identity, api, delivery, compaction, \
             usage, events, cleanup"
        );
    }
}
