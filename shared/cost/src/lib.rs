//! Cost: what an invocation costs, in money, from what it did.
//!
//! Every function's invocation report counts what it used (records, store
//! units, bytes published, wall time). This crate turns those counts into
//! money against a dated price book, with each platform's billing rules
//! (duration rounding, record-size rounding, per-request minimums) written
//! once, here, for every platform and for `tailor cost`. It is pure: no
//! I/O, no clock, and no binary floating point in any amount.
//!
//! - [`decimal`]: `Decimal`, an exact non-negative decimal, and `Money`,
//!   an exact amount in 10⁻¹⁵ of the book's currency.
//! - [`billing`]: how each cloud's store and stream count billed units per
//!   call, and [`billing::CloudUnits`], which counts a local run as each
//!   cloud would bill it.
//! - [`book`]: the price book: unit prices per platform and region, each
//!   with its public source and the date it was read. A region, item or
//!   currency the book lacks is an error, never a zero.
//! - [`unit`]: the measures usage is counted in, and how large each of the
//!   book's units is in them.
//! - [`rules`]: each platform's billing rules, from an invocation's
//!   measurements to the quantities it is billed for.
//! - [`estimate`]: a month of a described workload (events and decisions a
//!   second, memory, batch size) on each platform, from what a measured
//!   run did per event, and which platform is cheapest when all are priced.
//! - [`price`]: usage priced against the book: one line per item and a total.
//! - [`record`]: the cost record of one invocation, emitted beside its
//!   report on every platform.
//! - [`summary`]: records summed by platform and function, per invocation,
//!   per million records, and a month's projection at an event rate.
//! - [`sweep`]: a Lambda memory sweep: duration and cost at each memory
//!   size, modelled from the CPU time an invocation needs.

pub mod billing;
pub mod book;
pub mod decimal;
pub mod estimate;
pub mod price;
pub mod record;
pub mod rules;
pub mod summary;
pub mod sweep;
pub mod unit;

pub use book::PriceBook;
pub use decimal::{Decimal, Money};
pub use price::{Line, Priced, Usage};
pub use record::CostRecord;
pub use rules::{Arch, Platform, Sizing};

/// What cannot be priced, or priced correctly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// The book has no prices for the region.
    #[error("price book {book} has no prices for region `{region}`")]
    UnknownRegion {
        /// The region asked for (`aws/us-east-1`).
        region: String,
        /// The book's version.
        book: String,
    },
    /// The book has no price for an item the usage needs in the region.
    #[error("price book {book} has no price for `{item}` in region `{region}`")]
    UnknownItem {
        /// The item (`lambda.duration.arm64`).
        item: String,
        /// The region.
        region: String,
        /// The book's version.
        book: String,
    },
    /// The book is priced in another currency.
    #[error("price book {book} is in {has}, not {wanted}")]
    Currency {
        /// The currency asked for.
        wanted: String,
        /// The book's currency.
        has: String,
        /// The book's version.
        book: String,
    },
    /// A billed unit no rule knows: it would otherwise be priced at zero.
    #[error("billed unit `{0}` has no price item: a rule must name what it costs")]
    UnknownBilledUnit(String),
    /// A book unit no measure knows.
    #[error("unit `{0}` is not one the cost model measures")]
    UnknownUnit(String),
    /// The book is malformed.
    #[error("price book: {0}")]
    Invalid(String),
    /// A quantity or amount is out of range.
    #[error("amount out of range: {0}")]
    Overflow(String),
}
