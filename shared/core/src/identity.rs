//! Identity resolution (the enrich step): keys → one profile.
//!
//! Deterministic links come from `login` and `signup` events that carry both
//! an anonymous id and a user id. An anonymous key belongs to the user whose
//! link evidence is earliest (by corrected event time, then event id), so the
//! graph's final state does not depend on arrival order; when late evidence
//! moves a key, that is an unmerge from one profile and a merge into another,
//! both audited with the evidence event.
//!
//! Feature state is kept per key, not per profile (see [`crate::features`]),
//! so merges and unmerges move no data: a profile's features are computed
//! over its member keys.
//!
//! Probabilistic links (an anonymous key seen with an account id, tied to the
//! account's only user) are recorded only where policy permits, each with
//! confidence, evidence, expiry and purpose; they never merge profiles.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::event::{EventType, Purpose};
use crate::ingest::Ingested;
use crate::policy::{Policy, PolicyDecision};
use crate::token::digest;

/// How long a probabilistic link lives unless renewed.
pub const PROBABLE_LINK_TTL_MS: i64 = 30 * Timestamp::DAY;
/// Confidence given to an account-based probabilistic link, in percent.
pub const ACCOUNT_LINK_CONFIDENCE_PCT: i64 = 80;

/// A stable pseudonymous profile id.
#[must_use]
pub fn profile_of_user(user_id: &str) -> String {
    format!("p_{}", digest(&["user", user_id], 10))
}

/// The profile a key has on its own: a user's profile, or an anonymous
/// key's before anyone claims it. `None` for anything else.
#[must_use]
pub fn own_profile(key: &str) -> Option<String> {
    key.strip_prefix("user:")
        .map(profile_of_user)
        .or_else(|| key.strip_prefix("anon:").map(profile_of_anonymous))
}

/// The profile id of an anonymous key nobody has claimed.
#[must_use]
pub fn profile_of_anonymous(anonymous_id: &str) -> String {
    format!("p_{}", digest(&["anon", anonymous_id], 10))
}

/// Storage key of a user node.
#[must_use]
pub fn user_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// Storage key of an anonymous node.
#[must_use]
pub fn anon_key(anonymous_id: &str) -> String {
    format!("anon:{anonymous_id}")
}

/// Storage key of an account node.
#[must_use]
pub fn account_key(account_id: &str) -> String {
    format!("acct:{account_id}")
}

/// A deterministic claim on an anonymous key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Claim {
    /// When the evidence happened.
    pub at: Timestamp,
    /// The evidence event.
    pub event_id: String,
    /// The claiming user.
    pub user_id: String,
}

/// A link by likelihood, recorded only where policy permits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbableLink {
    /// The user the key probably belongs to.
    pub user_id: String,
    /// Confidence in percent.
    pub confidence_pct: i64,
    /// The evidence event.
    pub event_id: String,
    /// When the evidence happened.
    pub at: Timestamp,
    /// When the link lapses.
    pub expires_at: Timestamp,
    /// The only purpose it may be used for.
    pub purpose: Purpose,
}

/// The stored node of an anonymous key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnonNode {
    /// Deterministic claims; the earliest owns the key.
    pub claims: BTreeSet<Claim>,
    /// Probabilistic links by user.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probable: BTreeMap<String, ProbableLink>,
}

impl AnonNode {
    /// The user that owns this key, if any.
    #[must_use]
    pub fn owner(&self) -> Option<&str> {
        self.claims.first().map(|c| c.user_id.as_str())
    }

    /// Keeps two of `user`'s claims: the earliest, which decides
    /// ownership, and the latest, which keeps the node alive. Either is
    /// the extreme of the set, whatever order the claims arrived in, so
    /// the node is the same for any order and stays bounded however often
    /// the user signs in with the key.
    pub fn keep_bounded(&mut self, user: &str) {
        let theirs: Vec<Claim> = self
            .claims
            .iter()
            .filter(|c| c.user_id == user)
            .cloned()
            .collect();
        if let [_, middle @ .., _] = theirs.as_slice() {
            for claim in middle {
                self.claims.remove(claim);
            }
        }
    }
}

/// The stored node of a user key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNode {
    /// Anonymous keys this user owns.
    pub anonymous: BTreeSet<String>,
    /// Every anonymous id whose node holds a claim of this user, owned or
    /// not, with the time of the user's latest claim on it: where an
    /// erasure of the user must look beyond their own keys. At most the
    /// policy's [`Policy::max_anonymous_per_user`]; past it the least
    /// recently claimed is let go ([`Resolution::released`]).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "claimed_from_either"
    )]
    pub claimed: BTreeMap<String, Timestamp>,
    /// The user's account, latest by event time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<(Timestamp, String, String)>,
}

/// Reads `claimed` as written now (id → latest claim) or as first written
/// (a list of ids, whose claim times were not kept: read as the epoch, so
/// they are the first let go).
fn claimed_from_either<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Timestamp>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Timed(BTreeMap<String, Timestamp>),
        Listed(BTreeSet<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::Timed(m) => m,
        Either::Listed(l) => l
            .into_iter()
            .map(|a| (a, Timestamp::from_millis(0)))
            .collect(),
    })
}

impl UserNode {
    /// Which anonymous id this user lets go for a claim on `anon` at `at`,
    /// if it has no room for one more under `limit`: of the ids it claims
    /// and the new one, the least recently claimed (by time, then id).
    /// `Some(anon)` means the new claim itself is the one not kept.
    #[must_use]
    pub fn to_release(&self, anon: &str, at: Timestamp, limit: usize) -> Option<String> {
        if self.claimed.contains_key(anon) || self.claimed.len() < limit {
            return None;
        }
        self.claimed
            .iter()
            .map(|(a, t)| (*t, a.as_str()))
            .chain(std::iter::once((at, anon)))
            .min()
            .map(|(_, a)| a.to_owned())
    }
}

/// The stored node of an account key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountNode {
    /// Users seen in the account.
    pub users: BTreeSet<String>,
    /// Anonymous ids with a probable link to a user through this account
    /// (at most [`MAX_REFERENCES`]), for erasing the user's links.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub probable: BTreeSet<String>,
}

/// The most anonymous ids an account node lists as probably linked, and
/// the most a policy may let a user claim; defined with the policy's
/// setting it caps.
pub use crate::policy::MAX_REFERENCES;

/// The longest identifier the event contract admits, in bytes (ASCII).
pub const MAX_ID_BYTES: usize = 128;

/// The largest a user node serializes to when it may claim `limit`
/// anonymous ids: each id twice (owned, and claimed with its time), quoted
/// and separated, plus the account. With the shipped limit of 100 that is
/// 30 KB; with [`MAX_REFERENCES`], under 300 KB, below every store's item
/// limit.
#[must_use]
pub const fn max_user_node_bytes(limit: usize) -> usize {
    limit * (2 * MAX_ID_BYTES + 40) + 3 * MAX_ID_BYTES + 128
}

/// What an audit record says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A key joined a profile.
    Merge,
    /// A key left a profile.
    Unmerge,
    /// A probabilistic link was recorded.
    ProbableLink,
    /// A user's claim on a key was let go: they claim more keys than the
    /// policy keeps, and it was the least recently claimed.
    Released,
    /// A consent change was propagated.
    ConsentPropagated,
}

/// One append-only audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// What happened.
    pub kind: AuditKind,
    /// The profile it happened to.
    pub profile_id: String,
    /// The key concerned (a storage key such as `anon:…`).
    pub key: String,
    /// The event that caused it.
    pub evidence_event_id: String,
    /// When the evidence happened.
    pub at: Timestamp,
    /// Policy checks involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyDecision>,
    /// Free-form details (counts, purposes), no personal data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
}

/// An audit record as the audit log keeps it: what happened, when, on
/// which evidence and under which policies in the clear; whom it concerns
/// (profile and key) sealed under the profile's subject key, and its
/// storage key a pseudonym under that key, so an erasure leaves nothing
/// that names or links to the person ([`crate::subject`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedAudit {
    /// What happened.
    pub kind: AuditKind,
    /// When the evidence happened.
    pub at: Timestamp,
    /// The event that caused it.
    pub evidence_event_id: String,
    /// Policy checks involved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyDecision>,
    /// Free-form details (counts, purposes), no personal data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// `(profile_id, key)`, sealed.
    pub subject: crate::subject::Sealed,
}

impl AuditRecord {
    /// The record as logged under `key` (the profile's subject key), with
    /// its storage key: deterministic while the key lives, so replaying the
    /// same evidence writes the same record.
    ///
    /// # Errors
    /// No randomness for the seal.
    pub fn logged(
        &self,
        key: &crate::subject::SubjectKey,
    ) -> Result<(String, LoggedAudit), crate::subject::SealError> {
        let storage_key = format!(
            "{:013}/{:?}/{}/{}",
            self.at.as_millis().max(0),
            self.kind,
            self.evidence_event_id,
            key.pseudonym(&[&self.profile_id, &self.key])
        );
        let logged = LoggedAudit {
            kind: self.kind,
            at: self.at,
            evidence_event_id: self.evidence_event_id.clone(),
            policies: self.policies.clone(),
            details: self.details.clone(),
            subject: key.seal(&(&self.profile_id, &self.key))?,
        };
        Ok((storage_key, logged))
    }
}

/// The nodes enrich needs for one event, loaded by the function.
#[derive(Debug, Clone, Default)]
pub struct IdentityView {
    /// The event's anonymous node.
    pub anon: Option<AnonNode>,
    /// The event's user node.
    pub user: Option<UserNode>,
    /// Nodes of other users the step may touch (the anonymous key's current owner,
    /// the account's only user), by user id.
    pub others: BTreeMap<String, UserNode>,
    /// The event's account node.
    pub account: Option<AccountNode>,
    /// The key the event's user lets go to make room for this one, with
    /// its node ([`UserNode::to_release`]); its claimants are in `others`.
    pub releasing: Option<(String, AnonNode)>,
    /// Latest erasure time over the event's keys, if any.
    pub erased_at: Option<Timestamp>,
}

/// The result of resolving one event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    /// The profile the event belongs to.
    pub profile_id: String,
    /// The key its feature inputs are kept under.
    pub key: String,
    /// Changed anonymous nodes, by storage key.
    pub anon_writes: BTreeMap<String, AnonNode>,
    /// Changed user nodes, by storage key.
    pub user_writes: BTreeMap<String, UserNode>,
    /// Changed account nodes, by storage key.
    pub account_writes: BTreeMap<String, AccountNode>,
    /// Audit records to append.
    pub audit: Vec<AuditRecord>,
    /// Profiles whose member keys changed, with their members now (empty
    /// for an anonymous profile that merged into a user's).
    pub changed_profiles: BTreeMap<String, Vec<String>>,
}

/// The member keys of a profile given its user node, or the anonymous key alone.
#[must_use]
pub fn members(
    user_id: Option<&str>,
    node: Option<&UserNode>,
    anonymous_id: Option<&str>,
) -> Vec<String> {
    match user_id {
        Some(u) => std::iter::once(user_key(u))
            .chain(
                node.into_iter()
                    .flat_map(|n| n.anonymous.iter().map(|a| anon_key(a))),
            )
            .collect(),
        None => anonymous_id.map(anon_key).into_iter().collect(),
    }
}

/// Resolves one ingested event against the loaded nodes. Pure.
#[must_use]
pub fn resolve(ingested: &Ingested, view: &IdentityView, policy: &Policy) -> Resolution {
    let event = &ingested.event;
    let at = ingested.occurred_at;
    let subject = &event.subject;
    let erased = view.erased_at.is_some_and(|e| at <= e);
    let mut out = Resolution::default();

    let is_link = matches!(event.event_type, EventType::Login | EventType::Signup);
    if let (Some(anon), Some(user), true, false) =
        (&subject.anonymous_id, &subject.user_id, is_link, erased)
    {
        link(&mut out, view, anon, user, ingested, policy);
    }

    // Like the link above, an account claim from before an erasure would
    // re-create the erased user's node: the tombstone keeps it out.
    if let (Some(user), Some(account), false) = (&subject.user_id, &subject.account_id, erased) {
        let mut node = view.user.clone().unwrap_or_default();
        let candidate = (at, event.event_id.clone(), account.clone());
        if node
            .account
            .as_ref()
            .is_none_or(|current| *current < candidate)
        {
            node.account = Some(candidate);
            // A user node may already be pending from a merge; fold into it.
            let entry = out
                .user_writes
                .entry(user_key(user))
                .or_insert(node.clone());
            entry.account.clone_from(&node.account);
        }
        let mut acct = view.account.clone().unwrap_or_default();
        if acct.users.insert(user.clone()) {
            out.account_writes.insert(account_key(account), acct);
        }
    }

    if let (Some(anon), None, Some(account), false) = (
        &subject.anonymous_id,
        &subject.user_id,
        &subject.account_id,
        erased,
    ) {
        probable_link(&mut out, view, anon, account, ingested, policy);
    }

    let owner = match (&subject.user_id, &subject.anonymous_id) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(a)) => out
            .anon_writes
            .get(&anon_key(a))
            .or(view.anon.as_ref())
            .and_then(AnonNode::owner)
            .map(str::to_owned),
        (None, None) => None,
    };
    out.profile_id = match (&owner, &subject.anonymous_id) {
        (Some(u), _) => profile_of_user(u),
        (None, Some(a)) => profile_of_anonymous(a),
        (None, None) => String::new(),
    };
    out.key = match (&subject.user_id, &subject.anonymous_id) {
        (Some(u), _) => user_key(u),
        (None, Some(a)) => anon_key(a),
        (None, None) => String::new(),
    };
    out
}

/// Records `user`'s claim on `anon`. The user's node lists every key they
/// claim, so that their erasure finds it, and keeps at most the policy's
/// number: past it, the least recently claimed key is let go (which may be
/// this one), with an audit record.
fn link(
    out: &mut Resolution,
    view: &IdentityView,
    anon: &str,
    user: &str,
    ingested: &Ingested,
    policy: &Policy,
) {
    let at = ingested.occurred_at;
    let limit = policy.max_anonymous_per_user();
    let user_node = view.user.clone().unwrap_or_default();
    // The key to let go must have been loaded with the view; were it not,
    // the new claim is the one not kept, and the node stays in bounds.
    let release = user_node.to_release(anon, at, limit).map(|r| {
        let loaded = view.releasing.as_ref().is_some_and(|(id, _)| *id == r);
        if loaded { r } else { anon.to_owned() }
    });
    if release.as_deref() == Some(anon) {
        out.audit.push(released(user, anon, ingested, limit));
        return;
    }
    if user_node.claimed.get(anon).is_none_or(|t| *t < at) {
        out.user_writes
            .entry(user_key(user))
            .or_insert(user_node)
            .claimed
            .insert(anon.to_owned(), at);
    }
    if let Some(other) = release {
        let_go(out, view, user, &other, ingested, limit);
    }

    let mut node = view.anon.clone().unwrap_or_default();
    let unchanged = node.clone();
    let before = node.owner().map(str::to_owned);
    node.claims.insert(Claim {
        at,
        event_id: ingested.event.event_id.clone(),
        user_id: user.to_owned(),
    });
    node.keep_bounded(user);
    if node != unchanged {
        let after = node.owner().map(str::to_owned);
        out.anon_writes.insert(anon_key(anon), node);
        if before != after {
            relink(
                out,
                view,
                anon,
                before.as_deref(),
                after.as_deref(),
                ingested,
            );
        }
    } else {
        // A replayed link changes nothing, but the invocation that first
        // made it may have failed before passing it on: name every
        // claimant's profile again so features recomputes them.
        for claimant in node.claims.iter().map(|c| c.user_id.as_str()) {
            let user_node = if ingested.event.subject.user_id.as_deref() == Some(claimant) {
                view.user.as_ref()
            } else {
                view.others.get(claimant)
            };
            out.changed_profiles.insert(
                profile_of_user(claimant),
                members(Some(claimant), user_node, None),
            );
        }
        if node.owner().is_some() {
            out.changed_profiles
                .insert(profile_of_anonymous(anon), Vec::new());
        }
    }
}

/// Lets go of `user`'s claim on `anon` (loaded as [`IdentityView::releasing`]):
/// the claim leaves the key's node and the key the user's list, and if
/// the user owned it, it moves to its next claimant or becomes a profile
/// of its own.
fn let_go(
    out: &mut Resolution,
    view: &IdentityView,
    user: &str,
    anon: &str,
    ingested: &Ingested,
    limit: usize,
) {
    let Some((_, mut node)) = view.releasing.clone().filter(|(id, _)| id == anon) else {
        return;
    };
    let before = node.owner().map(str::to_owned);
    node.claims.retain(|c| c.user_id != user);
    let after = node.owner().map(str::to_owned);
    out.anon_writes.insert(anon_key(anon), node);
    if let Some(entry) = out.user_writes.get_mut(&user_key(user)) {
        entry.claimed.remove(anon);
    }
    if before != after {
        relink(
            out,
            view,
            anon,
            before.as_deref(),
            after.as_deref(),
            ingested,
        );
    }
    out.audit.push(released(user, anon, ingested, limit));
}

/// The audit record of a claim let go for the limit.
fn released(user: &str, anon: &str, ingested: &Ingested, limit: usize) -> AuditRecord {
    AuditRecord {
        kind: AuditKind::Released,
        profile_id: profile_of_user(user),
        key: anon_key(anon),
        evidence_event_id: ingested.event.event_id.clone(),
        at: ingested.occurred_at,
        policies: Vec::new(),
        details: BTreeMap::from([
            ("reason".to_owned(), "anonymous_limit".to_owned()),
            ("limit".to_owned(), limit.to_string()),
        ]),
    }
}

/// Moves an anonymous key from one owner to another, with audit records.
fn relink(
    out: &mut Resolution,
    view: &IdentityView,
    anon: &str,
    before: Option<&str>,
    after: Option<&str>,
    ingested: &Ingested,
) {
    let record = |kind, profile_id: String| AuditRecord {
        kind,
        profile_id,
        key: anon_key(anon),
        evidence_event_id: ingested.event.event_id.clone(),
        at: ingested.occurred_at,
        policies: Vec::new(),
        details: BTreeMap::new(),
    };
    let node_of = |user: &str, out: &Resolution| -> UserNode {
        out.user_writes
            .get(&user_key(user))
            .cloned()
            .unwrap_or_else(|| {
                if ingested.event.subject.user_id.as_deref() == Some(user) {
                    view.user.clone().unwrap_or_default()
                } else {
                    view.others.get(user).cloned().unwrap_or_default()
                }
            })
    };
    match before {
        Some(old) => {
            let mut node = node_of(old, out);
            node.anonymous.remove(anon);
            let now = members(Some(old), Some(&node), None);
            out.changed_profiles.insert(profile_of_user(old), now);
            out.user_writes.insert(user_key(old), node);
            out.audit
                .push(record(AuditKind::Unmerge, profile_of_user(old)));
        }
        None => {
            out.changed_profiles
                .insert(profile_of_anonymous(anon), Vec::new());
        }
    }
    if let Some(new) = after {
        let mut node = node_of(new, out);
        node.anonymous.insert(anon.to_owned());
        let now = members(Some(new), Some(&node), None);
        out.changed_profiles.insert(profile_of_user(new), now);
        out.user_writes.insert(user_key(new), node);
        out.audit
            .push(record(AuditKind::Merge, profile_of_user(new)));
    }
}

/// Records a probabilistic link from an anonymous key to its account's only
/// user, if policy permits it for personalization in the event's region.
fn probable_link(
    out: &mut Resolution,
    view: &IdentityView,
    anon: &str,
    account_id: &str,
    ingested: &Ingested,
    policy: &Policy,
) {
    let Some(account) = &view.account else { return };
    let mut users = account.users.iter();
    let (Some(user), None) = (users.next(), users.next()) else {
        return;
    };
    let decision = policy.link_probabilistic(
        &ingested.event.region,
        Purpose::Personalization,
        ACCOUNT_LINK_CONFIDENCE_PCT,
    );
    if !decision.allowed {
        return;
    }
    let mut node = out
        .anon_writes
        .get(&anon_key(anon))
        .cloned()
        .or_else(|| view.anon.clone())
        .unwrap_or_default();
    let link = ProbableLink {
        user_id: user.clone(),
        confidence_pct: ACCOUNT_LINK_CONFIDENCE_PCT,
        event_id: ingested.event.event_id.clone(),
        at: ingested.occurred_at,
        expires_at: ingested.occurred_at.add_millis(PROBABLE_LINK_TTL_MS),
        purpose: Purpose::Personalization,
    };
    if node.probable.get(user).is_some_and(|l| l.at >= link.at) {
        return;
    }
    let mut acct = out
        .account_writes
        .get(&account_key(account_id))
        .cloned()
        .unwrap_or_else(|| account.clone());
    if !acct.probable.contains(anon) {
        if acct.probable.len() >= MAX_REFERENCES {
            return;
        }
        acct.probable.insert(anon.to_owned());
        out.account_writes.insert(account_key(account_id), acct);
    }
    node.probable.insert(user.clone(), link);
    out.anon_writes.insert(anon_key(anon), node);
    out.audit.push(AuditRecord {
        kind: AuditKind::ProbableLink,
        profile_id: profile_of_user(user),
        key: anon_key(anon),
        evidence_event_id: ingested.event.event_id.clone(),
        at: ingested.occurred_at,
        policies: vec![decision],
        details: BTreeMap::from([(
            "confidence_pct".to_owned(),
            ACCOUNT_LINK_CONFIDENCE_PCT.to_string(),
        )]),
    });
}

/// The id forms a request may name a person by.
pub const ID_FORMS: &str = "`user:…`, `anon:…` or a profile id `p_…`";

/// Whether `id` has one of the forms a request may name a person by
/// ([`ID_FORMS`]). Anything else — a bare string, an account, which names
/// several people — is refused: consent belongs to a person, and a
/// request that names none cannot be checked against theirs.
#[must_use]
pub fn is_person_id(id: &str) -> bool {
    if let Some(digest) = id.strip_prefix("p_") {
        return !digest.is_empty() && digest.bytes().all(|b| b.is_ascii_alphanumeric());
    }
    ["user:", "anon:"]
        .iter()
        .any(|prefix| id.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty()))
}
