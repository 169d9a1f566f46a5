//! The validated deployment: every name, bucket, folder, column and setting the Terraform
//! tree needs, resolved once. `Model::build` applies every rule and reports all violations
//! together, each with its file and JSON path.
//!
//! One module per context section checks it and builds its part of the model: `firehose`,
//! `athena` (with the top-level `athena_work_group_name`), `catalog` (the Glue names of
//! `merge_small_files_lambda_env` and the `catalog` section), `compaction` (the `compaction`
//! section and `COLUMN_NAMES`), `deployment`, `api`, `cognito`, `lake_formation`, `metering`;
//! `lambda` reads the Lambda crates' metadata. `rules` holds the AWS naming rules and
//! `schedule` the EventBridge schedule expressions they share.

mod api;
mod athena;
mod catalog;
mod checker;
mod cognito;
mod compaction;
mod deployment;
mod firehose;
mod lake_formation;
mod lambda;
pub mod metering;
mod modules;
pub mod rules;
pub mod schedule;
mod usage_events;

pub use api::ApiModel;
pub use athena::{AthenaModel, DEFAULT_RESULTS_BUCKET};
pub use catalog::{CatalogModel, Column, Table};
pub use cognito::CognitoModel;
pub use compaction::CompactionModel;
pub use firehose::{AccessLogs, DEFAULT_ACCESS_LOG_BUCKET, DELIVERY_STREAM_PREFIX};
pub use lake_formation::LakeFormationModel;
pub use lambda::{
    LambdaCrate, LambdaSpec, Lambdas, BILLING, COMPACTION, RANDOM_STRINGS, USAGE_EVENTS,
};
pub use modules::MODULES;
pub use schedule::Schedule;
pub use usage_events::UsageEventsModel;

use crate::context::{self, Context};
use crate::diagnostic::Diagnostics;
use checker::Checker;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub deployment: context::Deployment,
    pub access_logs: AccessLogs,
    pub athena: AthenaModel,
    pub catalog: CatalogModel,
    pub compaction: CompactionModel,
    pub api: ApiModel,
    pub cognito: CognitoModel,
    pub lake_formation: LakeFormationModel,
    pub metering: metering::MeteringModel,
    /// Deployed when the context has a `usage_events` section.
    pub usage_events: Option<UsageEventsModel>,
    pub lambdas: Lambdas,
}

impl Model {
    /// Checks every section, in the order their violations are reported, then assembles the
    /// model if there were none.
    pub fn build(ctx: &Context, lambdas: &[LambdaCrate]) -> Result<Model, Diagnostics> {
        let mut c = Checker::new(&ctx.file);
        let firehose = c.required("firehose", ctx.firehose.as_ref());
        let env = c.required(compaction::ENV, ctx.merge_small_files_lambda_env.as_ref());
        let workgroup = athena::workgroup(ctx, &mut c);
        let results_bucket = athena::results_bucket(ctx, &mut c);
        let access_logs = firehose.map(|f| firehose::build(f, &mut c));
        let catalog = env
            .zip(access_logs.as_ref())
            .map(|(env, logs)| catalog::build(ctx, env, logs, &mut c));
        if let Some(logs) = &access_logs {
            athena::apart_from_access_logs(&results_bucket, logs, &mut c);
        }
        let metering = metering::build(ctx, &mut c);
        let usage_events = ctx.usage_events.as_ref().map(|events| {
            usage_events::build(
                events,
                access_logs.as_ref(),
                env,
                ctx.metering.late_arrival_hours,
                &mut c,
            )
        });
        let column_names = env.map(|env| compaction::column_names(env, &metering, &mut c));
        compaction::delay(&ctx.compaction, firehose, &mut c);
        if let Some(events) = &ctx.usage_events {
            compaction::delay_after(
                &ctx.compaction,
                "usage_events.buffer_interval_in_seconds",
                events.buffer_interval_in_seconds,
                &mut c,
            );
        }
        deployment::check(&ctx.deployment, &mut c);
        if let Some(logs) = &access_logs {
            deployment::access_logs_apart_from(
                &ctx.deployment,
                [&logs.bucket, &results_bucket],
                &mut c,
            );
        }
        let api = api::build(&ctx.api, &metering.tenant_claim, &mut c);
        let cognito = cognito::build(&ctx.cognito, &mut c);
        let lake_formation = lake_formation::build(&ctx.lake_formation, &mut c);
        let schedule_expression = compaction::schedule(&ctx.compaction, &mut c);
        let lambdas = lambda::resolve(lambdas, &mut c.errors);

        c.finish(|| {
            let column_names = column_names?;
            Some(Model {
                deployment: ctx.deployment.clone(),
                access_logs: access_logs?,
                athena: AthenaModel {
                    workgroup: workgroup?,
                    results_bucket,
                },
                catalog: catalog?.with_parquet_columns(&column_names),
                compaction: CompactionModel {
                    column_names,
                    schedule_expression,
                    delay_minutes: ctx.compaction.delay_minutes,
                },
                api,
                cognito,
                lake_formation,
                metering,
                usage_events,
                lambdas: lambdas?,
            })
        })
    }
}
