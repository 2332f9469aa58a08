//! Key rotation without a restart: on SIGHUP (or `POST /v1/admin/auth/reload-keys`) the node
//! re-reads its JWT public keys and fetches `auth.jwks_url` again.

use std::sync::{Arc, PoisonError};

use tally_config::AuthSettings;

use super::identity::FetchedKeys;
use super::{Authenticator, Identity};

/// Where the keys in force come from: the configuration (HS256 secret, PEM directory, JWKS
/// file) and the last good JWKS fetched from `auth.jwks_url`.
#[derive(Debug)]
pub(super) struct KeySources {
    pub(super) configured: Identity,
    pub(super) fetched: FetchedKeys,
}

impl Authenticator {
    /// Re-reads the public keys of `auth.jwt_keys_dir` and `auth.jwks_file` and fetches
    /// `auth.jwks_url` again (key rotation without a restart); returns the key ids now trusted.
    ///
    /// # Errors
    /// As [`Identity::from_settings`], or when the JWKS URL cannot be fetched; the keys in use
    /// then stay.
    pub async fn reload_identity(&self, auth: &AuthSettings) -> anyhow::Result<Vec<String>> {
        let fetched = match &self.jwks {
            Some(source) => Some(source.fetch().await?),
            None => None,
        };
        let configured = Identity::from_settings(auth, &self.jwt_secret)?;
        self.install(Some(configured), fetched)
    }

    /// Replaces the configured keys and/or the fetched ones, and puts their union in force.
    /// Returns the key ids now trusted.
    ///
    /// # Errors
    /// When a fetched key id is also a configured one; the keys in use then stay.
    pub(super) fn install(
        &self,
        configured: Option<Identity>,
        fetched: Option<FetchedKeys>,
    ) -> anyhow::Result<Vec<String>> {
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        let configured = configured.unwrap_or_else(|| sources.configured.clone());
        let fetched = fetched.unwrap_or_else(|| sources.fetched.clone());
        let identity = configured.with_fetched_keys(&fetched)?;
        let key_ids = identity.key_ids().map(str::to_owned).collect();
        *self
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(identity);
        *sources = KeySources {
            configured,
            fetched,
        };
        Ok(key_ids)
    }
}

/// Re-reads the JWT public keys of `auth` into `authenticator` on every SIGHUP, logging the
/// key ids now trusted (or, when the files are wrong, why the keys in use stay).
pub(crate) fn reload_on_sighup(authenticator: Authenticator, auth: AuthSettings) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGHUP: JWT keys reload only through the admin API");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            match authenticator.reload_identity(&auth).await {
                Ok(key_ids) => tracing::info!(?key_ids, "reloaded JWT keys (SIGHUP)"),
                Err(err) => {
                    tracing::warn!(
                        error = format!("{err:#}"),
                        "JWT keys not reloaded; the keys in use stay"
                    );
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (authenticator, auth);
}
