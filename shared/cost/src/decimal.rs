//! Exact decimals for prices and quantities, and money as an integer.
//!
//! A price such as `0.0000166667` per GB-second is kept as the integer
//! `166667` at scale 10; money is an integer count of 10⁻¹⁵ of the
//! currency. Sums are exact; the only rounding is where a quantity is
//! multiplied by a price and divided by the unit's size, once per line,
//! half away from zero.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CostError;

/// Decimal places money is kept to: 10⁻¹⁵ of the currency.
pub const MONEY_SCALE: u32 = 15;
/// Decimal places a price or quantity may have.
pub const MAX_SCALE: u32 = 15;

/// An exact non-negative decimal: `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: u128,
    scale: u32,
}

impl Decimal {
    /// Zero.
    pub const ZERO: Self = Self {
        mantissa: 0,
        scale: 0,
    };

    /// A whole number.
    #[must_use]
    pub const fn whole(n: u128) -> Self {
        Self {
            mantissa: n,
            scale: 0,
        }
    }

    /// `mantissa × 10^-scale`.
    ///
    /// # Errors
    /// A scale above [`MAX_SCALE`].
    pub fn new(mantissa: u128, scale: u32) -> Result<Self, CostError> {
        if scale > MAX_SCALE {
            return Err(CostError::Invalid(format!(
                "more than {MAX_SCALE} decimal places"
            )));
        }
        Ok(Self { mantissa, scale })
    }

    /// The value scaled to `scale` places, exactly.
    ///
    /// # Errors
    /// `scale` is below the value's own scale, or the result overflows.
    pub fn at_scale(self, scale: u32) -> Result<u128, CostError> {
        let up = scale
            .checked_sub(self.scale)
            .ok_or_else(|| CostError::Overflow(format!("{self} at {scale} places")))?;
        10u128
            .checked_pow(up)
            .and_then(|f| self.mantissa.checked_mul(f))
            .ok_or_else(|| CostError::Overflow(self.to_string()))
    }

    /// Whether the value is zero.
    #[must_use]
    pub const fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// `numerator / denominator` as a decimal of `places` places, rounded
    /// half away from zero (for showing quantities; amounts use [`Money`]).
    #[must_use]
    pub fn ratio(numerator: u128, denominator: u128, places: u32) -> Self {
        let places = places.min(MAX_SCALE);
        let f = 10u128.pow(places);
        let mantissa = numerator
            .checked_mul(f)
            .map_or(u128::MAX, |n| div_round(n, denominator.max(1)));
        let mut d = Self {
            mantissa,
            scale: places,
        };
        d.trim();
        d
    }

    fn trim(&mut self) {
        while self.scale > 0 && self.mantissa.is_multiple_of(10) {
            self.mantissa /= 10;
            self.scale -= 1;
        }
    }
}

/// `n / d`, rounded half away from zero.
pub(crate) const fn div_round(n: u128, d: u128) -> u128 {
    let q = n / d;
    let r = n % d;
    if r >= d - r { q + 1 } else { q }
}

impl FromStr for Decimal {
    type Err = CostError;

    fn from_str(s: &str) -> Result<Self, CostError> {
        let bad = || CostError::Invalid(format!("`{s}` is not a non-negative decimal"));
        let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (s.contains('.') && fraction.is_empty())
        {
            return Err(bad());
        }
        let scale = u32::try_from(fraction.len()).map_err(|_| bad())?;
        let digits = format!("{whole}{fraction}");
        let mantissa: u128 = digits.parse().map_err(|_| bad())?;
        let mut d = Self::new(mantissa, scale)?;
        d.trim();
        Ok(d)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, self.mantissa, self.scale, false)
    }
}

fn write_scaled(f: &mut fmt::Formatter<'_>, n: u128, scale: u32, negative: bool) -> fmt::Result {
    let sign = if negative { "-" } else { "" };
    if scale == 0 {
        return write!(f, "{sign}{n}");
    }
    let p = 10u128.pow(scale);
    write!(
        f,
        "{sign}{}.{:0width$}",
        n / p,
        n % p,
        width = scale as usize
    )
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    /// From a decimal string (`"0.20"`) or a JSON number, read through its
    /// decimal text, never through a float.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a decimal, found {other}"
                )));
            }
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money: an integer count of 10⁻¹⁵ of the currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

impl Money {
    /// Nothing.
    pub const ZERO: Self = Self(0);

    /// From 10⁻¹⁵ of the currency.
    #[must_use]
    pub const fn from_femto(n: i128) -> Self {
        Self(n)
    }

    /// In 10⁻¹⁵ of the currency.
    #[must_use]
    pub const fn femto(self) -> i128 {
        self.0
    }

    /// An exact decimal amount.
    ///
    /// # Errors
    /// The amount overflows.
    pub fn of(d: Decimal) -> Result<Self, CostError> {
        let n = d.at_scale(MONEY_SCALE)?;
        i128::try_from(n)
            .map(Self)
            .map_err(|_| CostError::Overflow(d.to_string()))
    }

    /// Rounded to `places` decimal places, half away from zero (cents: 2).
    #[must_use]
    pub fn round(self, places: u32) -> Self {
        let places = places.min(MONEY_SCALE);
        let f = 10i128.pow(MONEY_SCALE - places);
        let magnitude = div_round(self.0.unsigned_abs(), f.unsigned_abs());
        let m = i128::try_from(magnitude).unwrap_or(i128::MAX) * f;
        Self(if self.0 < 0 { -m } else { m })
    }

    /// The amount with exactly `places` decimal places (rounded).
    #[must_use]
    pub fn fixed(self, places: u32) -> String {
        let places = places.min(MONEY_SCALE);
        let rounded = self.round(places).0;
        let f = 10u128.pow(MONEY_SCALE - places);
        Fixed(rounded.unsigned_abs() / f, places, rounded < 0).to_string()
    }
}

struct Fixed(u128, u32, bool);

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, self.0, self.1, self.2)
    }
}

impl fmt::Display for Money {
    /// Every significant place, at least two.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut places = MONEY_SCALE;
        let mut n = self.0.unsigned_abs();
        while places > 2 && n.is_multiple_of(10) {
            n /= 10;
            places -= 1;
        }
        write_scaled(f, n, places, self.0 < 0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let (negative, digits) = text
            .strip_prefix('-')
            .map_or((false, text.as_str()), |rest| (true, rest));
        let amount = Self::of(digits.parse().map_err(serde::de::Error::custom)?)
            .map_err(serde::de::Error::custom)?;
        Ok(if negative { Self(-amount.0) } else { amount })
    }
}

impl Add for Money {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

impl Sub for Money {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn decimals_parse_exactly_and_refuse_what_is_not_one() {
        assert_eq!(d("0.0000166667").at_scale(10).expect("scale"), 166_667);
        assert_eq!(d("0.20").to_string(), "0.2");
        assert_eq!(d("6000000000").at_scale(0).expect("scale"), 6_000_000_000);
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1e3",
            "0x10",
            "1.2.3",
            " 1",
            "0.0000000000000001",
        ] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_rounds_half_away_from_zero_and_prints_fixed_places() {
        let m = Money::of(d("18.735")).expect("money");
        assert_eq!(m.fixed(2), "18.74");
        assert_eq!(Money::of(d("18.7349")).expect("money").fixed(2), "18.73");
        assert_eq!(Money::from_femto(-5_000_000_000_000).fixed(2), "-0.01");
        assert_eq!(
            Money::of(d("0.0000002")).expect("money").to_string(),
            "0.0000002"
        );
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn money_survives_a_json_round_trip() {
        let m = Money::from_femto(123_456_789_012_345_678);
        let json = serde_json::to_string(&m).expect("json");
        assert_eq!(json, "\"123.456789012345678\"");
        assert_eq!(serde_json::from_str::<Money>(&json).expect("back"), m);
    }

    #[test]
    fn ratios_round_once() {
        assert_eq!(Decimal::ratio(1, 3, 4).to_string(), "0.3333");
        assert_eq!(Decimal::ratio(2, 3, 4).to_string(), "0.6667");
        assert_eq!(Decimal::ratio(1_500_000, 1, 2).to_string(), "1500000");
    }
}
