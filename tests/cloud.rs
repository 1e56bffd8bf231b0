//! A cloud platform's functions chained in-process over its real store and
//! messaging (on an emulator), and the checks every cloud platform runs the
//! same way.
//!
//! A platform's tests bring a [`Deployment`]: one test's resources, which
//! can read back what was published to each topic and list a table. The
//! [`CloudPipeline`] over it runs the runtime's chain: each batch goes
//! through ingest, its messages are read back for enrich, and so on, with
//! the runtime's redelivery policy. The same runtime code runs in the
//! platform's binaries; this drives it directly so tests see every
//! record's disposition, which a platform's answer reduces to its own form
//! (a Kinesis response's failures, a push request's status).

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "test kit: a failure fails the test loudly"
)]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::batch::{BatchOutcome, Record};
use tailor_core::disposition::{DeadLetterReason, Disposition};
use tailor_core::ports::{Clock, Expiring, Message, PublishError, Publisher, Store, Table, Topic};
use tailor_runtime::{
    Capabilities, ClockMode, Functions, Inbox, Replay, RunReport, Stage, TokioTimer,
};

use crate::cases::CasePlatform;
use crate::kit::Intercept;

/// One test's resources on a cloud platform.
pub trait Deployment: Send + Sync + 'static {
    /// The platform's store.
    type Store: Expiring + 'static;

    /// A store over the deployment's tables, with the wall clock.
    fn store(&self) -> Self::Store;

    /// What was published to `topic` since it was last read, in order:
    /// each message's id (as the platform's trigger numbers it) and bytes.
    fn published(&self, topic: Topic) -> impl Future<Output = Vec<(String, Vec<u8>)>> + Send;

    /// Every live item of `table` in `store`, as JSON, by key.
    fn items(
        &self,
        store: &Self::Store,
        table: Table,
    ) -> impl Future<Output = Vec<(String, Value)>> + Send;

    /// A replayed record's id as the platform's trigger would number it
    /// (the replay numbers lines from 1).
    #[must_use]
    fn record_id(replayed: &str) -> String {
        replayed.to_owned()
    }
}

/// A platform's publisher as the chain's inbox: messages go out through
/// the platform's publisher and are read back from the deployment.
pub struct Looped<P, D> {
    publisher: P,
    deployment: Arc<D>,
}

impl<P: Publisher, D: Deployment> Publisher for Looped<P, D> {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        self.publisher.publish(topic, key, payload).await
    }

    async fn publish_all(
        &self,
        topic: Topic,
        messages: Vec<Message>,
    ) -> Vec<Result<(), PublishError>> {
        self.publisher.publish_all(topic, messages).await
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        self.publisher.take_billed()
    }
}

impl<P: Publisher, D: Deployment> Inbox for Looped<P, D> {
    async fn take(&self, topic: Topic, now: Timestamp) -> Vec<Record> {
        self.deployment
            .published(topic)
            .await
            .into_iter()
            .map(|(id, bytes)| Record {
                partition: None,
                id,
                bytes,
                received_at: now,
                may_change_consent: false,
            })
            .collect()
    }
}

/// The functions over a deployment, with a store whose calls a test can
/// fail or stall.
pub type CloudFunctions<D, P> =
    Functions<Intercept<<D as Deployment>::Store>, Looped<P, D>, TokioTimer>;

/// The four stream functions over one deployment.
pub struct CloudPipeline<D: Deployment, P: Publisher> {
    /// The runtime every call runs on.
    pub runtime: tokio::runtime::Runtime,
    /// The test's resources.
    pub deployment: Arc<D>,
    /// The functions.
    pub functions: CloudFunctions<D, P>,
    replay: Replay,
}

impl<D: Deployment, P: Publisher + 'static> CloudPipeline<D, P> {
    /// The functions over `deployment`, created on `runtime`: `connect`
    /// makes the store (expiring items by the clock it is given) and the
    /// publisher.
    pub fn assemble(
        runtime: tokio::runtime::Runtime,
        deployment: D,
        connect: impl AsyncFnOnce(&D) -> (D::Store, P),
    ) -> Self {
        let deployment = Arc::new(deployment);
        let (store, publisher) = runtime.block_on(connect(&deployment));
        let settings = crate::settings(ClockMode::Arrival);
        let functions = Functions::build(
            &settings,
            &tailor_runtime::Function::STREAM,
            Capabilities {
                store: Intercept::new(store),
                publisher: Looped {
                    publisher,
                    deployment: Arc::clone(&deployment),
                },
                timer: TokioTimer,
            },
        )
        .unwrap();
        Self {
            runtime,
            deployment,
            functions,
            replay: Replay::new(""),
        }
    }

    /// The store, with its faults.
    pub fn store(&self) -> &Intercept<D::Store> {
        self.functions.store().inner()
    }

    /// Records of raw lines, as the platform's trigger delivers them.
    pub fn records(&mut self, lines: &[Vec<u8>]) -> Vec<Record> {
        let mut records = self.replay.records(lines);
        for r in &mut records {
            r.id = D::record_id(&r.id);
        }
        records
    }

    /// One invocation of ingest.
    pub fn ingest(&self, records: &[Record]) -> BatchOutcome {
        self.invoke(Stage::Ingest, records)
    }

    /// One invocation of a stage.
    pub fn invoke(&self, stage: Stage, records: &[Record]) -> BatchOutcome {
        self.runtime.block_on(self.functions.invoke(stage, records))
    }

    /// What was published to a topic since it was last read, as records.
    pub fn take(&self, topic: Topic) -> Vec<Record> {
        let now = self.functions.clock().now();
        self.runtime
            .block_on(self.functions.publisher().take(topic, now))
    }

    /// One batch of raw lines through every function; ingest's final
    /// dispositions.
    pub fn send_lines(&mut self, lines: &[Vec<u8>]) -> Vec<Disposition> {
        let records = self.records(lines);
        self.send_records(&records)
    }

    /// `lines` through every function in batches of `batch`: the report
    /// of the whole run.
    pub fn chain_batches(&mut self, lines: &[Vec<u8>], batch: usize) -> RunReport {
        let mut report = RunReport::default();
        for chunk in lines.chunks(batch.max(1)) {
            let records = self.records(chunk);
            self.runtime
                .block_on(self.functions.chain(&records, &mut report));
        }
        report
    }

    /// One batch of records through every function.
    pub fn send_records(&self, records: &[Record]) -> Vec<Disposition> {
        let mut report = RunReport::default();
        self.runtime
            .block_on(self.functions.chain(records, &mut report))
            .ingest
            .dispositions
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    /// Drains the inner topics through enrich, features and consent.
    pub fn flow(&self) {
        let mut report = RunReport::default();
        self.runtime.block_on(self.functions.drain(&mut report));
    }

    /// Every live item of `table`, as JSON, by key.
    pub fn table(&self, table: Table) -> Vec<(String, Value)> {
        self.runtime
            .block_on(self.deployment.items(&self.store().inner, table))
    }

    /// Every table's live items (values only: versions differ by history).
    pub fn state(&self) -> BTreeMap<Table, Vec<(String, Value)>> {
        Table::ALL.into_iter().map(|t| (t, self.table(t))).collect()
    }
}

impl<D: Deployment, P: Publisher + 'static> CasePlatform for CloudPipeline<D, P> {
    fn send(&mut self, batch: &[Vec<u8>]) -> Vec<Disposition> {
        self.send_lines(batch)
    }

    fn table(&self, table: Table) -> Vec<(String, Value)> {
        Self::table(self, table)
    }
}

/// A runtime for a pipeline's calls.
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Every golden case through a fresh platform each (named after the
/// case): the same results as on the local platform, or the differences.
pub fn assert_golden_cases<P: CasePlatform>(fresh: impl Fn(&str) -> P) {
    let cases = crate::cases::cases();
    assert!(cases.len() >= 10, "found {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let name = c.file_name().unwrap().to_string_lossy().into_owned();
            crate::cases::run_case(c, || fresh(&name))
                .err()
                .map(|e| format!("{}:\n  {e}", c.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A generated stream, sent in batches of 100, reaches the local
/// platform's state.
pub fn assert_local_state<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
    lines: &[Vec<u8>],
) {
    for batch in lines.chunks(100) {
        p.send_lines(batch);
    }
    let local = crate::kit::local_state(lines, 100);
    let differences = crate::kit::differences(&local, &p.state());
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Each function's billed units for `lines` sent through the cloud
/// pipeline in batches of `batch` are exactly what the local platform
/// counts for the same stream by the same formulas: the local count of a
/// larger stream stands for the cloud's.
pub fn assert_units_match_the_local_count<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
    lines: &[Vec<u8>],
    batch: usize,
    units: &[&str],
) {
    let cloud = p.chain_batches(lines, batch);
    let local = local_count(lines, batch);
    let differences = unit_differences(&cloud, &local.report, units);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    for unit in units {
        assert!(
            cloud.functions.values().any(|r| r.billed(unit) > 0),
            "the stream bills some {unit}"
        );
    }
}

/// Six views by three users, one minute apart.
#[must_use]
pub fn three_users_views() -> Vec<Vec<u8>> {
    views("evt-fault", 6, |i| format!("u-{}", i % 3))
}

/// `n` (at most 9) content views one minute apart, the `i`th (from 1) by
/// `user(i)`, with ids `<prefix>-000i`.
fn views(prefix: &str, n: usize, user: impl Fn(usize) -> String) -> Vec<Vec<u8>> {
    (1..=n)
        .map(|i| {
            let e = crate::event(
                &format!("{prefix}-{i:04}"),
                "content_view",
                &format!("2026-11-20T10:0{i}:00Z"),
                json!({"user_id": user(i)}),
                json!({"content_id": format!("c-{i}"), "category": "guides"}),
            );
            serde_json::to_vec(&e).unwrap()
        })
        .collect()
}

/// How a platform's trigger delivers a batch again after some of its
/// records asked for a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivery {
    /// From the first record that failed on (a Kinesis shard).
    FromFirstFailure,
    /// Only the messages not acknowledged (Pub/Sub).
    OnlyFailed,
}

/// Store errors on the second and fifth ledger writes of a batch retry
/// exactly those records; delivered again, the batch reaches the state a
/// clean run does. `answer` checks the platform's answer to the faulty
/// invocation.
pub fn assert_faults_retry_exactly_the_records_they_hit<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
    clean: &mut CloudPipeline<D, P>,
    redelivery: Redelivery,
    answer: impl FnOnce(&[Record], &BatchOutcome),
) {
    use crate::kit::{Call, Fault};
    let records = p.records(&three_users_views());
    p.store().on(Call::Put, Table::Dedup, &[2, 5], Fault::Fail);
    let outcome = p.ingest(&records);
    assert_eq!(
        outcome.retries(),
        vec![records[1].id.as_str(), records[4].id.as_str()]
    );
    answer(&records, &outcome);
    p.store().clear();
    let (again, expected) = match redelivery {
        Redelivery::FromFirstFailure => (
            records[1..].to_vec(),
            vec![
                Disposition::ACCEPTED,
                Disposition::DUPLICATE,
                Disposition::DUPLICATE,
                Disposition::ACCEPTED,
                Disposition::DUPLICATE,
            ],
        ),
        Redelivery::OnlyFailed => (
            vec![records[1].clone(), records[4].clone()],
            vec![Disposition::ACCEPTED, Disposition::ACCEPTED],
        ),
    };
    let got: Vec<Disposition> = p
        .ingest(&again)
        .dispositions
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    assert_eq!(got, expected);
    p.flow();

    let dispositions = clean.send_lines(&three_users_views());
    assert!(dispositions.iter().all(|d| *d == Disposition::ACCEPTED));
    for table in [
        Table::Features,
        Table::FeatureInputs,
        Table::Identity,
        Table::Dedup,
    ] {
        assert_eq!(p.table(table), clean.table(table), "{table:?}");
    }
    assert_eq!(p.table(Table::Features).len(), 3, "one profile per user");
}

/// A whole batch delivered twice, a malformed line among it: the second
/// time every event is a duplicate and every table stays as it was.
pub fn assert_redelivery_changes_nothing<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
) {
    let mut batch = three_users_views();
    batch.push(b"{not json".to_vec());
    let records = p.records(&batch);
    let first = p.send_records(&records);
    assert_eq!(
        first.last(),
        Some(&Disposition::DeadLettered {
            reason: DeadLetterReason::MalformedJson
        })
    );
    let before = p.state();
    assert!(!before[&Table::Features].is_empty());
    let second = p.send_records(&records);
    assert!(
        second[..6].iter().all(|d| *d == Disposition::DUPLICATE),
        "{second:?}"
    );
    assert_eq!(p.state(), before);
}

/// Each message from ingest, `(key, bytes)`, is keyed by its person: its
/// subject's user id, else its anonymous id. `what` names the key in a
/// failure (a partition key, an ordering key).
pub fn assert_keyed_by_person<'a>(
    messages: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>,
    what: &str,
) {
    for (key, bytes) in messages {
        let ingested: Value = serde_json::from_slice(bytes).unwrap();
        let subject = &ingested["event"]["subject"];
        let person = subject["user_id"]
            .as_str()
            .or_else(|| subject["anonymous_id"].as_str())
            .unwrap();
        assert_eq!(key, person, "{what} = the person");
    }
}

/// Two one-byte messages, keyed `a` and `b`.
#[must_use]
pub fn two_messages() -> Vec<Message> {
    ["a", "b"]
        .into_iter()
        .zip(1..)
        .map(|(key, n)| Message {
            key: key.to_owned(),
            payload: format!("{n}").into_bytes(),
        })
        .collect()
}

/// Runs `command`, a server that prints `ready` on its first line of
/// output once it serves, and leaves it running until this process exits
/// (it stops by itself then). `what` names it in a failure.
pub fn start_ready(mut command: Command, what: &str) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(
        line.starts_with("ready"),
        "{what} did not start (see the error above): {line:?}"
    );
    std::mem::forget(child);
}

/// A free port on loopback.
#[must_use]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A store where another function (consent, erasing the person) purges the
/// inputs and features right after a recompute has read the inputs.
struct Interleaved<S> {
    inner: S,
    profile: String,
    fired: std::sync::atomic::AtomicBool,
}

impl<S: Store> Store for Interleaved<S> {
    async fn get(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<tailor_core::ports::Item>, tailor_core::ports::StoreError> {
        self.inner.get(table, key).await
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<tailor_core::ports::Item>>, tailor_core::ports::StoreError> {
        let read = self.inner.get_many(table, keys).await;
        if table == Table::FeatureInputs
            && !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            for key in keys {
                self.inner.delete(Table::FeatureInputs, key).await?;
            }
            self.inner.delete(Table::Features, &self.profile).await?;
        }
        read
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: tailor_core::Timestamp,
        precondition: tailor_core::ports::Precondition,
    ) -> Result<u64, tailor_core::ports::StoreError> {
        self.inner
            .put(table, key, value, expires_at, precondition)
            .await
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), tailor_core::ports::StoreError> {
        self.inner.delete(table, key).await
    }
}

/// Consent purging a person's inputs and features while features
/// recomputes their profile from the inputs it has just read: the
/// recompute's write fails on the purge, its second attempt sees the purge,
/// and nothing of the stale inputs is written back.
pub fn assert_a_purge_during_a_recompute_wins<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
) {
    assert!(
        p.send_lines(&three_users_views())
            .iter()
            .all(|d| *d == Disposition::ACCEPTED)
    );
    let features = p.table(Table::Features);
    let (profile, _) = features[0].clone();
    let store = Interleaved {
        inner: p.deployment.store(),
        profile: profile.clone(),
        fired: std::sync::atomic::AtomicBool::new(false),
    };
    let policy = tailor_core::policy::Policy::shipped().unwrap();
    let key = profile_key(&profile);
    let result = p.runtime.block_on(async {
        // The stored features predate the latest inputs, so the recompute
        // has something to write.
        tailor_core::ports::Store::put(
            &store.inner,
            Table::Features,
            &profile,
            b"{}".to_vec(),
            tailor_core::Timestamp::from_millis(i64::MAX),
            tailor_core::ports::Precondition::None,
        )
        .await
        .unwrap();
        let tokens = crate::test_key();
        let tables = tailor_core::tables::Tables::new(&store, &policy, &tokens);
        let (resolved, members) = tables.resolve(&key).await.unwrap();
        assert_eq!(resolved, profile);
        tables.recompute_profile(&profile, &members).await
    });
    assert_eq!(
        result.unwrap().features,
        None,
        "the second attempt sees the purge"
    );
    assert!(
        p.table(Table::Features).iter().all(|(k, _)| *k != profile),
        "stale inputs did not overwrite the purge"
    );
}

/// The user key of a profile made by [`three_users_views`].
fn profile_key(profile: &str) -> String {
    (0..3)
        .map(|i| format!("u-{i}"))
        .find(|u| tailor_core::identity::profile_of_user(u) == profile)
        .map(|u| format!("user:{u}"))
        .unwrap()
}

/// Eight views by one user in one batch: features writes the key's inputs
/// once and the profile's features once, whatever the batch holds, and the
/// batch delivered again writes nothing. Returns features' outcome, for
/// the units a platform bills for those two writes.
pub fn assert_a_batch_writes_once_per_profile<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
) -> BatchOutcome {
    let events = views("evt-coalesce", 8, |_| "u-busy".to_owned());
    let records = p.records(&events);
    assert!(p.invoke(Stage::Ingest, &records).retries().is_empty());
    let ingested = p.take(Topic::Ingested);
    assert!(p.invoke(Stage::Enrich, &ingested).retries().is_empty());
    let enriched = p.take(Topic::Enriched);
    assert_eq!(enriched.len(), 8);
    p.store().take_billed();
    let outcome = p.invoke(Stage::Features, &enriched);
    assert_eq!(outcome.report.accepted, 8);
    assert_eq!(
        outcome.report.store_writes, 2,
        "one inputs write for the key, one features write for the profile"
    );
    let features = p.table(Table::Features);
    assert_eq!(features.len(), 1);
    let state: tailor_core::features::ProfileState =
        serde_json::from_value(features[0].1.clone()).unwrap();
    let read = state.evaluate(state.newest().unwrap());
    assert_eq!(
        read.features["count_7d.content_view"].value.as_f64(),
        Some(8.0)
    );
    // Delivered again, the batch writes nothing: the recompute finds the
    // same features.
    let again = p.invoke(Stage::Features, &enriched);
    assert_eq!(again.report.duplicates, 8);
    assert_eq!(again.report.store_writes, 0);
    outcome
}

/// Two people, each with a device they signed in on; one asks to be
/// erased. Afterwards no table holds anything of theirs — their user id,
/// device id, profile id or the tokens of those ids, in a key or a value —
/// but their tombstones, kept under keyed tokens; the other person is
/// still there, so the scan finds what it looks for.
pub fn assert_nothing_of_an_erased_person_remains<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
) {
    let person = |who: &str, n: usize| {
        let (user, device) = (format!("u-{who}"), format!("a-{who}"));
        vec![
            crate::event(
                &format!("evt-{who}-login"),
                "login",
                &format!("2026-11-20T08:0{n}:00Z"),
                json!({"anonymous_id": device, "user_id": user}),
                json!({"method": "password"}),
            ),
            crate::event(
                &format!("evt-{who}-view"),
                "content_view",
                &format!("2026-11-20T09:0{n}:00Z"),
                json!({"anonymous_id": device}),
                json!({"content_id": "c-1", "category": "guides"}),
            ),
        ]
    };
    let lines = |events: Vec<Value>| -> Vec<Vec<u8>> {
        events
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap())
            .collect()
    };
    let mut both = person("gone", 1);
    both.extend(person("stays", 2));
    assert!(
        p.send_lines(&lines(both))
            .iter()
            .all(|d| *d == Disposition::ACCEPTED)
    );
    // Each person's slow lane, kept as the batch run keeps it.
    let tables = tailor_core::tables::Tables::new(
        p.functions.store(),
        p.functions.policy(),
        p.functions.tokens(),
    );
    for who in ["gone", "stays"] {
        let lane = tailor_core::score::SlowLane {
            profile_id: tailor_core::identity::profile_of_user(&format!("u-{who}")),
            computed_at: tailor_core::Timestamp::parse("2026-11-20T09:30:00Z").unwrap(),
            features: [("orders_lifetime".to_owned(), 1.0)].into(),
            batch: std::collections::BTreeMap::new(),
        };
        let members = [format!("user:u-{who}"), format!("anon:a-{who}")];
        assert!(
            p.runtime
                .block_on(tables.keep_slow_lane(&lane, &members))
                .unwrap()
        );
    }
    let mut erase = crate::event(
        "evt-gone-erase",
        "consent_change",
        "2026-11-20T10:00:00Z",
        json!({"user_id": "u-gone"}),
        json!({"action": "erase", "purposes": [], "source": "settings", "policy_version": "privacy-2026-09"}),
    );
    erase["consent"]["purposes"] = json!([]);
    assert_eq!(
        p.send_lines(&lines(vec![erase])),
        vec![Disposition::ACCEPTED]
    );
    p.flow();

    let key = crate::test_key();
    let traces = |who: &str| {
        let (user, device) = (format!("u-{who}"), format!("a-{who}"));
        vec![
            tailor_core::identity::profile_of_user(&user),
            key.token("user_id", &user),
            key.token("anonymous_id", &device),
            user,
            device,
        ]
    };
    let everything: Vec<(Table, String, String)> = Table::ALL
        .into_iter()
        .flat_map(|t| {
            p.table(t)
                .into_iter()
                .map(move |(k, v)| (t, k, v.to_string()))
        })
        .collect();
    for trace in traces("gone") {
        for (table, k, v) in &everything {
            assert!(
                !k.contains(&trace) && !v.contains(&trace),
                "erased, but {trace} remains in {table:?} {k}: {v}"
            );
        }
    }
    let tombstones: Vec<&String> = everything
        .iter()
        .filter(|(t, _, _)| *t == Table::Tombstones)
        .map(|(_, k, _)| k)
        .collect();
    assert!(!tombstones.is_empty(), "the erasure left its tombstones");
    assert!(
        tombstones.iter().all(|k| k.starts_with("tok_")),
        "{tombstones:?}"
    );
    assert_eq!(
        p.table(Table::SlowLane)
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>(),
        [tailor_core::identity::profile_of_user("u-stays")],
        "the other person's slow lane stays"
    );
    let stays = "u-stays".to_owned();
    for trace in [tailor_core::identity::profile_of_user(&stays), stays] {
        assert!(
            everything
                .iter()
                .any(|(_, k, v)| k.contains(&trace) || v.contains(&trace)),
            "{trace} of the person not erased is found"
        );
    }
}

/// A units bench's arguments, `PROFILES DAYS BATCH` (defaults 200 30
/// 500); flags such as cargo's `--bench` are not among them.
#[must_use]
pub fn units_args() -> (u32, u32, usize) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let arg = |n: usize, default: u32| args.get(n).and_then(|a| a.parse().ok()).unwrap_or(default);
    (arg(0, 200), arg(1, 30), arg(2, 500) as usize)
}

/// Sends `lines` through `p` in batches of `batch` and prints, in
/// Markdown, each function's store calls and the units it was billed,
/// `units` by name, per accepted event; then each table's items and their
/// sizes. What a platform's units bench reports. The same stream is then
/// counted on the local platform by the same formulas, and the bench fails
/// unless every function's units agree.
pub fn print_units<D: Deployment, P: Publisher + 'static>(
    p: &mut CloudPipeline<D, P>,
    lines: &[Vec<u8>],
    batch: usize,
    units: &[&str],
) {
    let started = std::time::Instant::now();
    let report = p.chain_batches(lines, batch);
    print_report_units(lines.len(), &report, batch, started.elapsed(), units);
    print_item_sizes(|table| p.table(table));
    let local = local_count(lines, batch);
    let differences = unit_differences(&report, &local.report, units);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    println!("\nThe local platform's count of the same stream gives the same units.");
}

/// `lines` through the local platform in batches of `batch`, its store and
/// queue counting what each cloud would bill.
#[must_use]
pub fn local_count(lines: &[Vec<u8>], batch: usize) -> crate::PipelineHandle {
    let mut local = crate::spawn_counting_cloud_units();
    local.send_batches(lines, batch.max(1));
    local
}

/// Where two runs' units differ, by function: one line each.
fn unit_differences(cloud: &RunReport, local: &RunReport, units: &[&str]) -> Vec<String> {
    let mut differences = Vec::new();
    for function in tailor_runtime::Function::STREAM {
        let name = function.name();
        for unit in units {
            let (theirs, ours) = (
                cloud.function(name).billed(unit),
                local.function(name).billed(unit),
            );
            if theirs != ours {
                differences.push(format!("{name} {unit}: cloud {theirs}, local count {ours}"));
            }
        }
    }
    differences
}

/// Prints, in Markdown, each function's store calls and `units` per
/// accepted event of `report` (a run of `records` records in batches of
/// `batch` that took `elapsed`).
#[allow(clippy::cast_precision_loss, reason = "ratios of counts for a report")]
pub fn print_report_units(
    records: usize,
    report: &RunReport,
    batch: usize,
    elapsed: std::time::Duration,
    units: &[&str],
) {
    let ingest = report.function("ingest");
    let events = ingest.accepted.max(1) as f64;
    println!(
        "{records} records, {} accepted events, batch {batch}, {:.0} s\n",
        ingest.accepted,
        elapsed.as_secs_f64()
    );
    let names: Vec<String> = units.iter().map(|u| format!("{u} / event")).collect();
    println!("| function | reads | writes | {} |", names.join(" | "));
    println!("| --- | --- | --- |{}", " --- |".repeat(units.len()));
    let mut totals = vec![0_u64; units.len()];
    for (name, r) in &report.functions {
        let per_event: Vec<String> = units
            .iter()
            .zip(&mut totals)
            .map(|(u, total)| {
                *total += r.billed(u);
                format!("{:.2}", r.billed(u) as f64 / events)
            })
            .collect();
        println!(
            "| {name} | {} | {} | {} |",
            r.store_reads,
            r.store_writes,
            per_event.join(" | ")
        );
    }
    let all: Vec<String> = totals
        .iter()
        .map(|t| format!("**{:.2}**", *t as f64 / events))
        .collect();
    println!("| **all** | | | {} |\n", all.join(" | "));
}

/// Prints, in Markdown, `units` per accepted event of a run of `events`
/// accepted events, by table (a counting local store's
/// `take_billed_by_table`), with the total of each unit.
#[allow(clippy::cast_precision_loss, reason = "ratios of counts for a report")]
pub fn print_units_by_table(
    events: u64,
    by_table: &[(Table, Vec<(&'static str, u64)>)],
    units: &[&str],
) {
    let events = events.max(1) as f64;
    println!("| table | {} |", units.join(" | "));
    println!("| --- |{}", " ---: |".repeat(units.len()));
    let mut totals = vec![0_u64; units.len()];
    for (table, billed) in by_table {
        let row: Vec<String> = units
            .iter()
            .zip(&mut totals)
            .map(|(unit, total)| {
                let n: u64 = billed
                    .iter()
                    .filter(|(u, _)| u == unit)
                    .map(|(_, n)| n)
                    .sum();
                *total += n;
                format!("{:.3}", n as f64 / events)
            })
            .collect();
        println!("| {} | {} |", table.as_str(), row.join(" | "));
    }
    let row: Vec<String> = totals
        .iter()
        .map(|n| format!("{:.3}", *n as f64 / events))
        .collect();
    println!("| **all** | {} |\n", row.join(" | "));
}

/// Prints, in Markdown, each table's items and their sizes.
#[allow(clippy::cast_precision_loss, reason = "a mean for a report")]
pub fn print_item_sizes(table: impl Fn(Table) -> Vec<(String, Value)>) {
    println!("| table | items | max bytes | p99 bytes | mean bytes |");
    println!("| --- | --- | --- | --- | --- |");
    for t in Table::ALL {
        let mut sizes: Vec<usize> = table(t)
            .iter()
            .map(|(_, v)| serde_json::to_vec(v).unwrap().len())
            .collect();
        if sizes.is_empty() {
            continue;
        }
        sizes.sort_unstable();
        let p99 = sizes[(sizes.len() * 99).div_ceil(100) - 1];
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        println!(
            "| {} | {} | {} | {p99} | {mean:.0} |",
            t.as_str(),
            sizes.len(),
            sizes.last().unwrap()
        );
    }
}

/// A clock stopped at a millisecond.
#[derive(Debug, Clone, Copy)]
pub struct At(pub i64);

impl Clock for At {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0)
    }
}

/// The store contract's now.
pub const NOW: i64 = 1_795_000_000_000;

/// `ms` after [`NOW`].
#[must_use]
pub const fn later(ms: i64) -> Timestamp {
    Timestamp::from_millis(NOW + ms)
}

/// The core's store semantics, on a store at [`NOW`]: put-if-absent claims
/// a key once; a versioned write succeeds only at the version last read
/// and moves it forward, as an unconditional write does; a version on no
/// item conflicts; deleting is idempotent. Returns the three versions
/// written, for a platform that promises more of them.
pub async fn assert_store_preconditions<S: Store>(store: &S) -> [u64; 3] {
    use tailor_core::ports::{Precondition, StoreError};
    let t = Table::Features;
    let put = async |value: &[u8], precondition| {
        store
            .put(t, "p", value.to_vec(), later(60_000), precondition)
            .await
    };
    let conflict = Err(StoreError::Conflict { table: t });
    assert_eq!(store.get(t, "p").await.unwrap(), None);
    let v1 = put(b"a", Precondition::Absent).await.unwrap();
    assert_eq!(put(b"b", Precondition::Absent).await, conflict);
    // A version older than the item's, as a writer that read before
    // another wrote would hold.
    assert_eq!(put(b"b", Precondition::Version(v1 - 1)).await, conflict);
    let v2 = put(b"b", Precondition::Version(v1)).await.unwrap();
    assert!(v2 > v1, "versions grow: {v1} then {v2}");
    let read = store.get(t, "p").await.unwrap().unwrap();
    assert_eq!((read.value.as_slice(), read.version), (&b"b"[..], v2));
    assert_eq!(read.expires_at, later(60_000));
    assert_eq!(
        put(b"c", Precondition::Version(v1)).await,
        conflict,
        "a write at a version no longer current is lost"
    );
    let v3 = put(b"d", Precondition::None).await.unwrap();
    assert!(v3 > v2, "versions grow: {v2} then {v3}");
    store.delete(t, "p").await.unwrap();
    store.delete(t, "p").await.unwrap();
    assert_eq!(
        store.get(t, "p").await.unwrap(),
        None,
        "deleted, twice without error"
    );
    assert_eq!(
        put(b"e", Precondition::Version(v3)).await,
        conflict,
        "no item to be at a version"
    );
    [v1, v2, v3]
}

/// An item past its expiry reads as absent, singly and in a batch, before
/// the platform deletes it, and is no obstacle to claiming its key again.
/// `at` is the store over the same tables with its clock at a millisecond.
pub async fn assert_expired_items_read_as_absent<S: Store>(at: impl Fn(i64) -> S) {
    use tailor_core::ports::Precondition;
    let t = Table::Dedup;
    at(NOW)
        .put(t, "evt", b"1".to_vec(), later(1_000), Precondition::Absent)
        .await
        .unwrap();
    let reader = at(NOW + 2_000);
    assert_eq!(reader.get(t, "evt").await.unwrap(), None);
    assert_eq!(
        reader.get_many(t, &["evt".to_owned()]).await.unwrap(),
        vec![None]
    );
    let v = reader
        .put(t, "evt", b"2".to_vec(), later(60_000), Precondition::Absent)
        .await
        .expect("an expired item does not block put-if-absent");
    let read = reader.get(t, "evt").await.unwrap().unwrap();
    assert_eq!((read.value.as_slice(), read.version), (&b"2"[..], v));
    reader
        .put(
            t,
            "evt",
            b"3".to_vec(),
            later(60_000),
            Precondition::Version(v),
        )
        .await
        .expect("the claimed item is at the version its claim returned");
}

/// A batched read of more keys than one call of any platform takes, some
/// absent, one repeated, keys a document id or key may not hold as they
/// are: answered in order. Returns what the read alone was billed, one
/// read per distinct key asked for being the rule on every platform.
pub async fn assert_batched_reads<S: Store>(store: &S) -> Vec<(&'static str, u64)> {
    use tailor_core::ports::Precondition;
    let t = Table::Identity;
    let keys: Vec<String> = (0..230).map(|i| format!("anon:{i}/x%{i}")).collect();
    for k in keys.iter().step_by(2) {
        let value = k.as_bytes().to_vec();
        store
            .put(t, k, value, later(60_000), Precondition::Absent)
            .await
            .unwrap();
    }
    store.take_billed();
    let mut asked = keys.clone();
    asked.push(keys[0].clone());
    asked.push(keys[1].clone());
    let got = store.get_many(t, &asked).await.unwrap();
    let billed = store.take_billed();
    assert_eq!(got.len(), asked.len());
    for (k, item) in asked.iter().zip(&got) {
        let i: usize = k[5..].split('/').next().unwrap().parse().unwrap();
        match item {
            Some(item) => {
                assert_eq!(i % 2, 0, "{k}");
                assert_eq!(item.value, k.as_bytes());
            }
            None => assert_eq!(i % 2, 1, "{k}"),
        }
    }
    billed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> tailor_local::LocalStore {
        tailor_local::LocalStore::in_memory()
            .unwrap()
            .with_clock(Box::new(At(NOW)))
    }

    #[tokio::test]
    async fn the_embedded_store_meets_the_store_contract() {
        let [v1, v2, v3] = assert_store_preconditions(&local()).await;
        assert!(v1 < v2 && v2 < v3);
        assert_batched_reads(&local()).await;
    }
}
