//! The contract's value rules (lengths, patterns, ranges), checked on a typed [`Event`].
//!
//! Lengths count characters, as JSON Schema's `minLength`/`maxLength` do.

use std::collections::BTreeSet;

use super::error::ContractError;
use super::properties::ConsentAction;
use super::{Context, Event, Properties, Subject};

type Check = Result<(), ContractError>;

fn len(pointer: &str, value: &str, min: usize, max: usize) -> Check {
    let n = value.chars().count();
    if n < min {
        return Err(ContractError::new(
            pointer,
            format!("shorter than {min} characters"),
        ));
    }
    if n > max {
        return Err(ContractError::new(
            pointer,
            format!("longer than {max} characters"),
        ));
    }
    Ok(())
}

fn opt_len(pointer: &str, value: Option<&String>, min: usize, max: usize) -> Check {
    value.map_or(Ok(()), |v| len(pointer, v, min, max))
}

/// `^[A-Za-z0-9][A-Za-z0-9._:-]*$`
fn id(pointer: &str, value: &str, min: usize) -> Check {
    len(pointer, value, min, 128)?;
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(ContractError::new(
            pointer,
            "not an id (letters, digits, '.', '_', ':', '-')",
        ))
    }
}

fn opt_id(pointer: &str, value: Option<&String>) -> Check {
    value.map_or(Ok(()), |v| id(pointer, v, 1))
}

fn range(pointer: &str, value: f64, min: f64, max: f64) -> Check {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ContractError::new(
            pointer,
            format!("outside {min}..={max}"),
        ))
    }
}

fn int_range(pointer: &str, value: u32, min: u32, max: u32) -> Check {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ContractError::new(
            pointer,
            format!("outside {min}..={max}"),
        ))
    }
}

/// `^[A-Z]{3}$`
fn currency(pointer: &str, value: &str) -> Check {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(ContractError::new(pointer, "not an ISO 4217 currency code"))
    }
}

/// `^1\.[0-9]{1,3}$`
fn schema_version(value: &str) -> Check {
    let ok = value.strip_prefix("1.").is_some_and(|minor| {
        (1..=3).contains(&minor.len()) && minor.bytes().all(|b| b.is_ascii_digit())
    });
    if ok {
        Ok(())
    } else {
        Err(ContractError::new("/schema_version", "not a 1.x version"))
    }
}

/// `^[a-z]{2,4}(-[a-z0-9]{1,8})?$`
fn region(value: &str) -> Check {
    let (head, tail) = match value.split_once('-') {
        Some((h, t)) => (h, Some(t)),
        None => (value, None),
    };
    let head_ok = (2..=4).contains(&head.len()) && head.bytes().all(|b| b.is_ascii_lowercase());
    let tail_ok = tail.is_none_or(|t| {
        (1..=8).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if head_ok && tail_ok {
        Ok(())
    } else {
        Err(ContractError::new("/region", "not a region code"))
    }
}

/// `^[a-z]{2}(-[A-Z]{2})?$`
fn locale(value: &str) -> Check {
    let b = value.as_bytes();
    let lang = b.len() >= 2 && b[..2].iter().all(u8::is_ascii_lowercase);
    let ok = match b.len() {
        2 => lang,
        5 => lang && b[2] == b'-' && b[3..].iter().all(u8::is_ascii_uppercase),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ContractError::new("/context/locale", "not a locale"))
    }
}

/// A deliberately plain reading of the `email` format: one `@` between a
/// non-empty local part and a dotted domain, no spaces.
fn email(value: &str) -> Check {
    let ok = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && local.len() <= 64
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.contains(char::is_whitespace)
    });
    if ok {
        len("/properties/email", value, 1, 254)
    } else {
        Err(ContractError::new(
            "/properties/email",
            "not an email address",
        ))
    }
}

fn unique<T: Ord + Copy>(pointer: &str, items: &[T]) -> Check {
    let set: BTreeSet<T> = items.iter().copied().collect();
    if set.len() == items.len() {
        Ok(())
    } else {
        Err(ContractError::new(pointer, "items not unique"))
    }
}

fn subject(s: &Subject) -> Check {
    if s.anonymous_id.is_none() && s.user_id.is_none() {
        return Err(ContractError::new(
            "/subject",
            "needs anonymous_id or user_id",
        ));
    }
    opt_id("/subject/anonymous_id", s.anonymous_id.as_ref())?;
    opt_id("/subject/user_id", s.user_id.as_ref())?;
    opt_id("/subject/account_id", s.account_id.as_ref())?;
    opt_id("/subject/session_id", s.session_id.as_ref())
}

fn context(c: &Context) -> Check {
    opt_len("/context/user_agent", c.user_agent.as_ref(), 0, 512)?;
    if let Some(l) = &c.locale {
        locale(l)?;
    }
    opt_len("/context/page_url", c.page_url.as_ref(), 1, 2048)?;
    opt_len("/context/referrer", c.referrer.as_ref(), 1, 2048)
}

fn properties(p: &Properties) -> Check {
    const MONEY: f64 = 10_000_000.0;
    match p {
        Properties::Signup(s) => {
            if let Some(e) = &s.email {
                email(e)?;
            }
            opt_len("/properties/plan", s.plan.as_ref(), 1, 64)?;
            opt_len("/properties/referral_code", s.referral_code.as_ref(), 1, 64)
        }
        Properties::Login(_) => Ok(()),
        Properties::AddToCart(a) => {
            id("/properties/cart_id", &a.cart_id, 1)?;
            id("/properties/product_id", &a.product_id, 1)?;
            int_range("/properties/quantity", a.quantity, 1, 1000)?;
            range("/properties/unit_price", a.unit_price, 0.0, MONEY)?;
            currency("/properties/currency", &a.currency)?;
            opt_len("/properties/category", a.category.as_ref(), 1, 64)
        }
        Properties::Search(s) => {
            len("/properties/query", &s.query, 1, 256)?;
            if let Some(r) = s.results {
                int_range("/properties/results", r, 0, 1_000_000)?;
            }
            opt_len("/properties/category", s.category.as_ref(), 1, 64)
        }
        Properties::SubscriptionChange(s) => {
            len("/properties/plan", &s.plan, 1, 64)?;
            if let Some(m) = s.mrr {
                range("/properties/mrr", m, 0.0, MONEY)?;
            }
            s.currency
                .as_ref()
                .map_or(Ok(()), |c| currency("/properties/currency", c))
        }
        Properties::ContentView(c) => {
            id("/properties/content_id", &c.content_id, 1)?;
            len("/properties/category", &c.category, 1, 64)?;
            c.duration_ms.map_or(Ok(()), |d| {
                int_range("/properties/duration_ms", d, 0, 86_400_000)
            })
        }
        Properties::SupportEscalation(s) => {
            id("/properties/ticket_id", &s.ticket_id, 1)?;
            opt_len("/properties/reason", s.reason.as_ref(), 0, 1024)
        }
        Properties::Checkout(c) => {
            id("/properties/order_id", &c.order_id, 1)?;
            opt_id("/properties/cart_id", c.cart_id.as_ref())?;
            range("/properties/total", c.total, 0.0, MONEY)?;
            currency("/properties/currency", &c.currency)?;
            int_range("/properties/items", c.items, 1, 10_000)
        }
        Properties::ConsentChange(c) => {
            unique("/properties/purposes", &c.purposes)?;
            if c.action != ConsentAction::Erase && c.purposes.is_empty() {
                return Err(ContractError::new(
                    "/properties/purposes",
                    "grant and revoke need a purpose",
                ));
            }
            len("/properties/policy_version", &c.policy_version, 1, 32)
        }
        Properties::Outcome(o) => {
            id("/properties/decision_id", &o.decision_id, 1)?;
            opt_len("/properties/placement", o.placement.as_ref(), 1, 64)?;
            opt_len("/properties/action", o.action.as_ref(), 1, 64)?;
            o.value
                .map_or(Ok(()), |v| range("/properties/value", v, 0.0, MONEY))
        }
    }
}

/// Checks every value rule of the contract.
pub(super) fn event(e: &Event) -> Check {
    id("/event_id", &e.event_id, 8)?;
    if e.properties.event_type() != e.event_type {
        return Err(ContractError::new(
            "/properties",
            "does not match event_type",
        ));
    }
    schema_version(&e.schema_version)?;
    subject(&e.subject)?;
    region(&e.region)?;
    unique("/consent/purposes", &e.consent.purposes)?;
    len("/consent/cmp_version", &e.consent.cmp_version, 1, 64)?;
    len("/source/name", &e.source.name, 1, 64)?;
    opt_len("/source/version", e.source.version.as_ref(), 1, 32)?;
    if let Some(c) = &e.context {
        context(c)?;
    }
    properties(&e.properties)
}
