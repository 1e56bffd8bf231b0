//! What a Cloud Run service creates once, at start-up: the configuration,
//! the clients, and the runtime's service for its function over Firestore
//! and Pub/Sub.

use std::collections::BTreeMap;

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

    fn configure<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, StartupError> {
        Ok(Self::from_env(env)?)
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
