//! What the job's queries get from moto's Athena; the server and its clients are
//! [`lambda_support::moto`].

use serde_json::{json, Value};

/// A moto query result as the count query gives it: header row, then the counts.
pub fn count_result(rows_in: u64, rows_out: u64) -> Value {
    let cell = |v: String| json!({ "VarCharValue": v });
    let column = |name: &str| json!({"Name": name, "Label": name, "Type": "bigint"});
    json!({
        "rows": [
            {"Data": [cell("rows_in".into()), cell("rows_out".into())]},
            {"Data": [cell(rows_in.to_string()), cell(rows_out.to_string())]},
        ],
        "column_info": [column("rows_in"), column("rows_out")],
    })
}

/// The answer moto gives a query with nothing queued: no rows.
pub fn no_result() -> Value {
    json!({"rows": [], "column_info": []})
}
