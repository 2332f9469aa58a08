//! The audit log in ScyllaDB (migration 7): `audit_log`, one partition per scope and UTC day
//! (bounded however busy a scope is), clustered by id descending (ids start with their time, so
//! a partition reads newest first); `audit_days`, per scope, the days that hold entries, so a
//! read walks only those. Both are written with a TTL ending at the entry's `keep_until`:
//! retention needs no sweep here.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use tally_protocol::TenantId;

use super::ScyllaStore;
use super::statements::{DAY_MS, Retry, prepared};
use crate::{
    AuditEntry, AuditOutcome, AuditPage, AuditScope, Page, PageRequest, StoreError, TimeRange,
    audit::page_bounds,
};

/// The longest TTL Cassandra accepts (20 years), in seconds.
const MAX_TTL_SECS: i64 = 630_720_000;
/// The latest expiry Cassandra accepts (2038-01-19, CASSANDRA-14092), in seconds, less a day
/// of margin: an entry kept longer expires then.
const LATEST_EXPIRY_SECS: i64 = i32::MAX as i64 - 86_400;

/// The statements of the audit tables.
#[derive(Debug)]
pub(super) struct AuditStatements {
    insert_day: PreparedStatement,
    insert_entry: PreparedStatement,
    select_days: PreparedStatement,
    select_entries: PreparedStatement,
}

impl AuditStatements {
    /// Prepares them against `keyspace`.
    pub(super) async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
        let p = |cql: &str| prepared(session, keyspace, cql.to_owned(), Retry::Idempotent);
        Ok(Self {
            insert_day: p("INSERT INTO {ks}.audit_days (scope, day) VALUES (?, ?) USING TTL ?")
                .await?,
            insert_entry: p(
                "INSERT INTO {ks}.audit_log (scope, day, id, tenant, at, kind, principal, source, \
                 request_id, outcome, detail, keep_until) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?",
            )
            .await?,
            select_days: p(
                "SELECT day FROM {ks}.audit_days WHERE scope = ? AND day >= ? AND day <= ?",
            )
            .await?,
            select_entries: p(
                "SELECT id, tenant, at, kind, principal, source, request_id, outcome, detail, \
                 keep_until FROM {ks}.audit_log \
                 WHERE scope = ? AND day = ? AND id >= ? AND id < ? LIMIT ?",
            )
            .await?,
        })
    }
}

/// A stored entry's columns after its id.
type EntryRow = (
    String,
    Option<String>,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
);

/// An entry from its row.
fn entry_row(row: EntryRow) -> Result<AuditEntry, StoreError> {
    let (id, tenant, at, kind, principal, source, request_id, outcome, detail, keep_until) = row;
    Ok(AuditEntry {
        id,
        tenant: tenant
            .map(TenantId::new)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("audit entry tenant: {e}")))?,
        at,
        kind,
        principal,
        source,
        request_id,
        outcome: AuditOutcome::parse(&outcome)
            .ok_or_else(|| StoreError::Corrupt(format!("audit entry outcome {outcome:?}")))?,
        detail,
        keep_until,
    })
}

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl ScyllaStore {
    /// See [`crate::Store::append_audit`]. An entry already past its `keep_until` is not
    /// written (the retention of the other backends would delete it at the next sweep).
    pub(super) async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let now = now_ms();
        let ttl_secs = (entry.keep_until.saturating_sub(now)) / 1000;
        if ttl_secs <= 0 {
            return Ok(());
        }
        let longest = MAX_TTL_SECS.min(LATEST_EXPIRY_SECS - now / 1000);
        let ttl = i32::try_from(ttl_secs.min(longest)).unwrap_or(i32::MAX);
        let scope = entry.scope();
        let day = entry.at.max(0) / DAY_MS;
        let statements = &self.statements.audit;
        self.execute(&statements.insert_day, (scope.key(), day, ttl))
            .await?;
        self.execute(
            &statements.insert_entry,
            (
                scope.key(),
                day,
                &entry.id,
                entry.tenant.as_ref().map(TenantId::as_str),
                entry.at,
                &entry.kind,
                &entry.principal,
                &entry.source,
                &entry.request_id,
                entry.outcome.as_str(),
                &entry.detail,
                entry.keep_until,
                ttl,
            ),
        )
        .await
    }

    /// See [`crate::Store::audit`]: the scope's days in the range, newest first, each read
    /// down from the page's upper bound until the page is full.
    pub(super) async fn audit_page(
        &self,
        scope: &AuditScope,
        range: TimeRange,
        page: &PageRequest<String>,
    ) -> Result<AuditPage, StoreError> {
        let (low, high) = page_bounds(range, page.after.as_deref());
        if low >= high {
            return Ok(Page::default());
        }
        let limit = page.clamped_limit();
        let statements = &self.statements.audit;
        let last_day = range.to.saturating_sub(1).max(0) / DAY_MS;
        let mut days: Vec<(i64,)> = self
            .rows(
                &statements.select_days,
                (scope.key(), range.from.max(0) / DAY_MS, last_day),
            )
            .await?;
        days.sort_unstable_by(|a, b| b.cmp(a));
        let mut fetched = Vec::new();
        for (day,) in days {
            let wanted = i32::try_from(limit + 1 - fetched.len()).unwrap_or(i32::MAX);
            let rows: Vec<EntryRow> = self
                .rows(
                    &statements.select_entries,
                    (scope.key(), day, &low, &high, wanted),
                )
                .await?;
            for row in rows {
                fetched.push(entry_row(row)?);
            }
            if fetched.len() > limit {
                break;
            }
        }
        Ok(Page::from_fetched(fetched, limit, |entry| entry.id.clone()))
    }
}
