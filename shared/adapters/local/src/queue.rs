//! An in-process publisher: the runtime's [`Mailbox`], optionally archived.
//!
//! The consent changes published are kept too, until the platform has
//! seen whether they erased someone whose lines the archive, or whose rows
//! an export, must lose ([`crate::offline::purge`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tailor_core::Timestamp;
use tailor_core::batch::Record;
use tailor_core::ports::{PublishError, Publisher, Topic};
use tailor_runtime::cost::billing::CloudUnits;
use tailor_runtime::{Inbox, Mailbox};

/// Queues per topic. Publishing never blocks; the next stage takes what
/// was published through [`Inbox`].
#[derive(Debug, Default)]
pub struct Queue {
    mailbox: Mailbox,
    archive: Mutex<BTreeMap<Topic, (PathBuf, BufWriter<File>)>>,
    consent_changes: Mutex<Vec<Vec<u8>>>,
    /// What the publishes would bill on each cloud's stream, when asked
    /// to count it.
    cloud_units: Option<CloudUnits>,
}

impl Queue {
    /// An empty queue with no archive.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts, for every publish, what each cloud's stream would bill for
    /// it (Kinesis Data-In, Pub/Sub publish bytes), reported by
    /// [`Publisher::take_billed`].
    #[must_use]
    pub fn counting_cloud_units(mut self) -> Self {
        self.cloud_units = Some(CloudUnits::default());
        self
    }

    /// Also appends every message of `topic` to `path` as one JSON line,
    /// after what the file already holds unless `truncate`.
    ///
    /// # Errors
    /// The file cannot be opened or created.
    pub fn archive(&self, topic: Topic, path: &Path, truncate: bool) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(!truncate)
            .write(true)
            .truncate(truncate)
            .open(path)?;
        self.archive
            .lock()
            .map_err(|_| std::io::Error::other("queue lock poisoned"))?
            .insert(topic, (path.to_owned(), BufWriter::new(file)));
        Ok(())
    }

    /// Takes the consent changes published since the last call.
    #[must_use]
    pub fn take_consent_changes(&self) -> Vec<Vec<u8>> {
        self.consent_changes
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    /// Keeps consent changes for a later [`Queue::take_consent_changes`].
    pub fn keep_consent_changes(&self, changes: Vec<Vec<u8>>) {
        if let Ok(mut c) = self.consent_changes.lock() {
            c.extend(changes);
        }
    }

    /// Rewrites `topic`'s archive without the lines `drop` picks; returns
    /// how many it removed. The file is replaced whole (written beside it,
    /// then renamed), so a crash leaves the old or the new one.
    ///
    /// # Errors
    /// The archive cannot be read or written.
    pub fn rewrite_archive(
        &self,
        topic: Topic,
        drop: impl Fn(&[u8]) -> bool,
    ) -> std::io::Result<u64> {
        let mut archive = self
            .archive
            .lock()
            .map_err(|_| std::io::Error::other("queue lock poisoned"))?;
        let Some((path, writer)) = archive.get_mut(&topic) else {
            return Ok(0);
        };
        writer.flush()?;
        let text = std::fs::read(&*path)?;
        let mut kept = Vec::with_capacity(text.len());
        let mut removed = 0;
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            if drop(line) {
                removed += 1;
            } else {
                kept.extend_from_slice(line);
                kept.push(b'\n');
            }
        }
        if removed > 0 {
            let next = path.with_extension("jsonl.rewrite");
            std::fs::write(&next, &kept)?;
            std::fs::rename(&next, &*path)?;
            let file = std::fs::OpenOptions::new().append(true).open(&*path)?;
            *writer = BufWriter::new(file);
        }
        Ok(removed)
    }

    /// Flushes archives to disk.
    ///
    /// # Errors
    /// A write fails.
    pub fn flush(&self) -> std::io::Result<()> {
        let mut archive = self
            .archive
            .lock()
            .map_err(|_| std::io::Error::other("queue lock poisoned"))?;
        for (_, writer) in archive.values_mut() {
            writer.flush()?;
        }
        Ok(())
    }
}

impl Publisher for Queue {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        if let Some(units) = &self.cloud_units {
            units.publish(payload.len(), key.len());
        }
        {
            let mut archive = self
                .archive
                .lock()
                .map_err(|_| PublishError("archive lock poisoned".into()))?;
            if let Some((_, writer)) = archive.get_mut(&topic) {
                writer
                    .write_all(&payload)
                    .and_then(|()| writer.write_all(b"\n"))
                    .map_err(|e| PublishError(e.to_string()))?;
            }
            if topic == Topic::ConsentChanges {
                self.keep_consent_changes(vec![payload.clone()]);
            }
        }
        self.mailbox.publish(topic, key, payload).await
    }

    fn take_billed(&self) -> Vec<(&'static str, u64)> {
        self.cloud_units
            .as_ref()
            .map_or_else(Vec::new, CloudUnits::take)
    }
}

impl Inbox for Queue {
    async fn take(&self, topic: Topic, now: Timestamp) -> Vec<Record> {
        self.mailbox.take(topic, now).await
    }
}
