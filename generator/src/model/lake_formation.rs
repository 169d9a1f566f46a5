//! The `lake_formation` section: the compaction job's grants.

use super::Checker;
use crate::context::LakeFormation;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct LakeFormationModel {
    pub grant_permissions: bool,
}

pub(super) fn build(lake_formation: &LakeFormation, c: &mut Checker) -> LakeFormationModel {
    if !lake_formation.admins.is_empty() {
        c.fail(
            "lake_formation.admins",
            "the stack no longer manages the account's data-lake administrators: the provider's \
             `aws_lakeformation_data_lake_settings` replaces every Lake Formation setting of the \
             account and resets them all on `terraform destroy`. Remove the key and make the \
             identity that runs Terraform an administrator before `terraform apply` (README, Deploy)",
        );
    }
    LakeFormationModel {
        grant_permissions: lake_formation.grant_permissions,
    }
}
