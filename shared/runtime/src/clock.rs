//! Clocks: wall time, the arrival time of a replay, what stored items
//! expire by, and the time a replayed record counts as received.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tailor_core::Timestamp;
use tailor_core::batch::Record;
use tailor_core::ingest::FUTURE_LIMIT_MS;
use tailor_core::ports::Clock;

use crate::config::ClockMode;

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

/// The latest arrival time seen, which in a live deployment trails the wall
/// clock by seconds. Never goes back.
#[derive(Debug, Default)]
pub struct ArrivalClock(AtomicI64);

impl ArrivalClock {
    /// A clock at `start`.
    #[must_use]
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.as_millis()))
    }

    /// Moves the clock to `t` if that is later.
    pub fn advance(&self, t: Timestamp) {
        self.0.fetch_max(t.as_millis(), Ordering::Relaxed);
    }
}

impl Clock for ArrivalClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::Relaxed))
    }
}

/// What stored items expire by, shared by a platform's store and the
/// runtime: the wall clock, or the arrival time of the records processed,
/// which [`crate::Functions::invoke`] moves forward.
#[derive(Debug, Clone)]
pub enum ExpiryClock {
    /// The wall clock.
    Wall,
    /// The latest arrival time.
    Arrival(Arc<ArrivalClock>),
}

impl ExpiryClock {
    /// The clock for `mode`.
    #[must_use]
    pub fn new(mode: ClockMode) -> Self {
        match mode {
            ClockMode::Wall => Self::Wall,
            ClockMode::Arrival => Self::Arrival(Arc::new(ArrivalClock::default())),
        }
    }

    /// Takes note of records arriving. A receipt time beyond the
    /// [`horizon`] is not believed: it moves nothing.
    pub fn observe(&self, records: &[Record]) {
        if let Self::Arrival(clock) = self {
            let horizon = horizon();
            for r in records.iter().filter(|r| r.received_at <= horizon) {
                clock.advance(r.received_at);
            }
        }
    }
}

impl Clock for ExpiryClock {
    fn now(&self) -> Timestamp {
        match self {
            Self::Wall => WallClock.now(),
            Self::Arrival(clock) => clock.now(),
        }
    }
}

/// The latest time any clock may show now: the wall clock plus
/// [`FUTURE_LIMIT_MS`], so that no record, however it is dated, can make
/// stored items read as expired.
#[must_use]
pub fn horizon() -> Timestamp {
    WallClock.now().add_millis(FUTURE_LIMIT_MS)
}

/// The time a replayed record counts as received: its `sent_at`, else its
/// `occurred_at`; `None` when it has neither (such as a broken record).
#[must_use]
pub fn replay_time(bytes: &[u8]) -> Option<Timestamp> {
    #[derive(serde::Deserialize)]
    struct Times {
        sent_at: Option<String>,
        occurred_at: Option<String>,
    }
    let times = serde_json::from_slice::<Times>(bytes).ok()?;
    Timestamp::parse(&times.sent_at.or(times.occurred_at)?).ok()
}

/// Turns the lines of a recorded stream into records, as a replay receives
/// them: each at its own [`replay_time`], and one without a readable time,
/// or dated beyond the [`horizon`], with the record before it (the first
/// ones with the first readable time). Ingest then dead-letters a line
/// dated far after that as `future_dated`. Ids are `<prefix><n>`,
/// numbered from 1 across calls.
#[derive(Debug, Clone)]
pub struct Replay {
    prefix: String,
    sent: u64,
    last: Option<Timestamp>,
}

impl Replay {
    /// A replay whose record ids start with `prefix`.
    #[must_use]
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            sent: 0,
            last: None,
        }
    }

    /// The next batch of lines as records. A replayed file is the
    /// operator's own, so its consent changes are taken.
    pub fn records(&mut self, lines: &[Vec<u8>]) -> Vec<Record> {
        let mut records: Vec<Record> = lines
            .iter()
            .map(|bytes| {
                self.sent += 1;
                Record {
                    partition: None,
                    id: format!("{}{}", self.prefix, self.sent),
                    received_at: Timestamp::from_millis(0),
                    bytes: bytes.clone(),
                    may_change_consent: true,
                }
            })
            .collect();
        self.retime(&mut records);
        records
    }

    /// Makes records that arrived some other way count as received by the
    /// replay's rule, keeping their ids and what they may change.
    pub fn retime(&mut self, records: &mut [Record]) {
        let horizon = horizon();
        let time = |bytes: &[u8]| replay_time(bytes).filter(|t| *t <= horizon);
        if self.last.is_none() {
            self.last = records.iter().find_map(|r| time(&r.bytes));
        }
        for record in records {
            self.last = time(&record.bytes).or(self.last);
            record.received_at = self.last.unwrap_or(Timestamp::from_millis(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_receives_records_at_their_own_time_or_with_their_neighbours() {
        let mut replay = Replay::new("line:");
        let lines = vec![
            b"not json".to_vec(),
            br#"{"sent_at":"2026-11-20T10:00:00Z"}"#.to_vec(),
            br#"{"occurred_at":"2026-11-20T11:00:00Z"}"#.to_vec(),
            b"{}".to_vec(),
        ];
        let records = replay.records(&lines);
        let at = |t: &str| Timestamp::parse(t).unwrap();
        let got: Vec<(&str, Timestamp)> = records
            .iter()
            .map(|r| (r.id.as_str(), r.received_at))
            .collect();
        assert_eq!(
            got,
            vec![
                ("line:1", at("2026-11-20T10:00:00Z")),
                ("line:2", at("2026-11-20T10:00:00Z")),
                ("line:3", at("2026-11-20T11:00:00Z")),
                ("line:4", at("2026-11-20T11:00:00Z")),
            ]
        );
        assert_eq!(replay.records(&[b"{}".to_vec()])[0].id, "line:5");
    }

    #[test]
    fn a_line_dated_beyond_the_horizon_moves_no_clock() {
        let mut replay = Replay::new("line:");
        let lines = vec![
            br#"{"sent_at":"2026-11-20T10:00:00Z"}"#.to_vec(),
            br#"{"sent_at":"9999-12-31T23:59:59Z","event_id":"far"}"#.to_vec(),
            br#"{"occurred_at":"2026-11-20T11:00:00Z"}"#.to_vec(),
        ];
        let at = |t: &str| Timestamp::parse(t).unwrap();
        let times: Vec<Timestamp> = replay
            .records(&lines)
            .iter()
            .map(|r| r.received_at)
            .collect();
        assert_eq!(
            times,
            vec![
                at("2026-11-20T10:00:00Z"),
                at("2026-11-20T10:00:00Z"),
                at("2026-11-20T11:00:00Z"),
            ]
        );
        let clock = ExpiryClock::new(ClockMode::Arrival);
        let far = Record {
            partition: None,
            id: String::new(),
            bytes: Vec::new(),
            received_at: at("9999-12-31T23:59:59Z"),
            may_change_consent: false,
        };
        clock.observe(&[far]);
        assert_eq!(clock.now(), Timestamp::from_millis(0));
    }

    #[test]
    fn the_arrival_clock_only_moves_forward() {
        let clock = ExpiryClock::new(ClockMode::Arrival);
        let record = |ms| Record {
            partition: None,
            id: String::new(),
            bytes: Vec::new(),
            received_at: Timestamp::from_millis(ms),
            may_change_consent: false,
        };
        clock.observe(&[record(5), record(9), record(7)]);
        assert_eq!(clock.now(), Timestamp::from_millis(9));
        clock.observe(&[record(3)]);
        assert_eq!(clock.now(), Timestamp::from_millis(9));
    }
}
