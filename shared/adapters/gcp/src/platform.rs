//! What a Cloud Run service creates once, at start-up: the configuration,
//! the clients, and the runtime's service for its function over Firestore
//! and Pub/Sub.

use std::collections::BTreeMap;

use tailor_runtime::cost::{Format, Platform as Billed, Sizing};
use tailor_runtime::{Cloud, Deployed, Env, Service, StartupError, Wiring};

use crate::config::{Config, ConfigError};
use crate::firestore::{Auth, FirestoreStore};
use crate::pubsub::PubSubPublisher;

/// A function on Google Cloud, created once per process; it keeps its
/// [`Config`].
pub type Platform = Deployed<Config>;

/// A function on Google Cloud, over Firestore and Pub/Sub.
pub type GcpService = Service<FirestoreStore, PubSubPublisher>;

/// Firestore's endpoint outside an emulator.
pub const FIRESTORE: &str = "https://firestore.googleapis.com";

/// Attempts per publish and per transient store error.
const ATTEMPTS: u32 = 3;

impl Cloud for Config {
    type Store = FirestoreStore;
    type Publisher = PubSubPublisher;

    const COST_FORMAT: Format = Format::CloudLogging;

    fn configure<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, StartupError> {
        Ok(Self::from_env(env)?)
    }

    /// Cloud Run does not tell a container its region or its limits: the
    /// deployment sets them (`TAILOR_COST_REGION`, `TAILOR_MEMORY` as
    /// Cloud Run takes it, `512Mi`; `TAILOR_CPU`, `1` or `500m`).
    fn sizing<F: Fn(&str) -> Option<String>>(&self, env: &Env<F>) -> Option<Sizing> {
        Some(Sizing {
            platform: Billed::Gcp,
            region: format!("gcp/{}", env.get("TAILOR_COST_REGION")?),
            memory_mb: mebibytes(&env.get("TAILOR_MEMORY")?)?,
            arch: tailor_runtime::cost::Arch::default(),
            milli_vcpu: millicpu(&env.get("TAILOR_CPU").unwrap_or_else(|| "1".into()))?,
        })
    }

    async fn connect<F: Fn(&str) -> Option<String>>(
        &self,
        env: &Env<F>,
        wiring: Wiring,
    ) -> Result<(FirestoreStore, PubSubPublisher), StartupError> {
        let topics = wiring
            .outputs
            .iter()
            .map(|t| Ok((*t, self.topic(env, *t)?)))
            .collect::<Result<BTreeMap<_, _>, ConfigError>>()?;
        let (endpoint, auth) = match &self.firestore_emulator {
            Some(emulator) => (emulator.clone(), Auth::Emulator),
            None => {
                let credentials = google_cloud_auth::credentials::Builder::default()
                    .build()
                    .map_err(|e| StartupError::Other(format!("Google credentials: {e}")))?;
                (FIRESTORE.to_owned(), Auth::Google(credentials))
            }
        };
        let store = FirestoreStore::new(
            &endpoint,
            &self.project,
            &self.database,
            self.collection_prefix.clone(),
            auth,
        )
        .map_err(StartupError::Other)?;
        let publisher = PubSubPublisher::connect(topics, self.pubsub_emulator.as_deref(), ATTEMPTS)
            .await
            .map_err(StartupError::Other)?;
        Ok((store, publisher))
    }
}

/// Memory as Cloud Run takes it (`512Mi`, `1Gi`), in MiB.
fn mebibytes(limit: &str) -> Option<u32> {
    let limit = limit.trim();
    if let Some(n) = limit.strip_suffix("Gi") {
        n.parse::<u32>().ok()?.checked_mul(1_024)
    } else {
        limit.strip_suffix("Mi")?.parse().ok()
    }
}

/// CPU as Cloud Run takes it (`1`, `2`, `500m`), in thousandths.
fn millicpu(limit: &str) -> Option<u32> {
    let limit = limit.trim();
    match limit.strip_suffix('m') {
        Some(m) => m.parse().ok(),
        None => limit.parse::<u32>().ok()?.checked_mul(1_000),
    }
}

#[cfg(test)]
mod sizing_tests {
    use super::*;

    #[test]
    fn limits_read_as_cloud_run_takes_them() {
        assert_eq!(mebibytes("512Mi"), Some(512));
        assert_eq!(mebibytes("1Gi"), Some(1_024));
        assert_eq!(mebibytes("512M"), None);
        assert_eq!(millicpu("1"), Some(1_000));
        assert_eq!(millicpu("500m"), Some(500));
        assert_eq!(millicpu("one"), None);
    }
}
