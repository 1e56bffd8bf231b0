//! One simulated person and the events they cause.

use std::net::IpAddr;

use tailor_core::Timestamp;
use tailor_core::event::{
    AddToCart, Checkout, ConsentAction, ConsentChange, ConsentClaim, ConsentSource, ContentView,
    Context, Event, Login, LoginMethod, Outcome, OutcomeKind, Properties, Purpose, Search,
    Severity, Signup, SignupMethod, Source, SourceKind, Subject, SubscriptionChange,
    SubscriptionChangeKind, SupportChannel, SupportEscalation,
};

use super::Rng;

const REGIONS: [(&str, f64); 5] = [
    ("eu", 0.42),
    ("us", 0.34),
    ("apac", 0.13),
    ("uk", 0.08),
    ("br", 0.03),
];
const CATEGORIES: [&str; 6] = [
    "shoes",
    "outerwear",
    "bags",
    "running",
    "accessories",
    "kids",
];
const TOPICS: [&str; 5] = ["guides", "news", "lookbook", "care", "sizing"];
const QUERIES: [&str; 10] = [
    "trail shoes",
    "rain jacket",
    "leather bag",
    "running socks",
    "winter boots",
    "gift card",
    "kids sneakers",
    "waterproof",
    "size guide",
    "sale",
];
const PLANS: [&str; 3] = ["basic", "plus", "pro"];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
];

/// A simulated person: who they are, how they behave, what they consent to.
pub(super) struct Person {
    index: u32,
    region: &'static str,
    /// Latent purchase intent in [0, 1].
    intent: f64,
    user_id: Option<String>,
    signs_up: bool,
    anonymous_ids: Vec<String>,
    account_id: Option<String>,
    device: SourceKind,
    clock_offset_ms: i64,
    purposes: Vec<Purpose>,
    ip: IpAddr,
}

impl Person {
    pub(super) fn new(index: u32, rng: &mut Rng) -> Self {
        let mut r = rng.unit();
        let region = REGIONS
            .iter()
            .find(|(_, w)| {
                r -= w;
                r < 0.0
            })
            .map_or("eu", |(n, _)| n);
        let intent = rng.unit().powf(1.6);
        let registered = rng.chance(0.4);
        let device = *rng.pick(&[
            SourceKind::Web,
            SourceKind::Web,
            SourceKind::Ios,
            SourceKind::Android,
        ]);
        let clock_offset_ms = if device != SourceKind::Web && rng.chance(0.1) {
            rng.range_i(-2 * Timestamp::HOUR, 2 * Timestamp::HOUR)
        } else {
            0
        };
        let mut purposes = Vec::new();
        if rng.chance(0.985) {
            purposes.push(Purpose::Analytics);
            if rng.chance(0.78) {
                purposes.push(Purpose::Personalization);
            }
        }
        if rng.chance(0.4) {
            purposes.push(Purpose::Marketing);
        }
        let devices = if rng.chance(0.25) { 2 } else { 1 };
        let ip = if rng.chance(0.7) {
            IpAddr::from([203, 0, 113, u8::try_from(rng.range(1, 254)).unwrap_or(1)])
        } else {
            IpAddr::from([
                0x2001,
                0xdb8,
                u16::try_from(rng.range(0, 0xffff)).unwrap_or(0),
                0,
                0,
                0,
                0,
                1,
            ])
        };
        Self {
            index,
            region,
            intent,
            user_id: registered.then(|| format!("u-{index:06}")),
            signs_up: !registered && rng.chance(0.15 + 0.5 * intent),
            anonymous_ids: (0..devices).map(|_| format!("a-{}", rng.hex(8))).collect(),
            account_id: (registered && rng.chance(0.3)).then(|| format!("acct-{:04}", index / 3)),
            device,
            clock_offset_ms,
            purposes,
            ip,
        }
    }

    fn base(
        &self,
        rng: &mut Rng,
        at: Timestamp,
        anon: &str,
        user: Option<&str>,
        session: &str,
        properties: Properties,
    ) -> Event {
        // Most clients send within seconds; mobile batches; a few send hours late.
        let delay = if rng.chance(0.02) {
            rng.range_i(7 * Timestamp::HOUR, 30 * Timestamp::HOUR)
        } else if self.device == SourceKind::Web {
            rng.range_i(50, 1_500)
        } else {
            rng.range_i(1_000, 5 * Timestamp::MINUTE)
        };
        let kind = properties.event_type();
        let occurred = at.add_millis(self.clock_offset_ms);
        Event {
            event_id: format!("evt-{}", rng.hex(10)),
            event_type: kind,
            schema_version: "1.0".into(),
            occurred_at: occurred,
            sent_at: Some(occurred.add_millis(delay)),
            subject: Subject {
                anonymous_id: Some(anon.to_owned()),
                user_id: user.map(str::to_owned),
                account_id: user.and(self.account_id.clone()),
                session_id: Some(session.to_owned()),
            },
            region: self.region.to_owned(),
            consent: ConsentClaim {
                purposes: self.purposes.clone(),
                cmp_version: "cmp-2026.3".into(),
            },
            source: Source {
                kind: self.device,
                name: if self.device == SourceKind::Web {
                    "shop-web".into()
                } else {
                    "shop-app".into()
                },
                version: Some("4.2.0".into()),
            },
            context: Some(Context {
                ip: Some(self.ip),
                user_agent: Some((*rng.pick(&AGENTS)).to_owned()),
                locale: Some(if self.region == "us" {
                    "en-US".into()
                } else {
                    "en-GB".into()
                }),
                page_url: Some(format!(
                    "https://shop.example.com/{}?ref=mail&uid={}",
                    kind, self.index
                )),
                referrer: None,
            }),
            properties,
        }
    }

    /// Every event this person causes between `start` and `end`, in time order.
    pub(super) fn events(mut self, start: Timestamp, end: Timestamp, rng: &mut Rng) -> Vec<Event> {
        let span = end.millis_since(start).max(1);
        let days = span as f64 / Timestamp::DAY as f64;
        let sessions = rng
            .poisson((0.3 + 1.6 * self.intent) * days / 7.0 * 2.0)
            .max(1);
        let mut times: Vec<i64> = (0..sessions)
            .map(|_| rng.range_i(0, span - Timestamp::HOUR))
            .collect();
        times.sort_unstable();
        let signup_at = self.signs_up.then(|| rng.range(0, sessions - 1));
        // Consent changes happen at a random moment in the period.
        let revoke_at = (self.purposes.contains(&Purpose::Personalization) && rng.chance(0.05))
            .then(|| start.add_millis(rng.range_i(0, span)));
        let erase_at = rng
            .chance(0.01)
            .then(|| start.add_millis(rng.range_i(span / 2, span)));
        let grant_at = (!self.purposes.contains(&Purpose::Personalization) && rng.chance(0.04))
            .then(|| start.add_millis(rng.range_i(0, span)));
        let mut out = Vec::new();
        let mut changes: Vec<(Timestamp, ConsentAction, Vec<Purpose>)> = Vec::new();
        changes
            .extend(revoke_at.map(|t| (t, ConsentAction::Revoke, vec![Purpose::Personalization])));
        changes.extend(grant_at.map(|t| (t, ConsentAction::Grant, vec![Purpose::Personalization])));
        changes.extend(erase_at.map(|t| (t, ConsentAction::Erase, Vec::new())));
        changes.sort_by_key(|c| c.0);
        let mut pending = changes.into_iter().peekable();
        let mut subscribed = false;

        for (n, offset) in times.into_iter().enumerate() {
            let at0 = start.add_millis(offset);
            // Apply consent changes that happened before this session.
            while let Some((t, action, purposes)) = pending.next_if(|c| c.0 <= at0) {
                if let Some(e) = self.consent_change(rng, t, action, &purposes) {
                    out.push(e);
                }
                if action == ConsentAction::Erase {
                    return out;
                }
            }
            let anon = rng.pick(&self.anonymous_ids).clone();
            let session = format!("s-{}", rng.hex(6));
            let mut at = at0;
            let mut step = |rng: &mut Rng| {
                at = at.add_millis(rng.range_i(5_000, 4 * Timestamp::MINUTE));
                at
            };
            if signup_at == Some(n as u64) && self.user_id.is_none() {
                let user = format!("u-{:06}", self.index);
                let props = Properties::Signup(Signup {
                    method: SignupMethod::Email,
                    email: Some(format!("person{}@example.com", self.index)),
                    plan: None,
                    referral_code: None,
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, Some(&user), &session, props));
                self.user_id = Some(user);
            } else if self.user_id.is_some() && rng.chance(0.6) {
                let props = Properties::Login(Login {
                    method: *rng.pick(&[
                        LoginMethod::Password,
                        LoginMethod::Google,
                        LoginMethod::MagicLink,
                    ]),
                });
                let t = step(rng);
                let user = self.user_id.clone();
                out.push(self.base(rng, t, &anon, user.as_deref(), &session, props));
            }
            let user = self.user_id.clone();
            let user = user.as_deref();
            let views = rng.poisson(1.0 + 5.0 * self.intent);
            for _ in 0..views {
                let props = Properties::ContentView(ContentView {
                    content_id: format!("c-{:04}", rng.range(1, 400)),
                    category: (*rng.pick(&TOPICS)).to_owned(),
                    duration_ms: Some(u32::try_from(rng.range(2_000, 240_000)).unwrap_or(0)),
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, user, &session, props));
            }
            for _ in 0..rng.poisson(0.4 + 1.5 * self.intent) {
                let props = Properties::Search(Search {
                    query: (*rng.pick(&QUERIES)).to_owned(),
                    results: Some(u32::try_from(rng.range(0, 120)).unwrap_or(0)),
                    category: Some((*rng.pick(&CATEGORIES)).to_owned()),
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, user, &session, props));
            }
            let cart = format!("cart-{}", rng.hex(5));
            let mut items = 0u32;
            let mut total = 0.0;
            for _ in 0..rng.poisson(2.2 * self.intent * self.intent + 0.1) {
                let quantity = u32::try_from(rng.range(1, 3)).unwrap_or(1);
                let unit_price = (rng.range(500, 25_000) as f64) / 100.0;
                items += quantity;
                total += f64::from(quantity) * unit_price;
                let props = Properties::AddToCart(AddToCart {
                    cart_id: cart.clone(),
                    product_id: format!("P-{:04}", rng.range(1, 250)),
                    quantity,
                    unit_price,
                    currency: "EUR".into(),
                    category: Some((*rng.pick(&CATEGORIES)).to_owned()),
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, user, &session, props));
            }
            if items > 0 && rng.chance(0.1 + 0.75 * self.intent) {
                let props = Properties::Checkout(Checkout {
                    order_id: format!("o-{}", rng.hex(6)),
                    cart_id: Some(cart),
                    total: (total * 100.0).round() / 100.0,
                    currency: "EUR".into(),
                    items,
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, user, &session, props));
                if rng.chance(0.05) {
                    let props = Properties::Outcome(Outcome {
                        decision_id: format!("dec-{}", rng.hex(6)),
                        kind: OutcomeKind::Convert,
                        placement: Some("offer".into()),
                        action: Some("free_shipping".into()),
                        value: Some((total * 100.0).round() / 100.0),
                    });
                    let t = step(rng);
                    out.push(self.base(rng, t, &anon, user, &session, props));
                }
            }
            if user.is_some() && !subscribed && rng.chance(0.08 + 0.2 * self.intent) {
                subscribed = true;
                let props = Properties::SubscriptionChange(SubscriptionChange {
                    plan: (*rng.pick(&PLANS)).to_owned(),
                    change: SubscriptionChangeKind::Start,
                    mrr: Some(9.0 * rng.range(1, 4) as f64),
                    currency: Some("EUR".into()),
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, user, &session, props));
            } else if subscribed && rng.chance(0.04) {
                subscribed = false;
                let props = Properties::SubscriptionChange(SubscriptionChange {
                    plan: "basic".into(),
                    change: SubscriptionChangeKind::Cancel,
                    mrr: Some(0.0),
                    currency: Some("EUR".into()),
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, user, &session, props));
            }
            if rng.chance(0.02 + 0.03 * (1.0 - self.intent)) {
                let props = Properties::SupportEscalation(SupportEscalation {
                    ticket_id: format!("T-{}", rng.range(10_000, 99_999)),
                    severity: *rng.pick(&[
                        Severity::Low,
                        Severity::Medium,
                        Severity::High,
                        Severity::Critical,
                    ]),
                    channel: *rng.pick(&[
                        SupportChannel::Email,
                        SupportChannel::Chat,
                        SupportChannel::Phone,
                    ]),
                    reason: Some(format!(
                        "Order problem, call me on +44 7700 900{:03}",
                        self.index % 1000
                    )),
                });
                let t = step(rng);
                out.push(self.base(rng, t, &anon, user, &session, props));
            }
        }
        for (t, action, purposes) in pending {
            if t <= end
                && let Some(e) = self.consent_change(rng, t, action, &purposes)
            {
                out.push(e);
            }
        }
        out
    }

    /// A consent change event, applied to the person's own consent state.
    fn consent_change(
        &mut self,
        rng: &mut Rng,
        at: Timestamp,
        action: ConsentAction,
        purposes: &[Purpose],
    ) -> Option<Event> {
        let anon = self.anonymous_ids.first()?.clone();
        let user = self.user_id.clone();
        let props = Properties::ConsentChange(ConsentChange {
            action,
            purposes: purposes.to_vec(),
            source: if user.is_some() {
                ConsentSource::Settings
            } else {
                ConsentSource::Cmp
            },
            policy_version: "privacy-2026-09".into(),
        });
        let event = self.base(rng, at, &anon, user.as_deref(), "s-consent", props);
        match action {
            ConsentAction::Grant => {
                for p in purposes {
                    if !self.purposes.contains(p) {
                        self.purposes.push(*p);
                    }
                }
            }
            ConsentAction::Revoke => self.purposes.retain(|p| !purposes.contains(p)),
            ConsentAction::Erase => self.purposes.clear(),
        }
        Some(event)
    }
}

/// Breaks a valid record the way producers do.
pub(super) fn corrupt(bytes: &[u8], rng: &mut Rng) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    match rng.range(0, 6) {
        0 => text.replacen("\"event_id\"", "\"eventId\"", 1).into_bytes(),
        1 => text
            .replacen(
                "\"schema_version\":\"1.0\"",
                "\"schema_version\":\"2.0\"",
                1,
            )
            .into_bytes(),
        2 => {
            let cut = text.len() / 2;
            text.as_bytes()[..cut].to_vec()
        }
        3 => format!("{text} trailing").into_bytes(),
        4 => {
            let mut b = bytes.to_vec();
            if let Some(pos) = b.iter().position(|c| *c == b'e') {
                b[pos] = 0xff;
            }
            b
        }
        5 => text
            .replacen("\"occurred_at\":\"", "\"occurred_at\":\"yesterday ", 1)
            .into_bytes(),
        _ => text
            .replacen("\"region\":\"", "\"region\":\"EU!", 1)
            .into_bytes(),
    }
}
