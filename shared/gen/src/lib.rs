//! `tailor-gen`: a realistic, deterministic event stream, for `tailor gen`,
//! `tailor run`, the tests and the benchmarks.
//!
//! People arrive anonymously, browse in sessions, search, view content, fill
//! carts, and some sign up or log in (which stitches their anonymous history
//! to a user id). Some subscribe, a few escalate to support, some change
//! their consent. Each person has a latent *intent* that drives how much
//! they browse and add to carts and how likely they are to check out: the
//! learnable signal for scoring.
//!
//! Delivery is realistic too: events arrive in `sent_at` order; mobile
//! clients batch and some send hours late; some device clocks are off;
//! about 1% of deliveries are repeated; about 0.5% of records are broken in
//! one of the ways producers break them. The same options and seed always
//! give the same bytes.

mod person;
mod rng;

use std::io::Write;

use tailor_core::Timestamp;

use person::Person;
pub(crate) use rng::Rng;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// How many people.
    pub profiles: u32,
    /// How many days of activity, ending at `end`.
    pub days: u32,
    /// The random seed.
    pub seed: u64,
    /// The end of the period.
    pub end: Timestamp,
    /// Fraction of deliveries repeated.
    pub duplicate_rate: f64,
    /// Fraction of records broken.
    pub invalid_rate: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            profiles: 200,
            days: 30,
            seed: 7,
            end: Timestamp::from_millis(1_795_564_800_000), // 2026-11-25T00:00:00Z
            duplicate_rate: 0.01,
            invalid_rate: 0.005,
        }
    }
}

/// One line of the stream, with the time it is delivered at.
struct Line {
    sent_at: Timestamp,
    order: u64,
    bytes: Vec<u8>,
}

/// Counts of what was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Lines written.
    pub lines: u64,
    /// Distinct events among them.
    pub events: u64,
    /// Repeated deliveries.
    pub duplicates: u64,
    /// Broken records.
    pub invalid: u64,
}

/// Generates the stream as JSON Lines into `out`.
///
/// # Errors
/// Writing to `out` fails.
pub fn generate(options: &GenOptions, out: &mut impl Write) -> std::io::Result<GenSummary> {
    let root = Rng::new(options.seed);
    let start = options
        .end
        .add_millis(-i64::from(options.days) * Timestamp::DAY);
    let mut lines = Vec::new();
    let mut summary = GenSummary::default();
    let mut order = 0u64;
    for i in 0..options.profiles {
        let mut rng = root.fork(u64::from(i) + 1);
        let person = Person::new(i, &mut rng);
        for event in person.events(start, options.end, &mut rng) {
            let sent_at = event.sent_at.unwrap_or(event.occurred_at);
            let mut bytes = serde_json::to_vec(&event).map_err(std::io::Error::other)?;
            summary.events += 1;
            if rng.chance(options.invalid_rate) {
                bytes = person::corrupt(&bytes, &mut rng);
                summary.invalid += 1;
            } else if rng.chance(options.duplicate_rate) {
                let again = sent_at.add_millis(rng.range_i(1_000, 10 * Timestamp::MINUTE));
                order += 1;
                lines.push(Line {
                    sent_at: again,
                    order,
                    bytes: bytes.clone(),
                });
                summary.duplicates += 1;
            }
            order += 1;
            lines.push(Line {
                sent_at,
                order,
                bytes,
            });
        }
    }
    lines.sort_by_key(|l| (l.sent_at, l.order));
    for line in &lines {
        out.write_all(&line.bytes)?;
        out.write_all(b"\n")?;
    }
    summary.lines = lines.len() as u64;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(options: &GenOptions) -> Vec<u8> {
        let mut out = Vec::new();
        generate(options, &mut out).unwrap();
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let o = GenOptions {
            profiles: 20,
            days: 7,
            ..GenOptions::default()
        };
        assert_eq!(run(&o), run(&o));
    }

    #[test]
    fn different_seeds_give_different_streams() {
        let a = GenOptions {
            profiles: 20,
            days: 7,
            ..GenOptions::default()
        };
        let b = GenOptions {
            seed: 8,
            ..a.clone()
        };
        assert_ne!(run(&a), run(&b));
    }

    #[test]
    fn mixes_in_duplicates_and_broken_records_at_about_the_requested_rates() {
        let o = GenOptions {
            profiles: 300,
            days: 14,
            ..GenOptions::default()
        };
        let s = generate(&o, &mut std::io::sink()).unwrap();
        let dup = s.duplicates as f64 / s.events as f64;
        let bad = s.invalid as f64 / s.events as f64;
        assert!((0.005..0.02).contains(&dup), "duplicates {dup}");
        assert!((0.002..0.01).contains(&bad), "invalid {bad}");
    }
}
