//! One access-log record as a line: the keys, their order and their quoting come from
//! `access_log::FIELDS`, the values from the simulation.

use crate::digits::{push_padded, push_u64};
use access_log::FIELDS;

/// A record's values. Quoted values are written as they are: none holds `"` or `\`.
pub struct Record<'a> {
    pub request_id: &'a [u8; 36],
    pub ip: &'a [u8],
    /// The caller's number among its tenant's users (`user-TTTT-UUUU`); `None`: `-`.
    pub user: Option<u64>,
    /// Epoch milliseconds; not before 1970.
    pub request_time: i64,
    pub http_method: &'static str,
    pub resource_path: &'static str,
    pub status: u16,
    pub protocol: &'static str,
    pub response_length: u64,
    /// `tenant-TTTT`; 0: `-`.
    pub tenant: u64,
    pub sub: Option<&'a [u8; 36]>,
}

/// Which of a [`Record`]'s values a catalogue field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    RequestId,
    Ip,
    User,
    RequestTime,
    HttpMethod,
    ResourcePath,
    Status,
    Protocol,
    ResponseLength,
    Tenant,
    Sub,
}

impl Value {
    /// The value of the catalogue field `name`; a test checks that every field has one.
    fn of(name: &str) -> Option<Value> {
        Some(match name {
            "requestId" => Value::RequestId,
            "ip" => Value::Ip,
            "user" => Value::User,
            "requestTime" => Value::RequestTime,
            "httpMethod" => Value::HttpMethod,
            "resourcePath" => Value::ResourcePath,
            "status" => Value::Status,
            "protocol" => Value::Protocol,
            "responseLength" => Value::ResponseLength,
            "tenant" => Value::Tenant,
            "sub" => Value::Sub,
            _ => return None,
        })
    }
}

impl Record<'_> {
    /// Replaces `line` with the record's line, newline included: the catalogue's fields in
    /// its order, each with its key and, for a string, its quotes.
    pub fn write_line(&self, line: &mut Vec<u8>) {
        line.clear();
        line.push(b'{');
        for (index, field) in FIELDS.iter().enumerate() {
            if index > 0 {
                line.extend_from_slice(b", ");
            }
            line.push(b'"');
            line.extend_from_slice(field.name.as_bytes());
            line.extend_from_slice(b"\": ");
            let quoted = field.field_type.quoted();
            if quoted {
                line.push(b'"');
            }
            if let Some(value) = Value::of(field.name) {
                self.write(value, line);
            }
            if quoted {
                line.push(b'"');
            }
        }
        line.extend_from_slice(b"}\n");
    }

    fn write(&self, value: Value, line: &mut Vec<u8>) {
        match value {
            Value::RequestId => line.extend_from_slice(self.request_id),
            Value::Ip => line.extend_from_slice(self.ip),
            Value::User => match self.user {
                Some(number) => {
                    line.extend_from_slice(b"user-");
                    push_padded(line, self.tenant, 4);
                    line.push(b'-');
                    push_padded(line, number, 4);
                }
                None => line.push(b'-'),
            },
            Value::RequestTime => push_u64(line, self.request_time as u64),
            Value::HttpMethod => line.extend_from_slice(self.http_method.as_bytes()),
            Value::ResourcePath => line.extend_from_slice(self.resource_path.as_bytes()),
            Value::Status => push_u64(line, u64::from(self.status)),
            Value::Protocol => line.extend_from_slice(self.protocol.as_bytes()),
            Value::ResponseLength => push_u64(line, self.response_length),
            Value::Tenant if self.tenant == 0 => line.push(b'-'),
            Value::Tenant => {
                line.extend_from_slice(b"tenant-");
                push_padded(line, self.tenant, 4);
            }
            Value::Sub => match self.sub {
                Some(sub) => line.extend_from_slice(sub),
                None => line.push(b'-'),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_writes_every_catalogue_field() {
        for field in FIELDS {
            assert!(
                Value::of(field.name).is_some(),
                "access_log::FIELDS has `{}`, which the simulator does not write: add it to \
                 record::Value",
                field.name
            );
        }
    }

    #[test]
    fn a_line_is_the_access_log_format_with_the_values() {
        let id = *b"0f8fad5b-d9cb-469f-a165-70867728950e";
        let sub = *b"7c9e6679-7425-40de-944b-e07fc1f90ae7";
        let record = Record {
            request_id: &id,
            ip: b"192.0.2.7",
            user: Some(3),
            request_time: 1_764_291_600_123,
            http_method: "GET",
            resource_path: "/items/{id}",
            status: 200,
            protocol: "HTTP/1.1",
            response_length: 17,
            tenant: 12,
            sub: Some(&sub),
        };
        let mut line = b"left over".to_vec();
        record.write_line(&mut line);
        let expected = access_log::access_log_format("custom:tenant_id")
            .replace("$context.requestId", std::str::from_utf8(&id).unwrap())
            .replace("$context.identity.sourceIp", "192.0.2.7")
            .replace(
                "$context.authorizer.claims['cognito:username']",
                "user-0012-0003",
            )
            .replace("$context.requestTimeEpoch", "1764291600123")
            .replace("$context.httpMethod", "GET")
            .replace("$context.resourcePath", "/items/{id}")
            .replace("$context.status", "200")
            .replace("$context.protocol", "HTTP/1.1")
            .replace("$context.responseLength", "17")
            .replace(
                "$context.authorizer.claims['custom:tenant_id']",
                "tenant-0012",
            )
            .replace(
                "$context.authorizer.claims.sub",
                std::str::from_utf8(&sub).unwrap(),
            );
        assert_eq!(std::str::from_utf8(&line).unwrap(), expected);

        let anonymous = Record {
            user: None,
            tenant: 0,
            sub: None,
            ..record
        };
        anonymous.write_line(&mut line);
        let text = std::str::from_utf8(&line).unwrap();
        assert!(text.contains(r#", "user": "-", "#), "{text}");
        assert!(
            text.ends_with("\"tenant\": \"-\", \"sub\": \"-\"}\n"),
            "{text}"
        );
    }
}
