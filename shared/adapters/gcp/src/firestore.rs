//! The core's [`Store`] on Firestore (Native mode), through its REST API:
//! one collection per [`Table`], named `<prefix>-<table>`.
//!
//! Why REST and not a client crate: Google publishes no Firestore crate for
//! Rust, and the store needs only four calls — `batchGet`, `commit` (with
//! its preconditions), `listDocuments` for scans, all over the HTTP client
//! the Pub/Sub credentials already bring — where a gRPC client would add
//! the generated code of every Google API to the build.
//!
//! Document layout: `key` (the item's key, as written), `value` (bytes),
//! `expire_at` (a timestamp: the database's TTL policy deletes the
//! document some time after) and `expires_ms` (the exact expiry). TTL
//! deletion is lazy, so reads and `Absent` treat a document past
//! `expires_ms` as absent, as every other store does. A document's id is
//! its key with `%` and `/` percent-encoded (ids may not hold a slash).
//!
//! Versions are the documents' update times in microseconds since the
//! epoch: Firestore gives every write a later update time, so they only
//! grow, and a write expecting version `v` is a commit with the
//! precondition `updateTime = v` — one call, no read, no transaction.
//! `Absent` is the precondition `exists: false`; when a document is in the
//! way, it is read, and replaced (expecting its update time) only if it
//! has expired.
//!
//! Every call is metered in the units Firestore bills: document reads (one
//! per document asked for, found or not), writes and deletes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tailor_core::Timestamp;
use tailor_core::ports::{
    Clock, Expiring, Item, Precondition, Store, StoreError, Table, distinct_chunks, in_order,
};

use crate::config::collection;

/// Documents per `batchGet` call.
const BATCH_GET: usize = 100;
/// Attempts per call when Firestore answers that it is busy or down.
const ATTEMPTS: u32 = 3;

pub use tailor_runtime::cost::billing::firestore::{DELETES, READS, WRITES};

/// How requests are authorized.
#[derive(Clone)]
pub enum Auth {
    /// An emulator: no credentials.
    Emulator,
    /// Google credentials (the metadata server on Cloud Run).
    Google(google_cloud_auth::credentials::Credentials),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Emulator => "Emulator",
            Self::Google(_) => "Google",
        })
    }
}

/// Firestore behind the core's store port.
pub struct FirestoreStore {
    http: reqwest::Client,
    /// `https://firestore.googleapis.com/v1`, or the emulator's.
    endpoint: String,
    /// `projects/{project}/databases/{database}`.
    database: String,
    prefix: String,
    auth: Auth,
    clock: Arc<dyn Clock>,
    reads: AtomicU64,
    writes: AtomicU64,
    deletes: AtomicU64,
}

impl std::fmt::Debug for FirestoreStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirestoreStore")
            .field("database", &self.database)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A document id for `key`: `%` and `/` percent-encoded, and a leading
/// `.` or `_` too, so no key makes an id Firestore reserves (`.`, `..`,
/// `__…__`).
#[must_use]
pub fn document_id(key: &str) -> String {
    let mut id = String::with_capacity(key.len());
    for (i, c) in key.chars().enumerate() {
        match c {
            '%' => id.push_str("%25"),
            '/' => id.push_str("%2F"),
            '.' if i == 0 => id.push_str("%2E"),
            '_' if i == 0 => id.push_str("%5F"),
            c => id.push(c),
        }
    }
    id
}

/// A version: an update time in microseconds since the epoch.
fn version_of(update_time: &str) -> Result<u64, StoreError> {
    let t =
        time::OffsetDateTime::parse(update_time, &time::format_description::well_known::Rfc3339)
            .map_err(|e| StoreError::Corrupt(format!("update time {update_time:?}: {e}")))?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000)
        .map_err(|_| StoreError::Corrupt(format!("update time {update_time:?} before the epoch")))
}

/// The update time a version stands for.
fn update_time_of(version: u64) -> String {
    let nanos = i128::from(version) * 1_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn rfc3339(at: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.as_millis()) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        // Out of Firestore's range (year 1–9999): the latest it takes.
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".to_owned())
}

/// An error answer's gRPC status name (`ALREADY_EXISTS`, …) and message.
fn status_of(body: &Value) -> (String, String) {
    let error = &body["error"];
    (
        error["status"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A document of a `batchGet` or list answer as an item, with its key.
fn decode(document: &Value) -> Result<(String, Item), StoreError> {
    let fields = &document["fields"];
    let key = fields["key"]["stringValue"]
        .as_str()
        .ok_or_else(|| StoreError::Corrupt("document without a key".into()))?
        .to_owned();
    let value = fields["value"]["bytesValue"]
        .as_str()
        .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("document value: {e}")))?
        .ok_or_else(|| StoreError::Corrupt("document without a value".into()))?;
    let expires = fields["expires_ms"]["integerValue"]
        .as_str()
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| StoreError::Corrupt("document without expires_ms".into()))?;
    let version = version_of(
        document["updateTime"]
            .as_str()
            .ok_or_else(|| StoreError::Corrupt("document without an update time".into()))?,
    )?;
    Ok((
        key,
        Item {
            value,
            version,
            expires_at: Timestamp::from_millis(expires),
        },
    ))
}

/// What a commit came to.
enum Committed {
    /// Written at this version.
    At(u64),
    /// A precondition failed: `ALREADY_EXISTS` (for `exists: false`), or
    /// `FAILED_PRECONDITION` / `NOT_FOUND` (for an update time).
    Refused,
}

impl FirestoreStore {
    /// A store over the collections `<prefix>-<table>` of `database`
    /// (`projects/{project}/databases/{id}`) at `endpoint` (Firestore's
    /// `https://firestore.googleapis.com`, or an emulator's `http://host:port`).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(
        endpoint: &str,
        project: &str,
        database: &str,
        prefix: impl Into<String>,
        auth: Auth,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            http,
            endpoint: format!("{}/v1", endpoint.trim_end_matches('/')),
            database: format!("projects/{project}/databases/{database}"),
            prefix: prefix.into(),
            auth,
            clock: Arc::new(tailor_runtime::WallClock),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
        })
    }

    /// Expires items by `clock` instead of the wall clock (replays of
    /// historical streams, tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The collection of `table`.
    #[must_use]
    pub fn collection(&self, table: Table) -> String {
        collection(&self.prefix, table)
    }

    fn name(&self, table: Table, key: &str) -> String {
        format!(
            "{}/documents/{}/{}",
            self.database,
            self.collection(table),
            document_id(key)
        )
    }

    fn live(&self, item: Item) -> Option<Item> {
        (item.expires_at > self.clock.now()).then_some(item)
    }

    /// One call to Firestore, retried while it answers that it is busy or
    /// down. Returns the status and the JSON body.
    async fn call(
        &self,
        table: Table,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(reqwest::StatusCode, Value), StoreError> {
        let unavailable =
            |what: String| StoreError::Unavailable(format!("{}: {what}", table.as_str()));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), url);
            match &self.auth {
                Auth::Emulator => request = request.bearer_auth("owner"),
                Auth::Google(credentials) => {
                    let headers = credentials
                        .headers(http::Extensions::new())
                        .await
                        .map_err(|e| unavailable(format!("credentials: {e}")))?;
                    if let google_cloud_auth::credentials::CacheableResource::New { data, .. } =
                        headers
                    {
                        request = request.headers(data);
                    }
                }
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    Ok((status, value))
                }
                Err(e) => Err(e.to_string()),
            };
            let transient = match &answer {
                Ok((status, _)) => {
                    *status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
                }
                Err(_) => true,
            };
            if !transient {
                return answer.map_err(unavailable);
            }
            if attempt >= ATTEMPTS {
                return match answer {
                    Ok((status, body)) => {
                        Err(unavailable(format!("{status}: {}", status_of(&body).1)))
                    }
                    Err(e) => Err(unavailable(e)),
                };
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
    }

    /// One write, with its precondition as Firestore states it.
    async fn commit(&self, table: Table, write: Value) -> Result<Committed, StoreError> {
        let url = format!("{}/{}/documents:commit", self.endpoint, self.database);
        let (status, body) = self
            .call(
                table,
                reqwest::Method::POST,
                &url,
                Some(&json!({ "writes": [write] })),
            )
            .await?;
        if status.is_success() {
            let version = body["writeResults"][0]["updateTime"]
                .as_str()
                .map(version_of)
                .transpose()?
                .unwrap_or(0);
            return Ok(Committed::At(version));
        }
        let (code, message) = status_of(&body);
        match code.as_str() {
            "ALREADY_EXISTS" | "FAILED_PRECONDITION" | "NOT_FOUND" => Ok(Committed::Refused),
            "INVALID_ARGUMENT" if message.contains("exceeds the maximum") => {
                Err(StoreError::TooLarge { table, bytes: 0 })
            }
            _ => Err(StoreError::Unavailable(format!(
                "{}: {status} {code}: {message}",
                table.as_str()
            ))),
        }
    }

    async fn batch_get(
        &self,
        table: Table,
        keys: &[&str],
    ) -> Result<Vec<(String, Item)>, StoreError> {
        let url = format!("{}/{}/documents:batchGet", self.endpoint, self.database);
        let names: Vec<String> = keys.iter().map(|k| self.name(table, k)).collect();
        self.reads.fetch_add(keys.len() as u64, Ordering::Relaxed);
        let (status, body) = self
            .call(
                table,
                reqwest::Method::POST,
                &url,
                Some(&json!({ "documents": names })),
            )
            .await?;
        if !status.is_success() {
            let (code, message) = status_of(&body);
            return Err(StoreError::Unavailable(format!(
                "{}: {status} {code}: {message}",
                table.as_str()
            )));
        }
        let answers = body.as_array().ok_or_else(|| {
            StoreError::Unavailable(format!("{}: batchGet answered {body}", table.as_str()))
        })?;
        answers
            .iter()
            .filter(|a| a.get("found").is_some())
            .map(|a| decode(&a["found"]))
            .collect()
    }

    /// Every live item of `table` (a listing: for tests and audits, not for
    /// the functions' paths).
    ///
    /// # Errors
    /// The collection cannot be read or holds an unreadable document.
    pub async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, StoreError> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let url = format!(
                "{}/{}/documents/{}?pageSize=300&pageToken={token}",
                self.endpoint,
                self.database,
                self.collection(table)
            );
            let (status, body) = self.call(table, reqwest::Method::GET, &url, None).await?;
            if !status.is_success() {
                return Err(StoreError::Unavailable(format!(
                    "{}: {status}",
                    table.as_str()
                )));
            }
            for document in body["documents"].as_array().into_iter().flatten() {
                let (key, item) = decode(document)?;
                if let Some(live) = self.live(item) {
                    out.push((key, live));
                }
            }
            match body["nextPageToken"].as_str() {
                Some(next) if !next.is_empty() => next.clone_into(&mut token),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

impl Expiring for FirestoreStore {
    fn expiring_by(self, clock: Arc<dyn Clock>) -> Self {
        self.with_clock(clock)
    }
}

impl Store for FirestoreStore {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        Ok(self
            .batch_get(table, &[key])
            .await?
            .into_iter()
            .next()
            .and_then(|(_, item)| self.live(item)))
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[String],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let mut found = std::collections::HashMap::new();
        for chunk in distinct_chunks(keys, BATCH_GET) {
            found.extend(self.batch_get(table, &chunk).await?);
        }
        Ok(in_order(keys, &found, |i| self.live(i)))
    }

    async fn put(
        &self,
        table: Table,
        key: &str,
        value: Vec<u8>,
        expires_at: Timestamp,
        precondition: Precondition,
    ) -> Result<u64, StoreError> {
        let name = self.name(table, key);
        let document = json!({
            "name": name,
            "fields": {
                "key": { "stringValue": key },
                "value": { "bytesValue": base64::engine::general_purpose::STANDARD.encode(&value) },
                "expire_at": { "timestampValue": rfc3339(expires_at) },
                "expires_ms": { "integerValue": expires_at.as_millis().to_string() },
            }
        });
        let write = |current: Option<Value>| {
            let mut w = json!({ "update": document.clone() });
            if let Some(current) = current {
                w["currentDocument"] = current;
            }
            w
        };
        self.writes.fetch_add(1, Ordering::Relaxed);
        let committed = match precondition {
            Precondition::None => self.commit(table, write(None)).await?,
            Precondition::Version(v) => {
                self.commit(
                    table,
                    write(Some(json!({ "updateTime": update_time_of(v) }))),
                )
                .await?
            }
            Precondition::Absent => {
                match self
                    .commit(table, write(Some(json!({ "exists": false }))))
                    .await?
                {
                    Committed::Refused => {
                        // Something is in the way: replace it only if it has expired.
                        let stale = self.batch_get(table, &[key]).await?.into_iter().next();
                        match stale {
                            Some((_, item)) if self.live(item.clone()).is_none() => {
                                self.writes.fetch_add(1, Ordering::Relaxed);
                                let expected =
                                    json!({ "updateTime": update_time_of(item.version) });
                                self.commit(table, write(Some(expected))).await?
                            }
                            _ => Committed::Refused,
                        }
                    }
                    at => at,
                }
            }
        };
        match committed {
            Committed::At(version) => Ok(version),
            Committed::Refused => Err(StoreError::Conflict { table }),
        }
    }

    async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.deletes.fetch_add(1, Ordering::Relaxed);
        match self
            .commit(table, json!({ "delete": self.name(table, key) }))
            .await?
        {
            Committed::At(_) | Committed::Refused => Ok(()),
        }
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        [
            (READS, self.reads.swap(0, Ordering::Relaxed)),
            (WRITES, self.writes.swap(0, Ordering::Relaxed)),
            (DELETES, self.deletes.swap(0, Ordering::Relaxed)),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_makes_a_valid_document_id() {
        assert_eq!(document_id("anon:a-1"), "anon:a-1");
        assert_eq!(document_id("0001/Merge/evt/ab"), "0001%2FMerge%2Fevt%2Fab");
        assert_eq!(document_id("100%"), "100%25");
        assert_eq!(document_id(".."), "%2E.");
        assert_eq!(document_id("__x__"), "%5F_x__");
        assert_ne!(
            document_id("a/b"),
            document_id("a%2Fb"),
            "encoding is one to one"
        );
    }

    #[test]
    fn versions_are_update_times_in_microseconds() {
        let v = version_of("2026-12-02T08:04:42.702611Z").unwrap();
        assert_eq!(v, 1_796_198_682_702_611);
        assert_eq!(update_time_of(v), "2026-12-02T08:04:42.702611Z");
        assert!(version_of("2026-12-02T08:04:42.702612Z").unwrap() > v);
        assert_eq!(rfc3339(Timestamp::from_millis(0)), "1970-01-01T00:00:00Z");
    }
}
