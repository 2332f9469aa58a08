//! Starting an office's rooms: all of them at once when the office activates, and one at a time,
//! in a task off the office's message loop, when a room is asked for, created or restarted.

use ractor::{ActorProcessingErr, ActorRef};
use tally_protocol::RoomId;
use tally_storage::Room;
use tokio::task::JoinSet;

use super::{OfficeArgs, OfficeMsg};
use crate::room::{RoomActor, RoomArgs};
use crate::supervision::spawn_child;
use crate::{RoomMsg, ServiceError};

/// What starting a room of an office needs.
#[derive(Debug, Clone)]
pub(super) struct RoomStarter {
    pub(super) office: ActorRef<OfficeMsg>,
    pub(super) args: OfficeArgs,
}

impl RoomStarter {
    /// Spawns a room linked to the office. Its `pre_start` restores it from storage and casts
    /// its count to the office, so the count is queued before the office can hand the room out.
    pub(super) async fn spawn(self, record: Room) -> Result<ActorRef<RoomMsg>, ServiceError> {
        let room = record.id.clone();
        let args = RoomArgs {
            room: record,
            store: self.args.store,
            persister: self.args.persister,
            office: self.office.clone(),
            census: self.args.census,
            sensor_timeout: self.args.settings.sensor_timeout,
            rollup_lateness: self.args.settings.rollup_lateness,
            owner_token: self.args.owner_token,
        };
        spawn_child("room", &room, RoomActor, args, self.office.get_cell()).await
    }

    /// Starts a room the office does not know yet: reads its record, tells the office about it
    /// (so the office has its slot before the room reports its count), then spawns it.
    pub(super) async fn look_up_and_spawn(
        self,
        room: RoomId,
    ) -> Result<ActorRef<RoomMsg>, ServiceError> {
        let office = &self.args.office;
        let record = match self.args.store.room(&office.tenant, &room).await? {
            Some(record) if record.office == office.id => record,
            _ => return Err(ServiceError::not_found("room", &room)),
        };
        self.office
            .cast(OfficeMsg::RoomCreated(record.clone()))
            .map_err(|_| ServiceError::Unavailable(format!("office of room {room} stopped")))?;
        self.spawn(record).await
    }

    /// Starts every room concurrently (an office's activation lasts as long as its slowest room,
    /// not the sum of them); the first failure fails them all.
    pub(super) async fn spawn_all(
        &self,
        records: Vec<Room>,
    ) -> Result<Vec<(RoomId, ActorRef<RoomMsg>)>, ActorProcessingErr> {
        let mut starts = JoinSet::new();
        for record in records {
            let starter = self.clone();
            starts.spawn(async move {
                let room = record.id.clone();
                starter.spawn(record).await.map(|actor| (room, actor))
            });
        }
        let mut rooms = Vec::with_capacity(starts.len());
        // On an error, dropping the set aborts the starts still running (and what they linked).
        while let Some(started) = starts.join_next().await {
            rooms.push(started??);
        }
        Ok(rooms)
    }
}
