//! The push requests' OIDC check, against a token signed here and a JWKS
//! served on loopback (the emulator sends no token; production Pub/Sub
//! signs one with Google's keys, which the verifier fetches the same way).
//! The key pair in `tests/fixtures` is for these tests only.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tailor_gcp::config::PushAuth;
use tailor_gcp::oidc::{PushVerifier, Refused};

const AUDIENCE: &str = "https://tailor-enrich.example.run.app/push";
const INVOKER: &str = "tailor-push@shop.iam.gserviceaccount.com";

async fn jwks_server() -> String {
    let jwks = include_str!("fixtures/oidc-test-jwks.json");
    let app = axum::Router::new().route(
        "/certs",
        axum::routing::get(move || async move {
            ([(http::header::CONTENT_TYPE, "application/json")], jwks)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn token(claims: &serde_json::Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = EncodingKey::from_rsa_pem(include_bytes!("fixtures/oidc-test-key.pem")).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn claims(audience: &str, email: &str, expires_in: i64) -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({
        "iss": "https://accounts.google.com",
        "aud": audience,
        "email": email,
        "email_verified": true,
        "iat": now - 10,
        "exp": now + expires_in,
        "sub": "1234567890",
    })
}

fn bearer(token: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    headers
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_signed_token_for_this_audience_and_invoker_is_accepted() {
    let verifier = PushVerifier::new(&PushAuth {
        audience: AUDIENCE.to_owned(),
        invoker: Some(INVOKER.to_owned()),
        jwks_url: Some(jwks_server().await),
    });
    let good = token(&claims(AUDIENCE, INVOKER, 600), "tailor-test-key");
    assert!(verifier.check(&bearer(&good)).await.is_ok());

    assert!(matches!(
        verifier.check(&http::HeaderMap::new()).await,
        Err(Refused::NoToken)
    ));
    for (why, bad) in [
        (
            "another audience",
            token(
                &claims("https://other.run.app", INVOKER, 600),
                "tailor-test-key",
            ),
        ),
        (
            "another invoker",
            token(
                &claims(AUDIENCE, "intruder@x.iam.gserviceaccount.com", 600),
                "tailor-test-key",
            ),
        ),
        (
            "expired",
            token(&claims(AUDIENCE, INVOKER, -3_600), "tailor-test-key"),
        ),
        (
            "a key the JWKS does not hold",
            token(&claims(AUDIENCE, INVOKER, 600), "unknown-key"),
        ),
    ] {
        let refused = verifier.check(&bearer(&bad)).await;
        assert!(
            matches!(refused, Err(Refused::Invalid(_))),
            "{why}: {refused:?}"
        );
    }
    // A valid token with its payload altered no longer verifies.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = base64_url(&claims(AUDIENCE, INVOKER, 86_400).to_string());
    assert!(
        verifier.check(&bearer(&parts.join("."))).await.is_err(),
        "tampered"
    );
    let mut unverified = claims(AUDIENCE, INVOKER, 600);
    unverified["email_verified"] = json!(false);
    assert!(
        verifier
            .check(&bearer(&token(&unverified, "tailor-test-key")))
            .await
            .is_err()
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
