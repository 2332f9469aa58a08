//! Background renewal of a held lease, with a notification when it is lost.

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::warn;

use super::{Lease, Renewal};
use crate::coordination::CoordinationError;
use crate::coordination::telemetry;

/// Why a held lease was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseLost {
    /// Redis no longer holds the lease for this node: it expired there (this node stalled or
    /// could not renew in time) and may have been taken by another node.
    NotHeld,
    /// Redis could not be reached to renew it before its TTL ran out locally.
    Expired,
}

impl LeaseLost {
    fn as_str(self) -> &'static str {
        match self {
            LeaseLost::NotHeld => "not_held",
            LeaseLost::Expired => "expired",
        }
    }
}

/// A lease renewed in the background. Watch [`HeldLease::lost`] to learn when it is lost;
/// dropping it stops renewing (the lease then expires with its TTL).
#[derive(Debug)]
pub struct HeldLease {
    lost: watch::Receiver<Option<LeaseLost>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Option<Lease>>,
}

impl HeldLease {
    pub(super) fn spawn(lease: Lease) -> HeldLease {
        let (lost_tx, lost) = watch::channel(None);
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(renew_until_stopped(lease, lost_tx, stop_rx));
        HeldLease {
            lost,
            stop: Some(stop),
            task,
        }
    }

    /// `None` while held; the reason once lost. `changed()` wakes when it is lost.
    pub fn lost(&self) -> watch::Receiver<Option<LeaseLost>> {
        self.lost.clone()
    }

    /// Stops renewing and releases the lease if still held: `true` if it was.
    ///
    /// # Errors
    /// [`CoordinationError`] if Redis cannot be reached; the lease then expires with its TTL.
    pub async fn release(mut self) -> Result<bool, CoordinationError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(Some(lease)) => lease.release().await,
            _ => Ok(false),
        }
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Renews `lease` every renew interval, or sooner if its local deadline comes first; returns
/// the lease when stopped, nothing once it is lost.
async fn renew_until_stopped(
    mut lease: Lease,
    lost: watch::Sender<Option<LeaseLost>>,
    mut stop: oneshot::Receiver<()>,
) -> Option<Lease> {
    let mut next = Instant::now() + lease.renew_interval;
    loop {
        let wake = next.min(lease.valid_until);
        tokio::select! {
            _ = &mut stop => return Some(lease),
            _ = tokio::time::sleep_until(wake) => {}
        }
        let outcome = if next <= Instant::now() {
            next = Instant::now() + lease.renew_interval;
            lease.renew().await
        } else if Instant::now() >= lease.valid_until {
            // The deadline came before the next renewal: try once more, then give up.
            lease.renew().await
        } else {
            continue;
        };
        if let Renewal::Lost(reason) = outcome {
            warn!(tenant = %lease.tenant, office = %lease.office, reason = reason.as_str(),
                  "office lease lost");
            metrics::counter!(telemetry::LEASES_LOST, "reason" => reason.as_str()).increment(1);
            lost.send_replace(Some(reason));
            return None;
        }
    }
}
