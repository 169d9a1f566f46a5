//! How decimals are read and written: exactly, never through `f64`.
//!
//! * Read from a JSON **string** (`"0.125"`, parsed with [`Decimal::from_str_exact`], so a value
//!   with more digits than a `Decimal` holds is an error, not a silent rounding) or from a JSON
//!   **integer** (`1000`, exact by nature).
//! * A JSON number with a fraction or an exponent (`0.1`, `1e3`) is refused with a message that
//!   says to quote it: serde_json has already turned it into an `f64` by the time it reaches us,
//!   and `0.1` is not `0.1` in binary floating point.
//! * Written as a string, with the value's own scale (`Decimal`'s `Display`).
//!
//! Used through `#[serde(with = ...)]` rather than `rust_decimal`'s serde features, so a feature
//! that another crate of the workspace switches on cannot change what is read or written.

use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;
use std::fmt;

const EXPECTING: &str = "a decimal number as a string (e.g. \"0.10\") or an integer";

struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(EXPECTING)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Decimal, E> {
        let mut d = Decimal::from_str_exact(s)
            .map_err(|e| E::custom(format!("`{s}` is not an exact decimal number: {e}")))?;
        // "-0" reads as zero: never write a negative zero back.
        if d.is_zero() {
            d.set_sign_positive(true);
        }
        Ok(d)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(n))
    }

    fn visit_u128<E: de::Error>(self, n: u128) -> Result<Decimal, E> {
        Decimal::from_u128(n).ok_or_else(|| E::custom(format!("{n} is too large for a decimal")))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Decimal, E> {
        Decimal::from_i128(n).ok_or_else(|| E::custom(format!("{n} is too large for a decimal")))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Decimal, E> {
        Err(E::custom(format!(
            "write the number {n} as a string, \"{n}\": a JSON number with a fraction or an \
             exponent is read as binary floating point, which is not exact"
        )))
    }
}

/// `Decimal` ⇄ string (or integer on input).
pub(crate) mod exact {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(DecimalVisitor)
    }
}

/// `Option<Decimal>` ⇄ string or `null`.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.collect_str(d),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<Decimal>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "{EXPECTING}, or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            exact::deserialize(d).map(Some)
        }
    }
}
