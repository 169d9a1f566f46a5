//! [`Record`] reads only fields of the access-log catalogue, each with the catalogue's type:
//! its serde renames are literals, and this test is what binds them to `access_log::FIELDS`.

use super::Record;
use access_log::FieldType;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The JSON keys `Record` reads, as serde's derive lists them.
fn record_keys() -> &'static [&'static str] {
    let mut keys: &'static [&'static str] = &[];
    let _ = Record::deserialize(StructKeys(&mut keys));
    keys
}

/// A deserializer that only notes the keys of the struct asked of it.
struct StructKeys<'k>(&'k mut &'static [&'static str]);

impl<'de> Deserializer<'de> for StructKeys<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only a struct's keys are read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("keys noted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Whether `Record` accepts `value` (JSON text) under `key`.
fn accepts(key: &str, value: &str) -> bool {
    serde_json::from_str::<Record>(&format!("{{\"{key}\": {value}}}")).is_ok()
}

#[test]
fn every_key_record_reads_is_a_catalogue_field_read_as_its_type() {
    let keys = record_keys();
    assert!(keys.contains(&"requestId"), "keys read: {keys:?}");
    for key in keys {
        let field = access_log::find(key)
            .unwrap_or_else(|| panic!("Record reads `{key}`, which access_log::FIELDS lacks"));
        let (string, integer) = (accepts(key, "\"x\""), accepts(key, "1"));
        let read_as = match (string, integer) {
            (true, false) => "a string",
            (false, true) => "an integer",
            _ => panic!("Record reads `{key}` as neither a string nor an integer only"),
        };
        let typed_as = match field.field_type {
            FieldType::String => "a string",
            FieldType::Int | FieldType::BigInt => "an integer",
        };
        assert_eq!(
            read_as, typed_as,
            "Record reads `{key}` as {read_as}; access_log::FIELDS types it {:?}",
            field.field_type
        );
    }
}

#[test]
fn the_fast_reader_reads_the_keys_of_record_in_its_order() {
    assert_eq!(super::scan::KEYS.as_slice(), record_keys());
}
