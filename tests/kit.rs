//! The test kit every platform's tests use: a store that fails or stalls
//! chosen calls, and the full-chain comparison with the local platform.
//! The golden-case runner is [`crate::cases`]; records of a replayed stream
//! come from [`tailor_runtime::Replay`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tailor_core::Timestamp;
use tailor_core::ports::{Item, Precondition, Store, StoreError, Table};

/// A store call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Call {
    /// `get` (and each key of a `get_many` counts as one).
    Get,
    /// `put`.
    Put,
    /// `delete`.
    Delete,
}

/// What happens to an intercepted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// It fails as unavailable, as a throttled or unreachable store would.
    Fail,
    /// It waits this long first, then runs.
    Stall(Duration),
}

/// Which calls meet which fault: by call and table, the 1-based counts.
type Rules = BTreeMap<(Call, Table), Vec<(u64, Fault)>>;

/// Which calls are held: by call and table, the 1-based count, and the pause.
type Pauses = Vec<((Call, Table), u64, Arc<Pause>)>;

/// A store call held until the test lets it go ([`Intercept::pause`]): the
/// test waits until the call is reached, does what another process would
/// do meanwhile, then resumes it. An interleaving without sleeps.
#[derive(Debug, Default)]
pub struct Pause {
    reached: tokio::sync::Notify,
    resume: tokio::sync::Notify,
}

impl Pause {
    /// Waits until the held call is reached.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the held call run.
    pub fn resume(&self) {
        self.resume.notify_one();
    }
}

/// A store that fails or stalls chosen calls, counted per call and table
/// from 1, and passes every other call through.
pub struct Intercept<S> {
    /// The real store.
    pub inner: S,
    rules: Mutex<Rules>,
    pauses: Mutex<Pauses>,
    counts: Mutex<BTreeMap<(Call, Table), u64>>,
}

impl<S> Intercept<S> {
    /// Passes everything through until told otherwise.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            rules: Mutex::default(),
            pauses: Mutex::default(),
            counts: Mutex::default(),
        }
    }

    fn count(&self, call: Call, table: Table) -> u64 {
        self.counts
            .lock()
            .expect("counts")
            .get(&(call, table))
            .copied()
            .unwrap_or(0)
    }

    /// The `nth` calls (1-based, counting from now) of `call` on `table` meet `fault`.
    ///
    /// # Panics
    /// A lock is poisoned (a test already failed).
    pub fn on(&self, call: Call, table: Table, nth: &[u64], fault: Fault) {
        let base = self.count(call, table);
        self.rules
            .lock()
            .expect("rules")
            .entry((call, table))
            .or_default()
            .extend(nth.iter().map(|n| (base + n, fault)));
    }

    /// The `nth` call (1-based, counting from now) of `call` on `table` is
    /// held before it runs, until the returned pause is resumed.
    ///
    /// # Panics
    /// A lock is poisoned (a test already failed).
    pub fn pause(&self, call: Call, table: Table, nth: u64) -> Arc<Pause> {
        let pause = Arc::new(Pause::default());
        let at = self.count(call, table) + nth;
        self.pauses
            .lock()
            .expect("pauses")
            .push(((call, table), at, Arc::clone(&pause)));
        pause
    }

    /// No more faults.
    ///
    /// # Panics
    /// A lock is poisoned (a test already failed).
    pub fn clear(&self) {
        self.rules.lock().expect("rules").clear();
    }

    async fn before(&self, call: Call, table: Table, calls: u64) -> Result<(), StoreError> {
        let (from, to) = {
            let mut counts = self.counts.lock().expect("counts");
            let n = counts.entry((call, table)).or_default();
            let from = *n + 1;
            *n += calls;
            (from, *n)
        };
        let faults: Vec<Fault> = self
            .rules
            .lock()
            .expect("rules")
            .get(&(call, table))
            .map(|r| {
                r.iter()
                    .filter(|(n, _)| (from..=to).contains(n))
                    .map(|(_, f)| *f)
                    .collect()
            })
            .unwrap_or_default();
        for fault in faults {
            match fault {
                Fault::Fail => {
                    return Err(StoreError::Unavailable(format!(
                        "{call:?} on {} failed (injected)",
                        table.as_str()
                    )));
                }
                Fault::Stall(d) => tokio::time::sleep(d).await,
            }
        }
        let held: Vec<Arc<Pause>> = {
            let mut pauses = self.pauses.lock().expect("pauses");
            let (held, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut *pauses)
                .into_iter()
                .partition(|(c, n, _)| *c == (call, table) && (from..=to).contains(n));
            *pauses = kept;
            held.into_iter().map(|(_, _, p)| p).collect()
        };
        for pause in held {
            pause.reached.notify_one();
            pause.resume.notified().await;
        }
        Ok(())
    }
}

impl<S: tailor_core::ports::Expiring> tailor_core::ports::Expiring for Intercept<S> {
    fn expiring_by(self, clock: std::sync::Arc<dyn tailor_core::ports::Clock>) -> Self {
        Self {
            inner: self.inner.expiring_by(clock),
            ..self
        }
    }
}

impl<S: Store> Store for Intercept<S> {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        self.before(Call::Get, table, 1).await?;
        self.inner.get(table, key).await
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.before(Call::Get, table, keys.len() as u64).await?;
        self.inner.get_many(table, keys).await
    }

    async fn get_many_eventual(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        self.before(Call::Get, table, keys.len() as u64).await?;
        self.inner.get_many_eventual(table, keys).await
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        self.before(Call::Put, table, 1).await?;
        self.inner
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.before(Call::Delete, table, 1).await?;
        self.inner.delete(table, key).await
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        self.inner.take_billed()
    }
}

/// The feature and identity state the local platform reaches for a stream
/// of lines sent in batches of `batch`, by table: what another platform's
/// full chain must reach too, byte for byte.
#[must_use]
pub fn local_state(lines: &[Vec<u8>], batch: usize) -> BTreeMap<Table, Vec<(String, Value)>> {
    let mut local = crate::spawn_pipeline();
    local.send_batches(lines, batch);
    [Table::FeatureInputs, Table::Features, Table::Identity]
        .into_iter()
        .map(|t| (t, local.table(t)))
        .collect()
}

/// The differences between `got` and the local platform's state `want`,
/// one line per item that differs; empty when they are equal.
#[must_use]
pub fn differences(
    want: &BTreeMap<Table, Vec<(String, Value)>>,
    got: &BTreeMap<Table, Vec<(String, Value)>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (table, items) in want {
        let theirs: BTreeMap<&String, &Value> = got
            .get(table)
            .map(|v| v.iter().map(|(k, v)| (k, v)).collect())
            .unwrap_or_default();
        let ours: BTreeMap<&String, &Value> = items.iter().map(|(k, v)| (k, v)).collect();
        for key in ours.keys().chain(theirs.keys()) {
            let (a, b) = (ours.get(key), theirs.get(key));
            if a != b {
                let show =
                    |v: Option<&&Value>| v.map_or_else(|| "absent".to_owned(), ToString::to_string);
                out.push(format!(
                    "{} {key}: local {} / other {}",
                    table.as_str(),
                    show(a),
                    show(b)
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The audit records of a platform's `audit` table with whom each concerns
/// opened (`profile_id` and `key` put back beside the rest), given the
/// `subjects` table's items; a record whose key is gone stays sealed.
#[must_use]
pub fn opened_audit(subjects: &[(String, Value)], audit: &[(String, Value)]) -> Vec<Value> {
    let bytes: Vec<(String, Vec<u8>)> = subjects
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_vec(v).unwrap_or_default()))
        .collect();
    let keys = tailor_core::subject::by_id(bytes.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
    audit
        .iter()
        .filter(|(_, v)| v.get("kind").is_some())
        .map(|(_, v)| {
            let mut v = v.clone();
            let sealed =
                serde_json::from_value::<tailor_core::subject::Sealed>(v["subject"].clone());
            if let Ok(sealed) = sealed
                && let Some(key) = keys.get(&sealed.key)
                && let Ok((profile_id, key)) = key.open::<(String, String)>(&sealed)
            {
                v["profile_id"] = Value::String(profile_id);
                v["key"] = Value::String(key);
            }
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chosen_calls_fail_or_stall_and_the_rest_pass_through() {
        let store = Intercept::new(tailor_local::LocalStore::in_memory().expect("store"));
        let far = Timestamp::from_millis(i64::MAX);
        store.on(Call::Put, Table::Dedup, &[2], Fault::Fail);
        store.on(
            Call::Get,
            Table::Dedup,
            &[1],
            Fault::Stall(Duration::from_millis(30)),
        );
        let put =
            |k: &'static str| store.put(Table::Dedup, k, b"1".to_vec(), far, Precondition::None);
        assert!(put("a").await.is_ok());
        assert!(matches!(put("b").await, Err(StoreError::Unavailable(_))));
        assert!(put("c").await.is_ok(), "only the second put fails");
        assert!(
            store
                .put(Table::Audit, "b", b"1".to_vec(), far, Precondition::None)
                .await
                .is_ok(),
            "other tables pass through"
        );
        let started = std::time::Instant::now();
        assert!(store.get(Table::Dedup, "a").await.expect("get").is_some());
        assert!(
            started.elapsed() >= Duration::from_millis(30),
            "the first get stalls"
        );
        store.clear();
        store.on(Call::Delete, Table::Dedup, &[1], Fault::Fail);
        assert!(store.delete(Table::Dedup, "a").await.is_err());
        assert!(store.delete(Table::Dedup, "a").await.is_ok());
    }
}
