//! Usage priced against the book: one line per item, and a total.
//!
//! A line's cost is `price × quantity / (per × unit size)`, computed in
//! integers and rounded once, to 10⁻¹⁵ of the currency. One invocation is
//! priced at each item's first-tier price with no free tier ([`price`]);
//! a month of usage ([`price_month`]) steps through the tiers and, when
//! asked, takes the free tier off first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::CostError;
use crate::book::{Item, PriceBook};
use crate::decimal::{Decimal, MONEY_SCALE, Money, div_round};
use crate::unit::{self, HOURS_PER_MONTH, Measure};

/// Quantities used, by price item, in each item's base measure
/// ([`unit::Measure`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage(pub BTreeMap<String, u128>);

impl Usage {
    /// Adds `quantity` of `item`.
    pub fn add(&mut self, item: &str, quantity: u128) {
        if quantity > 0 {
            *self.0.entry(item.to_owned()).or_default() += quantity;
        }
    }

    /// Adds another usage into this one.
    pub fn absorb(&mut self, other: &Self) {
        for (item, q) in &other.0 {
            self.add(item, *q);
        }
    }

    /// The quantity of `item` (0 when none).
    #[must_use]
    pub fn get(&self, item: &str) -> u128 {
        self.0.get(item).copied().unwrap_or(0)
    }

    /// This usage `n` times over.
    #[must_use]
    pub fn times(&self, n: u128) -> Self {
        Self(
            self.0
                .iter()
                .map(|(k, q)| (k.clone(), q.saturating_mul(n)))
                .collect(),
        )
    }
}

/// One priced item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The price item (`lambda.duration.arm64`).
    pub item: String,
    /// The quantity, in `unit`s.
    pub quantity: Decimal,
    /// The book's unit.
    pub unit: String,
    /// The first-tier price of `per` units.
    pub price: Decimal,
    /// How many units `price` is for.
    pub per: u64,
    /// Units taken off as the free tier (0 unless asked for).
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub free: Decimal,
    /// What the line costs.
    pub cost: Money,
}

/// Usage priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priced {
    /// The book's version.
    pub book: String,
    /// Its currency.
    pub currency: String,
    /// The region priced in.
    pub region: String,
    /// One line per item used.
    pub lines: Vec<Line>,
    /// The sum of the lines.
    pub total: Money,
    /// Whether free tiers were taken off.
    pub free_tier: bool,
}

impl Priced {
    /// The cost of `item` (zero when it was not used).
    #[must_use]
    pub fn cost_of(&self, item: &str) -> Money {
        cost_of(&self.lines, item)
    }
}

/// What `item` costs in `lines` (zero when it is not among them).
#[must_use]
pub fn cost_of(lines: &[Line], item: &str) -> Money {
    lines
        .iter()
        .filter(|l| l.item == item)
        .map(|l| l.cost)
        .sum()
}

/// One invocation's (or any stretch of) usage at first-tier prices, with
/// no free tier.
///
/// # Errors
/// A region or item the book lacks, or an amount out of range.
pub fn price(book: &PriceBook, region: &str, usage: &Usage) -> Result<Priced, CostError> {
    priced(book, region, usage, Month::No)
}

/// A month of usage: tiers apply to the month's totals, and the free
/// tier is taken off first when `free_tier`.
///
/// # Errors
/// A region or item the book lacks, or an amount out of range.
pub fn price_month(
    book: &PriceBook,
    region: &str,
    usage: &Usage,
    free_tier: bool,
) -> Result<Priced, CostError> {
    priced(book, region, usage, Month::Yes { free_tier })
}

#[derive(Clone, Copy)]
enum Month {
    No,
    Yes { free_tier: bool },
}

fn priced(
    book: &PriceBook,
    region: &str,
    usage: &Usage,
    month: Month,
) -> Result<Priced, CostError> {
    book.region(region)?;
    let mut lines = Vec::with_capacity(usage.0.len());
    for (key, &quantity) in &usage.0 {
        let item = book.item(region, key)?;
        lines.push(line(key, item, quantity, month)?);
    }
    let total = lines.iter().map(|l| l.cost).sum();
    Ok(Priced {
        book: book.version.clone(),
        currency: book.currency.clone(),
        region: region.to_owned(),
        lines,
        total,
        free_tier: matches!(month, Month::Yes { free_tier: true }),
    })
}

/// Base units in one of the item's units.
fn size(item: &Item) -> Result<u128, CostError> {
    let (measure, size) = unit::of(&item.unit)?;
    Ok(if measure == Measure::NodeShare {
        size * u128::from(item.vcpus.unwrap_or(1).max(1))
    } else {
        size
    })
}

/// `d` units in base units, rounded to a whole base unit.
fn base(d: Decimal, size: u128) -> Result<u128, CostError> {
    let scaled = d.at_scale(MONEY_SCALE)?;
    scaled
        .checked_mul(size)
        .map(|n| div_round(n, 10u128.pow(MONEY_SCALE)))
        .ok_or_else(|| CostError::Overflow(d.to_string()))
}

/// What `quantity` base units cost at `price` per `per` units of `size`.
fn cost(price: Decimal, quantity: u128, per: u64, size: u128) -> Result<u128, CostError> {
    let femto = price.at_scale(MONEY_SCALE)?;
    femto
        .checked_mul(quantity)
        .map(|n| div_round(n, u128::from(per) * size))
        .ok_or_else(|| CostError::Overflow(format!("{quantity} at {price}")))
}

fn line(key: &str, item: &Item, quantity: u128, month: Month) -> Result<Line, CostError> {
    let size = size(item)?;
    let mut free = 0;
    let femto = match month {
        Month::No => cost(item.price, quantity, item.per, size)?,
        Month::Yes { free_tier } => {
            if free_tier {
                let monthly = match (item.free_per_month, item.free_per_day) {
                    (Some(m), _) => base(m, size)?,
                    // A month of daily allowances: 730 hours of days.
                    (None, Some(d)) => div_round(base(d, size)? * HOURS_PER_MONTH, 24),
                    (None, None) => 0,
                };
                free = monthly.min(quantity);
            }
            tiered(item, quantity, free, size)?
        }
    };
    let amount = i128::try_from(femto).map_err(|_| CostError::Overflow(key.to_owned()))?;
    Ok(Line {
        item: key.to_owned(),
        quantity: Decimal::ratio(quantity, size, 6),
        unit: item.unit.clone(),
        price: item.price,
        per: item.per,
        free: Decimal::ratio(free, size, 6),
        cost: Money::from_femto(amount),
    })
}

/// The month's cost through the tiers, the first `free` units at no cost
/// (the free tier counts toward the tiers' thresholds, as providers
/// count it).
fn tiered(item: &Item, quantity: u128, free: u128, size: u128) -> Result<u128, CostError> {
    let mut bands = vec![(0u128, item.price)];
    for tier in &item.tiers {
        bands.push((base(tier.above, size)?, tier.price));
    }
    let mut total = 0u128;
    for (i, &(from, price)) in bands.iter().enumerate() {
        let to = bands
            .get(i + 1)
            .map_or(quantity, |&(next, _)| next.min(quantity));
        let from = from.max(free);
        if to > from {
            total += cost(price, to - from, item.per, size)?;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> PriceBook {
        PriceBook::parse(
            r#"{"version":"2000-01-01","currency":"USD","regions":{"aws/test-1":{
              "lambda.requests":{"price":"0.20","per":1000000,"unit":"request","free_per_month":1000000,"source":"https://example.com","read_on":"2000-01-01"},
              "lambda.duration.x86_64":{"price":"0.0000166667","per":1,"unit":"GB-second","tiers":[{"above":6000000000,"price":"0.000015"}],"free_per_month":400000,"source":"https://example.com","read_on":"2000-01-01"}
            }}}"#,
        )
        .expect("book")
    }

    #[test]
    fn a_region_or_item_the_book_lacks_is_an_error_not_a_zero() {
        let mut usage = Usage::default();
        usage.add("lambda.requests", 1);
        assert!(matches!(
            price(&book(), "aws/elsewhere-1", &usage),
            Err(CostError::UnknownRegion { .. })
        ));
        usage.add("kinesis.on_demand.ingest", 1);
        assert!(matches!(
            price(&book(), "aws/test-1", &usage),
            Err(CostError::UnknownItem { item, .. }) if item == "kinesis.on_demand.ingest"
        ));
        assert!(matches!(
            book().in_currency("EUR"),
            Err(CostError::Currency { .. })
        ));
    }

    #[test]
    fn one_request_costs_its_share_of_a_million() {
        let mut usage = Usage::default();
        usage.add("lambda.requests", 1);
        let priced = price(&book(), "aws/test-1", &usage).expect("priced");
        assert_eq!(priced.total.to_string(), "0.0000002");
    }

    #[test]
    fn tiers_apply_above_their_thresholds_and_free_tiers_only_when_asked() {
        // 6,000,000,100 GB-seconds: 6e9 at the first price, 100 at the second.
        let gb_s = 1_024_000u128;
        let mut usage = Usage::default();
        usage.add("lambda.duration.x86_64", 6_000_000_100 * gb_s);
        let month = price_month(&book(), "aws/test-1", &usage, false).expect("month");
        // 6e9 × 0.0000166667 + 100 × 0.000015 = 100000.2 + 0.0015
        assert_eq!(month.total.to_string(), "100000.2015");
        let free = price_month(&book(), "aws/test-1", &usage, true).expect("month");
        // less 400,000 GB-seconds at the first price (6.66668)
        assert_eq!(free.total.to_string(), "99993.53482");
        assert!(free.free_tier && !month.free_tier);
        assert_eq!(free.lines[0].free.to_string(), "400000");
    }
}
