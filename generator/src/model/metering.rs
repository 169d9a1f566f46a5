//! The `metering` section: where the tenant comes from and, when meters and plans are given,
//! the monthly billing job. The meter and plan rules live in the `metering` and `pricing`
//! crates, which the billing function and `metering-gen bill` share; this module only places
//! their findings in the file.

use super::schedule::Schedule;
use super::{rules, Checker};
use crate::context::{Context, Metering};
use metering::{Aggregation, Config, Source, ValidConfig};
use serde::Serialize;
use std::collections::BTreeSet;

const SECTION: &str = "metering";

#[derive(Debug, Clone, Serialize)]
pub struct MeteringModel {
    pub tenant_claim: String,
    /// The user pool's custom attribute behind a `custom:` claim (`tenant_id` for
    /// `custom:tenant_id`); `None` for a claim the pool does not define.
    pub tenant_attribute: Option<String>,
    pub billing: Option<BillingModel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BillingModel {
    /// The [`metering::Config`] the billing function reads, as JSON.
    pub config_json: String,
    pub schedule_expression: String,
    pub invoices_table: String,
    /// Access-log fields the usage query reads, for the compaction column check.
    pub columns: Vec<String>,
}

pub(super) fn build(ctx: &Context, c: &mut Checker) -> MeteringModel {
    let m = &ctx.metering;
    MeteringModel {
        tenant_claim: m.tenant_claim.clone(),
        tenant_attribute: tenant_claim(&m.tenant_claim, c),
        billing: billing(ctx, c),
    }
}

fn tenant_claim(claim: &str, c: &mut Checker) -> Option<String> {
    let path = format!("{SECTION}.tenant_claim");
    let name_chars = |s: &str| {
        s.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
    };
    match claim.strip_prefix("custom:") {
        Some(attribute) => {
            if attribute.is_empty() || attribute.len() > 20 || !name_chars(attribute) {
                c.fail(
                    &path,
                    format!("`{claim}`: a custom attribute name has 1 to 20 letters, digits or `_ . -` after `custom:`"),
                );
            }
            Some(attribute.to_string())
        }
        None => {
            if claim.is_empty()
                || claim.len() > 128
                || !claim.split(':').all(|p| !p.is_empty() && name_chars(p))
            {
                c.fail(
                    &path,
                    format!("`{claim}` is not a claim name: letters, digits, `_ . -`, parts joined by `:`"),
                );
            }
            None
        }
    }
}

fn billing(ctx: &Context, c: &mut Checker) -> Option<BillingModel> {
    let valid = config(&ctx.metering, c)?;
    if ctx.usage_events.is_none() {
        for (name, meter) in valid.meters() {
            if meter.source == Source::Events {
                c.fail(
                    &format!("{SECTION}.meters.{name}.source"),
                    "`events` meters count usage events, which only a stack with a `usage_events` \
                     section receives: add `\"usage_events\": {}` to the context",
                );
            }
        }
    }
    let path = format!("{SECTION}.schedule_expression");
    let (schedule, parsed) = c.schedule(&path, ctx.metering.schedule_expression.as_deref(), || {
        // Compaction of the last late hour runs at <late hours>:<delay> and is done well
        // within the next hour.
        format!(
            "cron({} {} 1 * ? *)",
            ctx.compaction.delay_minutes,
            valid.late_arrival_hours() + 1
        )
    });
    if let Some(parsed) = &parsed {
        c.check(
            &path,
            not_before_billable(&schedule, parsed, valid.late_arrival_hours()),
        );
    }
    let invoices_table = ctx.metering.invoices_table.clone();
    c.check(
        &format!("{SECTION}.invoices_table"),
        rules::glue_name(&invoices_table, 255),
    );
    if let Some(env) = &ctx.merge_small_files_lambda_env {
        if env.new_table_name == invoices_table {
            c.fail(
                &format!("{SECTION}.invoices_table"),
                "must differ from the Parquet table `merge_small_files_lambda_env.NEW_TABLE_NAME` in the same database",
            );
        }
        if let Some(events) = &ctx.usage_events {
            let same_database = env.old_database == env.new_database;
            if events.parquet_table_name == invoices_table
                || (same_database && events.json_table_name == invoices_table)
            {
                c.fail(
                    &format!("{SECTION}.invoices_table"),
                    format!("must differ from the usage events' tables in the same database (`usage_events.parquet_table_name`, `usage_events.json_table_name`), not `{invoices_table}`"),
                );
            }
        }
    }
    let mut columns = BTreeSet::from(["requestId", "requestTime", "tenant", "sub"]);
    for (_, meter) in valid.meters() {
        if meter.aggregation == Aggregation::SumResponseBytes {
            columns.insert("responseLength");
        }
        if !meter.filter.resource_paths.is_empty() {
            columns.insert("resourcePath");
        }
        if !meter.filter.methods.is_empty() {
            columns.insert("httpMethod");
        }
        if !meter.filter.status_classes.is_empty() {
            columns.insert("status");
        }
    }
    debug_assert!(columns.iter().all(|f| access_log::find(f).is_some()));
    let config_json =
        serde_json::to_string_pretty(valid.config()).expect("a config serializes") + "\n";
    Some(BillingModel {
        config_json,
        schedule_expression: schedule,
        invoices_table,
        columns: columns.into_iter().map(String::from).collect(),
    })
}

/// A schedule on the 1st at a fixed time must come after the month's late hours and the
/// hour their compaction may take: the function refuses to bill earlier (it would miss
/// late records). Other schedules cannot be checked here. `expression` is `schedule` as written.
fn not_before_billable(
    expression: &str,
    schedule: &Schedule,
    late_arrival_hours: u32,
) -> rules::Rule {
    let Schedule::Cron {
        minutes,
        hours,
        day_of_month,
        ..
    } = schedule
    else {
        return Ok(());
    };
    let (Some(minute), Some(hour), Some(1)) =
        (minutes.single(), hours.single(), day_of_month.single())
    else {
        return Ok(());
    };
    let earliest = late_arrival_hours + 1;
    if u32::from(hour) * 60 + u32::from(minute) < earliest * 60 {
        return Err(format!(
            "`{expression}` runs at {hour:02}:{minute:02} UTC on the 1st, before the month can be billed: \
             its last {late_arrival_hours} late hours and their compaction end at {earliest:02}:00 \
             (`late_arrival_hours` + 1 hour); run at {earliest:02}:00 or later"
        ));
    }
    Ok(())
}

/// The meters and plans, checked by the crates that use them; `None` when the section bills
/// nobody or has errors (reported to `c`).
fn config(m: &Metering, c: &mut Checker) -> Option<ValidConfig> {
    let late = u32::try_from(m.late_arrival_hours)
        .ok()
        .filter(|h| (1..=metering::MAX_LATE_ARRIVAL_HOURS).contains(h));
    if late.is_none() {
        c.fail(
            &format!("{SECTION}.late_arrival_hours"),
            format!(
                "must be between 1 and {}, not {}",
                metering::MAX_LATE_ARRIVAL_HOURS,
                m.late_arrival_hours
            ),
        );
    }
    let (meters, pricing) = match (&m.meters, &m.pricing) {
        (None, None) => return None,
        (Some(meters), Some(pricing)) => (meters.clone(), pricing.clone()),
        (Some(_), None) => {
            c.fail(
                &format!("{SECTION}.pricing"),
                "required with `meters`: the plans that price them",
            );
            return None;
        }
        (None, Some(_)) => {
            c.fail(
                &format!("{SECTION}.meters"),
                "required with `pricing`: what the plans charge for",
            );
            return None;
        }
    };
    let config = Config {
        late_arrival_hours: late?,
        meters,
        pricing,
    };
    match config.validate() {
        Ok(valid) => Some(valid),
        Err(errors) => {
            for e in errors {
                c.fail(&format!("{SECTION}.{}", e.path), e.message);
            }
            None
        }
    }
}

/// The metering configuration of a context alone, for `bill` and `usage`: the checks of
/// `metering` only, so that a context can be billed without the Lambda crates at hand.
pub fn billing_config(ctx: &Context) -> Result<ValidConfig, crate::diagnostic::Diagnostics> {
    let mut c = Checker::new(&ctx.file);
    let config = config(&ctx.metering, &mut c);
    match config {
        Some(config) if c.errors.is_empty() => Ok(config),
        _ if c.errors.is_empty() => Err(crate::diagnostic::Diagnostic::at_path(
            &ctx.file,
            SECTION,
            "no meters and pricing: this context bills nobody",
        )
        .into()),
        _ => Err(crate::diagnostic::Diagnostics(c.errors)),
    }
}
