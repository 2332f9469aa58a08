//! Faults injected into a node's actors (the `fault-injection` feature of `tally-actors`, a
//! dev-dependency only): a room made to panic, until its tenant is quarantined.

use tally_actors::RoomMsg;
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};

use super::PATIENCE;

fn ids(tenant: &str, office: &str, room: &str) -> (TenantId, OfficeId, RoomId) {
    (
        TenantId::new(tenant).unwrap(),
        OfficeId::new(office).unwrap(),
        RoomId::new(room).unwrap(),
    )
}

/// Makes the room actor panic and waits until it is gone. `false` if the tenant is quarantined.
pub async fn panic_room(
    node: &tally_gateway::RunningNode,
    tenant: &str,
    office: &str,
    room: &str,
) -> bool {
    let (t, o, r) = ids(tenant, office, room);
    loop {
        match node.node().actors().room(&t, &o, &r).await {
            Ok(actor) => {
                if actor.cast(RoomMsg::InjectPanic).is_ok() {
                    actor
                        .get_cell()
                        .wait(Some(PATIENCE))
                        .await
                        .expect("room stops after the panic");
                    return true;
                }
                // A dead ref its office has not replaced yet: ask again.
                tokio::task::yield_now().await;
            }
            Err(ServiceError::TenantQuarantined(_)) => return false,
            Err(ServiceError::Unavailable(_)) => tokio::task::yield_now().await,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
}
