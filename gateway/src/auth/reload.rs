//! Key rotation without a restart: on SIGHUP the node re-reads its JWT public keys.

use tally_config::AuthSettings;

use super::Authenticator;

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
            match authenticator.reload_identity(&auth) {
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
