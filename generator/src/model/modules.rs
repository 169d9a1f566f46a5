//! Which of the Terraform modules under `templates/terraform/modules/` a model deploys.

use super::Model;

/// Every module, with whether it is deployed without a `metering` billing section.
pub const MODULES: [(&str, bool); 10] = [
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
];

impl Model {
    /// The modules this model deploys, in name order: all but `billing` always, `billing` when
    /// the context's `metering` section has meters and plans.
    pub fn modules(&self) -> Vec<&'static str> {
        MODULES
            .iter()
            .filter(|(name, always)| {
                *always || (*name == "billing" && self.metering.billing.is_some())
            })
            .map(|(name, _)| *name)
            .collect()
    }
}
