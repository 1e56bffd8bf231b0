//! The offline log loses every line about an erased person.
//!
//! The archive of enriched events is a file the platform writes, so an
//! erasure reaches it too: once the consent function has recorded an
//! erasure's completion (of this very request: a refused conflict erases
//! nobody), every line naming one of the person's keys, ids or profiles
//! is removed. A line about someone else that names the erased person (a
//! login on their device) goes as well: nothing of theirs may remain, and
//! the backfill then lacks that event for the other person.
//!
//! Exports are files too: `tailor export-training` and `tailor
//! export-decisions` record each file they write in the state folder's
//! [`EXPORTS`] list, and the same erasure removes every row of those files
//! naming the person (a field equal to one of their ids or profile ids).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tailor_core::consent::{Completion, request_digest};
use tailor_core::event::ConsentAction;
use tailor_core::identity::own_profile;
use tailor_core::message::Enriched;
use tailor_core::ports::{Table, Topic};

use crate::{LocalStore, Queue};

/// What names the people erased.
#[derive(Debug, Default)]
struct Erased {
    /// Identity keys (`user:…`, `anon:…`) and profile ids.
    names: BTreeSet<String>,
    /// Raw ids, as a subject carries them.
    ids: BTreeSet<String>,
}

impl Erased {
    fn add(&mut self, change: &Enriched) {
        let subject = &change.ingested.event.subject;
        let keys = change
            .members
            .iter()
            .cloned()
            .chain(std::iter::once(change.key.clone()))
            .chain(
                subject
                    .user_id
                    .as_deref()
                    .map(tailor_core::identity::user_key),
            )
            .chain(
                subject
                    .anonymous_id
                    .as_deref()
                    .map(tailor_core::identity::anon_key),
            );
        for key in keys {
            if let Some(profile) = own_profile(&key) {
                self.names.insert(profile);
            }
            if let Some((_, id)) = key.split_once(':') {
                self.ids.insert(id.to_owned());
            }
            self.names.insert(key);
        }
        self.names.insert(change.profile_id.clone());
    }

    /// Whether an archived line names anyone erased.
    fn named_in(&self, line: &[u8]) -> bool {
        let Ok(e) = serde_json::from_slice::<Enriched>(line) else {
            return false;
        };
        let subject = &e.ingested.event.subject;
        let name = |s: &String| self.names.contains(s);
        name(&e.key)
            || name(&e.profile_id)
            || e.members.iter().any(name)
            || e.changed_profiles
                .iter()
                .any(|(p, members)| name(p) || members.iter().any(name))
            || [&subject.user_id, &subject.anonymous_id]
                .into_iter()
                .flatten()
                .any(|id| self.ids.contains(id))
    }
}

/// The file in a state folder listing the exports written from it.
pub const EXPORTS: &str = "exports";

/// Records that `file` was exported from the state in `state_dir`, so that
/// later erasures reach it.
///
/// # Errors
/// The list cannot be read or written.
pub fn record_export(state_dir: &Path, file: &Path) -> std::io::Result<()> {
    let file = std::fs::canonicalize(file)?;
    let list = state_dir.join(EXPORTS);
    let known = std::fs::read_to_string(&list).unwrap_or_default();
    let line = file.to_string_lossy();
    if known.lines().any(|l| l == line) {
        return Ok(());
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(list)?;
    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())
}

/// Rewrites each export the list at `list` names without the rows naming
/// anyone erased (the header stays); returns how many rows went.
fn erased_from_exports(list: &Path, erased: &Erased) -> std::io::Result<u64> {
    let Ok(files) = std::fs::read_to_string(list) else {
        return Ok(0);
    };
    let mut removed = 0;
    for file in files.lines().map(PathBuf::from) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut kept = String::with_capacity(text.len());
        for (i, row) in text.lines().enumerate() {
            let named = i > 0
                && row
                    .split(',')
                    .any(|field| erased.names.contains(field) || erased.ids.contains(field));
            if named {
                removed += 1;
            } else {
                kept.push_str(row);
                kept.push('\n');
            }
        }
        if kept.len() != text.len() {
            let next = file.with_extension("rewrite");
            std::fs::write(&next, kept)?;
            std::fs::rename(&next, &file)?;
        }
    }
    Ok(removed)
}

/// Removes from `queue`'s archive of enriched events every line about a
/// person whose erasure has completed, and their rows from the exports
/// `exports` lists; erasures not yet completed wait for a later call.
/// Returns how many lines and rows went.
///
/// # Errors
/// The store, the archive or an export cannot be read or rewritten.
pub fn erased_from_archive(
    store: &LocalStore,
    queue: &Queue,
    exports: Option<&Path>,
) -> anyhow::Result<u64> {
    let mut erased = Erased::default();
    let mut waiting = Vec::new();
    for payload in queue.take_consent_changes() {
        let Ok(change) = serde_json::from_slice::<Enriched>(&payload) else {
            continue;
        };
        let Some(entry) = change.ledger_entry() else {
            continue;
        };
        if entry.action != ConsentAction::Erase {
            continue;
        }
        let completion = store.lookup(Table::Audit, &format!("consent/{}", entry.event_id))?;
        let done = completion
            .and_then(|i| serde_json::from_slice::<Completion>(&i.value).ok())
            .map(|c| c.request == request_digest(&change.ingested.event));
        match done {
            Some(true) => erased.add(&change),
            // Another request's record: this one was refused, not carried out.
            Some(false) => {}
            None => waiting.push(payload),
        }
    }
    queue.keep_consent_changes(waiting);
    if erased.names.is_empty() {
        return Ok(0);
    }
    let rows = match exports {
        Some(list) => erased_from_exports(list, &erased)?,
        None => 0,
    };
    Ok(queue.rewrite_archive(Topic::Enriched, |line| erased.named_in(line))? + rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn a_line_naming_an_erased_id_anywhere_is_picked() {
        let mut erased = Erased::default();
        erased.ids.insert("a-1".into());
        erased.names.insert("p_gone".into());
        let line = |subject: Value, profile: &str| {
            serde_json::to_vec(&serde_json::json!({
                "ingested": {"event": {"event_id": "e", "event_type": "content_view", "schema_version": "1.0",
                    "occurred_at": "2026-11-20T10:00:00Z", "subject": subject, "region": "eu",
                    "consent": {"purposes": [], "cmp_version": "v1"}, "source": {"kind": "web", "name": "shop"},
                    "properties": {"content_id": "c", "category": "g"}},
                    "received_at": "2026-11-20T10:00:00Z", "occurred_at": "2026-11-20T10:00:00Z",
                    "skew_ms": 0, "late": false, "destination": "eu-central", "policies": []},
                "profile_id": profile, "key": "user:u-2", "members": ["user:u-2"],
                "consent": {"claimed": [], "ledger": [], "blocked": []}
            }))
            .unwrap()
        };
        assert!(erased.named_in(&line(
            serde_json::json!({"anonymous_id": "a-1", "user_id": "u-2"}),
            "p_2"
        )));
        assert!(erased.named_in(&line(serde_json::json!({"user_id": "u-2"}), "p_gone")));
        assert!(!erased.named_in(&line(serde_json::json!({"user_id": "u-2"}), "p_2")));
    }
}
