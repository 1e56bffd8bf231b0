//! The Cloud Run binary run as Cloud Run runs it: one process per
//! function listening on its `PORT`, fed by push subscriptions in the
//! Pub/Sub emulator, its state in the Firestore emulator.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Deployment, firestore, pubsub};

pub const EXE: &str = env!("CARGO_BIN_EXE_tailor-gcp");

/// Deliveries before Pub/Sub gives up on a message (the module's default).
pub const MAX_DELIVERY_ATTEMPTS: u32 = 5;

/// One function's service: the binary on a free loopback port, stopped
/// when dropped.
pub struct Service {
    child: Child,
    port: u16,
    /// Its stdout, line by line (where Cloud Logging reads it).
    pub stdout: tailor_tests::logs::Stdout,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every service of deployment `d` is configured with, as the
/// Terraform module configures it (emulators in place of Google's endpoints).
pub fn service_env(d: &Deployment) -> Vec<(&'static str, String)> {
    vec![
        ("GOOGLE_CLOUD_PROJECT", d.project.clone()),
        ("TAILOR_COLLECTION_PREFIX", d.prefix.clone()),
        ("PUBSUB_EMULATOR_HOST", pubsub().to_owned()),
        ("FIRESTORE_EMULATOR_HOST", firestore().to_owned()),
        ("TAILOR_TOPIC_INGESTED", "ingested".into()),
        ("TAILOR_TOPIC_ENRICHED", "enriched".into()),
        ("TAILOR_TOPIC_CONSENT_CHANGES", "consent-changes".into()),
        // The key the local platform's tests use, so results compare.
        ("TAILOR_TOKEN_KEY", "blackbox-test-key-000".into()),
        // The test publishers send consent changes on the ingest topic.
        ("TAILOR_STREAM_CONSENT", "accept".into()),
        ("TAILOR_ENGINE", "tract".into()),
        // How the module tells each service how it is billed.
        ("TAILOR_COST_REGION", "us-central1".into()),
        ("TAILOR_CPU", "1".into()),
        ("TAILOR_MEMORY", "512Mi".into()),
        (
            "TAILOR_MODEL_DIR",
            tailor_tests::model_dir().display().to_string(),
        ),
    ]
}

impl Service {
    /// Starts `function` and waits until it accepts connections.
    pub fn start(function: &str, env: &[(&'static str, String)]) -> Self {
        let port = tailor_tests::cloud::free_port();
        let child = Command::new(EXE)
            .arg(function)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TAILOR_LOG", "warn")
            .env("PORT", port.to_string())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the Cloud Run binary starts");
        let mut child = child;
        let stdout = tailor_tests::logs::Stdout::of(&mut child);
        let mut service = Self {
            child,
            port,
            stdout,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                service.child.try_wait().unwrap().is_none(),
                "{function} exited at start-up (see its log above)"
            );
            assert!(Instant::now() < deadline, "{function} never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        service
    }

    pub fn push_endpoint(&self) -> String {
        self.url("/push")
    }

    /// The address of `path` on the service.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// A push subscription from `topic` to `service`, as the module creates it:
/// ordered, retried with backoff, dead-lettered after
/// [`MAX_DELIVERY_ATTEMPTS`] onto `<subscription>-dead`, which has its own
/// pull subscription that keeps what lands there.
pub async fn subscribe(d: &Deployment, id: &str, topic: &str, service: &Service) {
    subscribe_with(d, id, topic, Some(service), true).await;
}

/// A pull subscription for a service that pulls, with the same ordering,
/// retries and dead-letter policy as [`subscribe`]'s.
pub async fn subscribe_pull(d: &Deployment, id: &str, topic: &str) {
    subscribe_with(d, id, topic, None, true).await;
}

/// [`subscribe`] (to `service`, or for pulling when `None`), ordered or
/// not. The emulator never dead-letters a message of an ordered
/// subscription (Pub/Sub itself does), so the tests of dead-lettering
/// subscribe unordered.
pub async fn subscribe_with(
    d: &Deployment,
    id: &str,
    topic: &str,
    service: Option<&Service>,
    ordered: bool,
) {
    let dead = format!("{id}-dead");
    d.create_topic(&dead).await;
    d.create_subscription(&format!("{dead}-kept"), &dead, json!({}))
        .await;
    let mut settings = json!({
        "enableMessageOrdering": ordered,
        "retryPolicy": {"minimumBackoff": "1s", "maximumBackoff": "2s"},
        "deadLetterPolicy": {
            "deadLetterTopic": d.topic(&dead),
            "maxDeliveryAttempts": MAX_DELIVERY_ATTEMPTS,
        },
    });
    if let Some(service) = service {
        settings["pushConfig"] = json!({"pushEndpoint": service.push_endpoint()});
    }
    d.create_subscription(id, topic, settings).await;
}

/// Polls until `done` holds of what `read` gives, or `limit` passes;
/// returns the last reading either way, for the test to assert on.
pub async fn settle<T, R, F>(limit: Duration, mut read: R, done: impl Fn(&T) -> bool) -> T
where
    R: FnMut() -> F,
    F: std::future::Future<Output = T>,
{
    let deadline = Instant::now() + limit;
    loop {
        let now = read().await;
        if done(&now) || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
