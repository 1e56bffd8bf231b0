//! The OIDC check of push requests, for a service that verifies them
//! itself (`TAILOR_PUSH_AUDIENCE`): Pub/Sub and Eventarc sign a token for
//! the subscription's service account, and the service accepts a request
//! only with a token whose signature verifies against the signing keys
//! (Google's, or `TAILOR_OIDC_JWKS_URL`), whose issuer is Google, whose
//! audience is the configured one, which has not expired, and — with
//! `TAILOR_PUSH_INVOKER` — which names that service account with a
//! verified email. Verification is the official `google-cloud-auth`
//! verifier's; the keys it fetches are cached.
//!
//! Where the service is deployed without unauthenticated access (the
//! Terraform module's default), Cloud Run's IAM has already checked the
//! token; this check is for deployments that cannot rely on it.

use google_cloud_auth::credentials::idtoken::verifier::{Builder, Verifier};

use crate::config::PushAuth;

/// Checks push requests' tokens.
#[derive(Debug)]
pub struct PushVerifier {
    verifier: Verifier,
}

/// Why a push request was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// No `Authorization: Bearer …` header.
    #[error("no bearer token")]
    NoToken,
    /// The token did not verify.
    #[error("token refused: {0}")]
    Invalid(String),
}

impl PushVerifier {
    /// A verifier for `auth`.
    #[must_use]
    pub fn new(auth: &PushAuth) -> Self {
        let mut builder = Builder::new([auth.audience.clone()]);
        if let Some(email) = &auth.invoker {
            builder = builder.with_email(email.clone());
        }
        if let Some(url) = &auth.jwks_url {
            builder = builder.with_jwks_url(url.clone());
        }
        Self {
            verifier: builder.build(),
        }
    }

    /// Checks a request's `Authorization` header.
    ///
    /// # Errors
    /// [`Refused`] with the reason.
    pub async fn check(&self, headers: &http::HeaderMap) -> Result<(), Refused> {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Refused::NoToken)?;
        self.verifier
            .verify(token.trim())
            .await
            .map(drop)
            .map_err(|e| Refused::Invalid(e.to_string()))
    }
}
