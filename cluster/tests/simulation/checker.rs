//! The invariants, checked after every event: an ack only after the store accepted the write
//! under the acknowledging node's token; at most one node per (office, token); the store's
//! token per office never decreases; a node never loses what it took to a fence it let in by
//! releasing its lease before writing it; a node's membership views never go back in epoch.

use std::collections::{BTreeMap, BTreeSet};

use tally_cluster::ownership::decision::WriteOutcome;

use super::Reading;
use super::store::StoreModel;

/// A node process: its index and incarnation.
pub(crate) type Process = (usize, u64);

/// Watches a run; the first broken invariant is kept.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    /// (office, token) → the process that activated it.
    activations: BTreeMap<(usize, u64), Process>,
    /// (process, office, batch) → token of a write in flight.
    writes: BTreeMap<(Process, usize, u64), u64>,
    /// (process, office, token) whose lease the process released itself.
    released: BTreeSet<(Process, usize, u64)>,
    /// The epoch of the view each process published last.
    views: BTreeMap<Process, u64>,
    /// The store's token per office, as last seen.
    tokens: BTreeMap<usize, u64>,
    /// The first violation.
    pub(crate) violation: Option<String>,
}

impl Checker {
    fn violated(&mut self, what: String) {
        if self.violation.is_none() {
            self.violation = Some(what);
        }
    }

    /// `process` activated `office` under `token`.
    pub(crate) fn activated(&mut self, process: Process, office: usize, token: u64) {
        // Every activation takes a new token: one (office, token) is one activation.
        if let Some(other) = self.activations.insert((office, token), process) {
            self.violated(format!(
                "office {office} activated twice under token {token}: by node {} (incarnation \
                 {}), then by node {} (incarnation {})",
                other.0, other.1, process.0, process.1
            ));
        }
    }

    /// `process` acknowledged `readings` of `office` as written under `token`.
    pub(crate) fn acked(
        &mut self,
        process: Process,
        office: usize,
        token: u64,
        readings: &[Reading],
        store: &StoreModel,
    ) {
        for reading in readings {
            if !store.accepted_under(reading.sensor, reading.seq, token) {
                self.violated(format!(
                    "node {} acknowledged (sensor {}, seq {}) of office {office} before the \
                     store accepted it under its token {token}",
                    process.0, reading.sensor, reading.seq
                ));
            }
        }
    }

    /// `process` sent write `batch` of `office` under `token`.
    pub(crate) fn write_sent(&mut self, process: Process, office: usize, batch: u64, token: u64) {
        self.writes.insert((process, office, batch), token);
    }

    /// `process` released the lease of `office` held under `token`.
    pub(crate) fn released(&mut self, process: Process, office: usize, token: u64) {
        self.released.insert((process, office, token));
    }

    /// Write `batch` of `office` by `process` ended with `outcome`.
    pub(crate) fn write_done(
        &mut self,
        process: Process,
        office: usize,
        batch: u64,
        outcome: WriteOutcome,
    ) {
        let Some(token) = self.writes.remove(&(process, office, batch)) else {
            return;
        };
        if outcome == WriteOutcome::Fenced && self.released.contains(&(process, office, token)) {
            self.violated(format!(
                "node {} released the lease of office {office} (token {token}) before writing \
                 what it had taken: that write was fenced off by the next owner",
                process.0
            ));
        }
    }

    /// `process` published the membership view of `epoch`.
    pub(crate) fn view_published(&mut self, process: Process, epoch: u64) {
        let last = self.views.insert(process, epoch).unwrap_or(0);
        if epoch < last {
            self.violated(format!(
                "node {} published the membership view of epoch {epoch} after one of epoch \
                 {last}: its view went back",
                process.0
            ));
        }
    }

    /// Checks the store after an event: no office's token went down.
    pub(crate) fn after_event(&mut self, store: &StoreModel) {
        for (&office, &token) in &store.tokens {
            let seen = self.tokens.insert(office, token).unwrap_or(0);
            if token < seen {
                self.violated(format!(
                    "the store's token of office {office} went down from {seen} to {token}"
                ));
            }
        }
    }
}
