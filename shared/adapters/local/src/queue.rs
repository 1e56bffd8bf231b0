//! An in-process publisher: one FIFO queue per topic, optionally archived.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use tailor_core::ports::{PublishError, Publisher, Topic};

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The ordering key.
    pub key: String,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Queues per topic. Publishing never blocks; consumers drain with [`Queue::drain`].
#[derive(Debug, Default)]
pub struct Queue {
    topics: Mutex<BTreeMap<Topic, VecDeque<Message>>>,
    archive: Mutex<BTreeMap<Topic, BufWriter<File>>>,
}

impl Queue {
    /// An empty queue with no archive.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
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
            .insert(topic, BufWriter::new(file));
        Ok(())
    }

    /// Takes every queued message of `topic`.
    #[must_use]
    pub fn drain(&self, topic: Topic) -> Vec<Message> {
        self.topics
            .lock()
            .map(|mut t| {
                t.get_mut(&topic)
                    .map(|q| q.drain(..).collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
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
        for writer in archive.values_mut() {
            writer.flush()?;
        }
        Ok(())
    }
}

impl Publisher for Queue {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), PublishError> {
        {
            let mut archive = self
                .archive
                .lock()
                .map_err(|_| PublishError("archive lock poisoned".into()))?;
            if let Some(writer) = archive.get_mut(&topic) {
                writer
                    .write_all(&payload)
                    .and_then(|()| writer.write_all(b"\n"))
                    .map_err(|e| PublishError(e.to_string()))?;
            }
        }
        let mut topics = self
            .topics
            .lock()
            .map_err(|_| PublishError("queue lock poisoned".into()))?;
        topics.entry(topic).or_default().push_back(Message {
            key: key.to_owned(),
            payload,
        });
        Ok(())
    }
}
