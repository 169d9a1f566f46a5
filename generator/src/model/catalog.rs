//! The Glue Data Catalog: the databases, tables and Parquet folder named in
//! `merge_small_files_lambda_env`, and the `catalog` section's partition projection years.

use super::compaction::ENV;
use super::firehose::AccessLogs;
use super::{rules, Checker};
use crate::context::{Context, MergeSmallFilesEnv};
use access_log::FIELDS;
use serde::Serialize;
use std::collections::BTreeSet;

/// Athena's limit on enumerated partitions per query; both tables project one per hour.
const MAX_PROJECTED_PARTITIONS: i64 = 1_000_000;
const HOURS_PER_PROJECTED_YEAR: i64 = 12 * 31 * 24;
/// The compaction job's temporary table is `tmp_<NEW_TABLE_NAME>_<YYYYMMDDHH>`.
pub(super) const TEMP_TABLE_EXTRA: usize = "tmp__2026112800".len();

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub glue_type: String,
    pub comment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// The table's key in the catalog module, which gives its storage format: `json`, `parquet`,
    /// `events_json` or `events_parquet`.
    pub format: String,
    pub description: String,
    pub database: String,
    pub name: String,
    pub folder: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CatalogModel {
    /// Distinct database names, sorted.
    pub databases: Vec<String>,
    pub json_table: Table,
    pub parquet_table: Table,
    pub projection_first_year: i64,
    pub projection_last_year: i64,
}

impl CatalogModel {
    /// The catalog with the Parquet table's columns: the compacted fields, in order.
    pub(super) fn with_parquet_columns(self, compacted: &[String]) -> CatalogModel {
        CatalogModel {
            parquet_table: Table {
                columns: columns(compacted),
                ..self.parquet_table
            },
            ..self
        }
    }
}

/// The catalog, the Parquet table without its columns (see [`CatalogModel::with_parquet_columns`]).
pub(super) fn build(
    ctx: &Context,
    env: &MergeSmallFilesEnv,
    logs: &AccessLogs,
    c: &mut Checker,
) -> CatalogModel {
    c.check(
        &format!("{ENV}.OLD_DATABASE"),
        rules::glue_name(&env.old_database, 255),
    );
    c.check(
        &format!("{ENV}.NEW_DATABASE"),
        rules::glue_name(&env.new_database, 255),
    );
    c.check(
        &format!("{ENV}.OLD_TABLE_NAME"),
        rules::glue_name(&env.old_table_name, 255),
    );
    c.check(
        &format!("{ENV}.NEW_TABLE_NAME"),
        rules::glue_name(&env.new_table_name, 255 - TEMP_TABLE_EXTRA),
    );
    if env.old_database == env.new_database && env.old_table_name == env.new_table_name {
        c.fail(
            &format!("{ENV}.NEW_TABLE_NAME"),
            "the Parquet table must differ from the JSON table `OLD_DATABASE.OLD_TABLE_NAME`",
        );
    }
    parquet_folder(&env.new_table_s3_folder_name, logs, c);
    projection_years(ctx, c);
    let cat = &ctx.catalog;
    let databases: BTreeSet<String> = [env.old_database.clone(), env.new_database.clone()].into();
    CatalogModel {
        databases: databases.into_iter().collect(),
        json_table: Table {
            format: "json".into(),
            description: "API access logs as Firehose delivers them: JSON lines, one folder per arrival hour.".into(),
            database: env.old_database.clone(),
            name: env.old_table_name.clone(),
            folder: logs.folder.clone(),
            columns: columns(&FIELDS.iter().map(|f| f.name.to_string()).collect::<Vec<_>>()),
        },
        parquet_table: Table {
            format: "parquet".into(),
            description: "API access logs compacted hourly into Snappy Parquet.".into(),
            database: env.new_database.clone(),
            name: env.new_table_name.clone(),
            folder: env.new_table_s3_folder_name.clone(),
            columns: Vec::new(),
        },
        projection_first_year: cat.projection_first_year,
        projection_last_year: cat.projection_last_year,
    }
}

fn parquet_folder(parquet_folder: &str, logs: &AccessLogs, c: &mut Checker) {
    let path = format!("{ENV}.NEW_TABLE_S3_FOLDER_NAME");
    match rules::folder(parquet_folder)
        .and_then(|()| rules::apart_from_stack_folders(parquet_folder))
    {
        Err(e) => c.fail(&path, e),
        Ok(()) if *parquet_folder == logs.folder => c.fail(
            &path,
            format!("must differ from `firehose.s3_output_folder` (`{}`): the Parquet files would mix with the JSON files", logs.folder),
        ),
        Ok(())
            if parquet_folder.starts_with(&format!("{}/", logs.folder))
                || logs.folder.starts_with(&format!("{parquet_folder}/")) =>
        {
            c.fail(
                &path,
                format!("may not be nested in or contain `firehose.s3_output_folder` (`{}`)", logs.folder),
            )
        }
        Ok(()) => {}
    }
}

fn projection_years(ctx: &Context, c: &mut Checker) {
    let cat = &ctx.catalog;
    c.range(
        "catalog.projection_first_year",
        cat.projection_first_year,
        1970,
        9999,
    );
    c.range(
        "catalog.projection_last_year",
        cat.projection_last_year,
        1970,
        9999,
    );
    // Out-of-range years are reported above; their span would mean nothing (and overflow).
    let in_range = |y: i64| (1970..=9999).contains(&y);
    let (first, last) = (cat.projection_first_year, cat.projection_last_year);
    match (in_range(first) && in_range(last)).then(|| last - first + 1) {
        Some(years) if years < 1 => c.fail(
            "catalog.projection_last_year",
            "must not be before `projection_first_year`",
        ),
        Some(years) if years * HOURS_PER_PROJECTED_YEAR > MAX_PROJECTED_PARTITIONS => c.fail(
            "catalog.projection_last_year",
            format!(
                "{years} years of hourly partitions exceed Athena's 1,000,000 projected partitions; use at most {}",
                MAX_PROJECTED_PARTITIONS / HOURS_PER_PROJECTED_YEAR
            ),
        ),
        _ => {}
    }
}

/// Columns for field names already checked against the catalogue.
fn columns(names: &[String]) -> Vec<Column> {
    names
        .iter()
        .filter_map(|n| access_log::find(n))
        .map(|f| Column {
            name: f.column(),
            glue_type: f.field_type.glue_type().to_string(),
            comment: f.description.to_string(),
        })
        .collect()
}
