//! The audit log: append-only entries of who did (or was refused) what, per tenant or for the
//! platform, read newest first and kept until each entry's `keep_until`.
//!
//! An entry's id starts with its time as 16 hex digits, so ordering by id is ordering by time
//! (ties broken by the rest of the id): every backend keeps entries in one order by id alone,
//! and a page's cursor is the id of its last entry.

use serde::{Deserialize, Serialize};
use tally_protocol::{TenantId, TimestampMs};

use crate::{Page, TimeRange};

/// The scope key of platform entries in the backends: never a tenant id (ids are slugs).
pub(crate) const PLATFORM_SCOPE: &str = "@platform";

/// Whose audit log an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditScope {
    /// The platform's own log: the platform admin's actions, and refusals of callers who are
    /// no tenant's principal (no or unverifiable credentials).
    Platform,
    /// A tenant's log: what was done to the tenant and by its principals.
    Tenant(TenantId),
}

impl AuditScope {
    /// The scope of an entry about `tenant`, or of the platform for `None`.
    pub fn of(tenant: Option<&TenantId>) -> Self {
        tenant.map_or(Self::Platform, |tenant| Self::Tenant(tenant.clone()))
    }

    /// The key the backends store the scope under.
    pub(crate) fn key(&self) -> &str {
        match self {
            Self::Platform => PLATFORM_SCOPE,
            Self::Tenant(tenant) => tenant.as_str(),
        }
    }
}

/// How the audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Done.
    Succeeded,
    /// Refused: unauthenticated, forbidden, or another tenant's resource.
    Denied,
    /// Allowed but failed (an error of the node or the store).
    Failed,
}

impl AuditOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    /// The outcome of a stored name.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        [Self::Succeeded, Self::Denied, Self::Failed]
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

/// One audit entry. It holds ids and names, never secrets (tokens, keys, confirmations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Unique, ordered by time ([`audit_id`]); the cursor of the page it ends.
    pub id: String,
    /// The tenant whose log holds it; `None` for the platform's.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tenant: Option<TenantId>,
    /// When, in milliseconds since the epoch.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub at: TimestampMs,
    /// What happened, e.g. `office.created`, `token.minted`, `access.denied`.
    pub kind: String,
    /// Who: `platform admin`, or a tenant token's role, subject and id, or `unauthenticated`.
    pub principal: String,
    /// The caller's source address, when known.
    pub source: Option<String>,
    /// The id of the request (its `x-request-id` header).
    pub request_id: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// A short description (ids and the route, never a secret).
    pub detail: String,
    /// Kept until then (milliseconds since the epoch); retention deletes it afterwards.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub keep_until: TimestampMs,
}

impl AuditEntry {
    /// The scope whose log holds the entry.
    pub fn scope(&self) -> AuditScope {
        AuditScope::of(self.tenant.as_ref())
    }
}

/// An id for an entry at `at`: the time as 16 hex digits, then `unique` (any text unique among
/// entries of the same millisecond, e.g. random), so that ids order as times do.
pub fn audit_id(at: TimestampMs, unique: &str) -> String {
    format!("{:016x}-{unique}", at.max(0))
}

/// The smallest id of an entry at `at` or later (the bound of a time range).
pub(crate) fn id_bound(at: TimestampMs) -> String {
    format!("{:016x}", at.max(0))
}

/// The id bounds of a page read newest first: ids `>= low` and `< high`, where `high` is the
/// range's end or the cursor (the last id of the previous page), whichever is lower.
pub(crate) fn page_bounds(range: TimeRange, after: Option<&str>) -> (String, String) {
    let low = id_bound(range.from);
    let end = id_bound(range.to);
    let high = match after {
        Some(cursor) if cursor < end.as_str() => cursor.to_owned(),
        _ => end,
    };
    (low, high)
}

/// A page of audit entries, newest first; the cursor is the id of the last entry.
pub type AuditPage = Page<AuditEntry, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_as_times_and_bound_pages() {
        let early = audit_id(0x10, "zz");
        let late = audit_id(0x100, "aa");
        assert!(early < late);
        let range = TimeRange {
            from: 0x10,
            to: 0x101,
        };
        let (low, high) = page_bounds(range, None);
        assert!(low.as_str() <= early.as_str() && late.as_str() < high.as_str());
        let (_, high) = page_bounds(range, Some(&late));
        assert_eq!(high, late, "a page continues strictly before its cursor");
        let (_, high) = page_bounds(TimeRange { from: 0, to: 0x20 }, Some(&late));
        assert_eq!(
            high,
            id_bound(0x20),
            "a cursor past the range changes nothing"
        );
        assert_eq!(AuditOutcome::parse("denied"), Some(AuditOutcome::Denied));
        assert_eq!(AuditOutcome::parse("nope"), None);
    }
}
