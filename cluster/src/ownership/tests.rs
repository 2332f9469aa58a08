//! The state machine's transitions, one scenario at a time (the simulator checks their
//! interleavings).

use super::decision::WriteOutcome;
use super::{Command, Event, LeaseTiming, OfficeOwnership, Phase, TokenSource};

const TIMING: LeaseTiming = LeaseTiming {
    ttl: 1_000,
    renew_every: 250,
};

fn active(token: u64) -> OfficeOwnership<u32> {
    let mut office = OfficeOwnership::new(TIMING);
    let request = Event::Request {
        owner_is_me: true,
        draining: false,
    };
    assert_eq!(office.handle(0, request), vec![Command::AcquireLease]);
    assert_eq!(
        office.handle(5, Event::LeaseAcquired),
        vec![Command::MintToken(TokenSource::Store)]
    );
    assert_eq!(
        office.handle(10, Event::TokenMinted(token)),
        vec![Command::Activated { token }]
    );
    office
}

fn write(batch: u64, token: u64, readings: Vec<u32>) -> Command<u32> {
    Command::Write {
        batch,
        token,
        readings,
    }
}

#[test]
fn readings_are_acknowledged_only_once_their_write_is_accepted() {
    let mut office = active(7);
    assert!(office.handle(20, Event::Reading(1)).is_empty());
    assert!(office.handle(21, Event::Reading(2)).is_empty());
    assert_eq!(
        office.handle(50, Event::Tick),
        vec![write(0, 7, vec![1, 2])]
    );
    let failed = Event::WriteDone {
        batch: 0,
        outcome: WriteOutcome::Failed,
    };
    assert!(
        office.handle(60, failed).is_empty(),
        "no ack for a failed write"
    );
    assert_eq!(
        office.handle(100, Event::Tick),
        vec![write(1, 7, vec![1, 2])]
    );
    let accepted = Event::WriteDone {
        batch: 1,
        outcome: WriteOutcome::Accepted,
    };
    assert_eq!(
        office.handle(110, accepted),
        vec![Command::Ack {
            token: 7,
            readings: vec![1, 2]
        }]
    );
}

#[test]
fn a_fenced_write_stops_the_office_without_an_ack() {
    let mut office = active(3);
    office.handle(20, Event::Reading(1));
    office.handle(50, Event::Tick);
    office.handle(51, Event::Reading(2));
    let fenced = Event::WriteDone {
        batch: 0,
        outcome: WriteOutcome::Fenced,
    };
    assert_eq!(
        office.handle(60, fenced),
        vec![
            Command::Reject(1),
            Command::Reject(2),
            Command::Deactivated {
                token: 3,
                reason: "fenced"
            },
            Command::ReleaseLease,
        ]
    );
    assert_eq!(office.phase(), Phase::Idle);
}

#[test]
fn a_handoff_writes_everything_before_it_releases_the_lease() {
    let mut office = active(2);
    office.handle(20, Event::Reading(1));
    let moved = Event::View {
        owner_is_me: false,
        draining: false,
    };
    assert_eq!(office.handle(30, moved), vec![write(0, 2, vec![1])]);
    assert_eq!(
        office.handle(31, Event::Reading(9)),
        vec![Command::Reject(9)]
    );
    let accepted = Event::WriteDone {
        batch: 0,
        outcome: WriteOutcome::Accepted,
    };
    assert_eq!(
        office.handle(40, accepted),
        vec![
            Command::Ack {
                token: 2,
                readings: vec![1]
            },
            Command::ReleaseLease,
            Command::Deactivated {
                token: 2,
                reason: "handed_off"
            },
        ]
    );
}

#[test]
fn a_lease_that_expires_while_redis_is_unreachable_is_served_on_and_taken_again() {
    let mut office = active(4);
    assert_eq!(office.handle(260, Event::Tick), vec![Command::RenewLease]);
    assert!(office.handle(560, Event::LeaseRenewUnreachable).is_empty());
    assert_eq!(office.handle(1_000, Event::Tick), vec![Command::RenewLease]);
    assert_eq!(
        office.handle(1_300, Event::LeaseRenewUnreachable),
        vec![Command::AcquireLease]
    );
    assert_eq!(office.phase(), Phase::Active);
    assert!(office.handle(1_310, Event::Reading(5)).is_empty());
    // Another node holds it now: give the office up.
    let flush = office.handle(1_320, Event::LeaseRefused);
    assert_eq!(flush, vec![write(0, 4, vec![5])]);
    assert_eq!(office.phase(), Phase::GivingUp);
}

#[test]
fn an_office_moved_away_during_its_claim_is_handed_off_once_active() {
    let mut office: OfficeOwnership<u32> = OfficeOwnership::new(TIMING);
    let request = Event::Request {
        owner_is_me: true,
        draining: false,
    };
    office.handle(0, request);
    office.handle(5, Event::LeaseAcquired);
    let moved = Event::View {
        owner_is_me: false,
        draining: false,
    };
    assert!(office.handle(6, moved).is_empty());
    assert_eq!(
        office.handle(10, Event::TokenMinted(1)),
        vec![
            Command::Activated { token: 1 },
            Command::ReleaseLease,
            Command::Deactivated {
                token: 1,
                reason: "handed_off"
            },
        ]
    );
}
