//! Stage 1: what the outputs name exists (describe calls only); with usage events, their
//! compaction function and tables too.

use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;

use super::{sdk_error, Finding, Outcome};
use crate::Verifier;

impl Verifier {
    pub(crate) async fn stack_stage(&self) -> Outcome<()> {
        let stack = &self.stack;
        let aws = &self.aws;
        let mut found = Vec::new();
        let mut problems = Vec::new();

        let mut functions = vec![stack.compaction_function_name.as_str()];
        functions.extend(stack.billing.as_ref().map(|b| b.function_name.as_str()));
        let events = stack.usage_events.as_ref();
        functions.extend(events.map(|e| e.compaction_function_name.as_str()));
        for function in functions {
            match aws
                .lambda
                .get_function()
                .function_name(function)
                .send()
                .await
            {
                Ok(_) => found.push(format!("function {function}")),
                Err(e) => problems.push(format!("function {function}: {}", sdk_error(&e))),
            }
        }
        match aws
            .athena
            .get_work_group()
            .work_group(&stack.athena_workgroup)
            .send()
            .await
        {
            Ok(_) => found.push(format!("work group {}", stack.athena_workgroup)),
            Err(e) => problems.push(format!(
                "work group {}: {}",
                stack.athena_workgroup,
                sdk_error(&e)
            )),
        }
        let mut tables = vec![&stack.json_table, &stack.parquet_table];
        tables.extend(
            events
                .into_iter()
                .flat_map(|e| [&e.json_table, &e.parquet_table]),
        );
        for table in tables {
            match aws
                .glue
                .get_table()
                .database_name(&table.database)
                .name(&table.name)
                .send()
                .await
            {
                Ok(_) => found.push(format!("table {}.{}", table.database, table.name)),
                Err(e) => problems.push(format!(
                    "table {}.{}: {}",
                    table.database,
                    table.name,
                    sdk_error(&e)
                )),
            }
        }
        match aws
            .s3
            .head_bucket()
            .bucket(&stack.access_log_bucket)
            .send()
            .await
        {
            Ok(_) => found.push(format!("bucket {}", stack.access_log_bucket)),
            Err(e) => problems.push(format!(
                "bucket {}: {}",
                stack.access_log_bucket,
                sdk_error(&e)
            )),
        }
        match aws
            .cognito
            .describe_user_pool_client()
            .user_pool_id(&stack.user_pool_id)
            .client_id(&stack.user_pool_client_id)
            .send()
            .await
        {
            Ok(output) => {
                found.push(format!("user pool {}", stack.user_pool_id));
                let flows = output
                    .user_pool_client()
                    .map(|c| c.explicit_auth_flows())
                    .unwrap_or_default();
                if !flows.contains(&ExplicitAuthFlowsType::AllowUserPasswordAuth) {
                    problems.push(format!(
                        "app client {} does not allow ALLOW_USER_PASSWORD_AUTH, which the \
                         identity stage signs in with (flows: {flows:?})",
                        stack.user_pool_client_id
                    ));
                }
            }
            Err(e) => problems.push(format!(
                "user pool {} app client {}: {}",
                stack.user_pool_id,
                stack.user_pool_client_id,
                sdk_error(&e)
            )),
        }

        if problems.is_empty() {
            Ok((
                (),
                Finding::new(format!("{} resources found", found.len())).detail(found.join(", ")),
            ))
        } else {
            let mut finding = Finding::new(format!(
                "{} of {} checks failed: was `terraform apply` run in this region and account, \
                 with these outputs?",
                problems.len(),
                problems.len() + found.len()
            ));
            finding.details = problems;
            Err(finding)
        }
    }
}
