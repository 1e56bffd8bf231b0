//! Who may call which route.
//!
//! Callers present an API key as `Authorization: Bearer <key>`. Keys are
//! configured by their SHA-256 digest, never in the clear, each with the
//! scopes it grants; a presented key is hashed and compared with every
//! configured digest in constant time. Every route needs a key; each route
//! but `/healthz` needs its scope:
//!
//! | route | scope |
//! | --- | --- |
//! | `POST /v1/events` | `events:write` |
//! | `POST /v1/consent` | `consent:write` |
//! | `GET /v1/profiles/{id}` | `profiles:read` |
//! | `POST /v1/decide` | `decide` |
//! | `GET /v1/decisions/{id}` | `decisions:read` |
//!
//! A browser on another origin cannot drive the API: a request whose
//! `Origin` is not one configuration allows, or that the browser marks as
//! `Sec-Fetch-Site: cross-site`, is refused (403) before anything else, and
//! bodies must be JSON or JSON Lines (415 otherwise), which a cross-site
//! "simple" request cannot send without a preflight.
//!
//! Where the platform authenticates every request itself (a Lambda Function
//! URL with IAM auth), [`Access::platform`] trusts it; a development server
//! on loopback may run [`Access::open`], and says so when it starts.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Send events.
    EventsWrite,
    /// Record consent changes (grants, revocations, erasures).
    ConsentWrite,
    /// Ask for decisions.
    Decide,
    /// Read profiles.
    ProfilesRead,
    /// Read logged decisions.
    DecisionsRead,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Self; 5] = [
        Self::EventsWrite,
        Self::ConsentWrite,
        Self::Decide,
        Self::ProfilesRead,
        Self::DecisionsRead,
    ];

    /// The scope's name in configuration.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EventsWrite => "events:write",
            Self::ConsentWrite => "consent:write",
            Self::Decide => "decide",
            Self::ProfilesRead => "profiles:read",
            Self::DecisionsRead => "decisions:read",
        }
    }

    /// The scope named `name`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A configured key: its name, its SHA-256 digest, its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// A name for logs (never the key).
    pub name: String,
    digest: [u8; 32],
    /// What it may do.
    pub scopes: BTreeSet<Scope>,
}

/// Why a key configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("API key line {line}: {reason}")]
pub struct KeyConfigError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The SHA-256 digest of a key, as configuration holds it (lowercase hex).
#[must_use]
pub fn digest_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl ApiKey {
    /// A key named `name` whose SHA-256 digest is `digest_hex`, with `scopes`.
    ///
    /// # Errors
    /// The digest is not 64 hex digits.
    pub fn new(name: &str, digest_hex: &str, scopes: BTreeSet<Scope>) -> Result<Self, String> {
        Ok(Self {
            name: name.to_owned(),
            digest: parse_digest(digest_hex)
                .ok_or_else(|| "the digest must be 64 hex digits (SHA-256)".to_owned())?,
            scopes,
        })
    }

    /// Reads keys, one per line: `name sha256-hex scope,scope,…` (blank
    /// lines and `#` comments ignored).
    ///
    /// # Errors
    /// A line that is not a key, with its number.
    pub fn parse_all(text: &str) -> Result<Vec<Self>, KeyConfigError> {
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |reason: String| KeyConfigError {
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, digest, scopes] = fields.as_slice() else {
                return Err(error("expected `name sha256-hex scope,scope,…`".into()));
            };
            let scopes = scopes
                .split(',')
                .map(|s| Scope::parse(s).ok_or_else(|| error(format!("unknown scope {s:?}"))))
                .collect::<Result<BTreeSet<_>, _>>()?;
            keys.push(Self::new(name, digest, scopes).map_err(error)?);
        }
        Ok(keys)
    }
}

/// Compares two digests in time independent of where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Keys(Vec<ApiKey>),
    Platform,
    Open,
}

/// How the API authenticates callers, and which browser origins it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    mode: Mode,
    origins: BTreeSet<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No key, or one that is not configured (401).
    Unauthenticated,
    /// A key without the route's scope, or a cross-site browser request (403).
    Forbidden,
}

impl Access {
    /// Callers need one of `keys`.
    #[must_use]
    pub fn keys(keys: Vec<ApiKey>) -> Self {
        Self {
            mode: Mode::Keys(keys),
            origins: BTreeSet::new(),
        }
    }

    /// The platform has authenticated every request (IAM in front).
    #[must_use]
    pub fn platform() -> Self {
        Self {
            mode: Mode::Platform,
            origins: BTreeSet::new(),
        }
    }

    /// No keys: for a development server on loopback only.
    #[must_use]
    pub fn open() -> Self {
        Self {
            mode: Mode::Open,
            origins: BTreeSet::new(),
        }
    }

    /// Also serves browsers on `origins` (exact `scheme://host[:port]`).
    #[must_use]
    pub fn with_origins(mut self, origins: impl IntoIterator<Item = String>) -> Self {
        self.origins.extend(origins);
        self
    }

    /// Whether requests need no key at all.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.mode == Mode::Open
    }

    /// Checks a request's headers for `scope` (`None`: any key will do).
    ///
    /// # Errors
    /// The [`Refusal`].
    pub fn check(&self, headers: &http::HeaderMap, scope: Option<Scope>) -> Result<(), Refusal> {
        self.authenticate(headers)?.allows(scope)
    }

    /// Who is calling: refuses a cross-site browser request and a missing
    /// or unknown key. Each presented key is hashed once, here.
    ///
    /// # Errors
    /// The [`Refusal`].
    pub fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller<'_>, Refusal> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if header("sec-fetch-site") == Some("cross-site") {
            return Err(Refusal::Forbidden);
        }
        if let Some(origin) = header("origin")
            && !self.origins.contains(origin)
        {
            return Err(Refusal::Forbidden);
        }
        let keys = match &self.mode {
            Mode::Open | Mode::Platform => return Ok(Caller(None)),
            Mode::Keys(keys) => keys,
        };
        let presented = header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|k| Sha256::digest(k.trim().as_bytes()));
        let Some(presented) = presented else {
            return Err(Refusal::Unauthenticated);
        };
        let presented: [u8; 32] = presented.into();
        // Every digest is compared, so the time taken does not tell which matched.
        let mut found: Option<&ApiKey> = None;
        for key in keys {
            if same(&key.digest, &presented) {
                found = Some(key);
            }
        }
        found
            .map(|k| Caller(Some(k)))
            .ok_or(Refusal::Unauthenticated)
    }
}

/// An authenticated caller: the key it presented, or none where the
/// platform authenticates (or a loopback server runs open).
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a>(Option<&'a ApiKey>);

impl Caller<'_> {
    /// Whether the caller may use `scope` (`None`: any caller may).
    ///
    /// # Errors
    /// [`Refusal::Forbidden`] for a key without the scope.
    pub fn allows(self, scope: Option<Scope>) -> Result<(), Refusal> {
        match (self.0, scope) {
            (None, _) | (Some(_), None) => Ok(()),
            (Some(key), Some(scope)) if key.scopes.contains(&scope) => Ok(()),
            (Some(_), Some(_)) => Err(Refusal::Forbidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn access() -> Access {
        let config = format!(
            "# writers\nwriter {} events:write,consent:write\nreader {} profiles:read\n",
            digest_hex("secret-writer"),
            digest_hex("secret-reader")
        );
        Access::keys(ApiKey::parse_all(&config).unwrap())
    }

    #[test]
    fn a_key_grants_exactly_its_scopes() {
        let a = access();
        let writer = headers(&[("authorization", "Bearer secret-writer")]);
        assert_eq!(a.check(&writer, Some(Scope::EventsWrite)), Ok(()));
        assert_eq!(
            a.check(&writer, Some(Scope::ProfilesRead)),
            Err(Refusal::Forbidden)
        );
        assert_eq!(a.check(&writer, None), Ok(()));
        let wrong = headers(&[("authorization", "Bearer secret-writer2")]);
        assert_eq!(a.check(&wrong, None), Err(Refusal::Unauthenticated));
        assert_eq!(
            a.check(&headers(&[]), Some(Scope::EventsWrite)),
            Err(Refusal::Unauthenticated)
        );
        let basic = headers(&[("authorization", "Basic c2VjcmV0")]);
        assert_eq!(a.check(&basic, None), Err(Refusal::Unauthenticated));
    }

    #[test]
    fn browsers_on_other_origins_are_refused_even_with_a_key() {
        let a = access().with_origins(["https://shop.example".to_owned()]);
        let key = ("authorization", "Bearer secret-writer");
        let foreign = headers(&[key, ("origin", "https://evil.example")]);
        assert_eq!(
            a.check(&foreign, Some(Scope::EventsWrite)),
            Err(Refusal::Forbidden)
        );
        let allowed = headers(&[key, ("origin", "https://shop.example")]);
        assert_eq!(a.check(&allowed, Some(Scope::EventsWrite)), Ok(()));
        let fetch = headers(&[key, ("sec-fetch-site", "cross-site")]);
        assert_eq!(a.check(&fetch, None), Err(Refusal::Forbidden));
        assert_eq!(
            Access::open().check(&headers(&[("origin", "https://evil.example")]), None),
            Err(Refusal::Forbidden),
            "open mode still refuses other origins"
        );
    }

    #[test]
    fn bad_key_lines_are_named() {
        let err = ApiKey::parse_all("a b").unwrap_err();
        assert_eq!(err.line, 1);
        let err = ApiKey::parse_all(&format!("\nk {} decide,admin", digest_hex("x"))).unwrap_err();
        assert_eq!(
            (err.line, err.reason.as_str()),
            (2, "unknown scope \"admin\"")
        );
        let err = ApiKey::parse_all("k abc decide").unwrap_err();
        assert!(err.reason.contains("64 hex digits"), "{err}");
    }
}
