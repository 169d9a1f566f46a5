//! The one catalogue of access-log fields.
//!
//! API Gateway writes each access-log record from [`access_log_format`]; the Glue tables, the
//! compaction query's column list and the named queries take their columns from the same list,
//! so the log and the catalog cannot disagree. The fields `metering` reads are tested against
//! it, and the simulator (`tools/simulate`) lays out its records from it.

/// How a field's value is written in the JSON record and typed in Glue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Quoted in the log, `string` in Glue.
    String,
    /// Unquoted in the log, `int` in Glue.
    Int,
    /// Unquoted in the log, `bigint` in Glue.
    BigInt,
}

impl FieldType {
    pub fn glue_type(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Int => "int",
            FieldType::BigInt => "bigint",
        }
    }

    /// Whether the value is a JSON string in the record.
    pub const fn quoted(self) -> bool {
        matches!(self, FieldType::String)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The key in the JSON record, as the reference sample names it (camelCase).
    pub name: &'static str,
    /// The API Gateway `$context` variable that fills it.
    pub variable: &'static str,
    pub field_type: FieldType,
    pub description: &'static str,
}

impl Field {
    /// Glue folds column names to lower case when it stores them; writing them lower case
    /// keeps `terraform plan` free of a perpetual diff. The OpenX JSON SerDe matches JSON keys
    /// case-insensitively, so `requestid` still reads `requestId`.
    pub fn column(&self) -> String {
        self.name.to_ascii_lowercase()
    }
}

/// Every field of the access-log record, in record order.
pub const FIELDS: &[Field] = &[
    Field {
        name: "requestId",
        variable: "$context.requestId",
        field_type: FieldType::String,
        description: "API Gateway request id; the key for de-duplication",
    },
    Field {
        name: "ip",
        variable: "$context.identity.sourceIp",
        field_type: FieldType::String,
        description: "caller's source IP address",
    },
    Field {
        name: "user",
        variable: "$context.authorizer.claims['cognito:username']",
        field_type: FieldType::String,
        description: "Cognito user name of the caller",
    },
    Field {
        name: "requestTime",
        variable: "$context.requestTimeEpoch",
        field_type: FieldType::BigInt,
        description: "request time, epoch milliseconds (UTC)",
    },
    Field {
        name: "httpMethod",
        variable: "$context.httpMethod",
        field_type: FieldType::String,
        description: "HTTP method",
    },
    Field {
        name: "resourcePath",
        variable: "$context.resourcePath",
        field_type: FieldType::String,
        description: "API resource path, e.g. /random/strings",
    },
    Field {
        name: "status",
        variable: "$context.status",
        field_type: FieldType::Int,
        description: "HTTP status code of the response",
    },
    Field {
        name: "protocol",
        variable: "$context.protocol",
        field_type: FieldType::String,
        description: "request protocol, e.g. HTTP/1.1",
    },
    Field {
        name: "responseLength",
        variable: "$context.responseLength",
        field_type: FieldType::BigInt,
        description: "response payload length in bytes",
    },
    Field {
        name: "tenant",
        variable: TENANT_VARIABLE,
        field_type: FieldType::String,
        description:
            "caller's tenant, from the Cognito claim `metering.tenant_claim`; `-` when absent",
    },
    Field {
        name: "sub",
        variable: "$context.authorizer.claims.sub",
        field_type: FieldType::String,
        description: "Cognito `sub` of the caller: a stable user id, the key of unique-user meters",
    },
];

/// Stands for `$context.authorizer.claims['<tenant claim>']`: the claim is a setting.
const TENANT_VARIABLE: &str = "$context.authorizer.claims[<metering.tenant_claim>]";

/// Fields this project added to the reference sample's nine: `COLUMN_NAMES` in a sample
/// context cannot list them, so compaction always keeps them.
pub const ADDED_FIELDS: &[&str] = &["tenant", "sub"];

pub fn find(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// The access-log format of the API stage: one JSON object per line, newline-terminated so
/// that Firehose's concatenated records stay JSON Lines. `tenant_claim` is the Cognito claim
/// holding the tenant id (checked by the model: no quotes or brackets).
pub fn access_log_format(tenant_claim: &str) -> String {
    let members: Vec<String> = FIELDS
        .iter()
        .map(|f| {
            let variable = if f.variable == TENANT_VARIABLE {
                format!("$context.authorizer.claims['{tenant_claim}']")
            } else {
                f.variable.to_string()
            };
            if f.field_type.quoted() {
                format!("\"{}\": \"{variable}\"", f.name)
            } else {
                format!("\"{}\": {variable}", f.name)
            }
        })
        .collect();
    format!("{{{}}}\n", members.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference sample's format, byte for byte, as its template carries it.
    const SAMPLE_FORMAT: &str = "{\"requestId\": \"$context.requestId\", \"ip\": \"$context.identity.sourceIp\", \"user\": \"$context.authorizer.claims['cognito:username']\", \"requestTime\": $context.requestTimeEpoch, \"httpMethod\": \"$context.httpMethod\", \"resourcePath\": \"$context.resourcePath\", \"status\": $context.status, \"protocol\": \"$context.protocol\", \"responseLength\": $context.responseLength}\n";

    #[test]
    fn access_log_format_extends_the_sample_byte_for_byte() {
        let ours = access_log_format("custom:tenant_id");
        let sample_fields = SAMPLE_FORMAT.strip_suffix("}\n").unwrap();
        assert_eq!(
            ours,
            format!(
                "{sample_fields}, \"tenant\": \"$context.authorizer.claims['custom:tenant_id']\", \"sub\": \"$context.authorizer.claims.sub\"}}\n"
            )
        );
        assert!(access_log_format("tenant").contains("claims['tenant']"));
    }

    #[test]
    fn a_record_in_that_format_is_json_with_every_field() {
        let record = access_log_format("custom:tenant_id")
            .replace("$context.requestTimeEpoch", "1764291600123")
            .replace("$context.status", "200")
            .replace("$context.responseLength", "17")
            .replace("$context.", "x-");
        let value: serde_json::Value = serde_json::from_str(record.trim_end()).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), FIELDS.len());
        for field in FIELDS {
            let v = &object[field.name];
            assert_eq!(
                v.is_string(),
                field.field_type == FieldType::String,
                "{}",
                field.name
            );
        }
    }

    #[test]
    fn names_and_columns_are_unique() {
        let mut columns: Vec<String> = FIELDS.iter().map(Field::column).collect();
        columns.sort();
        columns.dedup();
        assert_eq!(columns.len(), FIELDS.len());
    }
}
