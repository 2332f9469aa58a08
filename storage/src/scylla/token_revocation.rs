//! Revoked tokens in ScyllaDB (migration 3): `token_revocation_marks`, one row per revocation
//! "issued before T" clustered by T descending, so the mark in force is the first row and it
//! only ever rises without a read-modify-write; `revoked_tokens`, one row per id, written with a
//! TTL that ends when the token would have expired anyway.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use tally_protocol::TenantId;

use super::ScyllaStore;
use super::statements::{Retry, prepared};
use crate::{StoreError, TokenRevocations};

/// The longest TTL Cassandra accepts (20 years), in seconds.
const MAX_TTL_SECS: u64 = 630_720_000;

/// The statements of the revocation tables.
#[derive(Debug)]
pub(super) struct TokenStatements {
    insert_mark: PreparedStatement,
    select_mark: PreparedStatement,
    select_marks: PreparedStatement,
    delete_marks: PreparedStatement,
    insert_revoked: PreparedStatement,
    select_revoked: PreparedStatement,
    delete_revoked: PreparedStatement,
}

impl TokenStatements {
    /// Prepares them against `keyspace`.
    pub(super) async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
        let p = |cql: &str| prepared(session, keyspace, cql.to_owned(), Retry::Idempotent);
        Ok(Self {
            insert_mark: p(
                "INSERT INTO {ks}.token_revocation_marks (tenant, issued_before) VALUES (?, ?)",
            )
            .await?,
            select_mark: p(
                "SELECT issued_before FROM {ks}.token_revocation_marks WHERE tenant = ? LIMIT 1",
            )
            .await?,
            select_marks: p(
                "SELECT issued_before FROM {ks}.token_revocation_marks WHERE tenant = ?",
            )
            .await?,
            delete_marks: p("DELETE FROM {ks}.token_revocation_marks WHERE tenant = ?").await?,
            insert_revoked: p(
                "INSERT INTO {ks}.revoked_tokens (tenant, token_id, expires_at) \
                 VALUES (?, ?, ?) USING TTL ?",
            )
            .await?,
            select_revoked: p(
                "SELECT token_id, expires_at FROM {ks}.revoked_tokens WHERE tenant = ?",
            )
            .await?,
            delete_revoked: p("DELETE FROM {ks}.revoked_tokens WHERE tenant = ?").await?,
        })
    }
}

/// A count of seconds as a `bigint`.
fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Seconds since the epoch.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ScyllaStore {
    /// Fails with `Erased` for an erased tenant and `NotFound` for a missing one.
    async fn ensure_tenant(&self, tenant: &TenantId) -> Result<(), StoreError> {
        self.ensure_not_erased(tenant).await?;
        if self.tenant(tenant).await?.is_none() {
            return Err(StoreError::NotFound {
                kind: "tenant",
                id: tenant.to_string(),
            });
        }
        Ok(())
    }

    /// The tenant's mark in force, if any.
    async fn revocation_mark(&self, tenant: &TenantId) -> Result<Option<u64>, StoreError> {
        let row: Option<(i64,)> = self
            .first_row(&self.statements.tokens.select_mark, (tenant.as_str(),))
            .await?;
        Ok(row.map(|(mark,)| u64::try_from(mark).unwrap_or(0)))
    }

    /// See [`crate::Store::revoke_tokens_issued_before`].
    pub(super) async fn revoke_tokens_issued_before(
        &self,
        tenant: &TenantId,
        before: u64,
    ) -> Result<u64, StoreError> {
        self.ensure_tenant(tenant).await?;
        self.execute(
            &self.statements.tokens.insert_mark,
            (tenant.as_str(), secs(before)),
        )
        .await?;
        Ok(self.revocation_mark(tenant).await?.unwrap_or(before))
    }

    /// See [`crate::Store::revoke_token`].
    pub(super) async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.ensure_tenant(tenant).await?;
        let ttl = expires_at.saturating_sub(now_secs()).clamp(1, MAX_TTL_SECS);
        self.execute(
            &self.statements.tokens.insert_revoked,
            (
                tenant.as_str(),
                token_id,
                secs(expires_at),
                i32::try_from(ttl).unwrap_or(i32::MAX),
            ),
        )
        .await
    }

    /// See [`crate::Store::token_revocations`].
    pub(super) async fn token_revocations(
        &self,
        tenant: &TenantId,
        now: u64,
    ) -> Result<TokenRevocations, StoreError> {
        if self.control(tenant).await?.erased {
            return Ok(TokenRevocations::default());
        }
        let ids: Vec<(String, i64)> = self
            .rows(&self.statements.tokens.select_revoked, (tenant.as_str(),))
            .await?;
        Ok(TokenRevocations {
            issued_before: self.revocation_mark(tenant).await?,
            token_ids: ids
                .into_iter()
                .filter(|(_, expires_at)| *expires_at > secs(now))
                .map(|(id, _)| id)
                .collect(),
        })
    }

    /// Deletes the tenant's revocations (erasure); returns how many rows there were.
    pub(super) async fn erase_token_revocations(
        &self,
        tenant: &TenantId,
    ) -> Result<u64, StoreError> {
        let rows = self.token_revocation_rows(tenant).await?;
        let t = (tenant.as_str(),);
        self.execute(&self.statements.tokens.delete_marks, t)
            .await?;
        self.execute(&self.statements.tokens.delete_revoked, t)
            .await?;
        Ok(rows as u64)
    }

    /// How many revocation rows the tenant has (erasure verifies with it).
    pub(super) async fn token_revocation_rows(
        &self,
        tenant: &TenantId,
    ) -> Result<usize, StoreError> {
        let t = (tenant.as_str(),);
        let marks: Vec<(i64,)> = self.rows(&self.statements.tokens.select_marks, t).await?;
        let ids: Vec<(String, i64)> = self.rows(&self.statements.tokens.select_revoked, t).await?;
        Ok(marks.len() + ids.len())
    }
}
