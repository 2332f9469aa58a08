//! An in-memory shared store with tally's fencing: a conditional increment of the office's
//! owner token, and batch writes checked against it and applied atomically with the check
//! (a write carrying a lower token than the stored one is rejected whole). Readings are keyed
//! by (sensor, seq), so a write that lands twice stores them once.

use std::collections::{BTreeMap, BTreeSet};

use tally_cluster::ownership::decision::WriteOutcome;

use super::Reading;

/// The store model.
#[derive(Debug, Default)]
pub(crate) struct StoreModel {
    /// Owner token per office.
    pub(crate) tokens: BTreeMap<usize, u64>,
    /// (sensor, seq) → office and the tokens of the writes that carried it and were accepted.
    pub(crate) rows: BTreeMap<(usize, u64), (usize, BTreeSet<u64>)>,
}

impl StoreModel {
    /// Raises the office's owner token by one and returns it (`acquire_office`).
    pub(crate) fn mint(&mut self, office: usize) -> u64 {
        let token = self.tokens.entry(office).or_default();
        *token += 1;
        *token
    }

    /// Sets the office's token as given (only the Redis-counter mutation does this).
    pub(crate) fn set_token(&mut self, office: usize, token: u64) {
        self.tokens.insert(office, token);
    }

    /// Writes `readings` of `office` under `token`: rejected whole if the stored token is
    /// higher.
    pub(crate) fn write(
        &mut self,
        office: usize,
        token: u64,
        readings: &[Reading],
    ) -> WriteOutcome {
        if token < self.tokens.get(&office).copied().unwrap_or(0) {
            return WriteOutcome::Fenced;
        }
        for reading in readings {
            self.rows
                .entry((reading.sensor, reading.seq))
                .or_insert_with(|| (office, BTreeSet::new()))
                .1
                .insert(token);
        }
        WriteOutcome::Accepted
    }

    /// Whether `(sensor, seq)` was accepted in a write under `token`.
    pub(crate) fn accepted_under(&self, sensor: usize, seq: u64, token: u64) -> bool {
        self.rows
            .get(&(sensor, seq))
            .is_some_and(|(_, tokens)| tokens.contains(&token))
    }
}
