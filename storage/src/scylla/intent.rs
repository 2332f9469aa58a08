//! Write intents: a group commit cut off part-way is completed, not left half-stored.
//!
//! Readings are keyed `(ts, sensor, seq)` and a room's write spans several partitions with no
//! transaction across them, so a write cut off after some readings landed and before the room
//! state (with its dedup marks) did leaves readings that no mark claims. The sensor was not
//! acknowledged and resends them, re-stamped with a new time: without more, each would be
//! stored twice. So every new write first records, per room, its *intent* (the room's readings,
//! rollups and new state, in `room_intents`, one row per room) next to the partition index, and
//! writes the state last as before. Every write of a node carries a client timestamp from one
//! monotonic clock (the session's timestamp generator), so a room's state written *after* its
//! intent means the intent's write finished. Reading a room ([`ScyllaStore::room_state`], which
//! a room restores from and a sensor's `welcome.last_seq` comes from) compares the two write
//! times: an intent newer than the state is a write that may have been cut off, and it is
//! written again, whole, at the intent's write time plus one microsecond, before the state is
//! answered. That replay writes the same keys (nothing doubles), claims exactly what it stored,
//! and loses to any later write of the room (a later state, a later rollup of the same bucket),
//! so a reader replaying an intent concurrently with its owner never rolls the room back.
//! The replay checks that the tenant is not erased but not the owner token: the intent was
//! recorded after its write passed the check, so the replay finishes that write, no other.
//!
//! Cost: one more write per room per group commit (its rows once more, as one blob), sent
//! together with the partition index, so no extra round trip; and one more read of one row
//! when a room is read.

use std::borrow::Cow;
use std::collections::BTreeMap;

use scylla::statement::prepared::PreparedStatement;
use serde::{Deserialize, Serialize};
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};

use super::ScyllaStore;
use super::control::TenantControl;
use super::data::{all_of, outcome_unknown, ttl};
use crate::embedded::codec::{decode, encode};
use crate::{Rollup, RoomState, RoomWrite, StoreError, StoredReading};

/// The write time of a write's rows.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stamp {
    /// The session's monotonic clock: a new write, which records its intent first.
    Now,
    /// This write time (µs since the epoch): the replay of an intent.
    At(i64),
}

impl Stamp {
    /// The explicit timestamp of the requests, if any.
    pub(super) fn timestamp(self) -> Option<i64> {
        match self {
            Self::Now => None,
            Self::At(micros) => Some(micros),
        }
    }

    /// `statement`, stamped.
    pub(super) fn on(self, statement: &PreparedStatement) -> PreparedStatement {
        let mut statement = statement.clone();
        statement.set_timestamp(self.timestamp());
        statement
    }
}

/// A room's write as recorded before its rows.
#[derive(Serialize, Deserialize)]
struct Intent<'a> {
    office: Cow<'a, OfficeId>,
    owner_token: u64,
    readings: Cow<'a, [(SensorId, StoredReading)]>,
    state: Cow<'a, RoomState>,
    rollups: Cow<'a, [Rollup]>,
}

impl<'a> Intent<'a> {
    /// The intent of `write`.
    fn of(write: &'a RoomWrite) -> Self {
        Self {
            office: Cow::Borrowed(&write.office),
            owner_token: write.owner_token,
            readings: Cow::Borrowed(&write.readings),
            state: Cow::Borrowed(&write.state),
            rollups: Cow::Borrowed(&write.rollups),
        }
    }

    /// The write it records, of `room`.
    fn into_write(self, tenant: &TenantId, room: &RoomId) -> RoomWrite {
        RoomWrite {
            tenant: tenant.clone(),
            office: self.office.into_owned(),
            room: room.clone(),
            owner_token: self.owner_token,
            readings: self.readings.into_owned(),
            state: self.state.into_owned(),
            rollups: self.rollups.into_owned(),
        }
    }
}

impl ScyllaStore {
    /// Records the intent of each room of a new write (a replay records none), kept as long as
    /// the tenant's readings.
    pub(super) async fn write_intents(
        &self,
        rooms: &[RoomWrite],
        controls: &BTreeMap<TenantId, TenantControl>,
        stamp: Stamp,
    ) -> Result<(), StoreError> {
        if let Stamp::At(_) = stamp {
            return Ok(());
        }
        let mut writes = Vec::with_capacity(rooms.len());
        for room in rooms {
            let keep = self.ttl_policy(&controls[&room.tenant]).readings;
            let values = (
                room.tenant.as_str(),
                room.room.as_str(),
                encode(&Intent::of(room))?,
                ttl(keep),
            );
            writes.push(self.execute(&self.statements.insert_intent, values));
        }
        all_of(writes).await.map(drop).map_err(outcome_unknown)
    }

    /// See [`crate::Store::room_state`]: the stored state, after completing the room's last
    /// write if it may have been cut off (see the module documentation).
    pub(super) async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError> {
        let key = (tenant.as_str(), room.as_str());
        let (state, intent) = tokio::join!(
            self.first_row::<(Vec<u8>, i64)>(&self.statements.select_state, key),
            self.first_row::<(Vec<u8>, i64)>(&self.statements.select_intent, key)
        );
        let (state, intent) = (state?, intent?);
        let state_written = state.as_ref().map_or(i64::MIN, |(_, written)| *written);
        match intent {
            Some((intent, written)) if written >= state_written => {
                self.replay(tenant, room, &intent, written).await
            }
            _ => state
                .map(|(bytes, _)| decode("room state", &bytes))
                .transpose(),
        }
    }

    /// Writes a recorded intent again, whole, just after its own write time; its state, or
    /// `None` if the tenant is erased.
    async fn replay(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        intent: &[u8],
        written: i64,
    ) -> Result<Option<RoomState>, StoreError> {
        let intent: Intent<'_> = decode("room write intent", intent)?;
        let write = intent.into_write(tenant, room);
        let control = self.control(tenant).await?;
        if control.erased {
            return Ok(None);
        }
        tracing::info!(
            %tenant,
            %room,
            readings = write.readings.len(),
            "completing a room write that may have been cut off"
        );
        let controls = BTreeMap::from([(tenant.clone(), control)]);
        let rooms = std::slice::from_ref(&write);
        self.write_rooms(rooms, &controls, Stamp::At(written.saturating_add(1)))
            .await?;
        Ok(Some(write.state))
    }
}
