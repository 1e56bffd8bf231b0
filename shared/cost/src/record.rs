//! The cost record of one invocation: what it was billed for and what that
//! cost, emitted beside its report on every platform.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tailor_core::report::InvocationReport;

use crate::CostError;
use crate::book::PriceBook;
use crate::decimal::Money;
use crate::price::{Line, Usage, price};
use crate::rules::{self, Arch, CLOUD_RUN_STEP_MS, LAMBDA_STEP_MS, Measured, Platform, Sizing};

/// One invocation, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostRecord {
    /// The platform.
    pub platform: Platform,
    /// The function.
    pub function: String,
    /// The book's region key.
    pub region: String,
    /// Memory, in MB (Lambda) or MiB (Cloud Run).
    pub memory_mb: u32,
    /// Lambda's architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    /// vCPUs in thousandths (Cloud Run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milli_vcpu: Option<u32>,
    /// The handler's measured duration, in microseconds.
    pub measured_us: u64,
    /// The duration billed, in milliseconds, after the platform's rounding.
    pub billed_ms: u64,
    /// The init phase billed on a cold start, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_billed_ms: Option<u64>,
    /// Requests billed.
    pub requests: u64,
    /// Records in.
    pub records_in: u64,
    /// Records published.
    pub records_out: u64,
    /// Bytes of the records it received (what a stream bills as read).
    pub bytes_in: u64,
    /// Bytes published.
    pub bytes_out: u64,
    /// Store and stream units as the platform bills them, by unit.
    pub billed: BTreeMap<String, u64>,
    /// The quantities priced, by item, in base measures.
    pub usage: Usage,
    /// One line per item (none while unpriced).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<Line>,
    /// What the invocation cost (none while unpriced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    /// The currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The price book's version, once priced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub book: Option<String>,
    /// Why it could not be priced (the book lacks an item, a region or a
    /// currency): the usage stands, to be priced by a later book.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpriced: Option<String>,
    /// The decision a score request made: this record is that decision's
    /// own cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
}

impl CostRecord {
    /// Prices one invocation of `report`'s function, sized by `sizing`.
    ///
    /// # Errors
    /// A billed unit no rule names, or a region or item the book lacks.
    pub fn of(
        book: &PriceBook,
        sizing: &Sizing,
        report: &InvocationReport,
        measured: &Measured,
    ) -> Result<Self, CostError> {
        Self::measure(sizing, report, measured)?.price(book)
    }

    /// What one invocation is billed for, not yet priced.
    ///
    /// # Errors
    /// A billed unit no rule names.
    pub fn measure(
        sizing: &Sizing,
        report: &InvocationReport,
        measured: &Measured,
    ) -> Result<Self, CostError> {
        let usage = rules::usage(sizing, report, measured)?;
        let step = match sizing.platform {
            Platform::Aws => LAMBDA_STEP_MS,
            Platform::Gcp => CLOUD_RUN_STEP_MS,
            Platform::Spin => 1,
        };
        Ok(Self {
            platform: sizing.platform,
            function: report.function.clone(),
            region: sizing.region.clone(),
            memory_mb: sizing.memory_mb,
            arch: (sizing.platform == Platform::Aws).then_some(sizing.arch),
            milli_vcpu: (sizing.platform == Platform::Gcp).then_some(sizing.milli_vcpu),
            measured_us: measured.duration_us,
            billed_ms: rules::billed_ms(measured.duration_us, step),
            init_billed_ms: measured
                .init_us
                .filter(|_| sizing.platform == Platform::Aws)
                .map(|us| rules::billed_ms(us, step)),
            requests: u64::from(sizing.platform != Platform::Spin),
            records_in: report.records_in,
            records_out: report.records_out,
            bytes_in: report.bytes_in,
            bytes_out: report.bytes_out,
            billed: report.billed.clone(),
            usage,
            lines: Vec::new(),
            total: None,
            currency: None,
            book: None,
            unpriced: None,
            decision_id: report.decision_id.clone(),
        })
    }

    /// The record priced against `book`.
    ///
    /// # Errors
    /// The book has no prices for the record's platform and region, or
    /// lacks an item its usage needs: never a zero.
    pub fn price(mut self, book: &PriceBook) -> Result<Self, CostError> {
        let expected = format!("{}/", self.platform.book_name());
        if !self.region.starts_with(&expected) {
            return Err(CostError::UnknownRegion {
                region: self.region,
                book: book.version.clone(),
            });
        }
        let priced = price(book, &self.region, &self.usage)?;
        self.lines = priced.lines;
        self.total = Some(priced.total);
        self.currency = Some(priced.currency);
        self.book = Some(priced.book);
        self.unpriced = None;
        Ok(self)
    }

    /// The record priced against `book`, or, where the book cannot price
    /// it, the record with its usage and the reason.
    #[must_use]
    pub fn priced_or_noted(self, book: &PriceBook) -> Self {
        match self.clone().price(book) {
            Ok(priced) => priced,
            Err(e) => Self {
                unpriced: Some(e.to_string()),
                ..self
            },
        }
    }

    /// The cost of `item` in this invocation (zero when unused).
    #[must_use]
    pub fn cost_of(&self, item: &str) -> Money {
        crate::price::cost_of(&self.lines, item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(memory_mb: u32) -> Sizing {
        Sizing {
            platform: Platform::Aws,
            region: "aws/us-east-1".into(),
            memory_mb,
            arch: Arch::Arm64,
            milli_vcpu: 1_000,
        }
    }

    #[test]
    fn a_lambda_invocation_is_its_request_and_its_rounded_duration() {
        let book = PriceBook::default_book().expect("book");
        let measured = Measured {
            duration_us: 12_300,
            init_us: Some(80_400),
        };
        let record = CostRecord::of(&book, &aws(128), &InvocationReport::new("score"), &measured)
            .expect("priced");
        assert_eq!(record.billed_ms, 13);
        assert_eq!(record.init_billed_ms, Some(81));
        // 128 MB × (13 + 81) ms = 12,032 MB-ms = 0.01175 GB-s at
        // 0.0000133334 = 0.00000015666745; and a request, 0.0000002.
        assert_eq!(
            record.cost_of("lambda.duration.arm64").to_string(),
            "0.00000015666745"
        );
        assert_eq!(
            record.total.expect("priced").to_string(),
            "0.00000035666745"
        );
        assert_eq!(record.book, Some(book.version));
    }

    #[test]
    fn a_unit_the_book_does_not_price_fails_the_record() {
        let book = PriceBook::parse(
            r#"{"version":"2000-01-01","currency":"USD","regions":{"aws/us-east-1":{
              "lambda.requests":{"price":"0.20","per":1000000,"unit":"request","source":"https://example.com","read_on":"2000-01-01"},
              "lambda.duration.arm64":{"price":"0.0000133334","per":1,"unit":"GB-second","source":"https://example.com","read_on":"2000-01-01"}
            }}}"#,
        )
        .expect("book");
        let mut report = InvocationReport::new("enrich");
        report.billed.insert("dynamodb_write_units".into(), 4);
        let err = CostRecord::of(&book, &aws(256), &report, &Measured::default())
            .expect_err("DynamoDB is not priced");
        assert!(
            matches!(&err, CostError::UnknownItem { item, .. } if item == "dynamodb.on_demand.write_units"),
            "{err}"
        );
        let gcp = Sizing {
            platform: Platform::Gcp,
            ..aws(256)
        };
        assert!(matches!(
            CostRecord::of(
                &book,
                &gcp,
                &InvocationReport::new("enrich"),
                &Measured::default()
            ),
            Err(CostError::UnknownRegion { .. })
        ));
    }
}
