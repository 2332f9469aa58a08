//! Group commits around offices fenced off by a newer owner. The store rejects a whole batch
//! when one office's owner token is stale ([`StoreError::Fenced`], naming that office); the
//! persister then writes the rest of the batch again without that office's rows, so the other
//! offices' sensors are acknowledged as if nothing happened.

use std::collections::HashSet;
use std::sync::Arc;

use ractor::ActorId;
use tally_protocol::{OfficeId, TenantId};
use tally_storage::{SharedStore, StoreError, WriteBatch};

use crate::StorageHealth;
use crate::write_retry::{WriteRetry, write_with_retry};

/// An office whose writes the store rejected: a newer owner holds a higher token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FencedOffice {
    /// Its tenant.
    pub tenant: TenantId,
    /// The office.
    pub office: OfficeId,
    /// The token its rows carried.
    pub token: u64,
    /// The token the store holds.
    pub current: u64,
}

/// The outcome of a group commit written around fenced offices.
#[derive(Debug)]
pub(crate) struct UnfencedWrite {
    /// The outcome of the last write (of what was left once fenced offices were taken out).
    pub result: Result<(), StoreError>,
    /// The offices taken out.
    pub fenced: Vec<FencedOffice>,
    /// The room actors whose rows were taken out with them.
    pub fenced_rooms: HashSet<ActorId>,
}

/// Writes `batch` (whose rooms were written by `writers`, in the same order), retrying
/// transient failures as [`write_with_retry`] does; each office the store fences off is taken
/// out and the rest written again.
pub(crate) async fn write_unfenced(
    store: &SharedStore,
    mut batch: WriteBatch,
    mut writers: Vec<ActorId>,
    retry: WriteRetry,
    health: &StorageHealth,
) -> UnfencedWrite {
    let mut fenced = Vec::new();
    let mut fenced_rooms = HashSet::new();
    loop {
        if batch.rooms.is_empty() {
            return UnfencedWrite {
                result: Ok(()),
                fenced,
                fenced_rooms,
            };
        }
        let shared = Arc::new(batch);
        let result = write_with_retry(store, Arc::clone(&shared), retry, health).await;
        let Err(StoreError::Fenced {
            tenant,
            office,
            token,
            current,
        }) = result
        else {
            return UnfencedWrite {
                result,
                fenced,
                fenced_rooms,
            };
        };
        let rooms = Arc::try_unwrap(shared).map_or_else(|shared| shared.rooms.clone(), |b| b.rooms);
        let before = rooms.len();
        let (mut kept, mut kept_writers) = (WriteBatch::default(), Vec::with_capacity(before));
        for (room, writer) in rooms.into_iter().zip(writers) {
            if room.tenant == tenant && room.office == office {
                fenced_rooms.insert(writer);
            } else {
                kept.rooms.push(room);
                kept_writers.push(writer);
            }
        }
        let office = FencedOffice {
            tenant,
            office,
            token,
            current,
        };
        if kept.rooms.len() == before {
            // The store named an office that is not in the batch: do not loop on it.
            return UnfencedWrite {
                result: Err(StoreError::Fenced {
                    tenant: office.tenant,
                    office: office.office,
                    token,
                    current,
                }),
                fenced,
                fenced_rooms,
            };
        }
        tracing::warn!(tenant = %office.tenant, office = %office.office, token, current, "office fenced off by a newer owner; writing the rest of the group commit without it");
        fenced.push(office);
        (batch, writers) = (kept, kept_writers);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tally_protocol::{RoomId, SensorId};
    use tally_storage::{EmbeddedStore, RoomState, RoomWrite, StoredReading};

    use super::*;

    fn write(office: &OfficeId, room: &str, token: u64) -> RoomWrite {
        RoomWrite {
            tenant: TenantId::new("t").unwrap(),
            office: office.clone(),
            room: RoomId::new(room).unwrap(),
            owner_token: token,
            readings: vec![(
                SensorId::new("s").unwrap(),
                StoredReading {
                    seq: 1,
                    ts: 1_764_000_000_000,
                    count: 2,
                    received_at: 1_764_000_000_000,
                },
            )],
            state: RoomState::default(),
            rollups: Vec::new(),
        }
    }

    #[tokio::test]
    async fn the_rest_of_a_batch_lands_without_the_fenced_office() {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let tenant = TenantId::new("t").unwrap();
        let (stale, fine) = (OfficeId::new("o1").unwrap(), OfficeId::new("o2").unwrap());
        let old = store.acquire_office(&tenant, &stale).await.unwrap();
        let current = store.acquire_office(&tenant, &stale).await.unwrap();
        let batch = WriteBatch {
            rooms: vec![
                write(&stale, "r1", old),
                write(&fine, "r2", 0),
                write(&stale, "r3", old),
            ],
        };
        let writers = vec![ActorId::Local(1), ActorId::Local(2), ActorId::Local(3)];
        let written = write_unfenced(
            &store,
            batch,
            writers,
            WriteRetry::default(),
            &StorageHealth::default(),
        )
        .await;
        assert_eq!(written.result, Ok(()));
        assert_eq!(
            written.fenced,
            vec![FencedOffice {
                tenant: tenant.clone(),
                office: stale,
                token: old,
                current,
            }]
        );
        assert_eq!(
            written.fenced_rooms,
            HashSet::from([ActorId::Local(1), ActorId::Local(3)])
        );
        let r2 = RoomId::new("r2").unwrap();
        assert!(store.room_state(&tenant, &r2).await.unwrap().is_some());
        for fenced in ["r1", "r3"] {
            let room = RoomId::new(fenced).unwrap();
            assert!(store.room_state(&tenant, &room).await.unwrap().is_none());
        }
    }
}
