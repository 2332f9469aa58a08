//! The audit log's writer: handlers and the request middleware hand entries to [`Audit`], a
//! bounded queue drained by one task that appends them to the store in order.
//!
//! What is recorded, by whom: admin changes, token minting and revocation, erasure and
//! quarantine lifts by their handlers ([`Audit::record`], one call each, after the change
//! succeeded); every refused access (401, 403, and the 404 answered for another tenant's
//! resource) by the middleware in `request.rs`, which also gives every entry its request id,
//! source address and principal. A WebSocket refused after its upgrade (the sensor's `hello`
//! with an unknown key, a key or token revoked while the socket is open) is recorded by the
//! socket's task with the upgrade request's context ([`Audit::denied`]).
//!
//! Quota and rate-limit refusals (429, WebSocket 4429) are not entries: they refuse volume, not
//! access, and one entry per refused request would let a flooding tenant fill the queue and
//! push out the entries that matter. They are counted per tenant in the metrics instead.
//!
//! # When the store fails
//!
//! Recording never waits: [`Audit::record`] only queues. The writer retries an entry the store
//! refused with a retryable error (`StoreError::is_retryable`) with capped backoff for
//! [`RETRY_FOR`], keeping later entries queued behind it (so the log stays in order); while it
//! retries, new entries fill the queue ([`QUEUE`] entries). An entry that cannot be queued (queue
//! full) or stored (a fatal error, or still failing after [`RETRY_FOR`]) is written to the
//! process log at ERROR with all its fields (target `tally::audit`), counted in
//! [`AUDIT_LOST`], and dropped: ingest and the API never block on the audit log, and a storage
//! fault stays what it is for readings, a node fault (the persister marks the node degraded).

mod request;

use std::time::Duration;

use rand::RngCore;
use tally_protocol::{TenantId, TimestampMs};
use tally_storage::{AuditEntry, AuditOutcome, SharedStore, Store, audit_id};
use tokio::sync::mpsc;

pub(crate) use request::{
    RequestAudit, current as request_context, note_principal, note_route, track,
};

/// Counter: audit entries stored.
pub const AUDIT_WRITTEN: &str = "tally_audit_entries_written_total";
/// Counter: audit entries lost to the store (label `reason`: `queue_full`, `store`); each is
/// in the process log at ERROR.
pub const AUDIT_LOST: &str = "tally_audit_entries_lost_total";

/// Gives the metrics above their HELP text.
pub fn describe() {
    metrics::describe_counter!(AUDIT_WRITTEN, "Audit entries stored.");
    metrics::describe_counter!(
        AUDIT_LOST,
        "Audit entries lost to the store (label reason: queue_full, store); each is in the process log at ERROR."
    );
}

/// Kind of the entries of refused accesses.
const DENIED: &str = "access.denied";

/// Entries waiting for the writer, at most.
pub const QUEUE: usize = 4096;
/// How long the writer retries an entry the store refused with a retryable error.
pub const RETRY_FOR: Duration = Duration::from_secs(60);
/// First and longest wait between two tries.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));
/// Longest detail kept in an entry, in bytes.
const MAX_DETAIL: usize = 512;

/// The audit log of a node: cheap to clone; recording never blocks.
#[derive(Debug, Clone)]
pub struct Audit {
    queue: mpsc::Sender<AuditEntry>,
    keep_for: Duration,
}

impl Audit {
    /// Starts the writer over `store`; entries are kept for `keep_for` (`retention.audit`). The
    /// writer stops once every clone of the returned [`Audit`] is dropped and the queue is empty.
    pub fn start(store: SharedStore, keep_for: Duration) -> Self {
        let (queue, entries) = mpsc::channel(QUEUE);
        tokio::spawn(write_all(store, entries));
        Self { queue, keep_for }
    }

    /// Records a successful action of the current request in `tenant`'s log (the platform's for
    /// `None`): `kind` says what (`office.created`, `token.revoked`, …), `detail` the ids it
    /// concerns, never a secret. The request's principal, id and source address come from the
    /// request middleware; outside a request the principal is `node`.
    pub fn record(&self, kind: &str, tenant: Option<&TenantId>, detail: impl Into<String>) {
        let context = request::current();
        self.record_for(
            context.as_deref(),
            kind,
            tenant,
            AuditOutcome::Succeeded,
            detail.into(),
        );
    }

    /// Records a refused access made after the request `context` was answered: a WebSocket
    /// refused after its upgrade (a sensor's unknown or revoked key, a display's revoked token).
    /// It goes to `tenant`'s log, or the platform's for `None` (a credential that names no
    /// tenant); `detail` names the socket's route template and its close code.
    pub(crate) fn denied(
        &self,
        context: Option<&RequestAudit>,
        tenant: Option<&TenantId>,
        detail: String,
    ) {
        self.record_for(context, DENIED, tenant, AuditOutcome::Denied, detail);
    }

    /// Records an entry for the request `context` (if any).
    fn record_for(
        &self,
        context: Option<&RequestAudit>,
        kind: &str,
        tenant: Option<&TenantId>,
        outcome: AuditOutcome,
        mut detail: String,
    ) {
        let at = now_ms();
        if detail.len() > MAX_DETAIL {
            let cut = (0..=MAX_DETAIL)
                .rev()
                .find(|i| detail.is_char_boundary(*i))
                .unwrap_or(0);
            detail.truncate(cut);
        }
        let keep = i64::try_from(self.keep_for.as_millis()).unwrap_or(i64::MAX);
        let entry = AuditEntry {
            id: audit_id(at, &unique_suffix()),
            tenant: tenant.cloned(),
            at,
            kind: kind.to_owned(),
            principal: context.map_or_else(|| "node".to_owned(), RequestAudit::principal_name),
            source: context.and_then(|c| c.source.clone()),
            request_id: context.and_then(|c| c.request_id.clone()),
            outcome,
            detail,
            keep_until: at.saturating_add(keep),
        };
        if let Err(err) = self.queue.try_send(entry) {
            lost(&err.into_inner(), "queue_full", "the audit queue is full");
        }
    }
}

/// Milliseconds since the epoch.
fn now_ms() -> TimestampMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// 16 random hex digits: unique among the entries of one millisecond.
fn unique_suffix() -> String {
    format!("{:016x}", rand::rng().next_u64())
}

/// The writer: appends every queued entry, in order.
async fn write_all(store: SharedStore, mut entries: mpsc::Receiver<AuditEntry>) {
    while let Some(entry) = entries.recv().await {
        write_one(store.as_ref(), &entry).await;
    }
}

/// Appends one entry, retrying a retryable failure for [`RETRY_FOR`].
async fn write_one(store: &dyn Store, entry: &AuditEntry) {
    let deadline = tokio::time::Instant::now() + RETRY_FOR;
    let mut wait = BACKOFF.0;
    loop {
        match store.append_audit(entry).await {
            Ok(()) => {
                metrics::counter!(AUDIT_WRITTEN).increment(1);
                return;
            }
            Err(err) if err.is_retryable() && tokio::time::Instant::now() + wait < deadline => {
                tracing::warn!(error = %err, "audit entry not stored yet, retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(BACKOFF.1);
            }
            Err(err) => return lost(entry, "store", &err.to_string()),
        }
    }
}

/// Logs a lost entry whole (the process log is then its only record) and counts it.
fn lost(entry: &AuditEntry, reason: &'static str, error: &str) {
    metrics::counter!(AUDIT_LOST, "reason" => reason).increment(1);
    tracing::error!(
        target: "tally::audit",
        reason,
        error,
        id = %entry.id,
        tenant = entry.tenant.as_ref().map(TenantId::as_str),
        at = entry.at,
        kind = %entry.kind,
        principal = %entry.principal,
        source = entry.source.as_deref(),
        request_id = entry.request_id.as_deref(),
        outcome = entry.outcome.as_str(),
        detail = %entry.detail,
        "audit entry not stored"
    );
}
