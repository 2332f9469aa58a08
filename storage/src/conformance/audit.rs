//! The audit log: appended entries read back newest first in pages, per scope (a tenant's log
//! never shows another's, nor the platform's), and deleted by retention after `keep_until`.

use super::support::{add_tenant, unique};
use crate::{AuditEntry, AuditOutcome, AuditScope, PageRequest, Store, TimeRange, audit_id};

/// A far-future `keep_until`.
const FOREVER: i64 = i64::MAX / 2;

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// An entry of `scope` at `at`, kept until `keep_until`.
fn entry(scope: &AuditScope, at: i64, keep_until: i64) -> AuditEntry {
    AuditEntry {
        id: audit_id(at, &unique("e")),
        tenant: match scope {
            AuditScope::Platform => None,
            AuditScope::Tenant(tenant) => Some(tenant.clone()),
        },
        at,
        kind: "office.created".into(),
        principal: "platform admin".into(),
        source: Some("127.0.0.1".into()),
        request_id: Some(unique("req")),
        outcome: AuditOutcome::Succeeded,
        detail: "office hq".into(),
        keep_until,
    }
}

/// Every entry of `scope` in `range`, page by page of `limit`.
async fn read_all(
    store: &dyn Store,
    scope: &AuditScope,
    range: TimeRange,
    limit: usize,
) -> Vec<AuditEntry> {
    let mut all = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = store.audit(scope, range, request).await.unwrap();
        assert!(page.items.len() <= limit);
        all.extend(page.items.iter().cloned());
        match page.next_request(limit) {
            Some(next) => request = next,
            None => return all,
        }
    }
}

/// Entries read back whole, newest first, across days and pages of every size; `from`/`to`
/// bound them by time; appending the same entry twice keeps one.
pub async fn audit_append_and_page(store: &dyn Store) {
    let tenant = add_tenant(store, &unique("t")).await;
    let scope = AuditScope::Tenant(tenant);
    let base = now_ms() - 3 * 86_400_000;
    // Seven entries over three days, two in the same millisecond.
    let offsets = [0, 1, 1, 3_600_000, 86_400_000, 90_000_000, 2 * 86_400_000];
    let mut entries: Vec<AuditEntry> = offsets
        .iter()
        .map(|offset| entry(&scope, base + offset, FOREVER))
        .collect();
    for entry in &entries {
        store.append_audit(entry).await.unwrap();
    }
    store.append_audit(&entries[0]).await.unwrap();
    entries.sort_by(|a, b| b.id.cmp(&a.id));
    let everything = TimeRange {
        from: base - 1,
        to: base + 3 * 86_400_000,
    };
    for limit in [1, 2, 3, 7, 100] {
        assert_eq!(
            read_all(store, &scope, everything, limit).await,
            entries,
            "pages of {limit}"
        );
    }
    let window = TimeRange {
        from: base + 1,
        to: base + 90_000_000,
    };
    let within: Vec<_> = entries
        .iter()
        .filter(|e| e.at >= window.from && e.at < window.to)
        .cloned()
        .collect();
    assert_eq!(within.len(), 4);
    assert_eq!(read_all(store, &scope, window, 3).await, within);
}

/// A tenant's log holds only its own entries; the platform's only platform entries.
pub async fn audit_scopes_isolated(store: &dyn Store) {
    let (a, b) = (
        add_tenant(store, &unique("t")).await,
        add_tenant(store, &unique("t")).await,
    );
    let now = now_ms();
    let (scope_a, scope_b) = (AuditScope::Tenant(a), AuditScope::Tenant(b));
    let of_a = entry(&scope_a, now, FOREVER);
    let platform = entry(&AuditScope::Platform, now, FOREVER);
    store.append_audit(&of_a).await.unwrap();
    store.append_audit(&platform).await.unwrap();
    let range = TimeRange {
        from: now - 1,
        to: now + 1,
    };
    assert_eq!(read_all(store, &scope_a, range, 10).await, vec![of_a]);
    assert!(read_all(store, &scope_b, range, 10).await.is_empty());
    let platform_entries = read_all(store, &AuditScope::Platform, range, 10_000).await;
    assert!(platform_entries.contains(&platform));
    assert!(platform_entries.iter().all(|e| e.tenant.is_none()));
}

/// Appends, in a fresh tenant's log, an entry past its `keep_until` at `now` and one kept
/// longer; [`assert_audit_swept`] checks them after a retention sweep at `now`.
///
/// Called from the retention case: a sweep is store-wide, and where every case shares one store
/// (one Cassandra keyspace) a sweep of its own would delete other cases' rows while they run.
pub(super) async fn audit_due_at(store: &dyn Store, now: i64) -> (AuditScope, AuditEntry) {
    let tenant = add_tenant(store, &unique("t")).await;
    let scope = AuditScope::Tenant(tenant);
    let expired = entry(&scope, now - 10_000, now - 5_000);
    let kept = entry(&scope, now - 9_000, FOREVER);
    store.append_audit(&expired).await.unwrap();
    store.append_audit(&kept).await.unwrap();
    (scope, kept)
}

/// After a sweep at `now`, the entry past its `keep_until` is gone (ScyllaDB: never readable,
/// its TTL having ended) and the one kept longer stays.
pub(super) async fn assert_audit_swept(
    store: &dyn Store,
    scope: &AuditScope,
    kept: AuditEntry,
    now: i64,
) {
    let range = TimeRange {
        from: now - 60_000,
        to: now,
    };
    assert_eq!(read_all(store, scope, range, 10).await, vec![kept]);
}
