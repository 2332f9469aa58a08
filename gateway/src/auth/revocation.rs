//! [`Revocations`]: the node's copy of each tenant's revoked tokens (the store's
//! [`TokenRevocations`]), checked wherever a tenant JWT is accepted.
//!
//! Staleness is bounded by `auth.revocation_refresh`: a tenant's copy older than that is read
//! again from the store before a token of the tenant is accepted, so a revocation made on
//! another node takes effect here within that time; one made on this node updates the copy at
//! once and wakes the open display sockets ([`Revocations::changed`]), which also re-check on
//! every refresh period. When the store cannot be read, the last copy is used (a storage fault
//! is the node's, not a reason to lock every tenant out); without any copy the request fails
//! `unavailable`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tally_protocol::{ErrorCode, TenantId};
use tally_storage::{SharedStore, TokenRevocations};
use tokio::sync::watch;

use super::now_secs;
use crate::error::ApiError;

/// A tenant's copy and when it was read.
#[derive(Debug)]
struct Cached {
    read_at: Instant,
    revocations: Arc<TokenRevocations>,
}

/// The node's copies of tenants' token revocations.
#[derive(Debug)]
pub struct Revocations {
    store: SharedStore,
    refresh: Duration,
    cache: Mutex<HashMap<TenantId, Cached>>,
    changed: watch::Sender<()>,
}

/// The facts of a tenant token that a revocation can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// Its tenant.
    pub tenant: TenantId,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Its id, if it has one.
    pub jti: Option<String>,
}

/// The refusal of a revoked token.
pub(crate) fn revoked() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "the token has been revoked")
}

impl Revocations {
    /// Copies of `store`'s revocations, at most `refresh` old when a token is checked.
    pub fn new(store: SharedStore, refresh: Duration) -> Self {
        Self {
            store,
            refresh,
            cache: Mutex::new(HashMap::new()),
            changed: watch::Sender::new(()),
        }
    }

    /// How often an open socket re-checks its token.
    pub fn refresh(&self) -> Duration {
        self.refresh
    }

    /// Wakes when a revocation is made on this node.
    pub fn changed(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    fn cached(&self, tenant: &TenantId) -> Option<(Instant, Arc<TokenRevocations>)> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(tenant)
            .map(|c| (c.read_at, Arc::clone(&c.revocations)))
    }

    /// The tenant's revocations, read from the store if the copy is older than the refresh.
    ///
    /// # Errors
    /// The store's error when it cannot be read and there is no copy.
    pub async fn current(&self, tenant: &TenantId) -> Result<Arc<TokenRevocations>, ApiError> {
        let cached = self.cached(tenant);
        if let Some((read_at, revocations)) = &cached
            && read_at.elapsed() < self.refresh
        {
            return Ok(Arc::clone(revocations));
        }
        match self.read(tenant).await {
            Ok(fresh) => Ok(fresh),
            Err(err) => match cached {
                Some((_, stale)) => {
                    tracing::warn!(%tenant, error = %err.message, "token revocations not re-read; using the last copy");
                    Ok(stale)
                }
                None => Err(err),
            },
        }
    }

    async fn read(&self, tenant: &TenantId) -> Result<Arc<TokenRevocations>, ApiError> {
        let read_at = Instant::now();
        let revocations = Arc::new(self.store.token_revocations(tenant, now_secs()).await?);
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                tenant.clone(),
                Cached {
                    read_at,
                    revocations: Arc::clone(&revocations),
                },
            );
        Ok(revocations)
    }

    /// Refuses a revoked token.
    ///
    /// # Errors
    /// `unauthenticated` if it is revoked; the store's error as [`Revocations::current`].
    pub async fn check(&self, token: &IssuedToken) -> Result<(), ApiError> {
        let revocations = self.current(&token.tenant).await?;
        if revocations.revokes(token.iat, token.jti.as_deref()) {
            return Err(revoked());
        }
        Ok(())
    }

    /// Revokes the tenant's tokens issued before `before` (seconds); returns the mark in force.
    ///
    /// # Errors
    /// The store's (`not_found` without the tenant).
    pub async fn revoke_issued_before(
        &self,
        tenant: &TenantId,
        before: u64,
    ) -> Result<u64, ApiError> {
        let mark = self
            .store
            .revoke_tokens_issued_before(tenant, before)
            .await?;
        self.revoked_here(tenant).await;
        Ok(mark)
    }

    /// Revokes one token of the tenant by id, remembered until `expires_at` (seconds).
    ///
    /// # Errors
    /// The store's (`not_found` without the tenant).
    pub async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        expires_at: u64,
    ) -> Result<(), ApiError> {
        self.store
            .revoke_token(tenant, token_id, expires_at)
            .await?;
        self.revoked_here(tenant).await;
        Ok(())
    }

    /// After a revocation on this node: the copy re-read at once, open sockets woken.
    async fn revoked_here(&self, tenant: &TenantId) {
        if self.read(tenant).await.is_err() {
            // The next check reads it again.
            self.cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(tenant);
        }
        self.changed.send_replace(());
    }
}

#[cfg(test)]
mod tests {
    use tally_storage::{EmbeddedStore, Tenant};

    use super::*;

    /// Two nodes' copies over one store: the revoking node refuses at once, the other keeps its
    /// copy until its refresh period has passed (here an hour, so: still accepted), and a node
    /// whose copy may not be stale at all re-reads and refuses.
    #[tokio::test]
    async fn a_revocation_reaches_other_copies_when_they_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let tenant = TenantId::new("acme").unwrap();
        store
            .create_tenant(&Tenant {
                id: tenant.clone(),
                name: "acme".into(),
            })
            .await
            .unwrap();
        let hour = Duration::from_secs(3600);
        let here = Revocations::new(Arc::clone(&store), hour);
        let elsewhere = Revocations::new(Arc::clone(&store), hour);
        let token = IssuedToken {
            tenant: tenant.clone(),
            iat: now_secs() - 10,
            jti: Some("t1".into()),
        };
        elsewhere.check(&token).await.unwrap();
        let woken = here.changed();

        here.revoke_issued_before(&tenant, now_secs())
            .await
            .unwrap();
        assert!(woken.has_changed().unwrap(), "open sockets are woken");
        assert_eq!(
            here.check(&token).await.unwrap_err().message,
            "the token has been revoked"
        );
        elsewhere.check(&token).await.unwrap();
        let fresh = Revocations::new(Arc::clone(&store), Duration::ZERO);
        assert!(fresh.check(&token).await.is_err());

        let later = IssuedToken {
            iat: now_secs() + 5,
            ..token
        };
        here.check(&later).await.unwrap();
        here.revoke_token(&tenant, "t1", now_secs() + 60)
            .await
            .unwrap();
        assert!(here.check(&later).await.is_err(), "revoked by id");
    }
}
