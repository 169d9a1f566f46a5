//! The `api` section: the metered REST API and its stages.

use super::Checker;
use crate::context::Api;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ApiModel {
    #[serde(flatten)]
    pub settings: Api,
    pub access_log_format: String,
}

/// The API, its access logs naming the tenant from the Cognito claim `tenant_claim`.
pub(super) fn build(a: &Api, tenant_claim: &str, c: &mut Checker) -> ApiModel {
    check(a, c);
    ApiModel {
        settings: a.clone(),
        access_log_format: access_log::access_log_format(tenant_claim),
    }
}

fn check(a: &Api, c: &mut Checker) {
    let name_ok = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || extra.contains(&ch))
    };
    if !name_ok(&a.name, &['-', '_', '.', ' ']) || a.name.len() > 128 {
        c.fail(
            "api.name",
            "must have 1 to 128 letters, digits, spaces or `- _ .`",
        );
    }
    // The stage's Lambda permission is `AllowInvokeFromStage-<stage>`, and a statement id has
    // at most 100 characters (Lambda API Reference, AddPermission, StatementId).
    if !name_ok(&a.stage_name, &['-', '_']) || a.stage_name.len() > 79 {
        c.fail(
            "api.stage_name",
            "must have 1 to 79 letters, digits, `-` or `_` (its Lambda permission is `AllowInvokeFromStage-<stage>`, and Lambda takes statement ids of at most 100 characters)",
        );
    }
    // The `dev` stage logs to `/aws/apigateway/<api name>/dev`, and a log group name is
    // `[.\-_/#A-Za-z0-9]+` (CloudWatch Logs API Reference, CreateLogGroup, logGroupName).
    if a.dev_stage && a.name.contains(' ') {
        c.fail(
            "api.name",
            "may not hold spaces with `api.dev_stage`: the `dev` stage logs to `/aws/apigateway/<api name>/dev`, and CloudWatch log group names have no spaces",
        );
    }
    if a.dev_stage && a.stage_name == "dev" {
        c.fail("api.stage_name", "`dev` is taken by `api.dev_stage`");
    }
    // API Gateway writes a stage's CloudWatch access logs with the account's CloudWatch role
    // ("Set up CloudWatch logging for REST APIs in API Gateway", API Gateway Developer Guide);
    // without it, creating the `dev` stage fails.
    if a.dev_stage && !a.cloudwatch_account_role {
        c.fail(
            "api.dev_stage",
            "the `dev` stage logs to CloudWatch Logs, which API Gateway does with the region's CloudWatch role: set `api.cloudwatch_account_role` to true as well",
        );
    }
    c.range(
        "api.throttling_rate_limit",
        a.throttling_rate_limit,
        1,
        10_000,
    );
    c.range(
        "api.throttling_burst_limit",
        a.throttling_burst_limit,
        1,
        5_000,
    );
}
