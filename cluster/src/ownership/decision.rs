//! The decisions a node takes about one office, as pure functions: the production router
//! ([`crate::cluster_router`]) and the [`super::OfficeOwnership`] state machine (which the
//! simulator drives) both call these, so that what is simulated is what runs.

use crate::lease::LeaseLost;

/// What a node does with a request for an office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimDecision {
    /// The office is active here already: serve it.
    Serve,
    /// Placement names this node and it is not draining: claim it (lease, then token).
    Claim,
    /// Another node owns it, or this node is draining: refuse (the caller retries elsewhere).
    Refuse,
}

/// What a node does with a request for an office it `held` (or not), when placement names it
/// owner (`owner_is_me`) or not, while `draining` or not.
pub fn on_request(held: bool, owner_is_me: bool, draining: bool) -> ClaimDecision {
    if held {
        ClaimDecision::Serve
    } else if owner_is_me && !draining {
        ClaimDecision::Claim
    } else {
        ClaimDecision::Refuse
    }
}

/// Whether a held office is handed off when the view changes: when placement no longer names
/// this node, or the node drains.
pub fn hand_off_on_view(owner_is_me: bool, draining: bool) -> bool {
    draining || !owner_is_me
}

/// Whether a report about the activation under `reported` (the office stopped, its lease was
/// lost) concerns what is held now (`held`): a report about an earlier activation is ignored.
pub fn concerns(held: Option<u64>, reported: u64) -> bool {
    held == Some(reported)
}

/// What the keeper of a held office does when its lease is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseLossDecision {
    /// Redis could not be reached: serve on under the store's token and take the lease again
    /// once Redis answers (the token fences this node off if another took the office).
    ServeOnAndRetake,
    /// Another node holds (or may take) the lease: give the office up.
    GiveUp,
}

/// What to do when a held lease is lost for `reason`.
pub fn on_lease_lost(reason: LeaseLost) -> LeaseLossDecision {
    match reason {
        LeaseLost::Expired => LeaseLossDecision::ServeOnAndRetake,
        LeaseLost::NotHeld => LeaseLossDecision::GiveUp,
    }
}

/// A step of giving an office up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GiveUpStep {
    /// Passivate the office: everything its rooms were sent is written under its token.
    Passivate,
    /// Release the lease, so that the next owner can claim at once.
    Release,
}

/// The steps of giving an office up, in order: passivate first, so that nothing the office
/// took is written after another node could claim it.
pub const GIVE_UP_STEPS: [GiveUpStep; 2] = [GiveUpStep::Passivate, GiveUpStep::Release];

/// The outcome of a batch write of an office's readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteOutcome {
    /// The store accepted it under the token it carried.
    Accepted,
    /// The store holds a higher token for the office: a newer owner fenced this node off.
    Fenced,
    /// It failed or timed out: it may or may not have landed.
    Failed,
}

/// Whether the readings of a write carrying `write_token` may be acknowledged: only once the
/// store accepted it, under the token this node holds for the office (`held`).
pub fn may_ack(held: Option<u64>, write_token: u64, outcome: WriteOutcome) -> bool {
    outcome == WriteOutcome::Accepted && held == Some(write_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_claims_and_a_held_office_is_served() {
        assert_eq!(on_request(true, false, true), ClaimDecision::Serve);
        assert_eq!(on_request(false, true, false), ClaimDecision::Claim);
        assert_eq!(on_request(false, true, true), ClaimDecision::Refuse);
        assert_eq!(on_request(false, false, false), ClaimDecision::Refuse);
    }

    #[test]
    fn an_ack_needs_an_accepted_write_under_the_held_token() {
        assert!(may_ack(Some(3), 3, WriteOutcome::Accepted));
        assert!(!may_ack(Some(4), 3, WriteOutcome::Accepted));
        assert!(!may_ack(None, 3, WriteOutcome::Accepted));
        assert!(!may_ack(Some(3), 3, WriteOutcome::Failed));
        assert!(!may_ack(Some(3), 3, WriteOutcome::Fenced));
    }
}
