//! Policy answers remembered across decisions.

use crate::event::Purpose;
use crate::policy::Policy;

/// Policy answers for decisions, remembered: each depends only on its
/// arguments, so a long-lived function evaluates each combination once.
/// Bounded: the memo is emptied when it holds [`PolicyMemo::CAPACITY`] answers.
pub struct PolicyMemo<'p> {
    policy: &'p Policy,
    memo: std::sync::Mutex<std::collections::HashMap<String, crate::policy::PolicyDecision>>,
}

impl std::fmt::Debug for PolicyMemo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyMemo").finish_non_exhaustive()
    }
}

impl<'p> PolicyMemo<'p> {
    /// Most answers kept.
    pub const CAPACITY: usize = 100_000;

    /// An empty memo over `policy`.
    #[must_use]
    pub fn new(policy: &'p Policy) -> Self {
        Self {
            policy,
            memo: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn remember(
        &self,
        key: String,
        answer: impl FnOnce() -> crate::policy::PolicyDecision,
    ) -> crate::policy::PolicyDecision {
        if let Ok(memo) = self.memo.lock()
            && let Some(found) = memo.get(&key)
        {
            return found.clone();
        }
        let decision = answer();
        // Errors are not remembered: each evaluation gets its own chance.
        if decision.errors.is_empty()
            && let Ok(mut memo) = self.memo.lock()
        {
            if memo.len() >= Self::CAPACITY {
                memo.clear();
            }
            memo.insert(key, decision.clone());
        }
        decision
    }

    pub(super) fn decide(
        &self,
        purpose: Purpose,
        granted: &[Purpose],
        blocked: &[Purpose],
        region: &str,
        adult: bool,
    ) -> crate::policy::PolicyDecision {
        let key = format!("decide|{purpose}|{granted:?}|{blocked:?}|{region}|{adult}");
        self.remember(key, || {
            self.policy.decide(purpose, granted, blocked, region, adult)
        })
    }

    pub(super) fn serve_model(
        &self,
        model: &str,
        purpose: Purpose,
        approved: &[String],
    ) -> crate::policy::PolicyDecision {
        self.remember(format!("serve|{model}|{purpose}|{approved:?}"), || {
            self.policy.serve_model(model, purpose, approved)
        })
    }

    pub(super) fn use_feature(
        &self,
        purpose: Purpose,
        feature: &str,
    ) -> crate::policy::PolicyDecision {
        self.remember(format!("use|{purpose}|{feature}"), || {
            self.policy.use_feature(purpose, feature)
        })
    }

    pub(super) fn show(
        &self,
        purpose: Purpose,
        offer: &str,
        severity: i64,
        cart_items: i64,
    ) -> crate::policy::PolicyDecision {
        let key = format!("show|{purpose}|{offer}|{severity}|{cart_items}");
        self.remember(key, || {
            self.policy.show(purpose, offer, severity, cart_items)
        })
    }
}
