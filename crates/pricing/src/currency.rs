//! ISO 4217 currencies and the rounding of amounts to their minor unit.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};
use std::fmt;

/// An ISO 4217 currency that invoices can be written in: a known code with a minor unit.
///
/// The table of codes and minor units (EUR/USD 2, JPY 0, BHD/KWD 3, CLF 4, …) is the
/// [`iso_currency`] crate's, not this crate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    iso: iso_currency::Currency,
    minor_units: u32,
}

/// Why a currency code cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    /// Not an ISO 4217 alphabetic code (codes are upper case: `EUR`, not `eur`).
    #[error("unknown ISO 4217 currency code `{code}`{}", upper_case_hint(.code))]
    Unknown { code: String },
    /// An ISO 4217 code without a minor unit (gold `XAU`, `XDR`, `XXX`, …): no amount in it
    /// can be rounded for an invoice.
    #[error("currency `{code}` has no minor unit in ISO 4217 and cannot be invoiced")]
    NoMinorUnit { code: String },
}

fn upper_case_hint(code: &str) -> String {
    let upper = code.to_ascii_uppercase();
    if upper != code && iso_currency::Currency::from_code(&upper).is_some() {
        format!("; did you mean `{upper}`? (codes are upper case)")
    } else {
        String::new()
    }
}

impl Currency {
    /// The currency of an ISO 4217 alphabetic code such as `"EUR"` (case-sensitive).
    pub fn from_code(code: &str) -> Result<Currency, CurrencyError> {
        let iso =
            iso_currency::Currency::from_code(code).ok_or_else(|| CurrencyError::Unknown {
                code: code.to_string(),
            })?;
        let minor_units = iso.exponent().ok_or_else(|| CurrencyError::NoMinorUnit {
            code: code.to_string(),
        })?;
        Ok(Currency {
            iso,
            minor_units: u32::from(minor_units),
        })
    }

    /// The alphabetic code, e.g. `"EUR"`.
    pub fn code(&self) -> &'static str {
        self.iso.code()
    }

    /// The number of decimals of the minor unit: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// The `iso_currency` value, for its name, symbol, numeric code, …
    pub fn iso(&self) -> iso_currency::Currency {
        self.iso
    }

    /// `amount` rounded to the minor unit with banker's rounding (half to even,
    /// [`RoundingStrategy::MidpointNearestEven`]) and written with exactly that many decimals:
    /// `12.3` EUR becomes `12.30`, `0.125` EUR `0.12`, `0.135` EUR `0.14`, `2.5` JPY `2`.
    ///
    /// `None` only for an amount so large (beyond about 10^26) that its digits and the minor
    /// unit's do not fit together in a `Decimal`.
    pub fn round(&self, amount: Decimal) -> Option<Decimal> {
        let mut rounded =
            amount.round_dp_with_strategy(self.minor_units, RoundingStrategy::MidpointNearestEven);
        if rounded.is_zero() {
            rounded.set_sign_positive(true);
        }
        rounded.rescale(self.minor_units);
        (rounded.scale() == self.minor_units).then_some(rounded)
    }

    /// Whether `amount` has no more decimals than the minor unit allows (`49.00` and `49` are
    /// fine for EUR, `49.001` is not; trailing zeros do not count).
    pub fn fits(&self, amount: Decimal) -> bool {
        amount.normalize().scale() <= self.minor_units
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// As its code: `"EUR"`.
impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
