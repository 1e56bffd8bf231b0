//! The price book: dated, sourced unit prices per platform and region.
//!
//! One JSON file per reading of the providers' pricing pages
//! (`infra/prices/<date>.json`, its schema beside it); an old reading is
//! never edited, a new one is added. Each item is a price for `per` of a
//! unit, with tiers above monthly thresholds, an optional free tier, the
//! page it was read from and the date. Regions are keyed
//! `<platform>/<region>` (`aws/us-east-1`, `gcp/europe-west1`,
//! `spinkube/aws-us-east-1`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decimal::{Decimal, MONEY_SCALE};
use crate::{CostError, unit};

/// The reading of the providers' prices this build carries by default.
pub const DEFAULT: &str = include_str!("../../../infra/prices/2026-12-04.json");

/// A reading of the providers' prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceBook {
    /// The reading's date (`YYYY-MM-DD`), which names it.
    pub version: String,
    /// The currency every price is in (ISO 4217).
    pub currency: String,
    /// Items by region key, then by item key.
    pub regions: BTreeMap<String, BTreeMap<String, Item>>,
    /// The schema the file names, if any.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// One unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// The price of `per` units, as published.
    pub price: Decimal,
    /// How many units `price` is for.
    pub per: u64,
    /// The unit (`GB-second`, `request`, `write request unit`, …).
    pub unit: String,
    /// Lower prices above monthly thresholds, ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    /// Units free each month (modelled; off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_per_month: Option<Decimal>,
    /// Units free each day (modelled; off unless asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_per_day: Option<Decimal>,
    /// vCPUs of the node a `node-hour` is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u32>,
    /// The public page the price was read from.
    pub source: String,
    /// The date it was read.
    pub read_on: String,
    /// Rounding rules and anything else a reader must know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A price that applies to monthly usage above a threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The threshold, in the item's units per month.
    pub above: Decimal,
    /// The price of `per` units above it.
    pub price: Decimal,
}

impl PriceBook {
    /// The book this build carries.
    ///
    /// # Errors
    /// Never for a released build (a test parses it); the error otherwise.
    pub fn default_book() -> Result<Self, CostError> {
        Self::parse(DEFAULT)
    }

    /// Parses and checks a book.
    ///
    /// # Errors
    /// `Invalid` for malformed JSON, a misnamed region, an unknown unit, a
    /// zero `per`, a price with more places than money keeps, or tiers out
    /// of order.
    pub fn parse(json: &str) -> Result<Self, CostError> {
        let book: Self =
            serde_json::from_str(json).map_err(|e| CostError::Invalid(e.to_string()))?;
        book.check()?;
        Ok(book)
    }

    fn check(&self) -> Result<(), CostError> {
        let invalid = |what: String| Err(CostError::Invalid(format!("{}: {what}", self.version)));
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return invalid(format!(
                "currency `{}` is not an ISO 4217 code",
                self.currency
            ));
        }
        for (region, items) in &self.regions {
            let Some((platform, name)) = region.split_once('/') else {
                return invalid(format!("region `{region}` is not `<platform>/<region>`"));
            };
            if !["aws", "gcp", "spinkube"].contains(&platform) || name.is_empty() {
                return invalid(format!("region `{region}` names no known platform"));
            }
            for (key, item) in items {
                let (measure, _) = unit::of(&item.unit)?;
                if item.per == 0 {
                    return invalid(format!("{region} {key}: `per` is zero"));
                }
                for price in std::iter::once(&item.price).chain(item.tiers.iter().map(|t| &t.price))
                {
                    price.at_scale(MONEY_SCALE)?;
                }
                if !item.tiers.windows(2).all(|w| {
                    w[0].above.at_scale(MONEY_SCALE).ok() < w[1].above.at_scale(MONEY_SCALE).ok()
                }) {
                    return invalid(format!("{region} {key}: tiers are not ascending"));
                }
                if measure == unit::Measure::NodeShare && item.vcpus.unwrap_or(0) == 0 {
                    return invalid(format!(
                        "{region} {key}: a node-hour needs the node's vcpus"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The book, if it is in `currency`.
    ///
    /// # Errors
    /// `Currency` when it is not.
    pub fn in_currency(&self, currency: &str) -> Result<&Self, CostError> {
        if self.currency == currency {
            Ok(self)
        } else {
            Err(CostError::Currency {
                wanted: currency.to_owned(),
                has: self.currency.clone(),
                book: self.version.clone(),
            })
        }
    }

    /// The items of `region`.
    ///
    /// # Errors
    /// `UnknownRegion` when the book has none.
    pub fn region(&self, region: &str) -> Result<&BTreeMap<String, Item>, CostError> {
        self.regions
            .get(region)
            .ok_or_else(|| CostError::UnknownRegion {
                region: region.to_owned(),
                book: self.version.clone(),
            })
    }

    /// The price of `item` in `region`.
    ///
    /// # Errors
    /// `UnknownRegion` or `UnknownItem`: never a zero.
    pub fn item(&self, region: &str, item: &str) -> Result<&Item, CostError> {
        self.region(region)?
            .get(item)
            .ok_or_else(|| CostError::UnknownItem {
                item: item.to_owned(),
                region: region.to_owned(),
                book: self.version.clone(),
            })
    }
}
