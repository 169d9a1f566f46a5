//! Which of the Terraform modules under `templates/terraform/modules/` a model deploys.

use super::Model;

/// Every module, with whether it is always deployed (`billing` needs a `metering` billing
/// section, `usage_events` a `usage_events` section).
pub const MODULES: [(&str, bool); 11] = [
    ("access_logs", true),
    ("api", true),
    ("athena", true),
    ("billing", false),
    ("bucket", true),
    ("cognito", true),
    ("compaction", true),
    ("data_catalog", true),
    ("lake_formation", true),
    ("lambda_function", true),
    ("usage_events", false),
];

impl Model {
    /// The modules this model deploys, in name order: all but `billing` and `usage_events`
    /// always, `billing` when the context's `metering` section has meters and plans,
    /// `usage_events` when the context has a `usage_events` section.
    pub fn modules(&self) -> Vec<&'static str> {
        MODULES
            .iter()
            .filter(|(name, always)| {
                *always
                    || (*name == "billing" && self.metering.billing.is_some())
                    || (*name == "usage_events" && self.usage_events.is_some())
            })
            .map(|(name, _)| *name)
            .collect()
    }
}
