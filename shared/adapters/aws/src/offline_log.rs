//! The offline log in S3, as Kinesis Data Firehose delivers it from the
//! `enriched` stream (`terraform/modules/aws/offline_log.tf`): objects
//! under a prefix (`enriched/yyyy/MM/dd/HH/…`), each holding enriched
//! messages, one per line. The slow lane's batch job reads it back.
//!
//! An object or line that cannot be read is counted and named in the
//! [`Read`], never taken as an event: Firehose writes only what enrich
//! published, so one is a sign of a damaged object, for an operator.

use aws_sdk_s3::Client;
use tailor_core::features::{Admissible, LoggedEvent};
use tailor_core::message::Enriched;

use crate::deadline::Deadline;

/// Where the log is.
#[derive(Debug, Clone)]
pub struct OfflineLog {
    client: Client,
    bucket: String,
    prefix: String,
}

/// What a read found.
#[derive(Debug, Default)]
pub struct Read {
    /// Every readable line's event, in object order (oldest first), as
    /// the replays hold it: only what they read of it.
    pub events: Vec<Admissible>,
    /// Objects read.
    pub objects: usize,
    /// Lines that are not enriched messages: `(object key, line number
    /// from 1, why)`.
    pub unreadable: Vec<(String, usize, String)>,
}

/// Why the log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OfflineLogError {
    /// S3 refused or failed a call.
    #[error("offline log s3://{bucket}/{key}: {reason}")]
    S3 {
        /// The bucket.
        bucket: String,
        /// The object or prefix.
        key: String,
        /// S3's error.
        reason: String,
    },
    /// The invocation's time ran out before the log was read.
    #[error("the invocation's time ran out reading the offline log")]
    OutOfTime,
}

impl OfflineLog {
    /// The log in `bucket` under `prefix`.
    #[must_use]
    pub const fn new(client: Client, bucket: String, prefix: String) -> Self {
        Self {
            client,
            bucket,
            prefix,
        }
    }

    /// Reads every object under the prefix, each call bounded by `deadline`.
    ///
    /// # Errors
    /// [`OfflineLogError`]: a failed S3 call, or the deadline.
    pub async fn read(&self, deadline: &Deadline) -> Result<Read, OfflineLogError> {
        let fail = |key: &str, e: &dyn std::fmt::Display| OfflineLogError::S3 {
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            reason: e.to_string(),
        };
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let list = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&self.prefix)
                .set_continuation_token(token.take())
                .send();
            let page = deadline
                .run(list)
                .await
                .map_err(|_| OfflineLogError::OutOfTime)?
                .map_err(|e| fail(&self.prefix, &aws_sdk_s3::error::DisplayErrorContext(e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        let mut read = Read::default();
        for key in keys {
            let get = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .send();
            let object = deadline
                .run(get)
                .await
                .map_err(|_| OfflineLogError::OutOfTime)?
                .map_err(|e| fail(&key, &aws_sdk_s3::error::DisplayErrorContext(e)))?;
            let body = deadline
                .run(object.body.collect())
                .await
                .map_err(|_| OfflineLogError::OutOfTime)?
                .map_err(|e| fail(&key, &e))?
                .into_bytes();
            read.objects += 1;
            for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<Enriched>(line) {
                    Ok(e) => read.events.push(Admissible::from(LoggedEvent::from(e))),
                    Err(e) => read.unreadable.push((key.clone(), i + 1, e.to_string())),
                }
            }
        }
        Ok(read)
    }
}
