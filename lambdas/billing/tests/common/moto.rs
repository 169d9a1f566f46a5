//! What the usage query gets from moto's Athena, and clients for moto without
//! interceptors; the server is [`lambda_support::moto`].

use aws_sdk_athena::config::SharedInterceptor;
use lambda_support::moto::{self, MotoServer};
use serde_json::{json, Value};

/// A moto query result: every row's values as VarCharValue, the first row the header (as
/// Athena returns a SELECT); the first column `varchar`, the others `bigint`.
pub fn query_result(rows: &[Vec<&str>]) -> Value {
    let cell = |v: &str| json!({ "VarCharValue": v });
    let header = rows.first().cloned().unwrap_or_default();
    let column_info: Vec<Value> = header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let kind = if i == 0 { "varchar" } else { "bigint" };
            json!({"Name": name, "Label": name, "Type": kind})
        })
        .collect();
    json!({
        "rows": rows
            .iter()
            .map(|row| json!({"Data": row.iter().map(|v| cell(v)).collect::<Vec<_>>()}))
            .collect::<Vec<_>>(),
        "column_info": column_info,
    })
}

/// An Athena client for moto configured the way production configures it
/// ([`moto::athena_client`]).
pub async fn athena_client(server: &MotoServer) -> aws_sdk_athena::Client {
    moto::athena_client(server, None::<SharedInterceptor>).await
}

/// The S3 client for moto ([`moto::s3_client`]).
pub async fn s3_client(server: &MotoServer) -> aws_sdk_s3::Client {
    moto::s3_client(server, None::<SharedInterceptor>).await
}
